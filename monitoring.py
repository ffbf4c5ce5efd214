# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Flow monitoring (实时监控): the timeline of every order.

The timeline is read from what the steps recorded when they happened —
Tryton's log of workflow transitions (``ir.model.log``) for the orders,
their shipments, invoices and after-sales cases, and the module's own
records (review decisions, stock check, signatures) — never estimated
afterwards, so the orders created before this feature have theirs too.
"""

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sql import As, Cast, Literal, Null, Union, Window
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Case
from sql.functions import Rank
from sql.operators import Concat, Exists, Like

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, check_access

from .access import FlowAccessMixin, to_the_second

STAGES = [
    ('ordered', "Ordered"),
    ('stock_checked', "Stock Checked"),
    ('submitted', "Submitted for Review"),
    ('approved', "Approved"),
    ('rejected', "Rejected"),
    ('released', "Released to the Warehouse"),
    ('picked', "Picked"),
    ('packed', "Packed"),
    ('shipped', "Shipped or Collected"),
    ('courier_delivered', "Delivered by the Courier"),
    ('signed', "Signed"),
    ('invoiced', "Invoiced"),
    ('done', "Done"),
    ('complaint_opened', "After-Sales Opened"),
    ('complaint_closed', "After-Sales Closed"),
    ]


class Timeline(ModelSQL, ModelView):
    "Stage of an order's flow, with when it was reached and by whom"
    __name__ = 'sale.flow.timeline'

    sale = fields.Many2One('sale.sale', "Order", readonly=True)
    stage = fields.Selection(STAGES, "Stage", readonly=True, sort=False)
    stage_string = stage.translated('stage')
    reached_at = to_the_second(
        fields.Timestamp("Reached at", readonly=True))
    user = fields.Many2One('res.user', "By", readonly=True)
    record = fields.Reference("Record", selection='get_records',
        readonly=True, help="The record of the step.")
    record_name = fields.Function(
        fields.Char("Record", help="The record of the step."),
        'get_record_name')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('reached_at', 'ASC'), ('id', 'ASC')]

    @classmethod
    def get_records(cls):
        IrModel = Pool().get('ir.model')
        names = IrModel.get_names()
        return [(None, '')] + [(m, names.get(m, m)) for m in [
                'sale.sale', 'sale.flow.review.decision',
                'sale.flow.stock.check', 'stock.shipment.out',
                'sale.flow.tracking.event', 'sale.flow.signature',
                'account.invoice', 'sale.complaint']]

    @classmethod
    def get_record_name(cls, timelines, name):
        """The names of the records, read once per model for the list; a
        record the user may not read is named by its model"""
        pool = Pool()
        IrModel = pool.get('ir.model')
        ModelAccess = pool.get('ir.model.access')
        ids = defaultdict(set)
        for timeline in timelines:
            if timeline.record:
                ids[timeline.record.__name__].add(timeline.record.id)
        names = {}
        # a getter runs without the access check: the user's rights and
        # record rules are asked for
        with check_access():
            for model, model_ids in ids.items():
                if not ModelAccess.check(
                        model, 'read', raise_exception=False):
                    continue
                for record in pool.get(model).search(
                        [('id', 'in', list(model_ids))]):
                    names[model, record.id] = cls._record_name(record)
        result = {}
        for timeline in timelines:
            record = timeline.record
            if record:
                result[timeline.id] = names.get(
                    (record.__name__, record.id),
                    IrModel.get_name(record.__name__))
            else:
                result[timeline.id] = None
        return result

    @classmethod
    def _record_name(cls, record):
        """The name of the record in the timeline: an order (also as the
        order of a decision) by its number and its customer.  The records
        come from one search: their orders and customers are read at once
        for the list"""
        if record.__name__ == 'sale.sale':
            return cls._order_name(record)
        if record.__name__ == 'sale.flow.review.decision':
            return '%s %s' % (
                record.decision_string, cls._order_name(record.sale))
        return record.rec_name

    @staticmethod
    def _order_name(sale):
        if sale.party:
            return '%s – %s' % (sale.rec_name, sale.party.rec_name)
        return sale.rec_name

    @classmethod
    def _parts(cls):
        """The queries of the stages: each gives the columns sale, stage
        (a literal, or an expression for a query of several stages),
        reached_at, user, record and the source's id (unique in the
        query)"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Decision = pool.get('sale.flow.review.decision')
        StockCheck = pool.get('sale.flow.stock.check')
        Log = pool.get('ir.model.log')
        SaleLine = pool.get('sale.line')
        Signature = pool.get('sale.flow.signature')
        Event = pool.get('sale.flow.tracking.event')
        InvoiceLine = pool.get('account.invoice.line')
        Complaint = pool.get('sale.complaint')

        sale = Sale.__table__()
        yield sale.select(
            sale.id.as_('sale'), Literal('ordered').as_('stage'),
            sale.create_date.as_('reached_at'), sale.create_uid.as_('user'),
            Concat('sale.sale,', sale.id).as_('record'),
            sale.id.as_('source'))

        decision = Decision.__table__()
        for value in ['submitted', 'approved', 'rejected']:
            yield decision.select(
                decision.sale.as_('sale'), Literal(value).as_('stage'),
                decision.decided_at.as_('reached_at'),
                decision.user.as_('user'),
                Concat('sale.flow.review.decision,', decision.id).as_(
                    'record'),
                decision.id.as_('source'),
                where=decision.decision == value)

        # the first check of the order: the one it was submitted on, not a
        # re-check after the approval
        check = StockCheck.__table__()
        earlier = StockCheck.__table__()
        yield check.select(
            check.sale.as_('sale'), Literal('stock_checked').as_('stage'),
            check.checked_at.as_('reached_at'), check.user.as_('user'),
            Concat('sale.flow.stock.check,', check.id).as_('record'),
            check.id.as_('source'),
            where=~Exists(earlier.select(earlier.id,
                    where=(earlier.sale == check.sale)
                    & (earlier.id < check.id))))

        def transitions(model, state):
            log = Log.__table__()
            return log, (log.event == 'transition') & (
                log.target == 'state:%s' % state) & Like(
                log.resource, model + ',%')

        # the log is joined on its resource as text (which Tryton indexes)
        for stage, state in [('released', 'processing'), ('done', 'done')]:
            log, where = transitions('sale.sale', state)
            sale = Sale.__table__()
            yield (log
                .join(sale,
                    condition=log.resource == Concat('sale.sale,', sale.id))
                .select(
                    sale.id.as_('sale'), Literal(stage).as_('stage'),
                    log.create_date.as_('reached_at'), log.user.as_('user'),
                    log.resource.as_('record'), log.id.as_('source'),
                    where=where))

        shipment_sales = cls._shipment_sales()
        # the three transitions in one query: the orders of the shipments
        # are found once
        states = ['picked', 'packed', 'shipped']
        log = Log.__table__()
        yield (log
            .join(shipment_sales,
                condition=shipment_sales.shipment_ref == log.resource)
            .select(
                shipment_sales.sale,
                Case(*((log.target == 'state:' + s, s) for s in states)
                    ).as_('stage'),
                log.create_date.as_('reached_at'), log.user.as_('user'),
                log.resource.as_('record'), log.id.as_('source'),
                where=(log.event == 'transition')
                & log.target.in_(['state:' + s for s in states])
                & Like(log.resource, 'stock.shipment.out,%')))

        # the courier's first delivered event of each shipment: its proof
        # of delivery, before the customer's signature
        event = Event.__table__()
        earlier = Event.__table__()
        yield (event
            .join(shipment_sales,
                condition=shipment_sales.out_shipment == event.shipment)
            .select(
                shipment_sales.sale,
                Literal('courier_delivered').as_('stage'),
                event.time.as_('reached_at'),
                # nobody of the company: the courier (typed, for the union)
                Cast(Literal(None), 'INTEGER').as_('user'),
                Concat('sale.flow.tracking.event,', event.id).as_('record'),
                event.id.as_('source'),
                where=(event.state == 'delivered')
                & ~Exists(earlier.select(earlier.id,
                        where=(earlier.shipment == event.shipment)
                        & (earlier.state == 'delivered')
                        & ((earlier.time < event.time)
                            | ((earlier.time == event.time)
                                & (earlier.id < event.id)))))))

        signature = Signature.__table__()
        yield (signature
            .join(shipment_sales,
                condition=shipment_sales.out_shipment == signature.shipment)
            .select(
                shipment_sales.sale, Literal('signed').as_('stage'),
                signature.signed_at.as_('reached_at'),
                signature.recorded_by.as_('user'),
                Concat('sale.flow.signature,', signature.id).as_('record'),
                signature.id.as_('source')))

        invoice_line = InvoiceLine.__table__()
        sale_line = SaleLine.__table__()
        invoice_sales = (invoice_line
            .join(sale_line, condition=Concat('sale.line,', sale_line.id)
                == invoice_line.origin)
            .select(invoice_line.invoice.as_('invoice'),
                sale_line.sale.as_('sale'),
                group_by=[invoice_line.invoice, sale_line.sale]))
        log, where = transitions('account.invoice', 'posted')
        # posting writes the state itself: Tryton logs the button instead
        where |= (log.event == 'button') & (log.target == 'post') & Like(
            log.resource, 'account.invoice,%')
        yield (log
            .join(invoice_sales, condition=log.resource
                == Concat('account.invoice,', invoice_sales.invoice))
            .select(
                invoice_sales.sale, Literal('invoiced').as_('stage'),
                log.create_date.as_('reached_at'), log.user.as_('user'),
                log.resource.as_('record'), log.id.as_('source'),
                where=where))

        complaint = Complaint.__table__()
        yield complaint.select(
            Complaint.origin.sql_id(complaint.origin, Sale).as_('sale'),
            Literal('complaint_opened').as_('stage'),
            complaint.create_date.as_('reached_at'),
            complaint.create_uid.as_('user'),
            Concat('sale.complaint,', complaint.id).as_('record'),
            complaint.id.as_('source'),
            where=Like(complaint.origin, 'sale.sale,%'))
        log, where = transitions('sale.complaint', 'done')
        complaint = Complaint.__table__()
        yield (log
            .join(complaint, condition=log.resource
                == Concat('sale.complaint,', complaint.id))
            .select(
                Complaint.origin.sql_id(complaint.origin, Sale).as_('sale'),
                Literal('complaint_closed').as_('stage'),
                log.create_date.as_('reached_at'), log.user.as_('user'),
                log.resource.as_('record'), log.id.as_('source'),
                where=where & Like(complaint.origin, 'sale.sale,%')))

    @classmethod
    def _shipment_sales(cls):
        """The query of the orders of the customer shipments, by their
        moves: shipment_ref (the moves' reference), out_shipment (its id)
        and sale"""
        pool = Pool()
        Move = pool.get('stock.move')
        SaleLine = pool.get('sale.line')
        Shipment = pool.get('stock.shipment.out')
        move = Move.__table__()
        sale_line = SaleLine.__table__()
        return (move
            .join(sale_line, condition=Concat('sale.line,', sale_line.id)
                == move.origin)
            .select(
                move.shipment.as_('shipment_ref'),
                Move.shipment.sql_id(move.shipment, Shipment).as_(
                    'out_shipment'),
                sale_line.sale.as_('sale'),
                where=Like(move.shipment, 'stock.shipment.out,%'),
                group_by=[move.shipment, sale_line.sale]))

    @classmethod
    def table_query(cls):
        return cls.query()

    @classmethod
    def query(cls, sales=None, stages=None):
        """The timeline's query, of the orders in the query sales (of their
        ids) and the stages given (all by default): each source is
        filtered, so that the database reads only what is asked"""
        parts = list(cls._parts())
        count = len(parts)
        selects = []
        for index, part in enumerate(parts):
            # the columns sale and stage (a literal) come first
            sale, stage = (c.expression if isinstance(c, As) else c
                for c in part.columns[:2])
            where = []
            if stages is not None:
                if isinstance(stage, Literal):
                    if stage.value not in stages:
                        continue
                else:
                    # a part of several stages
                    where.append(stage.in_(stages))
            if sales is not None:
                where.append(sale.in_(sales))
            for condition in where:
                part.where = (condition if part.where is None
                    else part.where & condition)
            selects.append(part.select(
                    (part.source * count + index).as_('id'),
                    part.sale, part.stage, part.reached_at, part.user,
                    part.record,
                    where=part.sale != Null))
        return Union(*selects, all_=True)


