# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 4 of the flow: outbound (商品出库) on stock.shipment.out.

The warehouse works from queues of shipments to pick and to pack;
every line is verified by scanning (see scan.py).  In a warehouse with
strict scanning (the default) Pick and Pack refuse a shipment until every
line is fully scanned, unless a Sales Flow Manager recorded an override
with a written reason.
"""

import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import FlowAccessMixin, to_the_second
from .common import transition, waiting_for_lock
from .exceptions import ScanError

PRIORITIES = [
    ('10', "Urgent"),
    ('20', "Normal"),
    ('30', "Low"),
    ]


class Location(FlowAccessMixin, metaclass=PoolMeta):
    __name__ = 'stock.location'

    scan_strict = fields.Boolean(
        "Strict Scanning",
        states={
            'invisible': Eval('type') != 'warehouse',
            },
        help="Pick and pack a customer shipment only when every line has "
        "been scanned (a Sales Flow Manager may override with a reason).")

    scan_pack_strict = fields.Boolean(
        "Strict Scanning at Packing",
        states={
            'invisible': Eval('type') != 'warehouse',
            },
        help="Pack a customer shipment only when every line has been "
        "scanned again while packing.")

    @classmethod
    def default_scan_strict(cls):
        return True

    @classmethod
    def default_scan_pack_strict(cls):
        return False

    def scan_strict_for(self, step):
        "Whether the step must be fully scanned in this warehouse"
        if step == 'pack':
            return bool(self.scan_pack_strict)
        return bool(self.scan_strict)


class Move(FlowAccessMixin, metaclass=PoolMeta):
    __name__ = 'stock.move'
    # a move is done or cancelled by its buttons and its shipment's only
    _flow_server_fields = {'state'}

    scanned_quantity = fields.Float(
        "Scanned", digits='unit', readonly=True,
        help="The quantity verified by scanning while picking.")
    packed_quantity = fields.Float(
        "Scanned into Packages", digits='unit', readonly=True,
        help="The quantity verified by scanning while packing.")

    @classmethod
    def copy(cls, moves, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('scanned_quantity', None)
        default.setdefault('packed_quantity', None)
        return super().copy(moves, default=default)

    @classmethod
    def _assign_try_lock(
            cls, product_ids, location_ids, company_ids, date, grouping):
        # Tryton's assign_try locks the products' moves with NOWAIT: an
        # operator meeting another's reservation waits for it to end and
        # assigns again (not a 503 after the dispatcher's quick retries)
        table = cls.__table__()
        where = (table.product.in_(product_ids)
            & (table.from_location.in_(location_ids)
                | table.to_location.in_(location_ids))
            & table.company.in_(company_ids))
        with waiting_for_lock(table, where):
            super()._assign_try_lock(
                product_ids, location_ids, company_ids, date, grouping)


class ShipmentOut(FlowAccessMixin, metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'
    # the shipment moves by its buttons only (scans, signature, Tryton's)
    _flow_server_fields = {'state'}

    picking_priority = fields.Selection(
        PRIORITIES, "Priority", sort=False,
        states={
            'readonly': Eval('state').in_(
                ['picked', 'packed', 'shipped', 'done', 'cancelled']),
            },
        help="The order in which the warehouse works on shipments of the "
        "same planned date.")
    picking_priority_string = picking_priority.translated('picking_priority')
    scans = fields.One2Many(
        'sale.flow.scan', 'shipment', "Scans", readonly=True,
        order=[('id', 'DESC')])
    scan_progress = fields.Function(
        fields.Char("Scanned",
            help="Scanned / required quantity of the current step."),
        'get_scan_progress')
    scan_override_reason = fields.Text(
        "Scan Override Reason", readonly=True,
        states={
            'invisible': ~Eval('scan_override_reason'),
            })
    scan_override_by = fields.Many2One(
        'res.user', "Scan Override by", readonly=True,
        states={
            'invisible': ~Eval('scan_override_by'),
            })
    scan_override_at = to_the_second(fields.Timestamp(
        "Scan Override at", readonly=True,
        states={
            'invisible': ~Eval('scan_override_at'),
            }))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'scan': {
                    'invisible': ~Eval('state').in_(['assigned', 'picked']),
                    'depends': ['state'],
                    },
                'scan_override': {
                    'invisible': (
                        ~Eval('state').in_(['assigned', 'picked'])
                        | Eval('scan_override_at')),
                    'depends': ['state', 'scan_override_at'],
                    },
                })

    @property
    def scan_state_string(self):
        "The state as the user reads it"
        return dict(self.fields_get(['state'])['state']['selection']).get(
            self.state, self.state)

    @classmethod
    def default_picking_priority(cls):
        return '20'

    @classmethod
    def copy(cls, shipments, default=None):
        default = default.copy() if default is not None else {}
        for name in ['scans', 'scan_override_reason', 'scan_override_by',
                'scan_override_at']:
            default.setdefault(name, None)
        return super().copy(shipments, default=default)

    def scan_step(self):
        "The step the scans of the shipment verify now"
        return {'assigned': 'pick', 'picked': 'pack'}.get(self.state)

    def scan_moves(self, step=None):
        "The moves the scans of the step count against"
        step = step or self.scan_step()
        if step == 'pick':
            if self.warehouse_storage == self.warehouse_output:
                moves = self.outgoing_moves
            else:
                moves = self.inventory_moves
        elif step == 'pack':
            moves = self.outgoing_moves
        else:
            return []
        return [m for m in moves
            if m.state not in {'cancelled', 'staging'} and m.quantity]

    @classmethod
    def scan_domain(cls, shipment, step):
        """Domain of the moves of a shipment the scans of step count
        against, searched without reading every line"""
        domain = [
            ('shipment', '=', str(shipment)),
            ('state', 'not in', ['cancelled', 'staging']),
            ('quantity', '>', 0),
            ]
        if (step == 'pick'
                and shipment.warehouse_storage != shipment.warehouse_output):
            domain.append(('to_location', '=', shipment.warehouse_output.id))
        else:
            domain.append(('from_location', '=',
                    shipment.warehouse_output.id))
            domain.append(('to_location.type', '=', 'customer'))
        return domain

    @staticmethod
    def scan_field(step):
        return 'packed_quantity' if step == 'pack' else 'scanned_quantity'

    @classmethod
    def get_scan_progress(cls, shipments, name):
        """Scanned / required of each step up to the current one: after
        picking, the picked count stays in sight beside the packing one"""
        labels = {
            'pick': gettext('sale_flow.msg_scan_progress_pick'),
            'pack': gettext('sale_flow.msg_scan_progress_pack'),
            }
        result = {}
        for shipment in shipments:
            current = shipment.scan_step()
            if not current:
                result[shipment.id] = None
                continue
            parts = []
            for step in ['pick', 'pack']:
                field = cls.scan_field(step)
                moves = shipment.scan_moves(step)
                scanned = sum(getattr(m, field) or 0 for m in moves)
                required = sum(m.quantity for m in moves)
                parts.append('%s %g / %g' % (labels[step], scanned, required))
                if step == current:
                    break
            result[shipment.id] = ' · '.join(parts)
        return result

    @classmethod
    def check_scanned(cls, shipments, step):
        "Refuse the step of strict shipments not fully scanned"
        for shipment in shipments:
            warehouse = shipment.warehouse
            if (not warehouse or not warehouse.scan_strict_for(step)
                    or shipment.scan_override_at):
                continue
            field = cls.scan_field(step)
            missing = [m for m in shipment.scan_moves(step)
                if (getattr(m, field) or 0) < m.quantity]
            if missing:
                raise ScanError(gettext(
                        'sale_flow.msg_scan_incomplete',
                        shipment=shipment.rec_name,
                        step=gettext('sale_flow.msg_scan_step_' + step),
                        lines=', '.join(
                            '%s (%g / %g)' % (
                                m.product.rec_name,
                                getattr(m, field) or 0, m.quantity)
                            for m in missing[:5])))

    @classmethod
    @ModelView.button
    @transition('picked')
    def pick(cls, shipments):
        cls.check_scanned(shipments, 'pick')
        super().pick(shipments)

    @classmethod
    @ModelView.button
    @transition('packed')
    def pack(cls, shipments):
        # a shipment packed straight from assigned is picked too
        cls.check_scanned(
            [s for s in shipments if s.state == 'assigned'], 'pick')
        cls.check_scanned(
            [s for s in shipments if s.state == 'picked'], 'pack')
        super().pack(shipments)

    @classmethod
    @ModelView.button_action('sale_flow.wizard_scan')
    def scan(cls, shipments):
        pass

    @classmethod
    @ModelView.button_action('sale_flow.wizard_scan_override')
    def scan_override(cls, shipments):
        pass


class ScanOverrideStart(ModelView):
    "Override strict scanning"
    __name__ = 'sale.flow.scan.override.start'

    reason = fields.Text(
        "Reason", required=True,
        help="Why the shipment may leave the scanning out (kept with the "
        "shipment).")


class ScanOverride(Wizard):
    "Override strict scanning"
    __name__ = 'sale.flow.scan.override'

    start = StateView(
        'sale.flow.scan.override.start',
        'sale_flow.scan_override_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Override", 'override', 'tryton-ok', default=True),
            ])
    override = StateTransition()

    def transition_override(self):
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        reason = (self.start.reason or '').strip()
        if not reason:
            raise ScanError(gettext('sale_flow.msg_scan_override_reason'))
        shipments = [s for s in self.records
            if s.state in {'assigned', 'picked'}]
        Shipment.write(shipments, {
                'scan_override_reason': reason,
                'scan_override_by': Transaction().user,
                'scan_override_at': dt.datetime.now(),
                })
        return 'end'
