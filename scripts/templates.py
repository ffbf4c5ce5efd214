#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Write the report templates of report/ (flat ODT, relatorio directives).

The templates share their page, styles and company header; they are
generated so that they stay alike and readable in a diff.  Run after a
change and commit the .fodt files:

    .venv/bin/python scripts/templates.py

The texts are English; Tryton translates them (locale/zh_CN.po, type
report).  Chinese needs a CJK font: the styles name WenQuanYi Zen Hei as
the Asian font (Debian fonts-wqy-zenhei, installed by the set-up).
"""

import os
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(os.path.dirname(HERE), 'report')

# A 1x1 transparent PNG, replaced by the image of the frame's directive
PIXEL = ('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk'
    '+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')

NAMESPACES = {
    'office': 'urn:oasis:names:tc:opendocument:xmlns:office:1.0',
    'style': 'urn:oasis:names:tc:opendocument:xmlns:style:1.0',
    'text': 'urn:oasis:names:tc:opendocument:xmlns:text:1.0',
    'table': 'urn:oasis:names:tc:opendocument:xmlns:table:1.0',
    'draw': 'urn:oasis:names:tc:opendocument:xmlns:drawing:1.0',
    'fo': 'urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0',
    'xlink': 'http://www.w3.org/1999/xlink',
    'meta': 'urn:oasis:names:tc:opendocument:xmlns:meta:1.0',
    'dc': 'http://purl.org/dc/elements/1.1/',
    'svg': 'urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0',
    'loext': 'urn:org:documentfoundation:names:experimental:office:'
    'xmlns:loext:1.0',
    }

FONT = 'Liberation Sans'
CJK = 'WenQuanYi Zen Hei'

STYLES = f'''
 <office:meta><meta:generator>sale_flow scripts/templates.py</meta:generator>
 </office:meta>
 <office:font-face-decls>
  <style:font-face style:name="{FONT}" svg:font-family="&apos;{FONT}&apos;"
   style:font-family-generic="swiss" style:font-pitch="variable"/>
  <style:font-face style:name="{CJK}" svg:font-family="&apos;{CJK}&apos;"
   style:font-family-generic="system" style:font-pitch="variable"/>
 </office:font-face-decls>
 <office:styles>
  <style:default-style style:family="paragraph">
   <style:paragraph-properties fo:margin-top="0cm" fo:margin-bottom="0.1cm"/>
   <style:text-properties style:font-name="{FONT}" fo:font-size="9.5pt"
    style:font-name-asian="{CJK}" style:font-size-asian="9.5pt"
    style:font-name-complex="{FONT}" fo:language="en" fo:country="US"/>
  </style:default-style>
  <style:style style:name="Standard" style:family="paragraph"/>
  <style:style style:name="Title" style:family="paragraph">
   <style:paragraph-properties fo:margin-top="0.2cm" fo:margin-bottom="0.2cm"/>
   <style:text-properties fo:font-size="16pt" fo:font-weight="bold"
    style:font-size-asian="16pt" style:font-weight-asian="bold"/>
  </style:style>
  <style:style style:name="Small" style:family="paragraph">
   <style:text-properties fo:font-size="8pt" fo:color="#555555"
    style:font-size-asian="8pt"/>
  </style:style>
  <style:style style:name="Heading" style:family="paragraph">
   <style:text-properties fo:font-weight="bold"
    style:font-weight-asian="bold"/>
  </style:style>
  <style:style style:name="HeadingRight" style:family="paragraph"
   style:parent-style-name="Heading">
   <style:paragraph-properties fo:text-align="end"/>
  </style:style>
  <style:style style:name="HeadingCenter" style:family="paragraph"
   style:parent-style-name="Heading">
   <style:paragraph-properties fo:text-align="center"/>
  </style:style>
  <style:style style:name="Right" style:family="paragraph">
   <style:paragraph-properties fo:text-align="end"/>
  </style:style>
  <style:style style:name="Center" style:family="paragraph">
   <style:paragraph-properties fo:text-align="center"/>
  </style:style>
  <style:style style:name="Figure" style:family="paragraph">
   <style:paragraph-properties fo:text-align="end"/>
   <style:text-properties fo:font-size="8pt" style:font-size-asian="8pt"/>
  </style:style>
  <style:style style:name="Label" style:family="paragraph">
   <style:text-properties fo:font-size="8pt" style:font-size-asian="8pt"/>
  </style:style>
  <style:style style:name="Break" style:family="paragraph">
   <style:paragraph-properties fo:break-before="page"/>
  </style:style>
 </office:styles>
 <office:automatic-styles>
  <style:style style:name="Table" style:family="table">
   <style:table-properties style:width="18cm" table:align="left"
    fo:margin-top="0.2cm" fo:margin-bottom="0.3cm"/>
  </style:style>
  <style:style style:name="Cell" style:family="table-cell">
   <style:table-cell-properties fo:padding="0.08cm"
    fo:border-bottom="0.5pt solid #999999" fo:border-top="none"
    fo:border-left="none" fo:border-right="none"/>
  </style:style>
  <style:style style:name="Head" style:family="table-cell">
   <style:table-cell-properties fo:padding="0.08cm"
    fo:background-color="#e8e8e8" fo:border-bottom="0.75pt solid #000000"
    fo:border-top="none" fo:border-left="none" fo:border-right="none"/>
  </style:style>
  <style:style style:name="Plain" style:family="table-cell">
   <style:table-cell-properties fo:padding="0.05cm" fo:border="none"/>
  </style:style>
  <style:style style:name="Frame" style:family="graphic">
   <style:graphic-properties style:wrap="none" style:vertical-pos="top"
    style:horizontal-pos="left" style:run-through="foreground"
    fo:border="none"/>
  </style:style>
  <style:page-layout style:name="Page">
   <style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm"
    fo:margin-top="1.2cm" fo:margin-bottom="1.2cm" fo:margin-left="1.5cm"
    fo:margin-right="1.5cm" style:print-orientation="portrait"/>
  </style:page-layout>
 </office:automatic-styles>
 <office:master-styles>
  <style:master-page style:name="Standard" style:page-layout-name="Page"/>
 </office:master-styles>
'''


def d(directive):
    "A relatorio directive or expression"
    return ('<text:placeholder text:placeholder-type="text">&lt;%s&gt;'
        '</text:placeholder>' % escape(directive, {'"': '&quot;'}))


def p(*content, style='Standard'):
    return '<text:p text:style-name="%s">%s</text:p>' % (
        style, ''.join(content))


def t(text):
    return escape(text)


def image(expression, width, height, name):
    "A frame filled by relatorio with the image the expression returns"
    return (
        '<draw:frame draw:style-name="Frame" draw:name=%s '
        'text:anchor-type="as-char" svg:width="%s" svg:height="%s" '
        'draw:z-index="0"><draw:image>'
        '<office:binary-data>%s</office:binary-data>'
        '</draw:image><svg:desc>%s</svg:desc></draw:frame>' % (
            quoteattr('image: ' + expression), width, height, PIXEL, name))


def cell(*content, style='Cell', span=1):
    attrs = ' table:number-columns-spanned="%d"' % span if span > 1 else ''
    cells = '<table:table-cell table:style-name="%s" office:value-type='\
        '"string"%s>%s</table:table-cell>' % (style, attrs, ''.join(content))
    cells += '<table:covered-table-cell/>' * (span - 1)
    return cells


def row(*cells):
    return '<table:table-row>%s</table:table-row>' % ''.join(cells)


def right(text):
    "A header over a column of numbers: aligned as they are, to the right"
    return (text, 'HeadingRight')


def center(text):
    "A header over a column of centred marks or images"
    return (text, 'HeadingCenter')


def head_row(*columns):
    """A table's header row: one bold, shaded cell per column, aligned as
    the column's values (a text is left-aligned; right() or center())"""
    columns = [c if isinstance(c, tuple) else (c, 'Heading')
        for c in columns]
    return row(*(cell(p(t(text), style=style), style='Head')
            for text, style in columns))


