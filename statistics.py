# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 7 of the flow: sales statistics (销售统计报表).

Reporting models computed in SQL when they are read (Tryton's
``table_query``, as sale's own reporting), so they are always current.
One query gives a row per sale line with its amounts in the company's
currency; each model groups those rows by its dimension (period, customer,
product, category, channel, carrier, salesperson, order).

The figures reconcile instead of mixing bases:

- *Revenue* is Tryton's own figure (``sale.reporting``): the line's actual
  quantity (delivered or invoiced, else ordered) at its unit price;
- *Delivered* is the quantity that reached the customer and stayed there
  (done moves to the customer less the ones that came back), at the unit
  price, and *Cost* the cost price of those same moves: *Profit* and
  *Margin* compare these two, never an order with a delivery;
- *Ordered*, *Refused* (at the signature), *Invoiced* (posted and paid
  invoices), *Not Invoiced* (delivered less invoiced) and *Open* (ordered,
  neither delivered nor refused) show where an order stands.
"""

from decimal import Decimal

from sql import Null, With
from sql.aggregate import Avg, Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import DateTrunc, Function, Round
from sql.operators import Concat, Like

from trytond import backend
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .sale_flow import CHANNELS

SALE_STATES = ['confirmed', 'processing', 'done']
PERIODS = [
    ('year', "Year"),
    ('month', "Month"),
    ('week', "Week"),
    ('day', "Day"),
    ]


class SQLiteDate(Function):
    "SQLite's date(value, modifier, ...)"
    __slots__ = ()
    _function = 'DATE'


def period_start(period, date):
    "The SQL expression of the first day of the period of date"
    if period == 'week':
        if backend.name == 'sqlite':
            return SQLiteDate(date, '-6 days', 'weekday 1')
        return DateTrunc('week', date)
    return DateTrunc(period, date)


class Context(ModelView):
    "Sales statistics context"
    __name__ = 'sale.flow.statistics.context'

    company = fields.Many2One('company.company', "Company", required=True)
    from_date = fields.Date("From Date",
        domain=[
            If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')),
                ()),
            ])
    to_date = fields.Date("To Date",
        domain=[
            If(Eval('from_date') & Eval('to_date'),
                ('to_date', '>=', Eval('from_date')),
                ()),
            ])
    period = fields.Selection(PERIODS, "Period", required=True, sort=False)
    warehouse = fields.Many2One(
        'stock.location', "Warehouse",
        domain=[('type', '=', 'warehouse')])
    channel = fields.Selection([(None, "")] + CHANNELS, "Channel")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        context = Transaction().context
        if 'from_date' in context:
            return context['from_date']
        today = Pool().get('ir.date').today()
        return today.replace(month=1, day=1)

    @classmethod
    def default_to_date(cls):
        context = Transaction().context
        if 'to_date' in context:
            return context['to_date']
        return Pool().get('ir.date').today()

    @classmethod
    def default_period(cls):
        return Transaction().context.get('period', 'month')

    @classmethod
    def default_warehouse(cls):
        return Transaction().context.get('warehouse')

    @classmethod
    def default_channel(cls):
        return Transaction().context.get('channel')


class Abstract(ModelSQL, ModelView):
    "The figures every sales statistics model shows"

    company = fields.Many2One('company.company', "Company")
    currency = fields.Many2One('currency.currency', "Currency")
    orders = fields.Integer("Orders", help="The number of orders.")
    quantity = fields.Float("Quantity",
        help="The quantity sold: delivered or invoiced, else ordered "
        "(Tryton's actual quantity).")
    revenue = Monetary("Revenue", digits='currency', currency='currency',
        help="The actual quantity at its price, in the company's currency "
        "(the figure of Tryton's sale reporting).")
    average = fields.Function(Monetary("Average Order",
            digits='currency', currency='currency',
            help="The revenue per order."), 'get_average')
    ordered = Monetary("Ordered", digits='currency', currency='currency',
        help="The ordered quantity at its price.")
    delivered = Monetary("Delivered", digits='currency', currency='currency',
        help="The quantity that reached the customer and stayed there, at "
        "its price.")
    cost = Monetary("Cost", digits='currency', currency='currency',
        help="The cost price of the goods delivered (from the stock "
        "moves), less the goods that came back.")
    profit = Monetary("Profit", digits='currency', currency='currency',
        help="Delivered less cost.")
    margin = fields.Function(fields.Float("Margin (%)", digits=(16, 2),
            help="Profit per 100 of delivered amount."), 'get_margin')
    refused = Monetary("Refused", digits='currency', currency='currency',
        help="The quantity refused at the customer's signature, at its "
        "price.")
    invoiced = Monetary("Invoiced", digits='currency', currency='currency',
        help="Posted and paid invoice lines of the orders.")
    not_invoiced = Monetary("Not Invoiced",
        digits='currency', currency='currency',
        help="Delivered less invoiced.")
    open = Monetary("Open", digits='currency', currency='currency',
        help="Ordered, neither delivered nor refused (still to deliver, "
        "cancelled or returned later).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('revenue', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        line = cls._lines()
        keys = cls._keys(line)
        digits = line.currency_digits
        columns = [cls._column_id(line).as_('id'), *keys,
            line.company.as_('company'), line.currency.as_('currency'),
            Count(line.sale, distinct=True).as_('orders'),
            Sum(line.quantity).as_('quantity')]
        amounts = {
            'revenue': Sum(line.revenue),
            'ordered': Sum(line.ordered),
            'delivered': Sum(line.delivered),
            'cost': Sum(line.cost),
            'profit': Sum(line.delivered) - Sum(line.cost),
            'refused': Sum(line.refused),
            'invoiced': Sum(line.invoiced),
            'not_invoiced': Sum(line.delivered) - Sum(line.invoiced),
            'open': (Sum(line.ordered) - Sum(line.delivered)
                - Sum(line.refused)),
            }
        for name, value in amounts.items():
            columns.append(Round(getattr(cls, name).sql_cast(value),
                    digits).as_(name))
        return line.select(*columns,
            group_by=[*cls._group_keys(line), line.company, line.currency,
                digits])

    # the name of the field and of the line's column grouped by
    _dimension = None

    @classmethod
    def _keys(cls, line):
        "The columns of the dimension"
        if cls._dimension:
            return [getattr(line, cls._dimension).as_(cls._dimension)]
        return []

    def get_rec_name(self, name):
        value = getattr(self, self._dimension) if self._dimension else None
        return getattr(value, 'rec_name', value) or ''

    @classmethod
    def _group_keys(cls, line):
        return [k.expression if hasattr(k, 'expression') else k
            for k in cls._keys(line)]

    @classmethod
    def _column_id(cls, line):
        return Min(line.line)

    @classmethod
    def _lines(cls):
        """One row per sale line of the context: its dimensions and its
        amounts in the company's currency"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        SaleLine = pool.get('sale.line')
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        ProductCostPrice = pool.get('product.cost_price')
        SignatureLine = pool.get('sale.flow.signature.line')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        context = Transaction().context
        company_id = context.get('company')

        line = SaleLine.__table__()
        sale = Sale.__table__()
        product = Product.__table__()
        template = Template.__table__()
        company = Company.__table__()
        currency = Currency.__table__()
        rate_sale = With(query=Currency.currency_rate_sql())
        rate_company = With(query=Currency.currency_rate_sql())

        # the moves of sale lines: out to the customer, back from it
        move = Move.__table__()
        customer = Location.search([('type', '=', 'customer')], query=True)
        out = (move.to_location.in_(customer)
            & ~move.from_location.in_(customer))
        back = (move.from_location.in_(customer)
            & ~move.to_location.in_(customer))
        # the cost price of the move, else the product's (moves to the
        # customer from an output location other than storage have none)
        product_cost = ProductCostPrice.__table__()
        cost_price = product_cost.select(
            product_cost.product.as_('product'),
            product_cost.company.as_('company'),
            Max(product_cost.cost_price).as_('cost_price'),
            group_by=[product_cost.product, product_cost.company])
        move_cost = move.internal_quantity * Coalesce(
            move.cost_price, cost_price.cost_price, 0)
        moves = (move
            .join(cost_price, 'LEFT',
                condition=(cost_price.product == move.product)
                & (cost_price.company == move.company))
            .select(
                move.origin.as_('origin'),
                Sum(Case((out, move.quantity), (back, -move.quantity),
                        else_=0)).as_('delivered'),
                Sum(Case((out, move_cost), (back, -move_cost),
                        else_=0)).as_('cost'),
                where=(move.state == 'done') & (move.company == company_id)
                & Like(move.origin, 'sale.line,%'),
                group_by=[move.origin]))

        signature_line = SignatureLine.__table__()
        signed_move = Move.__table__()
        refusals = (signature_line
            .join(signed_move,
                condition=signature_line.move == signed_move.id)
            .select(
                signed_move.origin.as_('origin'),
                Sum(signature_line.refused).as_('refused'),
                where=(signed_move.company == company_id)
                & (signature_line.refused > 0),
                group_by=[signed_move.origin]))

        invoice = Invoice.__table__()
        invoice_line = InvoiceLine.__table__()
        invoices = (invoice_line
            .join(invoice, condition=invoice_line.invoice == invoice.id)
            .select(
                invoice_line.origin.as_('origin'),
                Sum(invoice_line.quantity * invoice_line.unit_price
                    ).as_('amount'),
                where=invoice.state.in_(['posted', 'paid'])
                & (invoice.company == company_id)
                & Like(invoice_line.origin, 'sale.line,%'),
                group_by=[invoice_line.origin]))

        origin = Concat('sale.line,', line.id)
        from_item = (line
            .join(sale, condition=line.sale == sale.id)
            .join(company, condition=sale.company == company.id)
            .join(currency, condition=company.currency == currency.id)
            .join(rate_sale,
                condition=(sale.currency == rate_sale.currency)
                & (rate_sale.start_date <= sale.sale_date)
                & ((rate_sale.end_date == Null)
                    | (rate_sale.end_date > sale.sale_date)))
            .join(rate_company,
                condition=(company.currency == rate_company.currency)
                & (rate_company.start_date <= sale.sale_date)
                & ((rate_company.end_date == Null)
                    | (rate_company.end_date > sale.sale_date)))
            .join(product, 'LEFT', condition=line.product == product.id)
            .join(template, 'LEFT', condition=product.template == template.id)
            .join(moves, 'LEFT', condition=moves.origin == origin)
            .join(refusals, 'LEFT', condition=refusals.origin == origin)
            .join(invoices, 'LEFT', condition=invoices.origin == origin))

        where = (sale.state.in_(SALE_STATES)
            & (sale.company == company_id)
            & (line.type == 'line'))
        if context.get('from_date'):
            where &= sale.sale_date >= context['from_date']
        if context.get('to_date'):
            where &= sale.sale_date <= context['to_date']
        if context.get('warehouse'):
            where &= sale.warehouse.in_(Location.search([
                        ('parent', 'child_of', context['warehouse']),
                        ], query=True))
        if context.get('channel'):
            where &= sale.channel == context['channel']

        rate = rate_company.rate / rate_sale.rate
        quantity = Coalesce(line.actual_quantity, line.quantity)
        # services (the shipping cost) and lines without a product have
        # no moves: they are delivered with the order
        delivered = Case(
            ((template.type == Null) | (template.type == 'service'),
                quantity),
            else_=Coalesce(moves.delivered, 0))
        refused = Coalesce(refusals.refused, 0)
        return from_item.select(
            line.id.as_('line'),
            line.sale.as_('sale'),
            sale.sale_date.as_('date'),
            sale.company.as_('company'),
            currency.id.as_('currency'),
            currency.digits.as_('currency_digits'),
            sale.party.as_('customer'),
            line.product.as_('product'),
            sale.channel.as_('channel'),
            sale.carrier.as_('carrier'),
            sale.create_uid.as_('salesperson'),
            sale.warehouse.as_('warehouse'),
            quantity.as_('quantity'),
            (quantity * line.unit_price * rate).as_('revenue'),
            (line.quantity * line.unit_price * rate).as_('ordered'),
            (delivered * line.unit_price * rate).as_('delivered'),
            Coalesce(moves.cost, 0).as_('cost'),
            (refused * line.unit_price * rate).as_('refused'),
            (Coalesce(invoices.amount, 0) * rate).as_('invoiced'),
            where=where,
            with_=[rate_sale, rate_company])

    @staticmethod
    def _line_columns(lines):
        "The columns of the lines query, to select them again"
        return [getattr(lines, c.output_name) for c in lines.columns]

    def get_average(self, name):
        if self.orders:
            return self.currency.round(self.revenue / self.orders)

    def get_margin(self, name):
        if self.delivered:
            return float((100 * self.profit / self.delivered).quantize(
                    Decimal('0.01')))


class Period(Abstract):
    "Sales statistics per period"
    __name__ = 'sale.flow.statistics.period'

    date = fields.Date("Date", help="The first day of the period.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def _lines(cls):
        "The lines with the first day of their period"
        period = Transaction().context.get('period') or 'month'
        if period not in dict(PERIODS):
            period = 'month'
        lines = super()._lines()
        return lines.select(*cls._line_columns(lines),
            cls.date.sql_cast(period_start(period, lines.date)).as_(
                'period'))

    @classmethod
    def _keys(cls, line):
        return [line.period.as_('date')]

    def get_rec_name(self, name):
        return self.date.isoformat() if self.date else ''


class Customer(Abstract):
    "Sales statistics per customer"
    __name__ = 'sale.flow.statistics.customer'

    customer = fields.Many2One('party.party', "Customer",
        context={'company': Eval('company', -1)}, depends={'company'})

    _dimension = 'customer'


class Product(Abstract):
    "Sales statistics per product"
    __name__ = 'sale.flow.statistics.product'

    product = fields.Many2One('product.product', "Product",
        context={'company': Eval('company', -1)}, depends={'company'})

    _dimension = 'product'


class Category(Abstract):
    "Sales statistics per product category"
    __name__ = 'sale.flow.statistics.category'

    category = fields.Many2One('product.category', "Category",
        context={'company': Eval('company', -1)}, depends={'company'})

    @classmethod
    def _lines(cls):
        "The lines of each category of their product (and its parents)"
        pool = Pool()
        Product = pool.get('product.product')
        TemplateCategory = pool.get('product.template-product.category.all')
        lines = super()._lines()
        product = Product.__table__()
        template_category = TemplateCategory.__table__()
        return (lines
            .join(product, condition=lines.product == product.id)
            .join(template_category,
                condition=product.template == template_category.template)
            .select(*cls._line_columns(lines),
                template_category.category.as_('category')))

    _dimension = 'category'

    @classmethod
    def _column_id(cls, line):
        return line.category


class Channel(Abstract):
    "Sales statistics per channel"
    __name__ = 'sale.flow.statistics.channel'

    channel = fields.Selection(CHANNELS, "Channel")
    channel_string = channel.translated('channel')

    _dimension = 'channel'

    def get_rec_name(self, name):
        return self.channel_string or ''


class Carrier(Abstract):
    "Sales statistics per carrier"
    __name__ = 'sale.flow.statistics.carrier'

    carrier = fields.Many2One('carrier', "Carrier",
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The order's carrier; empty for self-pickup and orders "
        "without one.")

    _dimension = 'carrier'


class Salesperson(Abstract):
    "Sales statistics per salesperson"
    __name__ = 'sale.flow.statistics.salesperson'

    salesperson = fields.Many2One('res.user', "Salesperson",
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The user who entered the order.")

    _dimension = 'salesperson'


class Order(Abstract):
    "Sales reconciliation per order"
    __name__ = 'sale.flow.statistics.order'

    sale = fields.Many2One('sale.sale', "Order",
        context={'company': Eval('company', -1)}, depends={'company'})
    date = fields.Date("Date")
    customer = fields.Many2One('party.party', "Customer",
        context={'company': Eval('company', -1)}, depends={'company'})
    gap = fields.Function(fields.Boolean("Gap",
            help="Something is not delivered, refused or not invoiced."),
        'get_gap', searcher='search_gap')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def _keys(cls, line):
        return [line.sale.as_('sale'), line.date.as_('date'),
            line.customer.as_('customer')]

    @classmethod
    def _column_id(cls, line):
        return line.sale

    def get_gap(self, name):
        return bool(self.refused or self.not_invoiced or self.open)

    @classmethod
    def search_gap(cls, name, clause):
        _, operator, value = clause
        gap = (operator == '=') == bool(value)
        condition = ['OR',
            ('refused', '!=', 0),
            ('not_invoiced', '!=', 0),
            ('open', '!=', 0),
            ]
        if gap:
            return condition
        return [
            ('refused', '=', 0),
            ('not_invoiced', '=', 0),
            ('open', '=', 0),
            ]

    def get_rec_name(self, name):
        return self.sale.rec_name if self.sale else ''


class SatisfactionAbstract(ModelSQL, ModelView):
    "The figures of the satisfaction statistics"

    company = fields.Many2One('company.company', "Company")
    ratings = fields.Integer("Ratings")
    rating = fields.Float("Average Rating", digits=(3, 2),
        help="From 1 (very dissatisfied) to 5 (very satisfied).")
    dissatisfied = fields.Integer("Dissatisfied",
        help="Ratings of 1 or 2.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('rating', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Satisfaction = pool.get('sale.flow.satisfaction')
        Shipment = pool.get('stock.shipment.out')
        context = Transaction().context
        satisfaction = Satisfaction.__table__()
        shipment = Shipment.__table__()
        from_item, key = cls._join(satisfaction, shipment)
        where = shipment.company == context.get('company')
        date = cls._rated_date(satisfaction)
        if context.get('from_date'):
            where &= date >= context['from_date']
        if context.get('to_date'):
            where &= date <= context['to_date']
        if context.get('warehouse'):
            where &= shipment.warehouse == context['warehouse']
        value = satisfaction.rating.cast('INTEGER')
        return from_item.select(
            cls._column_id(satisfaction, key).as_('id'),
            key,
            shipment.company.as_('company'),
            Count(satisfaction.id).as_('ratings'),
            Round(Avg(value.cast('NUMERIC')).cast('NUMERIC'), 2).as_(
                'rating'),
            Sum(Case((value <= 2, 1), else_=0)).as_('dissatisfied'),
            where=where,
            group_by=[key.expression, shipment.company])

    @classmethod
    def _column_id(cls, satisfaction, key):
        return Min(satisfaction.id)

    @classmethod
    def _rated_date(cls, satisfaction):
        if backend.name == 'sqlite':
            return SQLiteDate(satisfaction.rated_at)
        return satisfaction.rated_at.cast('DATE')

    # the satisfaction's column grouped by
    _dimension = None

    @classmethod
    def _join(cls, satisfaction, shipment):
        return (satisfaction.join(shipment,
                condition=satisfaction.shipment == shipment.id),
            getattr(satisfaction, cls._dimension).as_(cls._dimension))


class SatisfactionCustomer(SatisfactionAbstract):
    "Satisfaction per customer"
    __name__ = 'sale.flow.statistics.satisfaction.customer'

    customer = fields.Many2One('party.party', "Customer",
        context={'company': Eval('company', -1)}, depends={'company'})

    _dimension = 'customer'


class SatisfactionCarrier(SatisfactionAbstract):
    "Satisfaction per carrier"
    __name__ = 'sale.flow.statistics.satisfaction.carrier'

    carrier = fields.Many2One('carrier', "Carrier",
        context={'company': Eval('company', -1)}, depends={'company'})

    _dimension = 'carrier'


class SatisfactionProduct(SatisfactionAbstract):
    "Satisfaction per product"
    __name__ = 'sale.flow.statistics.satisfaction.product'

    product = fields.Many2One('product.product', "Product",
        context={'company': Eval('company', -1)}, depends={'company'})

    @classmethod
    def _join(cls, satisfaction, shipment):
        "A rating counts for each product the shipment delivered"
        Move = Pool().get('stock.move')
        move = Move.__table__()
        products = move.select(
            move.shipment.as_('shipment'), move.product.as_('product'),
            where=Like(move.shipment, 'stock.shipment.out,%')
            & (move.state == 'done'),
            group_by=[move.shipment, move.product])
        return (satisfaction
            .join(shipment, condition=satisfaction.shipment == shipment.id)
            .join(products, condition=products.shipment == Concat(
                    'stock.shipment.out,', shipment.id)),
            products.product.as_('product'))

    @classmethod
    def _column_id(cls, satisfaction, key):
        # a satisfaction counts for several products
        return key.expression