# the stages an open order moves through, in order: its position is the
# furthest it reached
# (the stock is checked when the order is submitted for review: it waits
# for the reviewer then)
FLOW = ['ordered', 'stock_checked', 'submitted', 'approved', 'released',
    'picked', 'packed', 'shipped', 'signed', 'invoiced']
OPEN_STATES = ['draft', 'quotation', 'confirmed', 'processing']


def flow_positions(sale_ids=None):
    """The query of the open orders' position in the flow: sale, company,
    position (1 for ordered, ...) and since (when the order reached it),
    of the user's companies"""
    pool = Pool()
    Timeline = pool.get('sale.flow.timeline')
    Sale = pool.get('sale.sale')
    User = pool.get('res.user')
    sale = Sale.__table__()
    where = sale.state.in_(OPEN_STATES)
    if sale_ids is not None:
        where &= sale.id.in_(sale_ids)
    if Transaction().user:
        # the orders of the user's companies, as Tryton's rule on sales
        where &= sale.company.in_(list(User.get_companies()) or [-1])
    # each source of the timeline reads the open orders only
    timeline = Timeline.query(
        sales=sale.select(sale.id, where=where), stages=FLOW)
    position = Case(*((timeline.stage == s, i + 1)
            for i, s in enumerate(FLOW)), else_=0)
    # in one pass: the furthest stage of each order ranks first
    stages = timeline.select(
        timeline.sale.as_('sale'), position.as_('position'),
        timeline.reached_at.as_('reached_at'),
        Rank(window=Window([timeline.sale], order_by=[position.desc])
            ).as_('rank'))
    order = Sale.__table__()
    return stages.join(order, condition=stages.sale == order.id).select(
        stages.sale.as_('sale'), order.company.as_('company'),
        stages.position.as_('position'),
        Max(stages.reached_at).as_('since'),
        where=stages.rank == 1,
        group_by=[stages.sale, order.company, stages.position])