def goods_cells():
    "The cells code, product, quantity and unit of a line of goods"
    return (
        cell(p(d('line.code')))
        + cell(p(d('line.product')))
        + cell(p(d('format_number(line.quantity, user.language, '
                   'digits=line.digits)'), style='Right'))
        + cell(p(d('line.unit'))))


def directive_row(directive, columns):
    "A row holding only a directive: relatorio repeats the rows between"
    return row(cell(p(d(directive)), style='Plain', span=columns))


def table(name, widths, *rows, header=None):
    columns = ''.join(
        '<table:table-column table:style-name="%s.%s"/>' % (name, i)
        for i in range(len(widths)))
    head = ('<table:table-header-rows>%s</table:table-header-rows>'
        % header if header else '')
    return '<table:table table:name="%s" table:style-name="Table">%s%s%s'\
        '</table:table>' % (name, columns, head, ''.join(rows))


def column_styles(name, widths):
    return ''.join(
        '<style:style style:name="%s.%s" style:family="table-column">'
        '<style:table-column-properties style:column-width="%scm"/>'
        '</style:style>' % (name, i, w) for i, w in enumerate(widths))


def document(body, tables):
    namespaces = ' '.join(
        'xmlns:%s="%s"' % item for item in NAMESPACES.items())
    styles = STYLES.replace(
        ' </office:automatic-styles>',
        ''.join(column_styles(n, w) for n, w in tables)
        + ' </office:automatic-styles>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<office:document %s office:version="1.3" '
        'office:mimetype="application/vnd.oasis.opendocument.text">\n'
        '%s\n <office:body>\n  <office:text>\n%s\n  </office:text>\n'
        ' </office:body>\n</office:document>\n' % (namespaces, styles, body))


