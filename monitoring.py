# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Flow monitoring (实时监控): the timeline of every order.

The timeline is read from what the steps recorded when they happened —
Tryton's log of workflow transitions (``ir.model.log``) for the orders,
their shipments, invoices and after-sales cases, and the module's own
records (review decisions, stock check, signatures) — never estimated
afterwards, so the orders created before this feature have theirs too.
"""

from sql import Literal, Null, Union
from sql.aggregate import Min
from sql.operators import Concat, Like

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta

STAGES = [
    ('ordered', "Ordered"),
    ('submitted', "Submitted for Review"),
    ('approved', "Approved"),
    ('rejected', "Rejected"),
    ('stock_checked', "Stock Checked"),
    ('released', "Released to the Warehouse"),
    ('picked', "Picked"),
    ('packed', "Packed"),
    ('shipped', "Shipped or Collected"),
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
    reached_at = fields.Timestamp("Reached at", readonly=True)
    user = fields.Many2One('res.user', "By", readonly=True)
    record = fields.Reference("Record", selection='get_records',
        readonly=True, help="The record of the step.")

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
                'sale.flow.stock.line', 'stock.shipment.out',
                'sale.flow.signature', 'account.invoice', 'sale.complaint']]

    @classmethod
    def _parts(cls):
        """The queries of the stages: each gives the columns sale, stage,
        reached_at, user, record and the source's id"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Decision = pool.get('sale.flow.review.decision')
        StockLine = pool.get('sale.flow.stock.line')
        Log = pool.get('ir.model.log')
        Move = pool.get('stock.move')
        SaleLine = pool.get('sale.line')
        Shipment = pool.get('stock.shipment.out')
        Signature = pool.get('sale.flow.signature')
        Invoice = pool.get('account.invoice')
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

        stock_line = StockLine.__table__()
        yield stock_line.select(
            stock_line.sale.as_('sale'), Literal('stock_checked').as_('stage'),
            Min(stock_line.checked_at).as_('reached_at'),
            Min(stock_line.create_uid).as_('user'),
            Concat('sale.sale,', stock_line.sale).as_('record'),
            stock_line.sale.as_('source'),
            group_by=[stock_line.sale])

        def transitions(model, state):
            log = Log.__table__()
            return log, (log.event == 'transition') & (
                log.target == 'state:%s' % state) & Like(
                log.resource, model + ',%')

        for stage, state in [('released', 'processing'), ('done', 'done')]:
            log, where = transitions('sale.sale', state)
            yield log.select(
                Log.resource.sql_id(log.resource, Sale).as_('sale'),
                Literal(stage).as_('stage'),
                log.create_date.as_('reached_at'), log.user.as_('user'),
                log.resource.as_('record'), log.id.as_('source'),
                where=where)

        # the orders of the shipments: by their moves
        move = Move.__table__()
        sale_line = SaleLine.__table__()
        # grouped by the output column (an expression repeated would differ
        # by its parameters for PostgreSQL), named apart from the move's
        shipment_id = Move.shipment.sql_id(move.shipment, Shipment).as_(
            'out_shipment')
        shipment_sales = (move
            .join(sale_line, condition=sale_line.id == Move.origin.sql_id(
                    move.origin, SaleLine))
            .select(shipment_id, sale_line.sale.as_('sale'),
                where=Like(move.shipment, 'stock.shipment.out,%')
                & Like(move.origin, 'sale.line,%'),
                group_by=[shipment_id, sale_line.sale]))
        for state in ['picked', 'packed', 'shipped']:
            log, where = transitions('stock.shipment.out', state)
            yield (log
                .join(shipment_sales, condition=shipment_sales.out_shipment
                    == Log.resource.sql_id(log.resource, Shipment))
                .select(
                    shipment_sales.sale, Literal(state).as_('stage'),
                    log.create_date.as_('reached_at'), log.user.as_('user'),
                    log.resource.as_('record'), log.id.as_('source'),
                    where=where))

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
        invoice_id = invoice_line.invoice.as_('invoice')
        invoice_sales = (invoice_line
            .join(sale_line, condition=sale_line.id
                == InvoiceLine.origin.sql_id(invoice_line.origin, SaleLine))
            .select(invoice_id, sale_line.sale.as_('sale'),
                where=Like(invoice_line.origin, 'sale.line,%'),
                group_by=[invoice_line.invoice, sale_line.sale]))
        log, where = transitions('account.invoice', 'posted')
        # posting writes the state itself: Tryton logs the button instead
        where |= (log.event == 'button') & (log.target == 'post') & Like(
            log.resource, 'account.invoice,%')
        yield (log
            .join(invoice_sales, condition=invoice_sales.invoice
                == Log.resource.sql_id(log.resource, Invoice))
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
            .join(complaint, condition=complaint.id
                == Log.resource.sql_id(log.resource, Complaint))
            .select(
                Complaint.origin.sql_id(complaint.origin, Sale).as_('sale'),
                Literal('complaint_closed').as_('stage'),
                log.create_date.as_('reached_at'), log.user.as_('user'),
                log.resource.as_('record'), log.id.as_('source'),
                where=where & Like(complaint.origin, 'sale.sale,%')))

    @classmethod
    def table_query(cls):
        parts = list(cls._parts())
        count = len(parts)
        union = Union(*(
                part.select(
                    (part.source * count + index).as_('id'),
                    part.sale, part.stage, part.reached_at, part.user,
                    part.record,
                    where=part.sale != Null)
                for index, part in enumerate(parts)), all_=True)
        return union


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    timeline = fields.One2Many(
        'sale.flow.timeline', 'sale', "Timeline", readonly=True)