class CompanyMixin:
    "A setting of a company (the records made before got the first one)"
    __slots__ = ()
    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')

    @classmethod
    def __register__(cls, module):
        fill = not cls.__table_handler__(module).column_exist('company')
        super().__register__(module)
        if fill:
            pool = Pool()
            Company = pool.get('company.company')
            cursor = Transaction().connection.cursor()
            table = cls.__table__()
            company = Company.__table__()
            cursor.execute(*table.update([table.company],
                    company.select(Min(company.id)),
                    where=table.company == Null))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')


WEEKDAYS = [
    ('0', "Monday"),
    ('1', "Tuesday"),
    ('2', "Wednesday"),
    ('3', "Thursday"),
    ('4', "Friday"),
    ('5', "Saturday"),
    ('6', "Sunday"),
    ]
# how far back the working time is counted (a longer service level is
# never reached)
CALENDAR_DAYS = 400


def working_before(now, duration, start, end, is_working):
    """The moment before now (naive local times) from which duration of
    working time has passed: the working days (is_working(date)) count from
    start to end (times; None: the whole day)"""
    remaining = duration
    day = now.date()
    for _ in range(CALENDAR_DAYS):
        if is_working(day):
            begin = dt.datetime.combine(day, start or dt.time(0))
            finish = (dt.datetime.combine(day, end) if end
                else dt.datetime.combine(day + dt.timedelta(days=1),
                    dt.time(0)))
            finish = min(finish, now)
            if finish > begin:
                if finish - begin >= remaining:
                    return finish - remaining
                remaining -= finish - begin
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0))