def company_header():
    return (
        p(d('if test="company"'))
        + p(d('company.rec_name'), style='Heading')
        + p(d('for each="line in '
              '(company.header_used or \'\').split(\'\\n\')"'))
        + p(d('line'), style='Small')
        + p(d('/for'))
        + p(d('/if')))


def pages(title, *content, record='shipment'):
    """One page per record of the records (named record in the template),
    with the company's header"""
    return (
        p(d('for each="%s in records"' % record))
        + p(d('if test="%s != records[0]"' % record))
        + p(style='Break')
        + p(d('/if'))
        + company_header()
        + p(t(title), style='Title')
        + ''.join(content)
        + p(d('/for')))


def number_heading(label, record):
    "The record's number as heading and as a Code 128 barcode"
    return (
        p(t(label) + ' ' + d(record + '.number'), style='Heading')
        + p(d('if test="%s.number"' % record))
        + p(image('barcode(\'code128\', %s.number, width=0.5, '
                'height=10, size=(\'6cm\', \'1.6cm\'))' % record,
                '6cm', '1.6cm', label))
        + p(d('/if')))


def shipment_heading():
    "The shipment's number as heading and as a barcode"
    return number_heading("Shipment", 'shipment')


def address_lines(expression):
    """The lines of an address with its party's name, one paragraph each,
    as the address format of its country and the reader's language writes
    them (report.CompanyReport.address_lines)"""
    return (
        p(d('for each="line in address_lines(%s)"' % expression))
        + p(d('line'))
        + p(d('/for')))


def delivery_method_lines(record):
    "How the record's goods travel: delivery method and carrier"
    return (
        p(t("Delivery:") + ' '
            + d('%s.delivery_method_string or \'\'' % record))
        + p(t("Carrier:") + ' '
            + d('%s.carrier.party.rec_name if %s.carrier else \'\''
                % (record, record))))


def picking_list():
    widths = [2.8, 2.2, 5.0, 4.2, 1.9, 1.0, 0.9]
    head = head_row("Location", "Code", "Product", center("Barcode"),
        right("Quantity"), "Unit", center("✓"))
    lines = table('Lines', widths,
        directive_row('for each="line in picking_lines(shipment)"', 7),
        row(
            cell(p(d('line.location'))),
            cell(p(d('line.code'))),
            cell(p(d('line.product'))),
            cell(p(d('if test="line.barcode"'))
                + p(image('barcode(*line.barcode, width=0.3, height=9, '
                        'size=(\'4cm\', \'1.3cm\'))',
                        '4cm', '1.3cm', 'EAN'), style='Center')
                + p(d('/if'))),
            cell(p(d('format_number(line.quantity, user.language, '
                     'digits=line.digits)'), style='Right')),
            cell(p(d('line.unit'))),
            cell(p(t('☐'), style='Center'))),
        directive_row('/for', 7),
        header=head)
    info = table('Info', [9.0, 9.0],
        row(
            cell(
                shipment_heading()
                + p(t("Planned Date:") + ' '
                    + d('format_date(shipment.planned_date, user.language)'
                        ' if shipment.planned_date else \'\''))
                + p(t("Priority:") + ' '
                    + d('shipment.picking_priority_string'))
                + p(t("Warehouse:") + ' ' + d('shipment.warehouse.rec_name')),
                style='Plain'),
            cell(
                p(t("Customer"), style='Heading')
                + address_lines('shipment.delivery_address')
                + p(t("Reference:") + ' ' + d('shipment.reference or \'\'')),
                style='Plain')))
    body = pages("Picking List",
        info,
        lines,
        p(t("Lines are sorted by location: one walk through the warehouse. "
            "Scan each item; the shipment is picked when every line is "
            "scanned."), style='Small'),
        p(t("Picked by:") + ' ______________________    '
            + t("Date:") + ' ______________'))
    return document(body, [('Info', [9.0, 9.0]), ('Lines', widths)])


