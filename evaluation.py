# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Process evaluation (流程评估): how long the orders take at each step.

A step goes from the first time an order reached a stage of its timeline
(``sale.flow.timeline``) to the first time it reached the next one; its
cycle time is the time between.  The reports aggregate the cycle times of
the steps that ended in the context's dates — count, average, median, 90th
percentile and longest — per period, channel, user who did the step,
carrier and warehouse, and show per period which step the orders waited
longest at (the bottleneck).

The median and the 90th percentile are PostgreSQL's ``percentile_cont``;
SQLite has none, so there the rows are ranked with window functions and the
same linear interpolation is computed: both give the same figures.
"""

from sql import Cast, Literal, Null, Select, Union, Window
from sql.aggregate import Aggregate, Avg, Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce, NullIf
from sql.functions import Extract, Floor, Function, Round, RowNumber

from trytond import backend
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .common import CHANNELS, SCAN_REFUSED, date_number, day_of, period_start
from .monitoring import STAGES
from .statistics import Context

# the steps: name, label, the stage it starts at (the first of them the
# order reached) and the stage it ends at
STEPS = [
    ('intake', "Entry", ['ordered'], 'submitted'),
    ('review', "Review", ['submitted'], 'approved'),
    ('release', "Release", ['approved', 'submitted'], 'released'),
    ('picking', "Picking", ['released'], 'picked'),
    ('packing', "Packing", ['picked'], 'packed'),
    ('shipping', "Shipping", ['packed'], 'shipped'),
    ('signature', "Delivery to Signature", ['shipped'], 'signed'),
    ('order_to_signature', "Order to Signature", ['ordered'], 'signed'),
    ]
STEP_SELECTION = [(s[0], s[1]) for s in STEPS]
STEP_HELP = ("From the first time the order reached the stage the step "
    "starts at to the first time it reached the next: entry (ordered → "
    "submitted for review), review (→ approved), release (approved, or "
    "submitted when no review is needed → released to the warehouse), "
    "picking, packing, shipping (→ shipped or collected), delivery to "
    "signature, and the whole order to signature.")


class PercentileCont(Aggregate):
    "PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY value)"
    __slots__ = ()
    _sql = 'PERCENTILE_CONT'


class JulianDay(Function):
    "SQLite's julianday(timestamp)"
    __slots__ = ()
    _function = 'JULIANDAY'


def seconds_between(start, end):
    "The SQL expression of the seconds from start to end (timestamps)"
    if backend.name == 'sqlite':
        return Round((JulianDay(end) - JulianDay(start)) * 86400)
    return Extract('EPOCH', end - start)


def context_sales():
    """The query of the orders of the context (company, warehouse,
    channel, carrier)"""
    Sale = Pool().get('sale.sale')
    context = Transaction().context
    sale = Sale.__table__()
    where = sale.company == context.get('company')
    if context.get('warehouse'):
        where &= sale.warehouse == context['warehouse']
    if context.get('channel'):
        where &= sale.channel == context['channel']
    if context.get('carrier'):
        where &= sale.carrier == context['carrier']
    return sale.select(sale.id, where=where)


def step_durations(sales=None, users=True):
    """The query of the steps' cycle times: one row per order and step
    done, with the columns sale, step (its index in STEPS), seconds, user
    (who did the step: the one who reached its end; None without users),
    at (when) and the order's channel, carrier and warehouse, of the orders
    in the query sales (all by default)"""
    pool = Pool()
    Timeline = pool.get('sale.flow.timeline')
    Sale = pool.get('sale.sale')
    stages = sorted({s for step in STEPS for s in step[2] + [step[3]]},
        key=[s for s, _ in STAGES].index)
    timeline = Timeline.query(sales=sales, stages=stages)
    if users:
        # the first time each order reached each stage, and who did it
        ranked = timeline.select(
            timeline.sale, timeline.stage, timeline.reached_at,
            timeline.user,
            RowNumber(window=Window([timeline.sale, timeline.stage],
                    order_by=[timeline.reached_at.asc, timeline.id.asc])
                ).as_('rank'))
        first = ranked.select(
            ranked.sale,
            *(Max(Case((ranked.stage == s, ranked.reached_at))).as_(s)
                for s in stages),
            *(Max(Case((ranked.stage == s, ranked.user))).as_(s + '_user')
                for s in stages),
            where=ranked.rank == 1,
            group_by=[ranked.sale])
    else:
        # the first time each order reached each stage
        first = timeline.select(
            timeline.sale,
            *(Min(Case((timeline.stage == s, timeline.reached_at))).as_(s)
                for s in stages),
            group_by=[timeline.sale])
    steps = Union(*(Select([Literal(i).as_('step')])
            for i in range(len(STEPS))), all_=True)
    sale = Sale.__table__()
    query = (first
        .join(sale, condition=first.sale == sale.id)
        .join(steps, type_='CROSS'))

    def per_step(value):
        return Case(*((steps.step == i, value(step))
                for i, step in enumerate(STEPS)))

    def stage(name):
        return getattr(first, name)

    start = per_step(lambda s: Coalesce(*(stage(n) for n in s[2]))
        if len(s[2]) > 1 else stage(s[2][0]))
    end = per_step(lambda s: stage(s[3]))
    user = (per_step(lambda s: stage(s[3] + '_user')) if users
        else Cast(Literal(None), 'INTEGER'))
    # in one select: SQLite's parser has a shallow stack for subqueries
    return query.select(
        first.sale.as_('sale'), steps.step.as_('step'), user.as_('user'),
        end.as_('at'), seconds_between(start, end).as_('seconds'),
        sale.channel.as_('channel'), sale.carrier.as_('carrier'),
        sale.warehouse.as_('warehouse'),
        where=(start != Null) & (end != Null))


class Abstract(ModelSQL, ModelView):
    "The figures of every cycle time model"

    company = fields.Many2One('company.company', "Company")
    step = fields.Selection(STEP_SELECTION, "Step", sort=False,
        help=STEP_HELP)
    step_string = step.translated('step')
    orders = fields.Integer("Orders", help="The orders that did the step.")
    average = fields.Float("Average (h)", digits=(16, 2),
        help="The average cycle time, in hours.")
    median = fields.Float("Median (h)", digits=(16, 2),
        help="Half of the orders took less, in hours.")
    p90 = fields.Float("90th Percentile (h)", digits=(16, 2),
        help="Nine orders in ten took less, in hours.")
    longest = fields.Float("Longest (h)", digits=(16, 2))
    total = fields.Float("Total (h)", digits=(16, 2),
        help="The hours the orders spent in the step, added up.")

    # the name of the column the model keeps apart (None: the period)
    _dimension = None
    # without the whole order to signature (the sum of the others)
    _stage_steps_only = False

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('step', 'ASC'), ('average', 'DESC'), ('id', 'ASC')]

    def get_rec_name(self, name):
        # the graphs show it (the clients draw a selection's key)
        return self.step_string or ''

    @classmethod
    def _durations(cls):
        """The cycle times of the steps done in the context: sale, step,
        user, at, seconds and the order's columns"""
        context = Transaction().context
        # the orders asked for: each source of the timeline reads only them
        durations = step_durations(
            sales=context_sales(), users=cls._dimension == 'user')
        day = day_of(durations.at)
        where = durations.seconds >= 0
        if context.get('from_date'):
            where &= day >= context['from_date']
        if context.get('to_date'):
            where &= day <= context['to_date']
        steps = [s[0] for s in STEPS]
        if context.get('step') in steps:
            where &= durations.step == steps.index(context['step'])
        if cls._stage_steps_only:
            where &= durations.step != steps.index('order_to_signature')
        return durations.select(
            durations.sale,
            durations.step, durations.seconds, durations.user, durations.at,
            durations.channel, durations.carrier, durations.warehouse,
            where=where)

    @classmethod
    def _key(cls, durations):
        "The SQL expression of the column kept apart"
        return getattr(durations, cls._dimension)

    @classmethod
    def _key_number(cls, key):
        "The SQL expression of the key as a number (for the id)"
        return Coalesce(key, 0)

    @classmethod
    def table_query(cls):
        context = Transaction().context
        durations = cls._durations()
        key = cls._key(durations)
        columns = [key.as_('key'), durations.step, durations.seconds]
        if backend.name == 'sqlite':
            # ranks for the percentiles: the position of each duration in
            # its group and the group's size
            group = [key, durations.step]
            columns += [
                RowNumber(window=Window(group,
                        order_by=[durations.seconds.asc])).as_('position'),
                Count(Literal(1), window=Window(group)).as_('size'),
                ]
        keyed = durations.select(*columns)
        seconds = keyed.seconds

        def hours(expression, field):
            return field.sql_cast(expression / 3600.0)
        return keyed.select(
            cls.id.sql_cast(
                Min(cls._key_number(keyed.key)) * 16 + keyed.step).as_('id'),
            cls.company.sql_cast(Literal(context.get('company'))).as_(
                'company'),
            keyed.key.as_(cls._dimension or 'date'),
            cls._step_name(keyed.step).as_('step'),
            Count(Literal(1)).as_('orders'),
            hours(Avg(seconds), cls.average).as_('average'),
            hours(cls._percentile(keyed, 0.5), cls.median).as_('median'),
            hours(cls._percentile(keyed, 0.9), cls.p90).as_('p90'),
            hours(Max(seconds), cls.longest).as_('longest'),
            hours(Sum(seconds), cls.total).as_('total'),
            group_by=[keyed.key, keyed.step])

    @staticmethod
    def _step_name(step):
        return Case(*((step == i, s[0]) for i, s in enumerate(STEPS)))

    @staticmethod
    def _percentile(keyed, fraction):
        """The SQL aggregate of the fraction's percentile of the seconds,
        interpolated between the two nearest ranks"""
        if backend.name != 'sqlite':
            return PercentileCont(Literal(fraction), within=[keyed.seconds])
        rank = (keyed.size - 1) * fraction
        below = Floor(rank)
        return Sum(keyed.seconds * Case(
                (keyed.position - 1 == below, Literal(1) - (rank - below)),
                (keyed.position - 1 == below + 1, rank - below),
                else_=0))


