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

from sql import Cast, Column, Literal, Null, Union, With
from sql.aggregate import Avg, Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Round
from sql.operators import Concat, Like

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import price_digits, round_price
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .access import FlowAccessMixin
from .common import CHANNELS, PERIODS, day_of, period_start

SALE_STATES = ['confirmed', 'processing', 'done']
# the columns of an order the statistics may keep apart
ORDER_COLUMNS = {
    'sale': lambda sale: sale.id,
    'customer': lambda sale: sale.party,
    'channel': lambda sale: sale.channel,
    'carrier': lambda sale: sale.carrier,
    'salesperson': lambda sale: sale.create_uid,
    'warehouse': lambda sale: sale.warehouse,
    }


class SaleLine(FlowAccessMixin, metaclass=PoolMeta):
    __name__ = 'sale.line'

    delivered_quantity = fields.Float(
        "Delivered Quantity", digits='unit', readonly=True,
        help="What reached the customer and stayed there: done moves to "
        "the customer less the ones back (services: the actual quantity).")
    delivered_cost = fields.Numeric(
        "Delivered Cost", digits=price_digits, readonly=True,
        help="The cost price of the delivered goods, in the company's "
        "currency.")
    refused_quantity = fields.Float(
        "Refused Quantity", digits='unit', readonly=True,
        help="Refused at the customer's signature.")
    invoiced_amount = fields.Numeric(
        "Invoiced Amount", digits=(16, 4), readonly=True,
        help="Of the posted and paid invoice lines, in the order's "
        "currency.")

    @classmethod
    def __register__(cls, module):
        fill = not cls.__table_handler__(module).column_exist(
            'delivered_quantity')
        super().__register__(module)
        if fill:
            # the orders processed before: from their moves and invoices
            cls.fill_flow_figures()

    @classmethod
    def fill_flow_figures(cls):
        """Compute the delivered quantity and cost, the refused quantity
        and the invoiced amount of every line in SQL (the moves are taken
        in the line's unit)"""
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Sale = pool.get('sale.sale')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        SignatureLine = pool.get('sale.flow.signature.line')
        ProductCostPrice = pool.get('product.cost_price')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()

        move = Move.__table__()
        location = Location.__table__()
        customer = location.select(
            location.id, where=location.type == 'customer')
        out = (move.to_location.in_(customer)
            & ~move.from_location.in_(customer))
        back = (move.from_location.in_(customer)
            & ~move.to_location.in_(customer))
        product_cost = ProductCostPrice.__table__()
        cost_price = product_cost.select(
            product_cost.product.as_('product'),
            product_cost.company.as_('company'),
            Max(product_cost.cost_price).as_('cost_price'),
            group_by=[product_cost.product, product_cost.company])
        move_cost = move.internal_quantity * Coalesce(
            move.cost_price, cost_price.cost_price, 0)
        # grouped by the output column: the same expression twice would
        # differ by its parameters for PostgreSQL
        moved_line = Move.origin.sql_id(move.origin, cls).as_('line')
        moves = (move
            .join(cost_price, 'LEFT',
                condition=(cost_price.product == move.product)
                & (cost_price.company == move.company))
            .select(
                moved_line,
                Sum(Case((out, move.quantity), (back, -move.quantity),
                        else_=0)).as_('delivered'),
                Sum(Case((out, move_cost), (back, -move_cost),
                        else_=0)).as_('cost'),
                where=(move.state == 'done')
                & Like(move.origin, 'sale.line,%'),
                group_by=[moved_line]))
        cursor.execute(*table.update(
                [table.delivered_quantity, table.delivered_cost],
                [moves.delivered, moves.cost],
                from_=[moves], where=table.id == moves.line))

        sale = Sale.__table__()
        product = Product.__table__()
        template = Template.__table__()
        services = product.join(template,
            condition=product.template == template.id).select(
            product.id, where=template.type == 'service')
        cursor.execute(*table.update(
                [table.delivered_quantity],
                [Coalesce(table.actual_quantity, table.quantity)],
                where=(table.type == 'line')
                & ((table.product == Null) | table.product.in_(services))
                & table.sale.in_(sale.select(sale.id,
                        where=sale.state.in_(['processing', 'done'])))))

        invoice = Invoice.__table__()
        invoice_line = InvoiceLine.__table__()
        invoiced_line = InvoiceLine.origin.sql_id(
            invoice_line.origin, cls).as_('line')
        invoices = (invoice_line
            .join(invoice, condition=invoice_line.invoice == invoice.id)
            .select(
                invoiced_line,
                Sum(invoice_line.quantity * invoice_line.unit_price
                    ).as_('amount'),
                where=invoice.state.in_(['posted', 'paid'])
                & Like(invoice_line.origin, 'sale.line,%'),
                group_by=[invoiced_line]))
        cursor.execute(*table.update(
                [table.invoiced_amount], [invoices.amount],
                from_=[invoices], where=table.id == invoices.line))

        signature_line = SignatureLine.__table__()
        signed_move = Move.__table__()
        refused_line = Move.origin.sql_id(signed_move.origin, cls).as_('line')
        refusals = (signature_line
            .join(signed_move,
                condition=signature_line.move == signed_move.id)
            .select(
                refused_line,
                Sum(signature_line.refused).as_('refused'),
                where=(signature_line.refused > 0)
                & Like(signed_move.origin, 'sale.line,%'),
                group_by=[refused_line]))
        cursor.execute(*table.update(
                [table.refused_quantity], [refusals.refused],
                from_=[refusals], where=table.id == refusals.line))

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        for name in ['delivered_quantity', 'delivered_cost',
                'refused_quantity', 'invoiced_amount']:
            default.setdefault(name, None)
        return super().copy(lines, default=default)

    @staticmethod
    def _customer_direction(move):
        "1 for a move to the customer, -1 for one back from it, else 0"
        to_customer = move.to_location.type == 'customer'
        from_customer = move.from_location.type == 'customer'
        return int(to_customer) - int(from_customer)

    def set_quantities(self):
        """Also keep what the statistics read: the delivered quantity and
        its cost, the invoiced amount (Sale.process calls it whenever a
        shipment or an invoice of the order changes)"""
        pool = Pool()
        Uom = pool.get('product.uom')
        super().set_quantities()
        if self.type != 'line' or not self.unit:
            return
        # the line's quantity of each move, towards the customer positive
        moved = [(m, self._customer_direction(m) * Uom.compute_qty(
                    m.unit, m.quantity, self.unit, round=False))
            for m in self.moves if m.state != 'cancelled']
        # Tryton adds up every move of the line, but the goods refused at
        # the signature come back to stock by moves of the same line: they
        # count less, not more, in the actual quantity (which Tryton's sale
        # reporting uses for the revenue)
        if any(q * self.quantity < 0 for _, q in moved):
            invoiced = sum(
                Uom.compute_qty(l.unit or self.unit, l.quantity, self.unit,
                    round=False)
                for l in self.invoice_lines
                if not l.invoice or l.invoice.state != 'cancelled')
            actual = self.unit.round(
                max(sum(q for _, q in moved), invoiced, key=abs))
            if self.actual_quantity != actual:
                self.actual_quantity = actual

        delivered, cost = 0, Decimal(0)
        if not self.product or self.product.type == 'service':
            # services are delivered with the order
            delivered = (self.actual_quantity
                if self.actual_quantity is not None else self.quantity)
        else:
            for move, quantity in moved:
                if move.state != 'done':
                    continue
                delivered += quantity
                cost_price = move.cost_price
                if cost_price is None:
                    # a move from an output location other than storage
                    # has none: the product's
                    cost_price = move.product.cost_price or 0
                cost += self._customer_direction(move) * Decimal(
                    str(move.internal_quantity or 0)) * cost_price
        delivered = self.unit.round(delivered)
        cost = round_price(cost)
        invoiced = round_price(sum(
                (Decimal(str(l.quantity or 0)) * (l.unit_price or 0)
                    for l in self.invoice_lines
                    if l.invoice and l.invoice.state in {'posted', 'paid'}),
                Decimal(0)))
        if self.delivered_quantity != delivered:
            self.delivered_quantity = delivered
        if self.delivered_cost != cost:
            self.delivered_cost = cost
        if self.invoiced_amount != invoiced:
            self.invoiced_amount = invoiced


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
            cls.orders.sql_cast(cls._column_orders(line)).as_('orders'),
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
    def _column_orders(cls, line):
        return Sum(line.orders)

    @classmethod
    def _order_keys(cls):
        "The columns of the order the rows keep apart (besides its date)"
        return [cls._dimension] if cls._dimension in ORDER_COLUMNS else []

    # whether the rows are per order and product
    _per_product = False

    @classmethod
    def _lines(cls):
        """The rows the model groups, with their dimensions and their amounts
        in the company's currency: per day, order currency and the order
        columns of _order_keys (per order and product where _per_product).

        The lines' figures are what the lines keep (one scan of the lines,
        as Tryton's sale reporting); the orders are counted from the orders
        themselves, not by a distinct count over the lines; the currency
        rate of the day applies to the sums of the day."""
        pool = Pool()
        Sale = pool.get('sale.sale')
        SaleLine = pool.get('sale.line')
        Location = pool.get('stock.location')
        context = Transaction().context

        line = SaleLine.__table__()
        sale = Sale.__table__()
        where = (sale.state.in_(SALE_STATES)
            & (sale.company == context.get('company')))
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
        quantity = Coalesce(line.actual_quantity, line.quantity)
        # kept on the line by its processing (SaleLine.set_quantities) and
        # the signature
        delivered = Coalesce(line.delivered_quantity, 0)
        refused = Coalesce(line.refused_quantity, 0)
        amounts = [
            ('quantity', quantity),
            ('revenue', quantity * line.unit_price),
            ('ordered', line.quantity * line.unit_price),
            ('delivered', delivered * line.unit_price),
            ('cost', Coalesce(line.delivered_cost, 0)),
            ('refused', refused * line.unit_price),
            ('invoiced', Coalesce(line.invoiced_amount, 0)),
            ]
        names = ['date', 'currency', 'company']
        columns = [sale.sale_date, sale.currency, sale.company]
        for key in cls._order_keys():
            names.append(key)
            columns.append(ORDER_COLUMNS[key](sale))
        if cls._per_product:
            names += ['product', 'sale']
            columns += [line.product, sale.id]
        from_item = line.join(sale, condition=line.sale == sale.id)
        sale_where = where
        where &= line.type == 'line'
        if cls._per_product:
            # one row per order and product
            days = from_item.select(
                *(c.as_(n) for c, n in zip(columns, names)),
                Min(line.id).as_('line'),
                Literal(1).as_('orders'),
                *(Sum(v).as_(n) for n, v in amounts),
                where=where,
                group_by=[sale.id, line.product])
        else:
            # the sums of the lines and, to count them, the orders: each
            # grouped on its own (in parallel where the database does)
            group_lines = [c for c in columns]
            group_sales = [c for c in columns]
            rows = Union(
                from_item.select(
                    *(c.as_(n) for c, n in zip(columns, names)),
                    Min(line.id).as_('line'), Literal(0).as_('orders'),
                    *(Sum(v).as_(n) for n, v in amounts),
                    where=where, group_by=group_lines),
                sale.select(
                    *(c.as_(n) for c, n in zip(columns, names)),
                    Cast(Literal(None), 'INTEGER').as_('line'),
                    Count(sale.id).as_('orders'),
                    *(Literal(0).as_(n) for n, _ in amounts),
                    where=sale_where, group_by=group_sales),
                all_=True)
            keys = [Column(rows, n) for n in names]
            days = rows.select(
                *(k.as_(n) for k, n in zip(keys, names)),
                Min(rows.line).as_('line'),
                Sum(rows.orders).as_('orders'),
                *(Sum(Column(rows, n)).as_(n) for n, _ in amounts),
                group_by=keys)

        pool = Pool()
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        company = Company.__table__()
        currency = Currency.__table__()
        rate_sale = With(query=Currency.currency_rate_sql())
        rate_company = With(query=Currency.currency_rate_sql())
        from_item = (days
            .join(company, condition=days.company == company.id)
            .join(currency, condition=company.currency == currency.id)
            .join(rate_sale,
                condition=(days.currency == rate_sale.currency)
                & (rate_sale.start_date <= days.date)
                & ((rate_sale.end_date == Null)
                    | (rate_sale.end_date > days.date)))
            .join(rate_company,
                condition=(company.currency == rate_company.currency)
                & (rate_company.start_date <= days.date)
                & ((rate_company.end_date == Null)
                    | (rate_company.end_date > days.date))))
        rate = rate_company.rate / rate_sale.rate
        converted = {'revenue', 'ordered', 'delivered', 'refused', 'invoiced'}
        return from_item.select(
            days.line, days.date, days.company,
            currency.id.as_('currency'),
            currency.digits.as_('currency_digits'),
            *(Column(days, n) for n in names[3:]),
            days.orders,
            *((Column(days, n) * rate).as_(n) if n in converted
                else Column(days, n) for n, _ in amounts),
            with_=[rate_sale, rate_company])

    @staticmethod
    def _line_columns(lines):
        "The columns of the lines query, to select them again"
        return [getattr(lines, getattr(c, 'output_name', None) or c.name)
            for c in lines.columns]

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
        lines = super()._lines()
        return lines.select(*cls._line_columns(lines),
            cls.date.sql_cast(period_start(lines.date)).as_(
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
    _per_product = True

    product = fields.Many2One('product.product', "Product",
        context={'company': Eval('company', -1)}, depends={'company'})

    _dimension = 'product'


class Category(Abstract):
    "Sales statistics per product category"
    __name__ = 'sale.flow.statistics.category'
    _per_product = True

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

    @classmethod
    def _column_orders(cls, line):
        # an order with two products of the category counts once
        return Count(line.sale, distinct=True)


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

    @classmethod
    def _order_keys(cls):
        return ['sale', 'customer']

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
        date = day_of(satisfaction.rated_at)
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