def delivery_note():
    "送货单: what is delivered, how to follow it, and room for the signature"
    widths = [2.6, 7.4, 2.2, 1.4, 4.4]
    head = head_row("Code", "Product", right("Quantity"), "Unit", "Package")
    lines = table('Lines', widths,
        directive_row('for each="line in delivery_lines(shipment)"', 5),
        row(goods_cells(), cell(p(d('line.package')))),
        directive_row('/for', 5),
        header=head)
    tracking = table('Tracking', [5.0, 13.0],
        directive_row('for each="number, link in shipment.tracking_pairs()"',
            2),
        row(cell(p(d('number'))), cell(p(d('link or \'\'')))),
        directive_row('/for', 2),
        header=head_row("Tracking Number", "Follow the delivery"))
    info = table('Info', [9.0, 9.0],
        row(
            cell(
                shipment_heading()
                + p(t("Order:") + ' ' + d('order_numbers(shipment)'))
                + p(t("Your reference:") + ' '
                    + d('shipment.reference or \'\''))
                + p(t("Date:") + ' '
                    + d('format_date(shipment.effective_date '
                        'or shipment.planned_date, user.language) '
                        'if (shipment.effective_date or shipment.planned_date)'
                        ' else \'\''))
                + delivery_method_lines('shipment'),
                style='Plain'),
            cell(
                p(t("Deliver to"), style='Heading')
                + address_lines('shipment.delivery_address'),
                style='Plain')))
    signature = table('Signature', [9.0, 9.0],
        row(
            cell(p(t("Received in good order by (name):"))
                + p(' ')
                + p('______________________________'), style='Plain'),
            cell(p(t("Signature and date:"))
                + p(' ')
                + p('______________________________'), style='Plain')))
    body = pages("Delivery Note",
        info,
        lines,
        p(d('if test="shipment.tracking_pairs()"'))
        + tracking
        + p(d('/if'))
        + p(t("Please check the quantity and the condition of the goods "
              "before you sign; note any damage or missing item here."),
            style='Small')
        + p(d('if test="not shipment.signatures"'))
        + signature
        + p(d('/if'))
        + p(d('for each="signed in shipment.signatures"'))
        + p(t("Signed for by") + ' ' + d('signed.signer') + ', '
            + d('format_datetime(signed.signed_at, user.language)'),
            style='Heading')
        + p(image('signature_image(signed)', '6cm', '2cm', 'Signature'))
        + p(d('for each="line in signed.lines"'))
        + p(d('if test="line.refused"'))
        + p(d('line.product.rec_name') + ': ' + t("refused") + ' '
            + d('format_number(line.refused, user.language)') + ' ('
            + d('line.reason_string') + ')')
        + p(d('/if'))
        + p(d('/for'))
        + p(t("Digest (SHA-256):") + ' ' + d('signed.digest'), style='Small')
        + p(d('/for')))
    return document(body, [('Info', [9.0, 9.0]), ('Lines', widths),
            ('Tracking', [5.0, 13.0]), ('Signature', [9.0, 9.0])])