class Configuration(metaclass=PoolMeta):
    __name__ = 'sale.configuration'

    flow_work_start = fields.Time("Working Day Starts",
        help="The service levels in working time count from this hour "
        "(empty: midnight).")
    flow_work_end = fields.Time("Working Day Ends",
        domain=[If(Eval('flow_work_start') & Eval('flow_work_end'),
                ('flow_work_end', '>', Eval('flow_work_start')),
                ())],
        help="The service levels in working time count until this hour "
        "(empty: midnight).")
    flow_work_days = fields.MultiSelection(WEEKDAYS, "Working Days",
        sort=False,
        help="The days of the week the service levels in working time "
        "count (public holidays and make-up working days are set under "
        "Calendar).")

    @classmethod
    def default_flow_work_start(cls):
        return dt.time(9, 0)

    @classmethod
    def default_flow_work_end(cls):
        return dt.time(18, 0)

    @classmethod
    def default_flow_work_days(cls):
        return ['0', '1', '2', '3', '4']


class CalendarDay(CompanyMixin, FlowAccessMixin, ModelSQL, ModelView):
    "A public holiday or a make-up working day (调休) of the flow's calendar"
    __name__ = 'sale.flow.calendar.day'

    date = fields.Date("Date", required=True)
    kind = fields.Selection([
            ('holiday', "Holiday"),
            ('working', "Working Day"),
            ], "Kind", required=True,
        help="A holiday on a working day of the week, or a working day on "
        "a day of rest (调休).")
    name = fields.Char("Name", translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('date_unique', Unique(t, t.company, t.date),
                'sale_flow.msg_calendar_day_unique'),
            ]
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_kind(cls):
        return 'holiday'

    @staticmethod
    def work_week():
        "The days of the week worked when the configuration has none"
        return Pool().get('sale.configuration').default_flow_work_days()

    @classmethod
    def working_time(cls, now, company_id=None):
        """The calendar: a function of a duration giving the UTC moment
        before now (UTC) from which that much working time has passed"""
        pool = Pool()
        Config = pool.get('sale.configuration')
        Company = pool.get('company.company')
        config = Config(1)
        if company_id is None:
            company_id = Transaction().context.get('company')
        zone = ZoneInfo('UTC')
        if company_id and company_id > 0:
            company = Company(company_id)
            if company.timezone:
                zone = ZoneInfo(company.timezone)
        local = now.replace(tzinfo=dt.timezone.utc).astimezone(zone
            ).replace(tzinfo=None)
        since = local.date() - dt.timedelta(days=CALENDAR_DAYS)
        kinds = {d.date: d.kind for d in cls.search([
                    ('company', '=', company_id),
                    ('date', '>=', since),
                    ('date', '<=', local.date()),
                    ])}
        week = set(config.flow_work_days
            if config.flow_work_days is not None
            else cls.work_week())

        def is_working(date):
            if date in kinds:
                return kinds[date] == 'working'
            return str(date.weekday()) in week

        def before(duration):
            moment = working_before(local, duration, config.flow_work_start,
                config.flow_work_end, is_working)
            return moment.replace(tzinfo=zone).astimezone(dt.timezone.utc
                ).replace(tzinfo=None)
        return before


