# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Replenishment through Tryton's purchase requests.

Registered only where ``purchase_request`` is activated (``stock_supply``
brings it too).  A "wait for replenishment" decision links an open
purchase request of the product and warehouse that still has room for the
shortage, or creates one for the shortage, with the best supplier and the
expected supply date of Tryton's product suppliers.  Where ``stock_supply``
is activated, its generation of purchase requests counts these requests as
supply already asked for, so the same shortage is not bought twice.
"""

import datetime as dt
from collections import defaultdict

from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

ORIGIN = 'sale.flow.stock.decision'
OPEN_STATES = ['draft', 'purchased']


class PurchaseRequest(metaclass=PoolMeta):
    __name__ = 'purchase.request'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() | {ORIGIN}

    @classmethod
    def sale_flow_committed(cls, requests):
        """Quantity of each request already taken by wait decisions, in the
        product's default unit"""
        pool = Pool()
        Decision = pool.get(ORIGIN)
        result = defaultdict(float)
        if not requests:
            return result
        decisions = Decision.search([
                ('purchase_request', 'in', [r.id for r in requests]),
                ('state', '=', 'applied'),
                ])
        for decision in decisions:
            result[decision.purchase_request.id] += (
                decision.replenish_quantity or 0)
        return result

    def sale_flow_quantity(self):
        "The quantity of the request in the product's default unit"
        Uom = Pool().get('product.uom')
        quantity = self.quantity or 0
        if self.purchase_line:
            quantity = min(quantity, Uom.compute_qty(
                    self.purchase_line.unit, self.purchase_line.quantity,
                    self.unit, round=False))
        return Uom.compute_qty(
            self.unit, quantity, self.product.default_uom, round=False)

    @property
    def sale_flow_expected_date(self):
        "When the goods are expected: the purchase's or the request's date"
        if self.purchase_line and self.purchase_line.delivery_date:
            return self.purchase_line.delivery_date
        return self.supply_date


class PurchaseRequestSupply(metaclass=PoolMeta):
    "Count the decisions' open requests in stock_supply's generation"
    __name__ = 'purchase.request'

    @classmethod
    def compare_requests(cls, new_requests, company):
        pool = Pool()
        Uom = pool.get('product.uom')
        # Supply already asked for by the sales flow and not received
        # yet: draft requests and purchased ones without incoming moves
        open_ = cls.search([
                ('origin', 'like', ORIGIN + ',%'),
                ('state', 'in', OPEN_STATES),
                ('company', '=', company.id),
                ['OR',
                    ('purchase_line', '=', None),
                    ('purchase_line.moves', '=', None),
                    ],
                ])
        asked = defaultdict(list)
        for request in open_:
            asked[request.product.id, request.warehouse.id].append({
                    'date': (request.sale_flow_expected_date
                        or dt.date.max),
                    'quantity': request.sale_flow_quantity(),
                    })
        for values in asked.values():
            values.sort(key=lambda v: v['date'])
        for new in sorted(new_requests,
                key=lambda r: r.supply_date or dt.date.max):
            for old in asked.get((new.product.id, new.warehouse.id), []):
                if old['date'] > (new.supply_date or dt.date.max):
                    break
                taken = min(old['quantity'], new.computed_quantity)
                if taken <= 0:
                    continue
                old['quantity'] -= taken
                new.computed_quantity -= taken
                new.quantity = new.unit.ceil(Uom.compute_qty(
                        new.product.default_uom, new.computed_quantity,
                        new.unit, round=False))
        return super().compare_requests(new_requests, company)