def order_confirmation():
    """销售订单确认书: what the customer ordered, at what price, how it is
    delivered, and the customer's acknowledgement (回执)"""
    widths = [2.4, 6.3, 1.9, 1.2, 2.9, 3.3]
    head = head_row("Code", "Product", right("Quantity"), "Unit",
        right("Unit Price"), right("Amount"))
    lines = table('Lines', widths,
        directive_row('for each="line in confirmation_lines(sale)"', 6),
        row(
            goods_cells(),
            cell(p(d('format_currency(line.unit_price, user.language, '
                     'sale.currency, digits=line.price_digits)'),
                   style='Right')),
            cell(p(d('format_currency(line.amount, user.language, '
                     'sale.currency)'), style='Right'))),
        directive_row('/for', 6),
        header=head)
    totals = table('Totals', [11.5, 3.2, 3.3], *(
            row(
                cell(style='Plain'),
                cell(p(t(label), style=style), style='Plain'),
                cell(p(d('format_currency(sale.%s, user.language, '
                         'sale.currency)' % field), style='Right'),
                    style='Plain'))
            for label, field, style in [
                ("Untaxed Amount", 'untaxed_amount', 'Standard'),
                ("Tax", 'tax_amount', 'Standard'),
                ("Total", 'total_amount', 'Heading')]))
    info = table('Info', [9.0, 9.0],
        row(
            cell(
                number_heading("Order", 'sale')
                + p(t("Order Date:") + ' '
                    + d('format_date(sale.sale_date, user.language) '
                        'if sale.sale_date else \'\''))
                + p(t("Your reference:") + ' ' + d('sale.reference or \'\''))
                + p(t("Intake reference:") + ' '
                    + d('sale.intake_reference or \'\''))
                + p(t("Channel:") + ' ' + d('sale.channel_string'))
                + p(t("Payment Term:") + ' '
                    + d('sale.payment_term.rec_name '
                        'if sale.payment_term else \'\''))
                + delivery_method_lines('sale')
                + p(d('if test="sale.delivery_method == \'pickup\'"'))
                + p(t("Pickup code:") + ' ' + d('sale.pickup_code or \'\''),
                    style='Heading')
                + p(d('/if')),
                style='Plain'),
            cell(
                p(t("Invoice to"), style='Heading')
                + address_lines('sale.invoice_address')
                + p(' ')
                + p(t("Deliver to"), style='Heading')
                + address_lines('sale.shipment_address'),
                style='Plain')))
    receipt = table('Receipt', [9.0, 9.0],
        row(
            cell(p(t("Customer's stamp:"))
                + p(' ') * 5
                + p('______________________________'), style='Plain'),
            cell(p(t("Confirmed by (name):"))
                + p(' ')
                + p('______________________________')
                + p(t("Signature and date:"))
                + p(' ')
                + p('______________________________'), style='Plain')))
    body = pages("Order Confirmation",
        info,
        lines,
        totals,
        p(t("Currency:") + ' ' + d('sale.currency.code'), style='Small'),
        p(d('if test="sale.status_url()"')),
        p(t("Follow your order online:") + ' ' + d('sale.status_url()'),
            style='Small'),
        p(d('/if')),
        p(t("Acknowledgement"), style='Heading'),
        p(t("Please check the goods, quantities, prices and addresses; "
            "sign, stamp and return a copy of this confirmation to "
            "confirm the order."), style='Small'),
        receipt,
        record='sale')
    return document(body, [('Info', [9.0, 9.0]), ('Lines', widths),
            ('Totals', [11.5, 3.2, 3.3]), ('Receipt', [9.0, 9.0])])