class ServiceLevel(CompanyMixin, FlowAccessMixin, ModelSQL, ModelView):
    "How long an order may wait at a stage of the flow"
    __name__ = 'sale.flow.service_level'

    stage = fields.Selection(
        [s for s in STAGES if s[0] in FLOW], "Stage", required=True,
        sort=False,
        help="The order has reached this stage and waits for the next.")
    duration = fields.TimeDelta("Within", required=True,
        help="The order is late when it waits longer at the stage.")
    stage_string = stage.translated('stage')
    working_time = fields.Boolean("Working Time",
        help="Count only the working hours of the working days (sales "
        "configuration and calendar), not the nights, days of rest and "
        "holidays.")
    group = fields.Many2One('res.group', "Notify",
        help="The users of this group are told once when an order is "
        "late.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('stage_unique', Unique(t, t.company, t.stage),
                'sale_flow.msg_service_level_unique'),
            ]
        cls._order = [('id', 'ASC')]

    @classmethod
    def thresholds(cls):
        """{(company id, position): the time before which an order of the
        company reached the position is late}, of the user's companies"""
        Calendar = Pool().get('sale.flow.calendar.day')
        now = dt.datetime.now()
        levels = cls.search([])
        working = {}
        for company in {l.company.id for l in levels if l.working_time}:
            working[company] = Calendar.working_time(now, company)
        return {(l.company.id, FLOW.index(l.stage) + 1): (
                working[l.company.id](l.duration)
                if l.working_time else now - l.duration)
            for l in levels}

    @classmethod
    def late_case(cls, company, position, since):
        "The SQL expression: 1 when the order is late, else 0"
        thresholds = cls.thresholds()
        if not thresholds:
            return Literal(0)
        return Case(*(((company == c) & (position == p) & (since < t), 1)
                for (c, p), t in thresholds.items()), else_=0)