class StockDecision(metaclass=PoolMeta):
    __name__ = ORIGIN

    purchase_request = fields.Many2One(
        'purchase.request', "Purchase Request", readonly=True,
        ondelete='SET NULL',
        help="The request that brings the missing goods.")
    replenish_quantity = fields.Float(
        "Quantity to Replenish", readonly=True,
        help="The shortage the purchase request covers, in the product's "
        "unit.")
    expected_date = fields.Function(
        fields.Date("Expected Date",
            help="When the missing goods are expected."),
        'get_expected_date')

    @classmethod
    def copy(cls, decisions, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('purchase_request', None)
        default.setdefault('replenish_quantity', None)
        return super().copy(decisions, default=default)

    @classmethod
    def get_expected_date(cls, decisions, name):
        with without_check_access():
            return {d.id: (
                    cls(d.id).purchase_request.sale_flow_expected_date
                    if d.purchase_request else None)
                for d in decisions}

    @classmethod
    @ModelView.button
    @Workflow.transition('applied')
    def apply(cls, decisions):
        waits = [d for d in decisions if d.kind == 'wait' and d.line]
        # read before the checks run again and supersede the stock lines
        shortages = {sl.line.id: (sl.shortage, sl.available)
            for sl in Pool().get('sale.flow.stock.line').search([
                    ('line', 'in', [d.line.id for d in waits]),
                    ('superseded_at', '=', None),
                    ])}
        super().apply(decisions)
        waits = [d for d in waits if d.line.id in shortages]
        if waits:
            cls._replenish(waits, shortages)

    @classmethod
    def _replenish(cls, decisions, shortages):
        """Link each wait decision to an open purchase request of its
        product and warehouse that has room for the shortage, or create
        one"""
        pool = Pool()
        Request = pool.get('purchase.request')
        Uom = pool.get('product.uom')
        Date = pool.get('ir.date')
        today = Date.today()
        with without_check_access():
            decisions = cls.browse(decisions)
            keys = {(d.line.product.id, d.sale.warehouse.id)
                for d in decisions
                if d.line.product.purchasable and d.sale.warehouse}
            products = list({p for p, _ in keys})
            requests = Request.search([
                    ('product', 'in', products),
                    ('state', 'in', OPEN_STATES),
                    ['OR',
                        ('purchase_line', '=', None),
                        ('purchase_line.moves', '=', None),
                        ],
                    ], order=[('supply_date', 'ASC NULLS LAST'),
                    ('id', 'ASC')])
            committed = Request.sale_flow_committed(requests)
            room = defaultdict(list)
            for request in requests:
                key = (request.product.id,
                    request.warehouse.id if request.warehouse else None)
                if key in keys:
                    room[key].append([request,
                            request.sale_flow_quantity()
                            - committed[request.id]])
            new = {}
            for decision in decisions:
                product = decision.line.product
                warehouse = decision.sale.warehouse
                if (product.id, warehouse.id if warehouse else None) \
                        not in keys:
                    continue
                shortage, available = shortages[decision.line.id]
                decision.replenish_quantity = shortage
                for entry in room[product.id, warehouse.id]:
                    if entry[1] >= shortage - 1e-9:
                        entry[1] -= shortage
                        decision.purchase_request = entry[0]
                        break
                else:
                    date = max(decision.line.shipping_date or today, today)
                    supplier, purchase_date = Request.find_best_supplier(
                        product, date, company=decision.sale.company.id)
                    product_supplier = Request.find_best_product_supplier(
                        product, date, company=decision.sale.company.id)
                    unit = product.purchase_uom or product.default_uom
                    quantity = unit.ceil(Uom.compute_qty(
                            product.default_uom, shortage, unit,
                            round=False))
                    request = Request(
                        product=product, party=supplier,
                        quantity=quantity, unit=unit,
                        computed_quantity=shortage,
                        computed_unit=product.default_uom,
                        purchase_date=purchase_date,
                        supply_date=(
                            product_supplier.compute_supply_date(date=today)
                            if product_supplier else None),
                        stock_level=available,
                        company=decision.sale.company,
                        warehouse=warehouse,
                        origin=decision,
                        description=decision.line.rec_name)
                    new[decision] = request
                    # room left in the new request for the next decisions
                    room[product.id, warehouse.id].append([request,
                            Uom.compute_qty(unit, quantity,
                                product.default_uom, round=False)
                            - shortage])
            if new:
                requests = list(new.values())
                for request in requests:
                    if request.supply_date == dt.date.max:
                        request.supply_date = None
                Request.save(requests)
                for decision, request in new.items():
                    decision.purchase_request = request
            cls.save(decisions)


class StockLine(metaclass=PoolMeta):
    __name__ = 'sale.flow.stock.line'

    expected_date = fields.Function(
        fields.Date("Expected Date",
            help="When the missing goods are expected, from the purchase "
            "request of the wait decision."),
        'get_expected_date')

    @classmethod
    def get_expected_date(cls, lines, name):
        pool = Pool()
        Decision = pool.get(ORIGIN)
        result = {l.id: None for l in lines}
        # the history has several rows of a line
        by_line = defaultdict(list)
        for l in lines:
            by_line[l.line.id].append(l.id)
        with without_check_access():
            for decision in Decision.search([
                        ('line', 'in', list(by_line)),
                        ('state', '=', 'applied'),
                        ('kind', '=', 'wait'),
                        ('purchase_request', '!=', None),
                        ], order=[('decided_at', 'ASC'), ('id', 'ASC')]):
                for id_ in by_line[decision.line.id]:
                    result[id_] = (
                        decision.purchase_request.sale_flow_expected_date)
        return result
