# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 3 of the flow: stock check (库存检查) and the shortage decisions.

The check is advisory: it records, per goods line, what is available in the
order's warehouse and what is short; reservation stays Tryton's
``assign_try``.  A short line blocks the review until a decision is
recorded on it: wait for replenishment, ship partially now, substitute the
product, or reduce / remove the line.

Every check is kept (``sale.flow.stock.check``: when, by whom, the order's
status); the line rows are append-only: a check adds a row only for a line
whose figures changed and closes the row it replaces (``superseded_at``).
"""

import datetime as dt
from collections import defaultdict
from itertools import groupby

from sql import Null
from sql.aggregate import Min

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .access import FlowAccessMixin, to_the_second
from .common import msg, transition
from .exceptions import StockDecisionError

STOCK_STATUS = [
    (None, ""),
    ('sufficient', "Sufficient"),
    ('partly_short', "Partly Short"),
    ('short', "Short"),
    ]
DECISIONS = [
    ('wait', "Wait for Replenishment"),
    ('partial', "Partial Shipment Now"),
    ('substitute', "Substitute Product"),
    ('reduce', "Reduce or Remove the Line"),
    ]


class StockCheck(FlowAccessMixin, ModelSQL, ModelView):
    "Stock check of an order: when, by whom and what it found"
    __name__ = 'sale.flow.stock.check'
    _flow_external = set()

    sale = fields.Many2One(
        'sale.sale', "Order", required=True, ondelete='CASCADE',
        readonly=True)
    checked_at = to_the_second(
        fields.Timestamp("Checked at", required=True, readonly=True))
    user = fields.Many2One(
        'res.user', "Checked by", readonly=True, ondelete='RESTRICT')
    status = fields.Selection(
        STOCK_STATUS, "Stock Status", readonly=True,
        help="What the check found for the whole order.")
    lines = fields.Function(fields.Many2Many(
            'sale.flow.stock.line', None, None, "Lines",
            help="The lines as this check found them."), 'get_lines')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # the first check of an order is looked up by (sale, id)
        cls._sql_indexes.add(Index(
                t, (t.sale, Index.Equality()), (t.id, Index.Range())))
        cls._order = [('checked_at', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return '%s %s' % (
            self.sale.rec_name, self.checked_at.replace(microsecond=0))

    @classmethod
    def get_lines(cls, checks, name):
        "The rows in effect at each check, read once for all the orders"
        StockLine = Pool().get('sale.flow.stock.line')
        result = {c.id: [] for c in checks}
        by_sale = defaultdict(list)
        for check in checks:
            by_sale[check.sale.id].append(check)
        for row in StockLine.search([
                    ('sale', 'in', list(by_sale)),
                    ], order=[('id', 'ASC')]):
            for check in by_sale[row.sale.id]:
                if (row.checked_at <= check.checked_at
                        and (row.superseded_at is None
                            or row.superseded_at > check.checked_at)):
                    result[check.id].append(row.id)
        return result


def _same(old, new):
    "Whether two checks of a line found the same figures"
    for a, b in zip(old, new):
        if isinstance(a, float) or isinstance(b, float):
            if a is None or b is None or abs(a - b) > 1e-9 * max(
                    1, abs(a), abs(b)):
                return False
        elif a != b:
            return False
    return True


class StockLine(FlowAccessMixin, ModelSQL, ModelView):
    "Stock check of an order line: what the warehouse can give"
    __name__ = 'sale.flow.stock.line'
    _flow_external = set()

    sale = fields.Many2One(
        'sale.sale', "Order", required=True, ondelete='CASCADE',
        readonly=True)
    line = fields.Many2One(
        'sale.line', "Line", required=True, ondelete='CASCADE',
        readonly=True)
    product = fields.Many2One(
        'product.product', "Product", readonly=True, ondelete='CASCADE')
    warehouse = fields.Many2One(
        'stock.location', "Warehouse", readonly=True, ondelete='CASCADE')
    shipping_date = fields.Date("Shipping Date", readonly=True)
    ordered = fields.Float("Ordered", readonly=True)
    on_hand = fields.Float(
        "On Hand", readonly=True,
        help="In the warehouse now, less what is already reserved.")
    promised = fields.Float(
        "Promised", readonly=True,
        help="Promised to other approved orders, not reserved yet.")
    available = fields.Float(
        "Available", readonly=True, help="On hand less promised.")
    forecast = fields.Float(
        "Forecast", readonly=True,
        help="Forecast at the shipping date, incoming supply counted.")
    shortage = fields.Float("Shortage", readonly=True)
    checked_at = to_the_second(
        fields.Timestamp("Checked at", readonly=True,
            help="When a check found these figures; the later checks "
            "that found the same kept this row."))
    check = fields.Many2One(
        'sale.flow.stock.check', "Check", readonly=True, ondelete='CASCADE',
        help="The check that found these figures.")
    superseded_at = to_the_second(
        fields.Timestamp("Superseded at", readonly=True,
            help="When a later check found other figures for the line or "
            "no longer checked it; empty for the current figures."))
    decision = fields.Function(fields.Selection(
            [(None, "")] + DECISIONS, "Decision"), 'get_decision')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(
                    t, (t.shortage, Index.Range()),
                    where=t.shortage > 0),
                # the current rows of an order, read at every check
                Index(
                    t, (t.sale, Index.Equality()),
                    where=t.superseded_at == Null),
                })
        cls._order = [('sale', 'DESC'), ('id', 'ASC')]

    @classmethod
    def __register__(cls, module):
        pool = Pool()
        Sale = pool.get('sale.sale')
        StockCheck = pool.get('sale.flow.stock.check')
        cursor = Transaction().connection.cursor()
        # the rows of a database made before the history have no check
        migrate = (backend.TableHandler.table_exist(cls._table)
            and not cls.__table_handler__(module).column_exist('check'))
        super().__register__(module)
        if not migrate:
            return
        table = cls.__table__()
        check = StockCheck.__table__()
        sale = Sale.__table__()

        # Migration from the checks replaced at each run: the rows recorded
        # before the history are the order's one known check
        cursor.execute(*table.select(
                table.id, where=table.check == Null, limit=1))
        if cursor.fetchone():
            cursor.execute(*check.insert(
                    [check.sale, check.checked_at, check.user,
                        check.status, check.create_uid, check.create_date],
                    table.join(sale, condition=sale.id == table.sale).select(
                        table.sale, Min(table.checked_at),
                        Min(table.create_uid), sale.stock_status,
                        Min(table.create_uid), Min(table.create_date),
                        where=table.check == Null,
                        group_by=[table.sale, sale.stock_status])))
            first = StockCheck.__table__()
            cursor.execute(*table.update([table.check], [
                        first.select(Min(first.id),
                            where=first.sale == table.sale)],
                    where=table.check == Null))

    def figures(self):
        """What the check found for the line: its row is kept while a new
        check finds the same"""
        return (self.product.id if self.product else None,
            self.warehouse.id if self.warehouse else None,
            self.shipping_date, self.ordered, self.on_hand, self.promised,
            self.available, self.forecast, self.shortage)

    @classmethod
    def get_decision(cls, lines, name):
        pool = Pool()
        Decision = pool.get('sale.flow.stock.decision')
        result = {l.id: None for l in lines}
        # the history has several rows of a line
        by_line = defaultdict(list)
        for l in lines:
            by_line[l.line.id].append(l.id)
        for decision in Decision.search([
                    ('line', 'in', list(by_line)),
                    ('state', '=', 'applied'),
                    ], order=[('decided_at', 'ASC'), ('id', 'ASC')]):
            for id_ in by_line[decision.line.id]:
                result[id_] = decision.kind
        return result


class StockDecision(FlowAccessMixin, Workflow, ModelSQL, ModelView):
    "Decision taken on a short order line, with the customer"
    __name__ = 'sale.flow.stock.decision'

    _states = {'readonly': Eval('state') != 'draft'}

    sale = fields.Many2One(
        'sale.sale', "Order", required=True, ondelete='CASCADE',
        states=_states,
        domain=[('state', 'in', ['draft', 'quotation'])])
    line = fields.Many2One(
        'sale.line', "Line", ondelete='SET NULL',
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('state') == 'draft',
            },
        domain=[('sale', '=', Eval('sale', -1)), ('type', '=', 'line')],
        help="Empty once the decision removed or replaced the line.")
    line_description = fields.Char(
        "Line Description", readonly=True,
        help="The line as it was when the decision was taken.")
    kind = fields.Selection(DECISIONS, "Decision", required=True,
        states=_states)
    quantity = fields.Float(
        "Quantity", states={
            'readonly': Eval('state') != 'draft',
            'invisible': ~Eval('kind').in_(['partial', 'reduce',
                    'substitute']),
            },
        help="Partial: the quantity shipped now. Reduce: the new quantity "
        "(0 removes the line). Substitute: the quantity of the substitute.")
    substitute = fields.Many2One(
        'product.product', "Substitute", states={
            'readonly': Eval('state') != 'draft',
            'invisible': Eval('kind') != 'substitute',
            'required': Eval('kind') == 'substitute',
            },
        domain=[('salable', '=', True), ('type', '=', 'goods')])
    customer_consent = fields.Boolean(
        "Customer's Consent", states=_states)
    contact = fields.Char(
        "Customer Contact", states=_states,
        help="Who at the customer agreed, and how.")
    note = fields.Text("Note", states=_states)
    backorder = fields.Many2One(
        'stock.shipment.out', "Backorder", readonly=True,
        ondelete='SET NULL',
        help="The shipment that carries the rest of a partial shipment.")
    decided_by = fields.Many2One('res.user', "Decided by", readonly=True)
    decided_at = to_the_second(
        fields.Timestamp("Decided at", readonly=True))
    state = fields.Selection([
            ('draft', "Draft"),
            ('applied', "Applied"),
            ], "State", readonly=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('decided_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {('draft', 'applied')}
        cls._buttons.update({
                'apply': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def check_modification(cls, mode, decisions, values=None,
            external=False):
        super().check_modification(
            mode, decisions, values=values, external=external)
        if mode == 'delete':
            for decision in decisions:
                if decision.state != 'draft':
                    raise AccessError(gettext(
                            'sale_flow.msg_stock_decision_delete',
                            decision=decision.rec_name))

    @classmethod
    def default_kind(cls):
        return 'wait'

    @classmethod
    @ModelView.button
    @Workflow.transition('applied')
    def apply(cls, decisions):
        "Check the decisions and carry them out on the orders"
        pool = Pool()
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        # decided on the stock as it is now: the shortage may be one that
        # only a refused approval's checks saw (rolled back with the
        # refusal), or gone since the last check
        stock_lines = {sl.line.id: sl for sl in Sale.stock_check_run(
                list({d.sale.id for d in decisions}))}
        for decision in decisions:
            decision.check_decision(stock_lines.get(decision.line.id))

        now = dt.datetime.now()
        for decision in decisions:
            # applied before the checks below run again and read it
            cls.write([decision], {
                    'state': 'applied',
                    'decided_by': Transaction().user,
                    'decided_at': now,
                    'line_description': decision.line.rec_name,
                    })

        # Changes to the lines happen in draft, as a clerk would do them
        to_change = [d for d in decisions
            if d.kind in {'reduce', 'substitute'}]
        sales = Sale.browse(list({d.sale.id for d in to_change}))
        resubmit = [s for s in sales if s.state == 'quotation']
        if resubmit:
            Sale.draft(resubmit)
        to_delete, to_create = [], []
        for decision in to_change:
            line = decision.line
            if decision.kind == 'reduce' and decision.quantity:
                line.quantity = decision.quantity
                line.save()
                continue
            if decision.kind == 'substitute':
                new = Line(
                    sale=line.sale, type='line',
                    product=decision.substitute,
                    quantity=decision.quantity or line.quantity,
                    sequence=line.sequence)
                new.on_change_product()
                to_create.append(new)
            to_delete.append(line)
        Line.save(to_create)
        Line.delete(to_delete)
        if resubmit:
            Sale.quote(resubmit)
        others = [s for s in Sale.browse(list({d.sale.id for d in decisions}))
            if s.state == 'quotation' and s not in resubmit]
        if others:
            Sale.review_run_checks(others)

    def check_decision(self, stock_line):
        "Refuse a decision that does not fit the line"
        line = self.line
        if not stock_line or not stock_line.shortage:
            raise StockDecisionError(gettext(
                    'sale_flow.msg_stock_decision_not_short',
                    line=line.rec_name))
        if self.kind == 'partial':
            if (self.quantity is None or self.quantity <= 0
                    or self.quantity >= line.quantity):
                raise StockDecisionError(gettext(
                        'sale_flow.msg_stock_decision_partial_quantity',
                        line=line.rec_name, quantity=self.quantity,
                        ordered=line.quantity))
        elif self.kind == 'reduce':
            if (self.quantity is None or self.quantity < 0
                    or self.quantity >= line.quantity):
                raise StockDecisionError(gettext(
                        'sale_flow.msg_stock_decision_reduce_quantity',
                        line=line.rec_name, quantity=self.quantity,
                        ordered=line.quantity))
        elif self.kind == 'substitute':
            product = self.substitute
            if (not product or not product.salable
                    or product.type != 'goods' or product == line.product):
                raise StockDecisionError(gettext(
                        'sale_flow.msg_stock_decision_substitute',
                        line=line.rec_name,
                        product=product.rec_name if product else ''))
            if not self.customer_consent:
                raise StockDecisionError(gettext(
                        'sale_flow.msg_stock_decision_consent',
                        line=line.rec_name))
            if self.quantity is not None and self.quantity <= 0:
                raise StockDecisionError(gettext(
                        'sale_flow.msg_stock_decision_reduce_quantity',
                        line=line.rec_name, quantity=self.quantity,
                        ordered=line.quantity))
        if self.sale.state not in {'draft', 'quotation'}:
            raise StockDecisionError(gettext(
                    'sale_flow.msg_stock_decision_sale_state',
                    sale=self.sale.rec_name))


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    stock_lines = fields.One2Many(
        'sale.flow.stock.line', 'sale', "Stock Check", readonly=True,
        filter=[('superseded_at', '=', None)],
        help="The lines as the last check found them.")
    stock_checks = fields.One2Many(
        'sale.flow.stock.check', 'sale', "Stock Checks", readonly=True,
        help="Every stock check of the order: when, by whom, what it "
        "found.")
    stock_status = fields.Selection(
        STOCK_STATUS, "Stock Status", readonly=True,
        help="Whether the warehouse can give what the order asks for.")
    stock_decisions = fields.One2Many(
        'sale.flow.stock.decision', 'sale', "Stock Decisions",
        states={'readonly': ~Eval('state').in_(['draft', 'quotation'])})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'stock_check': {
                    'invisible': ~Eval('state').in_(
                        ['draft', 'quotation', 'confirmed']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        for field in ['stock_lines', 'stock_checks', 'stock_status',
                'stock_decisions']:
            default.setdefault(field, None)
        return super().copy(sales, default=default)

    @classmethod
    @ModelView.button
    def stock_check(cls, sales):
        "Check the stock of the orders now"
        cls.stock_check_run(sales)

    @classmethod
    @ModelView.button
    @transition('confirmed')
    def confirm(cls, sales):
        super().confirm(sales)
        # released to the warehouse: record the stock as it is now, unless
        # this call has just checked it (the approval's checks, which
        # confirm the order)
        checked = cls._stock_check_repeated(sales)
        to_check = [s for s in sales if checked.get(s.id, False) is False]
        if to_check:
            cls.stock_check_run(to_check)

    @classmethod
    @ModelView.button
    def process(cls, sales):
        super().process(sales)
        cls._stock_backorders(sales)

    @classmethod
    def _stock_backorders(cls, sales):
        """Split the rest of the partially shipped lines into a backorder
        shipment that waits for the stock"""
        pool = Pool()
        Decision = pool.get('sale.flow.stock.decision')
        Move = pool.get('stock.move')
        Shipment = pool.get('stock.shipment.out')
        Uom = pool.get('product.uom')
        decisions = Decision.search([
                ('sale', 'in', [s.id for s in sales]),
                ('kind', '=', 'partial'),
                ('state', '=', 'applied'),
                ('backorder', '=', None),
                ('line', '!=', None),
                ])
        to_wait, to_save = [], []
        for decision in decisions:
            line = decision.line
            moves = [m for m in line.moves
                if m.state == 'draft' and m.shipment
                and m.shipment.__name__ == 'stock.shipment.out'
                and m.shipment.state in {'draft', 'waiting'}
                and m.to_location.type == 'customer']
            if not moves:
                continue
            move = moves[0]
            now = Uom.compute_qty(
                line.unit, decision.quantity, move.unit)
            rest = move.unit.round(move.quantity - now)
            if rest <= 0:
                continue
            shipment = move.shipment
            backorder, = Shipment.copy([shipment], default={'moves': None})
            Move.copy([move], default={
                    'quantity': rest,
                    'shipment': str(backorder),
                    })
            Move.write([move], {'quantity': now})
            decision.backorder = backorder
            to_save.append(decision)
            to_wait.extend([shipment, backorder])
        if to_wait:
            Shipment.draft([s for s in to_wait if s.state == 'waiting'])
            Shipment.wait(Shipment.browse(to_wait))
        with without_check_access():
            Decision.save(to_save)

    @classmethod
    def _review_checks(cls):
        return super()._review_checks() + ['_review_check_stock']

    @classmethod
    def _review_check_stock(cls, sales, config):
        "Short lines: blocking until a decision is recorded"
        stock_lines = cls.stock_check_run(sales)
        decided = {}
        for decision in Pool().get('sale.flow.stock.decision').search([
                    ('sale', 'in', [s.id for s in sales]),
                    ('state', '=', 'applied'),
                    ], order=[('decided_at', 'ASC'), ('id', 'ASC')]):
            if decision.line:
                decided[decision.line.id] = decision
        findings = []
        for stock_line in stock_lines:
            if not stock_line.shortage:
                continue
            line = stock_line.line
            decision = decided.get(line.id)
            values = dict(
                line=line.rec_name, shortage=stock_line.shortage,
                ordered=stock_line.ordered,
                available=max(stock_line.available, 0))
            if decision:
                findings.append(cls._finding(
                        stock_line.sale, 'stock', 'info',
                        'stock:%s' % line.id,
                        msg('sale_flow.msg_finding_stock_decided',
                            decision={'__decision__': decision.kind},
                            **values),
                        line=line))
            else:
                findings.append(cls._finding(
                        stock_line.sale, 'stock', 'blocking',
                        'stock:%s' % line.id,
                        msg('sale_flow.msg_finding_stock_short', **values),
                        line=line))
        return findings

    @classmethod
    def stock_check_run(cls, sales):
        """Compute and record the stock check of the goods lines; return
        the current rows of the lines checked

        Quantities are read once per warehouse and shipping date for all
        the products of that group, not once per line.  The check is kept
        (``sale.flow.stock.check``); a line keeps its row while its
        figures stay the same, otherwise it gets a new row and the old one
        is closed (``superseded_at``): nothing is deleted or rewritten."""
        pool = Pool()
        Product = pool.get('product.product')
        StockCheck = pool.get('sale.flow.stock.check')
        StockLine = pool.get('sale.flow.stock.line')
        Uom = pool.get('product.uom')
        Date = pool.get('ir.date')
        today = Date.today()
        now = dt.datetime.now()

        sales = cls.browse(sales)
        lines = [l for s in sales for l in s.lines
            if l.type == 'line' and l.product and l.product.type == 'goods'
            and s.warehouse and (l.quantity or 0) > 0]
        current = {}
        stale = []
        with without_check_access():
            rows = StockLine.search([
                    ('sale', 'in', [s.id for s in sales]),
                    ('superseded_at', '=', None),
                    ], order=[('id', 'ASC')])
        for row in rows:
            if row.line.id in current:
                stale.append(current[row.line.id])
            current[row.line.id] = row

        def key(line):
            date = max(line.shipping_date or today, today)
            return (line.sale.warehouse.id, date)
        lines.sort(key=key)
        promised = cls._stock_promised(lines, sales)
        records, new = [], []
        for (warehouse_id, date), group in groupby(lines, key=key):
            group = list(group)
            product_ids = list({l.product.id for l in group})
            with Transaction().set_context(
                    stock_date_end=today, stock_assign=True):
                on_hand = Product.products_by_location(
                    [warehouse_id], with_childs=True,
                    grouping_filter=(product_ids,))
            with Transaction().set_context(
                    stock_date_end=date, forecast=True):
                forecast = Product.products_by_location(
                    [warehouse_id], with_childs=True,
                    grouping_filter=(product_ids,))
            # Lines of the same order and product share what is available
            taken = defaultdict(float)
            for line in group:
                product = line.product
                ordered = Uom.compute_qty(
                    line.unit, line.quantity, product.default_uom,
                    round=False)
                hand = on_hand.get((warehouse_id, product.id), 0)
                other = promised.get((warehouse_id, product.id), 0)
                available = hand - other - taken[line.sale.id, product.id]
                taken[line.sale.id, product.id] += ordered
                shortage = max(ordered - max(available, 0), 0)
                record = StockLine(
                    sale=line.sale, line=line, product=product,
                    warehouse=warehouse_id, shipping_date=date,
                    ordered=ordered, on_hand=hand, promised=other,
                    available=available,
                    forecast=forecast.get((warehouse_id, product.id), 0),
                    shortage=product.default_uom.round(shortage),
                    checked_at=now)
                row = current.pop(line.id, None)
                if row and _same(row.figures(), record.figures()):
                    records.append(row)
                    continue
                if row:
                    stale.append(row)
                records.append(record)
                new.append(record)
        # the rows of lines no longer checked (removed, now a service...)
        stale.extend(current.values())

        status = {}
        by_sale = defaultdict(list)
        for record in records:
            by_sale[record.sale.id].append(record)
        stale_sales = {r.sale.id for r in stale}
        changed = stale_sales | {r.sale.id for r in new}
        repeated = cls._stock_check_repeated(
            [s for s in sales if s.id in by_sale and s.id not in changed])
        checks = []
        for sale in sales:
            checked = by_sale.get(sale.id)
            if not checked:
                status[sale] = None
            elif not any(r.shortage for r in checked):
                status[sale] = 'sufficient'
            elif all(r.shortage for r in checked):
                status[sale] = 'short'
            else:
                status[sale] = 'partly_short'
            if ((checked or sale.id in stale_sales)
                    and repeated.get(sale.id, False) != status[sale]):
                checks.append(StockCheck(
                        sale=sale, checked_at=now,
                        user=Transaction().user, status=status[sale]))
        with without_check_access():
            StockCheck.save(checks)
            by_check = {c.sale.id: c for c in checks}
            for record in new:
                record.check = by_check[record.sale.id]
            StockLine.save(new)
            if stale:
                StockLine.write(stale, {'superseded_at': now})
        by_status = defaultdict(list)
        for sale, value in status.items():
            if sale.stock_status != value:
                by_status[value].append(sale)
        to_write = []
        for value, changed in by_status.items():
            to_write.extend((changed, {'stock_status': value}))
        if to_write:
            cls.write(*to_write)
        return records

    @classmethod
    def _stock_check_repeated(cls, sales):
        """The status of the last check of each order recorded by the
        same user in this transaction: a check that finds the same again
        in the same call (the approval's checks, then its confirmation) is
        that check, not another one"""
        StockCheck = Pool().get('sale.flow.stock.check')
        created = Transaction().create_records.get(StockCheck.__name__)
        if not sales or not created:
            return {}
        user = Transaction().user
        result = {}
        with without_check_access():
            for check in StockCheck.search([
                        ('id', 'in', list(created)),
                        ('sale', 'in', [s.id for s in sales]),
                        ], order=[('id', 'ASC')]):
                same_user = (check.user.id if check.user else None) == user
                result[check.sale.id] = check.status if same_user else False
        return result

    @classmethod
    def _stock_promised(cls, lines, sales):
        """Quantities promised to other approved orders and not reserved
        yet, per warehouse and product: the customer moves of shipments
        that still wait, and the lines of confirmed orders without
        shipment yet (in the product's default unit)"""
        pool = Pool()
        Move = pool.get('stock.move')
        SaleLine = pool.get('sale.line')
        Uom = pool.get('product.uom')
        if not lines:
            return {}
        warehouse_ids = list({l.sale.warehouse.id for l in lines})
        product_ids = list({l.product.id for l in lines})
        own = [s.id for s in sales]
        result = defaultdict(float)
        moves = Move.search([
                ('product', 'in', product_ids),
                ('state', '=', 'draft'),
                ('to_location.type', '=', 'customer'),
                ('shipment.state', 'in', ['draft', 'waiting'],
                    'stock.shipment.out'),
                ('shipment.warehouse', 'in', warehouse_ids,
                    'stock.shipment.out'),
                ('origin.sale', 'not in', own, 'sale.line'),
                ('origin', 'like', 'sale.line,%'),
                ])
        for move in moves:
            result[(move.shipment.warehouse.id, move.product.id)] += (
                move.internal_quantity or 0)
        for line in SaleLine.search([
                    ('product', 'in', product_ids),
                    ('type', '=', 'line'),
                    ('sale.state', '=', 'confirmed'),
                    ('sale.warehouse', 'in', warehouse_ids),
                    ('sale', 'not in', own),
                    ('moves', '=', None),
                    ]):
            result[(line.sale.warehouse.id, line.product.id)] += (
                Uom.compute_qty(line.unit, line.quantity,
                    line.product.default_uom, round=False))
        return result