class ServiceLevelNotify(metaclass=PoolMeta):
    "Tell the responsible users once per late order and stage"
    __name__ = 'sale.flow.service_level'

    @classmethod
    def notify_late(cls):
        """Notify the users of each service level's group of the orders
        late at its stage, once per order and stage (the scheduled task)"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Breach = pool.get('sale.flow.breach')
        levels = {(l.company.id, FLOW.index(l.stage) + 1): l
            for l in cls.search([])}
        if not levels:
            return
        late = Sale.search([('flow_late', '=', True)])
        known = {(b.sale.id, b.stage) for b in Breach.search([
                    ('sale', 'in', [s.id for s in late])])}
        breaches = []
        for sale in late:
            level = levels.get((sale.company.id, sale.flow_position))
            if not level or (sale.id, level.stage) in known:
                continue
            breaches.append(Breach(
                    sale=sale, stage=level.stage,
                    since=sale.flow_since, notified_at=dt.datetime.now()))
            for user in (level.group.users if level.group else []):
                Sale.notify_user([sale], 'tryton-warning', gettext(
                        'sale_flow.msg_service_level_late',
                        sale=sale.rec_name,
                        stage=level.stage_string,
                        duration=level.duration),
                    user=user.id)
        Breach.save(breaches)


class Breach(FlowAccessMixin, ModelSQL, ModelView):
    "An order late at a stage, notified once"
    __name__ = 'sale.flow.breach'
    _flow_external = set()

    sale = fields.Many2One('sale.sale', "Order", required=True,
        ondelete='CASCADE', readonly=True)
    stage = fields.Selection(STAGES, "Stage", required=True, readonly=True)
    since = to_the_second(
        fields.Timestamp("At Stage since", readonly=True))
    notified_at = to_the_second(
        fields.Timestamp("Notified at", readonly=True))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('sale_stage_unique', Unique(t, t.sale, t.stage),
                'sale_flow.msg_breach_unique'),
            ]
        cls._order = [('notified_at', 'DESC'), ('id', 'DESC')]


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('sale.flow.service_level|notify_late',
                "Notify the Orders Late in the Flow"))


class Board(ModelSQL, ModelView):
    "Flow board: where the open orders are now"
    __name__ = 'sale.flow.board'

    stage = fields.Selection(
        [s for s in STAGES if s[0] in FLOW], "Stage", readonly=True,
        sort=False)
    stage_string = stage.translated('stage')
    orders = fields.Integer("Orders", readonly=True,
        help="The open orders that reached this stage and wait for the "
        "next.")
    oldest = to_the_second(fields.Timestamp("Waiting since", readonly=True,
            help="When the order waiting longest reached the stage."))
    waiting = fields.Function(fields.TimeDelta("Longest Wait"),
        'get_waiting')
    late = fields.Integer("Late", readonly=True,
        help="The orders waiting longer than the stage's service level.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'ASC')]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('late', 0) > 0, 'danger', '')),
            ]

    @classmethod
    def table_query(cls):
        ServiceLevel = Pool().get('sale.flow.service_level')
        positions = flow_positions()
        stage = Case(*((positions.position == i + 1, s)
                for i, s in enumerate(FLOW)))
        return positions.select(
            positions.position.as_('id'),
            stage.as_('stage'),
            Count(positions.sale).as_('orders'),
            cls.oldest.sql_cast(Min(positions.since)).as_('oldest'),
            Sum(ServiceLevel.late_case(positions.company,
                    positions.position, positions.since)).as_('late'),
            group_by=[positions.position])

    def get_rec_name(self, name):
        return self.stage_string or ''

    def get_waiting(self, name):
        if self.oldest:
            waiting = dt.datetime.now() - self.oldest
            return dt.timedelta(seconds=int(waiting.total_seconds()))


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    timeline = fields.One2Many(
        'sale.flow.timeline', 'sale', "Timeline", readonly=True)
    flow_position = fields.Function(fields.Integer("Flow Position",
            help="The furthest stage of the flow the open order reached "
            "(1: ordered)."),
        'get_flow', searcher='search_flow_position')
    flow_stage = fields.Function(fields.Selection(
            [(None, '')] + [s for s in STAGES if s[0] in FLOW],
            "Flow Stage", help="The furthest stage the open order reached."),
        'get_flow')
    flow_since = fields.Function(
        to_the_second(fields.Timestamp("At Stage since")), 'get_flow')
    flow_late = fields.Function(fields.Boolean("Late",
            help="Waiting at its stage longer than the service level."),
        'get_flow', searcher='search_flow_late')

    @classmethod
    def get_flow(cls, sales, names):
        ServiceLevel = Pool().get('sale.flow.service_level')
        thresholds = ServiceLevel.thresholds()
        result = {n: {s.id: None for s in sales} for n in names}
        if 'flow_late' in result:
            result['flow_late'] = {s.id: False for s in sales}
        cursor = Transaction().connection.cursor()
        positions = flow_positions([s.id for s in sales])
        cursor.execute(*positions.select(positions.sale, positions.company,
                positions.position, positions.since))
        for sale_id, company, position, since in cursor:
            if isinstance(since, str):
                # SQLite gives the computed timestamp as text
                since = dt.datetime.fromisoformat(since)
            values = {
                'flow_position': position,
                'flow_stage': FLOW[position - 1],
                'flow_since': since,
                'flow_late': bool((company, position) in thresholds
                    and since and since < thresholds[company, position]),
                }
            for name in names:
                result[name][sale_id] = values[name]
        return result

    @classmethod
    def search_flow_position(cls, name, clause):
        _, operator, value = clause
        Operator = fields.SQL_OPERATORS[operator]
        positions = flow_positions()
        return [('id', 'in', positions.select(positions.sale,
                    where=Operator(positions.position, value)))]

    @classmethod
    def search_flow_late(cls, name, clause):
        ServiceLevel = Pool().get('sale.flow.service_level')
        _, operator, value = clause
        positions = flow_positions()
        late = ServiceLevel.late_case(
            positions.company, positions.position, positions.since)
        query = positions.select(positions.sale, where=late == 1)
        if (operator == '=') == bool(value):
            return [('id', 'in', query)]
        return [('id', 'not in', query)]
