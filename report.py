# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Printed documents of the flow (templates in report/, written by
scripts/templates.py).

The picking list (拣货单) of outbound, the delivery note (送货单) of
shipping, the order confirmation (销售订单确认书) and the sales statistics
(销售统计报表) with a chart.  The actions ask for PDF: trytond
converts with LibreOffice where it is installed (and returns the ODT when
it is not).
"""

import io
from decimal import Decimal
from types import SimpleNamespace

from trytond.i18n import gettext
from trytond.modules.product import price_digits
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction

from .exceptions import DocumentError

BARCODE_TYPES = {'ean': 'ean13', 'ean13': 'ean13', 'gtin': 'ean13'}


def product_barcode(product):
    """(barcode type, code) to print for the product: its EAN-13 when it
    has one, else its code as Code 128"""
    for identifier in product.identifiers:
        code = (identifier.code or '').strip()
        if (BARCODE_TYPES.get(identifier.type) == 'ean13'
                and len(code) == 13 and code.isdigit()):
            return ('ean13', code)
    if product.code:
        return ('code128', product.code)
    return None


class CompanyReport(Report):
    """A document with the company's header (the records' company) and the
    helpers its template calls"""
    # names of the class methods given to the template
    template_helpers = ()

    @classmethod
    def get_context(cls, records, header, data):
        Company = Pool().get('company.company')
        context = super().get_context(records, header, data)
        companies = {r.company.id for r in records if r.company}
        context['company'] = (
            Company(companies.pop()) if len(companies) == 1 else None)
        for name in ('address_lines',) + tuple(cls.template_helpers):
            context[name] = getattr(cls, name)
        return context

    @staticmethod
    def address_lines(address):
        """The lines of the address with its party's name, as Tryton's
        address format (party.address.format) of the address's country and
        the reader's language writes them: one rendering for every
        document (for China, address.xml of this module)"""
        if not address:
            return []
        Address = Pool().get('party.address')
        with Transaction().set_context(address_with_party=True):
            return Address(address.id).full_address.splitlines()


class PickingList(CompanyReport):
    "Picking list: the lines of customer shipments in walking order"
    __name__ = 'sale_flow.picking_list'
    template_helpers = ('picking_lines',)

    @classmethod
    def picking_lines(cls, shipment):
        "The lines to pick, sorted by location then product code"
        moves = shipment.scan_moves('pick')
        lines = []
        for move in moves:
            product = move.product
            lines.append(SimpleNamespace(
                    location=move.from_location.rec_name,
                    code=product.code or '',
                    product=product.name,
                    barcode=product_barcode(product),
                    quantity=move.quantity,
                    digits=move.unit.digits,
                    unit=move.unit.symbol,
                    ))
        lines.sort(key=lambda l: (l.location, l.code, l.product))
        return lines


class DeliveryNote(CompanyReport):
    "Delivery note (送货单): the goods, the tracking, room for the signature"
    __name__ = 'sale_flow.delivery_note'
    template_helpers = ('delivery_lines', 'order_numbers', 'signature_image')

    @staticmethod
    def signature_image(signature):
        "The signature image for the template, fitted in its frame"
        data = bytes(signature.image or b'')
        mimetype = 'image/jpeg' if data[:2] == b'\xff\xd8' else 'image/png'
        return (data, mimetype, '6cm', '2cm')

    @classmethod
    def delivery_lines(cls, shipment):
        "The goods delivered, by package then product code"
        lines = []
        for move in shipment.moves_to_sign():
            product = move.product
            lines.append(SimpleNamespace(
                    code=product.code or '',
                    product=product.name,
                    quantity=move.quantity,
                    digits=move.unit.digits,
                    unit=move.unit.symbol,
                    package=(move.package.number
                        if getattr(move, 'package', None) else ''),
                    ))
        lines.sort(key=lambda l: (l.package, l.code, l.product))
        return lines

    @classmethod
    def order_numbers(cls, shipment):
        "The numbers of the orders the shipment delivers"
        numbers = {m.sale.number for m in shipment.outgoing_moves
            if m.sale and m.sale.number}
        return ', '.join(sorted(numbers))


class OrderConfirmation(CompanyReport):
    """Order confirmation (销售订单确认书): what the customer ordered, at
    what price and how it is delivered, with room for the customer's stamp
    and signature (回执).  Only for confirmed orders: before, Tryton's own
    sale report prints the quotation."""
    __name__ = 'sale_flow.order_confirmation'

    template_helpers = ('confirmation_lines',)
    CONFIRMED = {'confirmed', 'processing', 'done'}

    @classmethod
    def get_context(cls, records, header, data):
        for sale in records:
            if sale.state not in cls.CONFIRMED:
                raise DocumentError(gettext(
                        'sale_flow.msg_confirmation_not_confirmed',
                        sale=sale.rec_name, state=sale.state_string))
        return super().get_context(records, header, data)

    @classmethod
    def confirmation_lines(cls, sale):
        "The ordered lines (not titles, comments or subtotals) in order"
        lines = []
        for line in sale.lines:
            if line.type != 'line':
                continue
            product = line.product
            unit_price = line.unit_price or Decimal(0)
            # the currency's digits, more only where the price has them
            decimals = -unit_price.normalize().as_tuple().exponent
            lines.append(SimpleNamespace(
                    code=(product.code or '') if product else '',
                    product=(product.name if product
                        else (line.description or '').split('\n')[0]),
                    quantity=line.quantity or 0,
                    digits=line.unit.digits if line.unit else 0,
                    unit=line.unit.symbol if line.unit else '',
                    unit_price=unit_price,
                    price_digits=min(price_digits[1],
                        max(sale.currency.digits, decimals)),
                    amount=line.amount or 0,
                    ))
        return lines


class SalesStatistics(CompanyReport):
    """Sales statistics (销售统计报表) of the periods printed, with their
    totals, a chart and the top customers and products of the same
    context (company, dates, warehouse, channel)"""
    __name__ = 'sale_flow.sales_statistics'

    FIGURES = ['orders', 'quantity', 'revenue', 'ordered', 'delivered',
        'cost', 'profit', 'refused', 'invoiced', 'not_invoiced', 'open']
    TOP = 10

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Customer = pool.get('sale.flow.statistics.customer')
        Product = pool.get('sale.flow.statistics.product')
        Context = pool.get('sale.flow.statistics.context')
        context = super().get_context(records, header, data)
        periods = sorted(records, key=lambda r: r.date)
        context['periods'] = periods
        totals = SimpleNamespace(**{
                name: sum((getattr(r, name) or 0 for r in periods),
                    Decimal(0) if name not in {'orders', 'quantity'} else 0)
                for name in cls.FIGURES})
        totals.margin = (float((100 * totals.profit / totals.delivered
                    ).quantize(Decimal('0.01')))
            if totals.delivered else None)
        context['totals'] = totals
        context['currency'] = (periods[0].currency if periods
            else context['company'].currency if context['company'] else None)
        values = Transaction().context
        context['from_date'] = values.get('from_date')
        context['to_date'] = values.get('to_date')
        context['period'] = dict(Context.fields_get(['period'])['period'][
                'selection']).get(values.get('period') or 'month', '')
        order = [('revenue', 'DESC'), ('id', 'ASC')]
        context['top_customers'] = Customer.search(
            [], order=order, limit=cls.TOP)
        context['top_products'] = Product.search(
            [], order=order, limit=cls.TOP)
        context['chart'] = cls.chart(periods, values.get('period') or 'month')
        return context

    @classmethod
    def chart(cls, periods, period='month', width=1600, height=450):
        """Bars of the revenue and the profit per period, as a PNG for the
        template (the legend is in the document, translated)"""
        from PIL import Image, ImageDraw, ImageFont
        image = Image.new('RGB', (width, height), 'white')
        draw = ImageDraw.Draw(image)
        try:
            font = ImageFont.load_default(size=20)
        except TypeError:
            font = ImageFont.load_default()
        left, right, top, bottom = 130, 20, 20, 60
        values = [float(v or 0) for r in periods
            for v in (r.revenue, r.profit)]
        high = max(values + [0]) or 1
        low = min(values + [0])
        span = (high - low) or 1

        def y(value):
            return top + (high - value) / span * (height - top - bottom)
        # axes and a few grid lines with their values
        for i in range(5):
            value = low + span * i / 4
            draw.line([(left, y(value)), (width - right, y(value))],
                fill='#dddddd')
            draw.text((10, y(value) - 10), '{:,.0f}'.format(value),
                fill='black', font=font)
        draw.line([(left, y(0)), (width - right, y(0))], fill='black')
        slot = (width - left - right) / max(len(periods), 1)
        bar = min(max(slot * 0.35, 1), 60)
        # at most 12 labels, as short as the period allows
        step = max(1, -(-len(periods) // 12))
        label = {'year': slice(0, 4), 'month': slice(0, 7)}.get(
            period, slice(5, 10))
        for i, period in enumerate(periods):
            x = left + i * slot + (slot - 2 * bar) / 2
            for j, (value, color) in enumerate([
                        (period.revenue, '#2f6db5'),
                        (period.profit, '#3c9a4b')]):
                value = float(value or 0)
                x0 = x + j * bar
                draw.rectangle([x0, min(y(value), y(0)), x0 + bar - 2,
                        max(y(value), y(0))], fill=color)
            if i % step == 0 and period.date:
                draw.text((x, height - bottom + 15),
                    period.date.isoformat()[label], fill='black', font=font)
        data = io.BytesIO()
        image.save(data, 'PNG')
        return (data.getvalue(), 'image/png', '24cm', '6.75cm')


class ShipmentShippedEmail(Report):
    "E-mail to the customer: the goods left, with the tracking links"
    __name__ = 'sale_flow.shipment_shipped_email'


class ShipmentPickupEmail(Report):
    "E-mail to the customer: the goods are ready for pickup, with the code"
    __name__ = 'sale_flow.shipment_pickup_email'
