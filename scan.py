# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 4 of the flow, outbound (商品出库): scan-to-verify.

Made for a keyboard-wedge scanner: the scanner types the code and Enter,
which presses the default button of the scan screen, so one scan is one
round trip.  A product scan matches the product code or any product
identifier (EAN, ...) and adds one unit, the quantity typed before it, or
N units with the form ``N*CODE``.  Unknown codes, products not on the
shipment and over-scans are refused with a message naming the code; the
counts stay as they were.  Every scan is kept: who, when, the code and the
result.
"""

import json
import math
import re
from urllib.parse import quote, urlencode

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.rpc import RPC
from trytond.transaction import Transaction
from trytond.url import http_host
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .access import FlowAccessMixin, flow_rpc, record_id, to_the_second
from .common import SCAN_REFUSED, lock_records, msg, render
from .exceptions import ScanError

STEPS = [
    ('pick', "Pick"),
    ('pack', "Pack"),
    ]
RESULTS = [
    ('accepted', "Accepted"),
    ('unknown', "Unknown Code"),
    ('not_on_shipment', "Not on the Shipment"),
    ('over', "More than Required"),
    ('wrong_state', "Shipment not Ready"),
    ('undo', "Undo"),
    ('reset', "Line Reset"),
    ]
# the scan screen shows the result as an icon (the clients' own icons)
RESULT_ICONS = dict(
    [(r, 'tryton-error') for r in SCAN_REFUSED]
    + [('accepted', 'tryton-ok'), ('undo', 'tryton-undo'),
        ('reset', 'tryton-clear')])
# the longest code a scanner types
MAX_CODE = 100
# who may scan: the warehouse operators and the flow managers
SCAN_GROUPS = [
    'sale_flow.group_sale_flow_warehouse',
    'sale_flow.group_sale_flow_manager',
    ]


def _shipment_ids(shipment, *args, **kwargs):
    return [record_id(shipment, 'shipment')]


_QUANTITY_PREFIX = re.compile(r'^\s*(\d+(?:[.,]\d+)?)\s*\*\s*(.+?)\s*$')


class Scan(FlowAccessMixin, ModelSQL, ModelView):
    "Scan of a code on a customer shipment"
    __name__ = 'sale.flow.scan'
    _flow_external = set()

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", required=True, readonly=True,
        ondelete='CASCADE')
    step = fields.Selection(STEPS, "Step", readonly=True)
    code = fields.Char("Code", readonly=True)
    quantity = fields.Float("Quantity", readonly=True)
    product = fields.Many2One(
        'product.product', "Product", readonly=True, ondelete='SET NULL')
    move = fields.Many2One(
        'stock.move', "Line", readonly=True, ondelete='SET NULL')
    package = fields.Many2One(
        'stock.package', "Package", readonly=True, ondelete='SET NULL')
    result = fields.Selection(RESULTS, "Result", readonly=True, sort=False)
    undone = fields.Boolean(
        "Undone", readonly=True, help="An undo took this scan back.")
    message = fields.Function(fields.Text("Message"), 'get_message')
    message_data = fields.Text("Message Data", readonly=True)
    scanned_by = fields.Function(
        fields.Many2One('res.user', "Scanned by"), 'get_scanned')
    scanned_at = fields.Function(
        to_the_second(fields.Timestamp("Scanned at")), 'get_scanned')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(
                t, (t.shipment, Index.Range()), (t.id, Index.Range())))
        cls._order = [('id', 'DESC')]
        cls.__rpc__.update({
                'scan': RPC(readonly=False, result=int),
                'undo': RPC(readonly=False, result=int),
                'reset': RPC(readonly=False, result=int),
                })

    @classmethod
    def default_undone(cls):
        return False

    def get_message(self, name):
        if self.message_data:
            return render(json.loads(self.message_data))

    @classmethod
    def get_scanned(cls, scans, name):
        if name == 'scanned_by':
            return {s.id: s.create_uid.id if s.create_uid else None
                for s in scans}
        return {s.id: s.create_date for s in scans}

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('code',) + tuple(clause[1:])]

    def get_rec_name(self, name):
        return self.code or ''

    @classmethod
    def parse_code(cls, code, quantity=None):
        "The code and quantity of what was typed: CODE or N*CODE"
        if code is not None and not isinstance(code, str) or len(
                code or '') > MAX_CODE:
            raise ScanError(gettext(
                    'sale_flow.msg_scan_code', code=repr(code)[:50],
                    limit=MAX_CODE))
        code = (code or '').strip()
        match = _QUANTITY_PREFIX.match(code)
        if match:
            quantity = match.group(1).replace(',', '.')
            code = match.group(2)
        if quantity is None:
            return code, 1.0
        value = None
        if not isinstance(quantity, bool):
            try:
                value = float(quantity)
            except (TypeError, ValueError):
                pass
        if value is None or not math.isfinite(value) or value <= 0:
            raise ScanError(gettext(
                    'sale_flow.msg_scan_quantity', quantity=quantity))
        return code, value

    @classmethod
    def find_product(cls, code):
        "The product with the code or an identifier equal to code"
        Product = Pool().get('product.product')
        products = Product.search([
                ['OR',
                    ('code', '=', code),
                    ('identifiers.code', '=', code),
                    ],
                ], limit=2, order=[])
        return products[0] if len(products) == 1 else None

    @classmethod
    @flow_rpc('stock.shipment.out', groups=SCAN_GROUPS,
        records=_shipment_ids)
    def scan(cls, shipment, code, quantity=None, package=None):
        """Verify one scan of code on the shipment (id or record) and
        record it.  Return the scan record: its result says whether it was
        accepted; a refused scan changes no count.

        While packing, the scanned units go into the package (id or
        record) when one is given."""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Move = pool.get('stock.move')
        shipment = Shipment(int(shipment))
        code, quantity = cls.parse_code(code, quantity)
        step = shipment.scan_step()
        scan = cls(shipment=shipment, step=step, code=code,
            quantity=quantity)
        if not code:
            raise ScanError(gettext('sale_flow.msg_scan_empty'))
        if quantity <= 0:
            raise ScanError(gettext(
                    'sale_flow.msg_scan_quantity', quantity=quantity))
        if package is not None:
            package = pool.get('stock.package')(int(package))
            if step != 'pack' or package.shipment != shipment:
                raise ScanError(gettext(
                        'sale_flow.msg_scan_package',
                        package=package.rec_name,
                        shipment=shipment.rec_name))
            scan.package = package
        if not step:
            return cls._refuse(scan, 'wrong_state',
                'sale_flow.msg_scan_wrong_state', code=code,
                shipment=shipment.rec_name)
        product = cls.find_product(code)
        scan.product = product
        if not product:
            return cls._refuse(scan, 'unknown',
                'sale_flow.msg_scan_unknown', code=code)
        field = Shipment.scan_field(step)
        moves = Move.search(
            Shipment.scan_domain(shipment, step)
            + [('product', '=', product.id)],
            order=[('id', 'ASC')])
        if package:
            # units go into the package from the lines not packed yet
            moves = [m for m in Move.browse(moves) if not m.package]
        if not moves:
            return cls._refuse(scan, 'not_on_shipment',
                'sale_flow.msg_scan_not_on_shipment', code=code,
                product=product.rec_name, shipment=shipment.rec_name)
        # Two operators on the same shipment count one after the other
        lock_records(moves)
        moves = Move.browse(moves)
        unit = moves[0].unit
        if unit.round(quantity) != quantity:
            raise ScanError(gettext(
                    'sale_flow.msg_scan_quantity_digits', quantity=quantity,
                    unit=unit.rec_name, digits=unit.digits))
        for move in moves:
            left = move.quantity - (getattr(move, field) or 0)
            if quantity <= left + 1e-9:
                break
        else:
            move = moves[0]
            left = sum(m.quantity - (getattr(m, field) or 0) for m in moves)
            scan.move = move
            return cls._refuse(scan, 'over',
                'sale_flow.msg_scan_over', code=code,
                product=product.rec_name, quantity=quantity,
                left=max(left, 0))
        if package:
            scan.move = cls._pack(move, quantity, package)
            moves = Move.search(
                Shipment.scan_domain(shipment, step)
                + [('product', '=', product.id)])
            scanned = sum(m.packed_quantity or 0 for m in moves)
            required = sum(m.quantity for m in moves)
        else:
            scanned = move.unit.round(
                (getattr(move, field) or 0) + quantity)
            Move.write([move], {field: scanned})
            scan.move = move
            required = move.quantity
        scan.result = 'accepted'
        scan.message_data = json.dumps(msg(
                'sale_flow.msg_scan_accepted', code=code,
                product=product.rec_name, scanned=scanned,
                required=required))
        scan.save()
        return scan

    @staticmethod
    def _refuse(scan, result, message, **values):
        "Record the scan as refused (it changes no count) and return it"
        scan.result = result
        scan.message_data = json.dumps(msg(message, **values))
        scan.save()
        return scan

    @classmethod
    def _pack(cls, move, quantity, package):
        """Put quantity of the move (not packed yet) into the package, as
        Tryton's packing does: the package's line of the same product grows,
        or the move is split.  Return the move in the package."""
        Move = Pool().get('stock.move')
        into, = Move.search([
                ('shipment', '=', str(move.shipment)),
                ('package', '=', package.id),
                ('product', '=', move.product.id),
                ('unit', '=', move.unit.id),
                ('origin', '=', str(move.origin) if move.origin else None),
                ('state', '=', move.state),
                ], limit=1) or [None]
        rest = move.unit.round(move.quantity - quantity)
        if into:
            Move.write([into], {
                    'quantity': move.unit.round(into.quantity + quantity),
                    'packed_quantity': move.unit.round(
                        (into.packed_quantity or 0) + quantity),
                    })
            Move.write([move], {'quantity': rest})
        elif not rest and not move.packed_quantity:
            Move.write([move], {
                    'package': package.id, 'packed_quantity': quantity})
            into = move
        else:
            with Transaction().set_context(_stock_move_split=True):
                into, = Move.copy([move], {
                        'quantity': quantity,
                        'package': package.id,
                        'packed_quantity': quantity,
                        })
            Move.write([move], {'quantity': rest})
        return into

    @classmethod
    def _unpack(cls, move, quantity):
        """Take quantity of the packed move out of its package, back to the
        line not packed yet (the reverse of _pack)"""
        Move = Pool().get('stock.move')
        rest, = Move.search([
                ('shipment', '=', str(move.shipment)),
                ('package', '=', None),
                ('product', '=', move.product.id),
                ('unit', '=', move.unit.id),
                ('origin', '=', str(move.origin) if move.origin else None),
                ('state', '=', move.state),
                ], limit=1) or [None]
        left = move.unit.round(move.quantity - quantity)
        if rest:
            Move.write([rest], {
                    'quantity': move.unit.round(rest.quantity + quantity)})
            Move.write([move], {
                    'quantity': left,
                    'packed_quantity': move.unit.round(
                        max((move.packed_quantity or 0) - quantity, 0)),
                    'package': move.package.id if left else None,
                    })
        elif not left:
            Move.write([move], {'package': None, 'packed_quantity': 0})
        else:
            with Transaction().set_context(_stock_move_split=True):
                Move.copy([move], {
                        'quantity': quantity,
                        'package': None,
                        'packed_quantity': 0,
                        })
            Move.write([move], {
                    'quantity': left,
                    'packed_quantity': move.unit.round(
                        max((move.packed_quantity or 0) - quantity, 0)),
                    })

    @classmethod
    @flow_rpc('stock.shipment.out', groups=SCAN_GROUPS,
        records=_shipment_ids)
    def undo(cls, shipment):
        """Take back the last accepted scan of the shipment's current step.
        Return the undo record, or None when there is nothing to undo."""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Move = pool.get('stock.move')
        shipment = Shipment(int(shipment))
        step = shipment.scan_step()
        last = cls.search([
                ('shipment', '=', shipment.id),
                ('step', '=', step),
                ('result', '=', 'accepted'),
                ('undone', '=', False),
                ('move', '!=', None),
                ], order=[('id', 'DESC')], limit=1)
        if not step or not last:
            raise ScanError(gettext(
                    'sale_flow.msg_scan_nothing_to_undo',
                    shipment=shipment.rec_name))
        last, = last
        field = Shipment.scan_field(step)
        move = last.move
        lock_records([move])
        move = Move(move.id)
        if last.package and move.package == last.package:
            cls._unpack(move, last.quantity)
            move = Move(move.id)
            scanned = move.packed_quantity or 0
        else:
            scanned = max(move.unit.round(
                    (getattr(move, field) or 0) - last.quantity), 0)
            Move.write([move], {field: scanned})
        cls.write([last], {'undone': True})
        undo = cls(shipment=shipment, step=step, code=last.code,
            quantity=-last.quantity, product=last.product, move=move,
            package=last.package, result='undo', message_data=json.dumps(msg(
                    'sale_flow.msg_scan_undone', code=last.code,
                    product=move.product.rec_name, scanned=scanned,
                    required=move.quantity)))
        undo.save()
        return undo

    @classmethod
    @flow_rpc('stock.shipment.out', groups=SCAN_GROUPS,
        records=_shipment_ids)
    def reset(cls, shipment, move):
        "Set the scanned quantity of a line back to zero, and record it"
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Move = pool.get('stock.move')
        shipment = Shipment(int(shipment))
        step = shipment.scan_step()
        move = Move(int(move))
        if not step or move not in shipment.scan_moves(step):
            raise ScanError(gettext(
                    'sale_flow.msg_scan_reset_line',
                    line=move.rec_name, shipment=shipment.rec_name))
        field = Shipment.scan_field(step)
        if step == 'pack' and move.package:
            cls._unpack(move, move.quantity)
        else:
            Move.write([move], {field: 0})
        undone = cls.search([
                ('shipment', '=', shipment.id),
                ('step', '=', step),
                ('move', '=', move.id),
                ('result', '=', 'accepted'),
                ('undone', '=', False),
                ])
        cls.write(undone, {'undone': True})
        record = cls(shipment=shipment, step=step, product=move.product,
            move=move, quantity=0, code=move.product.code, result='reset',
            message_data=json.dumps(msg(
                    'sale_flow.msg_scan_reset', product=move.product.rec_name,
                    required=move.quantity)))
        record.save()
        return record


class ScanFind(ModelView):
    "Scan: find the shipment"
    __name__ = 'sale.flow.scan.find'

    code = fields.Char(
        "Shipment", help="Scan the barcode of the shipment (its number).")
    message = fields.Char("Message", readonly=True)


class ScanForm(ModelView):
    "Scan the goods of a shipment"
    __name__ = 'sale.flow.scan.form'

    code = fields.Char(
        "Code", help="Scan a product: its barcode or code.  N*CODE adds N "
        "units.")
    quantity = fields.Float(
        "Quantity", help="The units the next scan adds (1 when empty).")
    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", readonly=True)
    step = fields.Selection(STEPS, "Step", readonly=True)
    message = fields.Char("Message", readonly=True)
    result = fields.Selection(
        [(None, '')] + RESULTS, "Result", readonly=True)
    result_icon = fields.Char("Result Icon", readonly=True)
    progress = fields.Char("Scanned", readonly=True)
    direct = fields.Boolean(
        "Packed from Stock", readonly=True,
        help="The warehouse picks into its output location: the shipment "
        "is packed straight after the picking scans.")
    lines = fields.One2Many(
        'sale.flow.scan.form.line', None, "Lines", readonly=True)
    reset_line = fields.Many2One(
        'stock.move', "Line to Reset",
        domain=[('id', 'in', Eval('line_moves', []))],
        help="Choose a line, then Reset Line to scan it again from zero.")
    line_moves = fields.Many2Many(
        'stock.move', None, None, "Line Moves", readonly=True)
    package = fields.Many2One(
        'stock.package', "Package",
        domain=[('id', 'in', Eval('packages', []))],
        states={
            'invisible': Eval('step') != 'pack',
            },
        help="While packing, the scanned items go into this package.")
    packages = fields.Many2Many(
        'stock.package', None, None, "Packages", readonly=True)
    package_type = fields.Many2One(
        'stock.package.type', "Package Type",
        states={
            'invisible': Eval('step') != 'pack',
            },
        help="The type of the next new package.")
    package_weight = fields.Float(
        "Package Weight", readonly=True,
        states={
            'invisible': ~Eval('package'),
            },
        help="The weight of the package with what is in it.")


class ScanFormLine(ModelView):
    "Scan: a line of the shipment"
    __name__ = 'sale.flow.scan.form.line'

    move = fields.Many2One('stock.move', "Move", readonly=True)
    location = fields.Many2One('stock.location', "Location", readonly=True)
    product = fields.Many2One('product.product', "Product", readonly=True)
    code = fields.Char("Code", readonly=True)
    required = fields.Float("Required", readonly=True)
    scanned = fields.Float("Scanned", readonly=True)
    left = fields.Float("Left", readonly=True)
    unit = fields.Many2One('product.uom', "Unit", readonly=True)
    package = fields.Many2One('stock.package', "Package", readonly=True)

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('left', 0) <= 0, 'success', '')),
            ]


class ScanWizard(Wizard):
    "Scan"
    __name__ = 'sale.flow.scan.wizard'

    start = StateTransition()
    find = StateView('sale.flow.scan.find', 'sale_flow.scan_find_view_form', [
            Button("Close", 'end', 'tryton-close'),
            Button("Scan Station", 'station', 'tryton-launch'),
            Button("Open", 'open_', 'tryton-ok', default=True),
            ])
    open_ = StateTransition()
    scan = StateView('sale.flow.scan.form', 'sale_flow.scan_form_view_form', [
            Button("Close", 'end', 'tryton-close'),
            Button("Scan Station", 'station', 'tryton-launch'),
            Button("Other Shipment", 'other', 'tryton-back'),
            Button("Undo Last Scan", 'undo', 'tryton-undo'),
            Button("Reset Line", 'reset', 'tryton-clear'),
            Button("New Package", 'new_package', 'tryton-add',
                states={'invisible': Eval('step') != 'pack'}),
            Button("Pick", 'pick', 'tryton-forward',
                states={
                    'invisible': (Eval('step') != 'pick') | Eval('direct'),
                    }),
            Button("Pack", 'pack', 'tryton-forward',
                states={
                    'invisible': (Eval('step') != 'pack') & ~Eval('direct'),
                    }),
            Button("Scan", 'do_scan', 'tryton-ok', default=True),
            ])
    do_scan = StateTransition()
    undo = StateTransition()
    reset = StateTransition()
    other = StateTransition()
    new_package = StateTransition()
    pick = StateTransition()
    pack = StateTransition()
    station = StateAction('sale_flow.url_scan_station')

    def transition_start(self):
        if (self.model and self.model.__name__ == 'stock.shipment.out'
                and self.record):
            self.scan.shipment = self.record
            return 'scan'
        return 'find'

    def default_find(self, fields):
        return {
            'code': None,
            'message': getattr(self.find, 'message', None),
            }

    def transition_open_(self):
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        code = (self.find.code or '').strip()
        shipments = Shipment.search([
                ['OR',
                    ('number', '=', code),
                    ('reference', '=', code),
                    ],
                ], limit=2) if code else []
        if len(shipments) != 1:
            self.find.message = gettext(
                'sale_flow.msg_scan_shipment_unknown', code=code)
            return 'find'
        shipment, = shipments
        if not shipment.scan_step():
            self.find.message = gettext(
                'sale_flow.msg_scan_shipment_state',
                shipment=shipment.rec_name, state=shipment.scan_state_string)
            return 'find'
        self.find.message = None
        self.scan.shipment = shipment
        self.scan.message = None
        self.scan.result = None
        return 'scan'

    def default_scan(self, fields):
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        shipment = Shipment(self.scan.shipment.id)
        step = shipment.scan_step()
        field = Shipment.scan_field(step)
        moves = sorted(shipment.scan_moves(step),
            key=lambda m: (m.from_location.rec_name,
                m.product.code or '', m.id))
        lines = []
        for move in moves:
            scanned = float(getattr(move, field) or 0)
            lines.append({
                    'move': move.id,
                    'location': move.from_location.id,
                    'product': move.product.id,
                    'code': move.product.code,
                    'required': move.quantity,
                    'scanned': scanned,
                    'left': move.unit.round(max(move.quantity - scanned, 0)),
                    'unit': move.unit.id,
                    'package': move.package.id if move.package else None,
                    })
        package = getattr(self.scan, 'package', None)
        if package and package.shipment != shipment:
            package = None
        package_type = getattr(self.scan, 'package_type', None)
        if not package_type:
            package_type = pool.get('stock.package.type').search(
                [], order=[('id', 'ASC')], limit=1)
            package_type = package_type[0] if package_type else None
        result = getattr(self.scan, 'result', None)
        direct = shipment.warehouse_storage == shipment.warehouse_output
        weight = None
        if package and 'total_weight' in package._fields:
            weight = package.total_weight
        return {
            'package': package.id if package else None,
            'packages': [p.id for p in shipment.packages],
            'package_type': package_type.id if package_type else None,
            'package_weight': weight,
            'code': None,
            'quantity': None,
            'shipment': shipment.id,
            'step': step,
            'message': getattr(self.scan, 'message', None),
            'result': result,
            'result_icon': RESULT_ICONS.get(result),
            'progress': shipment.scan_progress,
            'direct': direct,
            'lines': lines,
            'line_moves': [m.id for m in moves],
            'reset_line': None,
            }

    def transition_do_scan(self):
        Scan = Pool().get('sale.flow.scan')
        if not (self.scan.code or '').strip():
            return 'scan'
        package = self.scan.package if self.scan.step == 'pack' else None
        scan = Scan.scan(self.scan.shipment.id, self.scan.code,
            self.scan.quantity, package=package.id if package else None)
        self.scan.message = scan.message
        self.scan.result = scan.result
        if not scan.step:
            self.find.message = scan.message
            return 'find'
        return 'scan'

    def transition_undo(self):
        Scan = Pool().get('sale.flow.scan')
        undo = Scan.undo(self.scan.shipment.id)
        self.scan.message = undo.message
        self.scan.result = 'undo'
        return 'scan'

    def transition_reset(self):
        Scan = Pool().get('sale.flow.scan')
        if not self.scan.reset_line:
            raise ScanError(gettext('sale_flow.msg_scan_reset_choose'))
        record = Scan.reset(self.scan.shipment.id, self.scan.reset_line.id)
        self.scan.message = record.message
        self.scan.result = 'reset'
        return 'scan'

    def transition_new_package(self):
        "Open a new package on the shipment; the next scans go into it"
        pool = Pool()
        Package = pool.get('stock.package')
        shipment = self.scan.shipment
        if not self.scan.package_type:
            raise ScanError(gettext('sale_flow.msg_scan_package_type'))
        package = Package(
            company=shipment.company, type=self.scan.package_type,
            shipment=shipment)
        package.on_change_type()
        package.save()
        self.scan.package = package
        self.scan.message = gettext(
            'sale_flow.msg_scan_package_new', package=package.rec_name)
        self.scan.result = None
        return 'scan'

    def transition_pick(self):
        return self.transition_pack()

    def transition_pack(self):
        """Pick or pack the shipment from the scan screen: the checks of
        the step (strict scanning) are the shipment's own"""
        Shipment = Pool().get('stock.shipment.out')
        shipment = Shipment(self.scan.shipment.id)
        if shipment.scan_step() == 'pick' and (
                shipment.warehouse_storage != shipment.warehouse_output):
            Shipment.pick([shipment])
            self.scan.message = gettext(
                'sale_flow.msg_scan_picked', shipment=shipment.rec_name)
            self.scan.result = None
            return 'scan'
        Shipment.pack([shipment])
        self.find.message = gettext(
            'sale_flow.msg_scan_packed', shipment=shipment.rec_name)
        self.scan.message = None
        self.scan.result = None
        return 'find'

    def do_station(self, action):
        shipment = getattr(self.scan, 'shipment', None)
        action['url'] = ScanStation.station_url(
            shipment if getattr(self.scan, 'step', None) else None)
        return action, {}

    def transition_other(self):
        self.find.message = None
        return 'find'

    def end(self):
        return 'reload'


class ScanStation(Wizard):
    """Open the scan station: the browser page that takes the codes at the
    scanner's speed, one queue per page"""
    __name__ = 'sale.flow.scan.station'

    start = StateAction('sale_flow.url_scan_station')

    @staticmethod
    def station_url(shipment=None):
        url = '%s/%s/sale_flow/scan' % (
            http_host(), quote(Transaction().database.name))
        if shipment:
            url += '?' + urlencode({'shipment': shipment.number})
        return url

    def do_start(self, action):
        shipment = None
        if (self.model and self.model.__name__ == 'stock.shipment.out'
                and self.record and self.record.scan_step()):
            shipment = self.record
        action['url'] = self.station_url(shipment)
        return action, {}