def sales_statistics():
    """销售统计报表: the periods printed with their totals, a chart, the top
    customers and products"""
    money = ('format_currency({0}, user.language, currency) '
        'if currency else {0}')
    figures = [
        ("Orders", 'orders', 'format_number({0}, user.language, digits=0)'),
        ("Revenue", 'revenue', money),
        ("Delivered", 'delivered', money),
        ("Cost", 'cost', money),
        ("Profit", 'profit', money),
        ("Margin %", 'margin',
            'format_number({0}, user.language, digits=2) '
            'if {0} is not None else \'\''),
        ("Refused", 'refused', money),
        ("Invoiced", 'invoiced', money),
        ]
    # landscape: 26.7 cm between the margins
    money_width = 3.35
    widths = [2.4, 1.7] + [money_width] * 4 + [2.5] + [money_width] * 2

    def figure_cells(record, style='Cell', paragraph='Figure'):
        return ''.join(
            cell(p(d(expression.format('%s.%s' % (record, name))),
                   style=paragraph), style=style)
            for _, name, expression in figures)
    periods = table('Periods', widths,
        directive_row('for each="row in periods"', len(widths)),
        row(cell(p(d('format_date(row.date, user.language)'),
                    style='Label')),
            figure_cells('row')),
        directive_row('/for', len(widths)),
        row(cell(p(t("Total"), style='Heading'), style='Head'),
            figure_cells('totals', style='Head')),
        header=head_row("Period", *(right(label) for label, _, _ in figures)))

    def top(title, heading, name, records, label, columns):
        widths = [14.7] + [4.0] * len(columns)
        return p(t(title), style='Heading') + table(name, widths,
                directive_row('for each="row in %s"' % records,
                    len(widths)),
                row(cell(p(d(label), style='Label')), *(
                        cell(p(d(expression.format('row.' + field)),
                               style='Figure'))
                        for _, field, expression in columns)),
                directive_row('/for', len(widths)),
                header=head_row(heading,
                    *(right(c) for c, _, _ in columns))), (
            name, widths)
    customers, customers_widths = top("Top Customers", "Customer",
        'Customers',
        'top_customers', 'row.customer.rec_name if row.customer else \'\'', [
            ("Orders", 'orders', figures[0][2]),
            ("Revenue", 'revenue', money),
            ("Profit", 'profit', money)])
    products, products_widths = top("Top Products", "Product", 'Products',
        'top_products', 'row.product.rec_name if row.product else \'\'', [
            ("Quantity", 'quantity',
                'format_number({0}, user.language, digits=2)'),
            ("Revenue", 'revenue', money),
            ("Profit", 'profit', money)])
    body = (
        company_header()
        + p(t("Sales Statistics"), style='Title')
        + p(t("From") + ' ' + d('format_date(from_date, user.language) '
                'if from_date else \'\'') + ' ' + t("to") + ' '
            + d('format_date(to_date, user.language) if to_date else \'\'')
            + ', ' + t("per") + ' ' + d('period'))
        + p(image('chart', '24cm', '6.75cm', "Chart"))
        + p(t("Bars per period: revenue (blue) and profit (green)."),
            style='Small')
        + periods
        + p(t("Revenue is the quantity actually sold at its price; profit "
              "is the delivered amount less the cost of the same goods; "
              "margin is profit per 100 delivered."), style='Small')
        + customers
        + products
        + p(t("Currency:") + ' ' + d('currency.code if currency else \'\''),
            style='Small'))
    return landscape(document(body, [('Periods', widths), customers_widths,
                products_widths]))


def flow_chart():
    """销售流程图: the chart of the context's orders on one landscape page,
    with the steps and paths as a table"""
    columns = [
        ("Orders", 'row.orders'),
        ("Share %", "format_number(row.share, user.language, digits=1) "
            "if row.share is not None else ''"),
        ("Now", "row.orders_now if row.orders_now is not None else ''"),
        ("Late", "row.late or ''"),
        ("Median (h)", "format_number(row.median, user.language, digits=2) "
            "if row.median is not None else ''"),
        ("90th Percentile (h)", "format_number(row.p90, user.language, "
            "digits=2) if row.p90 is not None else ''"),
        ]
    # landscape: 26.7 cm between the margins
    widths = [8.7, 2.4] + [2.6] * len(columns)
    elements = table('Elements', widths,
        directive_row('for each="row in elements"', len(widths)),
        row(cell(p(d('row.element_string'), style='Label')),
            cell(p(d('row.kind_string'), style='Label')),
            *(cell(p(d(expression), style='Figure'))
                for _, expression in columns)),
        directive_row('/for', len(widths)),
        header=head_row("Step or Path", "Kind",
            *(right(label) for label, _ in columns)))
    body = (
        company_header()
        + p(d('title'), style='Title')
        + p(image('chart_image', '26.7cm', '9.07cm', "Flow Chart"))
        + p(t("Bottleneck:") + ' ' + d('bottleneck or \'\''),
            style='Heading')
        + elements)
    return landscape(document(body, [('Elements', widths)]))


def landscape(document):
    "The document on A4 landscape, its tables as wide as the page"
    for portrait, wide in [
            ('fo:page-width="21cm" fo:page-height="29.7cm"',
                'fo:page-width="29.7cm" fo:page-height="21cm"'),
            ('style:print-orientation="portrait"',
                'style:print-orientation="landscape"'),
            ('style:width="18cm"', 'style:width="26.7cm"')]:
        assert portrait in document
        document = document.replace(portrait, wide)
    return document


def main():
    os.makedirs(REPORT, exist_ok=True)
    for name, build in [
            ('picking_list', picking_list),
            ('delivery_note', delivery_note),
            ('order_confirmation', order_confirmation),
            ('sales_statistics', sales_statistics),
            ('flow_chart', flow_chart)]:
        path = os.path.join(REPORT, name + '.fodt')
        with open(path, 'w', encoding='utf-8') as fp:
            fp.write(build())
        print(path)


if __name__ == '__main__':
    main()