class Period(Abstract):
    "Cycle times per period"
    __name__ = 'sale.flow.cycle.period'

    date = fields.Date("Date", help="The first day of the period.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def _key(cls, durations):
        return cls.date.sql_cast(period_start(day_of(durations.at)))

    @classmethod
    def _key_number(cls, date):
        # yyyymmdd
        return date_number(date)


class Channel(Abstract):
    "Cycle times per channel"
    __name__ = 'sale.flow.cycle.channel'

    channel = fields.Selection([(None, "")] + CHANNELS, "Channel")

    channel_string = channel.translated('channel')

    _dimension = 'channel'

    def get_rec_name(self, name):
        return self.channel_string or ''

    @classmethod
    def _key_number(cls, channel):
        return Case(*((channel == c, i + 1)
                for i, (c, _) in enumerate(CHANNELS)), else_=0)


class User(Abstract):
    "Cycle times per user who did the step"
    __name__ = 'sale.flow.cycle.user'

    user = fields.Many2One('res.user', "User",
        help="The user who ended the step.")

    _dimension = 'user'


class Carrier(Abstract):
    "Cycle times per carrier"
    __name__ = 'sale.flow.cycle.carrier'

    carrier = fields.Many2One('carrier', "Carrier",
        context={'company': Eval('company', -1)}, depends={'company'})

    _dimension = 'carrier'


class Warehouse(Abstract):
    "Cycle times per warehouse"
    __name__ = 'sale.flow.cycle.warehouse'

    warehouse = fields.Many2One('stock.location', "Warehouse")

    _dimension = 'warehouse'


class Bottleneck(Period):
    "Where the orders waited, per period: the step with most waiting time"
    __name__ = 'sale.flow.cycle.bottleneck'

    share = fields.Float("Share (%)", digits=(16, 2),
        help="The step's part of the hours the orders waited in the "
        "period, per 100.")
    rank = fields.Integer("Rank",
        help="1 for the step with the most hours in the period.")
    bottleneck = fields.Function(fields.Boolean("Bottleneck",
            help="The step the orders waited longest at in the period."),
        'get_bottleneck', searcher='search_bottleneck')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('total', 'DESC'), ('id', 'ASC')]

    _stage_steps_only = True

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('bottleneck'), 'danger', '')),
            ]

    @classmethod
    def table_query(cls):
        steps = super().table_query()
        period = Window([steps.date])
        return steps.select(
            steps.id, steps.company, steps.date, steps.step, steps.orders,
            steps.average, steps.median, steps.p90, steps.longest,
            steps.total,
            cls.share.sql_cast(
                steps.total * 100 / NullIf(Sum(steps.total, window=period), 0)
                ).as_('share'),
            RowNumber(window=Window([steps.date],
                    order_by=[steps.total.desc, steps.id.asc])).as_('rank'))

    def get_bottleneck(self, name):
        return self.rank == 1

    @classmethod
    def search_bottleneck(cls, name, clause):
        _, operator, value = clause
        if (operator == '=') == bool(value):
            return [('rank', '=', 1)]
        return [('rank', '!=', 1)]


