# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 1 of the flow: order intake (客户下单) on Tryton's sale.

Every order carries its channel and, where there is one, the intake
reference (the shop's order id, the customer's PO number).  ``Sale.intake``
takes whole orders from a script or a web shop and is idempotent: the same
channel, customer and reference return the existing order.
"""

import math
from decimal import Decimal, InvalidOperation

from sql import Null
from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import Exclude, fields
from trytond.model.exceptions import AccessError, SQLConstraintError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction

from .access import FlowAccessMixin, flow_rpc
from .common import CHANNELS, address_text
from .exceptions import IntakeError, IntakeReceivedMeanwhile

# Channels whose orders always carry the sender's reference
REFERENCE_REQUIRED = {'web'}


class Sale(FlowAccessMixin, metaclass=PoolMeta):
    __name__ = 'sale.sale'
    # the order moves by its buttons only (review, stock check, Tryton's)
    _flow_server_fields = {'state'}

    channel = fields.Selection(
        CHANNELS, "Channel", required=True,
        states={'readonly': Eval('state') != 'draft'},
        help="How the customer placed the order.")
    channel_string = channel.translated('channel')
    intake_reference = fields.Char(
        "Intake Reference",
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('channel').in_(list(REFERENCE_REQUIRED)),
            },
        help="The order's id in the web shop or the customer's "
        "purchase order number; the same channel, customer and reference "
        "cannot be entered twice.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('intake_reference_unique',
                Exclude(t, (t.company, Equal), (t.channel, Equal),
                    (t.party, Equal), (t.intake_reference, Equal),
                    # the web client saves an emptied reference as ''
                    where=(t.intake_reference != Null)
                    & (t.intake_reference != '')),
                'sale_flow.msg_sale_intake_reference_unique'),
            ]
        cls.__rpc__['intake'] = RPC(readonly=False)

    @classmethod
    def default_channel(cls):
        return 'phone'

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('intake_reference')
        return super().copy(sales, default=default)

    @classmethod
    @flow_rpc('sale.sale', mode='create')
    def intake(cls, orders):
        """Create the sales of the orders and return their ids

        Each order is a dictionary:
        channel, reference, customer (code or identifier), lines (list of
        {product: code or EAN, quantity, unit_price (optional)}),
        and optionally shipment_address / invoice_address (dictionaries of
        street, postal_code, city, country code), description, comment.
        An order already received (same channel, customer and reference)
        is not created again: its existing sale is returned.
        Nothing is created when any order is wrong.
        """
        company = cls._intake_company()
        if not isinstance(orders, (list, tuple)):
            orders = [orders]
        orders = cls._intake_read(orders)
        parties = cls._intake_customers(orders)
        products = cls._intake_products(orders)
        countries = cls._intake_countries(orders)
        cls._intake_validate(orders, parties, products, countries)
        existing = cls._intake_existing(company, orders)
        result, to_create, addresses = cls._intake_build(
            company, orders, existing, countries)
        cls._intake_save(company, orders, to_create, addresses)
        return [s.id for s in result]

    @classmethod
    def _intake_company(cls):
        "The company of the context, which the user must belong to"
        pool = Pool()
        Company = pool.get('company.company')
        User = pool.get('res.user')
        company_id = Transaction().context.get('company')
        if not company_id:
            raise IntakeError(gettext('sale_flow.msg_intake_no_company'))
        if (not isinstance(company_id, int)
                or not Company.search([('id', '=', company_id)])):
            raise IntakeError(gettext('sale_flow.msg_intake_no_company'))
        company = Company(company_id)
        user = Transaction().user
        if user and company not in User(user).companies:
            raise AccessError(gettext(
                    'sale_flow.msg_intake_company', company=company.rec_name))
        return company

    @classmethod
    def _intake_read(cls, orders):
        """Copies of the orders (the caller's dictionaries are left as they
        are) once their shape is checked: channel, reference, customer,
        lines and addresses"""
        result = []
        for order in orders:
            if not isinstance(order, dict):
                raise IntakeError(gettext(
                        'sale_flow.msg_intake_not_order', value=repr(order)))
            order = dict(order)
            channel = order.get('channel')
            if channel not in dict(CHANNELS):
                _error(order, 'sale_flow.msg_intake_channel',
                    value=channel, channels=', '.join(dict(CHANNELS)))
            reference = order.get('reference')
            if reference is not None and not isinstance(reference, str):
                reference = order['reference'] = str(reference)
            if channel in REFERENCE_REQUIRED and not (
                    reference and reference.strip()):
                _error(order, 'sale_flow.msg_intake_reference_required',
                    channel=channel)
            customer = order.get('customer')
            if not customer or not isinstance(customer, str):
                _error(order, 'sale_flow.msg_intake_customer',
                    value=customer)
            lines = order.get('lines')
            if not lines or not isinstance(lines, (list, tuple)):
                _error(order, 'sale_flow.msg_intake_no_lines')
            for i, line in enumerate(lines, 1):
                if not isinstance(line, dict) or not isinstance(
                        line.get('product'), str):
                    _error(order, 'sale_flow.msg_intake_line_product',
                        line=i, value=line.get('product')
                        if isinstance(line, dict) else line)
            order['lines'] = [dict(line) for line in lines]
            for key in ['shipment_address', 'invoice_address']:
                if order.get(key) and not isinstance(order[key], dict):
                    _error(order, 'sale_flow.msg_intake_address',
                        field=key, value=order[key])
            result.append(order)
        return result

    @classmethod
    def _intake_customers(cls, orders):
        "The customers the orders name, by code and identifier (one search)"
        Party = Pool().get('party.party')
        codes = list({o['customer'] for o in orders})
        parties = {}
        for party in Party.search(['OR',
                    ('code', 'in', codes),
                    ('identifiers.code', 'in', codes),
                    ]):
            parties[party.code] = party
            for identifier in party.identifiers:
                parties.setdefault(identifier.code, party)
        return parties

    @classmethod
    def _intake_products(cls, orders):
        """The salable products the orders' lines name, by code and
        identifier (one search)"""
        Product = Pool().get('product.product')
        codes = list({l['product'] for o in orders for l in o['lines']})
        products = {}
        for product in Product.search(['OR',
                    ('code', 'in', codes),
                    ('identifiers.code', 'in', codes),
                    ]):
            if product.salable:
                products[product.code] = product
                for identifier in product.identifiers:
                    products.setdefault(identifier.code, product)
        return products

    @classmethod
    def _intake_countries(cls, orders):
        "The countries of the orders' addresses, by code (one search)"
        Country = Pool().get('country.country')
        codes = list({o[k]['country'] for o in orders
                for k in ['shipment_address', 'invoice_address']
                if o.get(k) and o[k].get('country')})
        return {c.code: c for c in Country.search([('code', 'in', codes)])}

    @classmethod
    def _intake_validate(cls, orders, parties, products, countries):
        """Check every order before anything is created, and set on the
        copies the customer (_party) and for each line the product,
        quantity and unit price read (_product, _quantity, _unit_price)"""
        for order in orders:
            party = parties.get(order['customer'])
            if not party:
                _error(order, 'sale_flow.msg_intake_customer',
                    value=order['customer'])
            order['_party'] = party
            for i, line in enumerate(order['lines'], 1):
                product = products.get(line['product'])
                if not product:
                    _error(order, 'sale_flow.msg_intake_line_product',
                        line=i, value=line['product'])
                line['_product'] = product
                line['_quantity'] = _intake_quantity(order, i, line, product)
                line['_unit_price'] = _intake_unit_price(order, i, line)
            for key in ['shipment_address', 'invoice_address']:
                value = order.get(key)
                if value and value.get('country') and (
                        value['country'] not in countries):
                    _error(order, 'sale_flow.msg_intake_country',
                        field=key, value=value['country'])

    @classmethod
    def _intake_existing(cls, company, orders):
        """The sales already received for the orders, by (channel, customer
        id, reference)"""
        existing = {}
        references = [o['reference'] for o in orders if o.get('reference')]
        if references:
            for sale in cls.search([
                        ('company', '=', company.id),
                        ('intake_reference', 'in', references),
                        ]):
                existing[(sale.channel, sale.party.id,
                        sale.intake_reference)] = sale
        return existing

    @classmethod
    def _intake_build(cls, company, orders, existing, countries):
        """The sale of each order (not saved), the new sales among them and
        the new addresses to save first; an order received already, or
        twice in the call, gets the same sale"""
        pool = Pool()
        Address = pool.get('party.address')
        Line = pool.get('sale.line')
        to_create, addresses, result = [], [], []
        received = dict(existing)
        for order in orders:
            key = (order['channel'], order['_party'].id,
                order.get('reference'))
            if order.get('reference') and key in received:
                # Sent again (or twice in this call): the order received
                result.append(received[key])
                continue
            sale = cls(
                company=company, currency=company.currency,
                channel=order['channel'],
                intake_reference=order.get('reference'),
                description=order.get('description'),
                comment=order.get('comment'))
            sale.party = order['_party']
            sale.on_change_party()
            for field in ['shipment_address', 'invoice_address']:
                if order.get(field):
                    address = _find_address(order['_party'], order[field])
                    if not address:
                        address = Address(party=order['_party'])
                        for name in ['street', 'postal_code', 'city']:
                            setattr(address, name, order[field].get(name))
                        address.country = countries.get(
                            order[field].get('country'))
                        addresses.append(address)
                    setattr(sale, field, address)
            sale_lines = []
            for line in order['lines']:
                sale_line = Line(sale=sale, type='line')
                sale_line.product = line['_product']
                sale_line.quantity = line['_quantity']
                sale_line.on_change_product()
                if line['_unit_price'] is not None:
                    sale_line.unit_price = line['_unit_price']
                sale_lines.append(sale_line)
            sale.lines = sale_lines
            to_create.append(sale)
            result.append(sale)
            if order.get('reference'):
                received[key] = sale
        return result, to_create, addresses

    @classmethod
    def _intake_save(cls, company, orders, sales, addresses):
        """Save the new addresses, then the new sales; when another call
        received one of the orders meanwhile, run the call again"""
        Address = Pool().get('party.address')
        Address.save(addresses)
        try:
            cls.save(sales)
        except SQLConstraintError as exception:
            # The other call's sale was committed after this transaction's
            # snapshot (the insert waited for it on the unique constraint):
            # only a new transaction sees it (see doc/design.rst, Intake)
            keys = {(s.channel, s.party.id, s.intake_reference)
                for s in sales if s.intake_reference}
            with Transaction().new_transaction(readonly=True):
                meanwhile = cls._intake_existing(
                    Pool().get('company.company')(company.id), orders)
                if keys & set(meanwhile):
                    raise IntakeReceivedMeanwhile() from exception
            raise


def _label(order):
    if isinstance(order, dict):
        return order.get('reference') or order.get('customer') or '?'
    return '?'


def _error(order, message, **kwargs):
    "Refuse the order with the message"
    raise IntakeError(gettext(
            'sale_flow.msg_intake_order', order=_label(order),
            error=gettext(message, **kwargs)))


def _intake_quantity(order, i, line, product):
    "The quantity of the order's line i: a number > 0 in the sale unit"
    try:
        quantity = float(line.get('quantity'))
    except (TypeError, ValueError):
        quantity = None
    if (quantity is None or not math.isfinite(quantity)
            or not quantity > 0):
        _error(order, 'sale_flow.msg_intake_line_quantity',
            line=i, value=line.get('quantity'))
    unit = product.sale_uom
    if unit.round(quantity) != quantity:
        _error(order, 'sale_flow.msg_intake_line_digits',
            line=i, value=line.get('quantity'),
            unit=unit.rec_name, digits=unit.digits)
    return quantity


def _intake_unit_price(order, i, line):
    "The unit price of the order's line i, if given: a number >= 0"
    unit_price = line.get('unit_price')
    if unit_price is not None:
        try:
            unit_price = Decimal(str(unit_price))
        except InvalidOperation:
            unit_price = Decimal(-1)
        if not unit_price.is_finite() or unit_price < 0:
            _error(order, 'sale_flow.msg_intake_line_price',
                line=i, value=line.get('unit_price'))
    return unit_price


def _find_address(party, value):
    """The party's address equal to the value, if any (for the intake: the
    same street, postal code, city and country)"""
    for address in party.addresses:
        if all(address_text(getattr(address, name))
                == address_text(value.get(name))
                for name in ['street', 'postal_code', 'city']) and (
                not value.get('country') or (
                    address.country
                    and address.country.code == value['country'])):
            return address
