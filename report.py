# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Printed documents of the flow (templates in report/, written by
scripts/templates.py).

The picking list (拣货单) of outbound, the delivery note (送货单) of
shipping and the order confirmation (销售订单确认书); the sales statistics
(销售统计报表) come with their step.  The actions ask for PDF: trytond
converts with LibreOffice where it is installed (and returns the ODT when
it is not).
"""

from decimal import Decimal
from types import SimpleNamespace

from trytond.i18n import gettext
from trytond.modules.product import price_digits
from trytond.pool import Pool
from trytond.report import Report

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
        for name in cls.template_helpers:
            context[name] = getattr(cls, name)
        return context


class PickingList(CompanyReport):
    "Picking list: the lines of customer shipments in walking order"
    __name__ = 'sale_flow.picking_list'
    template_helpers = ('picking_lines',)

    @classmethod
    def picking_lines(cls, shipment):
        "The lines to pick, sorted by location then product code"
        if shipment.warehouse_storage == shipment.warehouse_output:
            moves = shipment.outgoing_moves
        else:
            moves = shipment.inventory_moves
        moves = [m for m in moves
            if m.state not in {'cancelled', 'staging'} and m.quantity]
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
        for move in shipment.outgoing_moves:
            if move.state == 'cancelled' or not move.quantity:
                continue
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


class ShipmentShippedEmail(Report):
    "E-mail to the customer: the goods left, with the tracking links"
    __name__ = 'sale_flow.shipment_shipped_email'


class ShipmentPickupEmail(Report):
    "E-mail to the customer: the goods are ready for pickup, with the code"
    __name__ = 'sale_flow.shipment_pickup_email'