class CycleContext(Context):
    "Cycle times context"
    __name__ = 'sale.flow.cycle.context'

    step = fields.Selection([(None, "")] + STEP_SELECTION, "Step",
        sort=False, help=STEP_HELP)

    @classmethod
    def default_step(cls):
        return Transaction().context.get('step')


class Issues(ModelSQL, ModelView):
    "What went wrong in the flow, per period: the errors the flow caught"
    __name__ = 'sale.flow.evaluation.issues'

    date = fields.Date("Date", help="The first day of the period.")
    company = fields.Many2One('company.company', "Company")
    duplicates = fields.Integer("Duplicates Caught",
        help="Duplicate orders found by the review.")
    rejected = fields.Integer("Orders Rejected")
    shortages = fields.Integer("Shortage Decisions",
        help="Decisions taken with the customer on short order lines.")
    wrong_scans = fields.Integer("Wrong Scans Refused",
        help="Scans refused: unknown code, not on the shipment, too many, "
        "shipment not ready.")
    refusals = fields.Integer("Refusals at Signature",
        help="Signatures with goods refused at the door.")
    complaints = fields.Integer("After-Sales Cases")

    KINDS = ['duplicates', 'rejected', 'shortages', 'wrong_scans',
        'refusals', 'complaints']

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def _events(cls):
        """The queries of the errors: each gives the columns kind, company
        and at (when it happened)"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Finding = pool.get('sale.flow.review.finding')
        Decision = pool.get('sale.flow.review.decision')
        StockDecision = pool.get('sale.flow.stock.decision')
        Scan = pool.get('sale.flow.scan')
        Shipment = pool.get('stock.shipment.out')
        Signature = pool.get('sale.flow.signature')
        Complaint = pool.get('sale.complaint')

        def by_sale(table, kind, at, where):
            sale = Sale.__table__()
            return table.join(sale, condition=table.sale == sale.id).select(
                Literal(kind).as_('kind'), sale.company.as_('company'),
                at(table).as_('at'), where=where(table))
        yield by_sale(Finding.__table__(), 'duplicates',
            lambda t: t.found_at, lambda t: t.check == 'duplicate')
        yield by_sale(Decision.__table__(), 'rejected',
            lambda t: t.decided_at, lambda t: t.decision == 'rejected')
        yield by_sale(StockDecision.__table__(), 'shortages',
            lambda t: t.create_date, lambda t: Literal(True))

        def by_shipment(table, kind, at, where):
            shipment = Shipment.__table__()
            return table.join(shipment,
                condition=table.shipment == shipment.id).select(
                Literal(kind).as_('kind'), shipment.company.as_('company'),
                at(table).as_('at'), where=where(table))
        yield by_shipment(Scan.__table__(), 'wrong_scans',
            lambda t: t.create_date,
            lambda t: t.result.in_(sorted(SCAN_REFUSED)))
        yield by_shipment(Signature.__table__(), 'refusals',
            lambda t: t.signed_at, lambda t: t.return_shipment != Null)
        complaint = Complaint.__table__()
        yield complaint.select(
            Literal('complaints').as_('kind'),
            complaint.company.as_('company'),
            complaint.create_date.as_('at'))

    @classmethod
    def table_query(cls):
        context = Transaction().context
        events = Union(*cls._events(), all_=True)
        day = day_of(events.at)
        where = events.company == context.get('company')
        if context.get('from_date'):
            where &= day >= context['from_date']
        if context.get('to_date'):
            where &= day <= context['to_date']
        days = events.select(
            cls.date.sql_cast(period_start(day)).as_('date'),
            events.kind, where=where)
        date = days.date
        # the period's first day as a number (yyyymmdd): one row per period
        number = date_number(date)
        return days.select(
            cls.id.sql_cast(Min(number)).as_('id'),
            date,
            Cast(Literal(context.get('company')), 'INTEGER').as_('company'),
            *(Sum(Case((days.kind == k, 1), else_=0)).as_(k)
                for k in cls.KINDS),
            group_by=[date])
