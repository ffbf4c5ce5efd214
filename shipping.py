# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 5 of the flow: shipping (发货) by express courier, logistics company
or self-pickup, with tracking numbers the customer can follow.

The tracking numbers are Tryton's ``shipping_reference`` of the shipment
and of its packages (``stock_package_shipping``), so that carrier
integrations keep working; this module checks them against the carrier's
pattern, refuses a number already used on another open shipment of the
carrier, keeps who recorded each one and when, builds the customer's
tracking links, and refuses to ship a courier or freight shipment without
one.  Self-pickup shipments get a pickup code on the order; they are handed
over against that code.
"""

import datetime as dt
import secrets
from collections import defaultdict

from sql import Null

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import FlowAccessMixin, to_the_second
from .carrier import DELIVERY_METHODS
from .common import transition
from .exceptions import ShippingError, TrackingValidationError

METHODS = [(None, "")] + DELIVERY_METHODS + [('pickup', "Self-Pickup")]
DELIVERY_STATUS = [
    (None, ""),
    ('to_ship', "To Ship"),
    ('ready_for_pickup', "Ready for Pickup"),
    ('in_transit', "In Transit"),
    ('collected', "Collected"),
    ('delivered', "Delivered"),
    ]


def _numbers_changed(args):
    "Records of write(*args) whose shipping_reference changes"
    changed = []
    actions = iter(args)
    for records, values in zip(actions, actions):
        if 'shipping_reference' in values:
            changed.extend(records)
    return changed


class TrackingMixin:
    "Check and keep the tracking numbers written on shipments and packages"
    __slots__ = ()
    # the fields whose change checks the number again
    _tracking_fields = {'shipping_reference'}

    def tracking_shipment(self):
        raise NotImplementedError

    @classmethod
    def create(cls, vlist):
        records = super().create(vlist)
        cls._tracking_log([r for r in records if r.shipping_reference], {})
        return records

    @classmethod
    def write(cls, *args):
        changed = _numbers_changed(args)
        before = {r.id: r.shipping_reference for r in changed}
        if changed:
            cls._tracking_check_closed(changed)
        super().write(*args)
        if changed:
            cls._tracking_log(cls.browse(changed), before)

    @classmethod
    def _tracking_check_closed(cls, records):
        "Nobody changes a tracking number once the customer has signed"
        for record in records:
            shipment = record.tracking_shipment()
            if shipment and shipment.state == 'done':
                raise AccessError(gettext(
                        'sale_flow.msg_tracking_closed',
                        shipment=shipment.rec_name))

    @classmethod
    def _tracking_log(cls, records, before):
        Tracking = Pool().get('sale.flow.tracking')
        logs = []
        for record in records:
            old = before.get(record.id)
            if old == record.shipping_reference:
                continue
            shipment = record.tracking_shipment()
            if not shipment:
                continue
            logs.append(Tracking(
                    shipment=shipment,
                    package=record if record.__name__ == 'stock.package'
                    else None,
                    number=record.shipping_reference,
                    previous=old))
        if logs:
            with without_check_access():
                Tracking.save(logs)

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        # a number is checked when it, or what it is checked against,
        # changes (and when a shipment is reopened), not at every write of
        # the shipment's steps
        if field_names & cls._tracking_fields:
            to_check = [r for r in records if r.shipping_reference]
        elif 'state' in field_names:
            to_check = [r for r in records
                if r.shipping_reference and r.state == 'draft']
        else:
            to_check = []
        cls.check_tracking_numbers(to_check)

    @classmethod
    def check_tracking_numbers(cls, records):
        """The number must match the carrier's pattern and not be used on
        another open shipment of the carrier"""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        by_carrier = defaultdict(list)
        for record in records:
            shipment = record.tracking_shipment()
            if not shipment or not shipment.carrier:
                continue
            carrier = shipment.carrier
            number = record.shipping_reference
            if not carrier.tracking_matches(number):
                # an example number, not the regular expression
                example = carrier.tracking_hint()
                if example:
                    raise TrackingValidationError(gettext(
                            'sale_flow.msg_tracking_pattern',
                            number=number, carrier=carrier.rec_name,
                            example=example))
                raise TrackingValidationError(gettext(
                        'sale_flow.msg_tracking_format',
                        number=number, carrier=carrier.rec_name))
            by_carrier[carrier].append((shipment, number))
        for carrier, numbers in by_carrier.items():
            others = Shipment.search([
                    ('carrier', '=', carrier.id),
                    ('state', 'not in', ['done', 'cancelled']),
                    ['OR',
                        ('shipping_reference', 'in', [n for _, n in numbers]),
                        ('packages.shipping_reference', 'in',
                            [n for _, n in numbers]),
                        ],
                    ])
            for other in others:
                used = other.tracking_number_list()
                for shipment, number in numbers:
                    if other != shipment and number in used:
                        raise TrackingValidationError(gettext(
                                'sale_flow.msg_tracking_duplicate',
                                number=number, carrier=carrier.rec_name,
                                shipment=other.rec_name))


class Tracking(FlowAccessMixin, ModelSQL, ModelView):
    "Tracking number recorded on a customer shipment"
    __name__ = 'sale.flow.tracking'
    _flow_external = set()

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", required=True, readonly=True,
        ondelete='CASCADE')
    package = fields.Many2One(
        'stock.package', "Package", readonly=True, ondelete='SET NULL')
    number = fields.Char("Tracking Number", readonly=True)
    previous = fields.Char("Previous Number", readonly=True)
    recorded_by = fields.Function(
        fields.Many2One('res.user', "Recorded by"), 'get_recorded')
    recorded_at = fields.Function(
        to_the_second(fields.Timestamp("Recorded at")), 'get_recorded')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.shipment, Index.Range())))
        cls._order = [('id', 'DESC')]

    @classmethod
    def get_recorded(cls, records, name):
        if name == 'recorded_by':
            return {r.id: r.create_uid.id if r.create_uid else None
                for r in records}
        return {r.id: r.create_date for r in records}


class Package(FlowAccessMixin, TrackingMixin, metaclass=PoolMeta):
    __name__ = 'stock.package'
    _tracking_fields = {'shipping_reference', 'shipment'}

    def tracking_shipment(self):
        shipment = self.shipment
        if shipment and shipment.__name__ == 'stock.shipment.out':
            return shipment

    def get_shipping_tracking_url(self, name):
        url = super().get_shipping_tracking_url(name)
        shipment = self.tracking_shipment()
        if not url and shipment and shipment.carrier:
            url = shipment.carrier.tracking_link(self.shipping_reference)
        return url


class ShipmentOut(TrackingMixin, metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'
    _tracking_fields = {'shipping_reference', 'carrier'}

    delivery_method = fields.Selection(
        METHODS, "Delivery Method",
        states={
            'readonly': Eval('state').in_(['shipped', 'done', 'cancelled']),
            })
    delivery_method_string = delivery_method.translated('delivery_method')
    collected_by = fields.Char(
        "Collected by", readonly=True,
        states={
            'invisible': Eval('delivery_method') != 'pickup',
            },
        help="The person who collected the goods.")
    handed_over_by = fields.Many2One(
        'res.user', "Handed over by", readonly=True,
        states={
            'invisible': Eval('delivery_method') != 'pickup',
            })
    collected_at = to_the_second(fields.Timestamp(
        "Collected at", readonly=True,
        states={
            'invisible': Eval('delivery_method') != 'pickup',
            }))
    delivery_status = fields.Function(fields.Selection(
            DELIVERY_STATUS, "Delivery Status"), 'get_delivery_status')
    delivery_status_string = delivery_status.translated('delivery_status')
    tracking_numbers = fields.Function(
        fields.Char("Tracking Numbers"), 'get_tracking')
    tracking_url = fields.Function(
        fields.Char("Tracking Link"), 'get_tracking')
    tracking_links = fields.Function(
        fields.Text("Tracking Links"), 'get_tracking')
    trackings = fields.One2Many(
        'sale.flow.tracking', 'shipment', "Tracking History", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'hand_over': {
                    'invisible': ((Eval('state') != 'packed')
                        | (Eval('delivery_method') != 'pickup')),
                    'depends': ['state', 'delivery_method'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        pool = Pool()
        User = pool.get('res.user')
        table_h = cls.__table_handler__(module)
        table = cls.__table__()
        user = User.__table__()
        cursor = Transaction().connection.cursor()
        migrate = table_h.column_exist('shipped_user')

        super().__register__(module)

        # Migration from 8.0.0: the module kept its own shipping user and
        # time; the user's employee goes to stock's shipped_by (the time is
        # in the shipment's log)
        if migrate:
            cursor.execute(*table.update(
                    [table.shipped_by],
                    [user.select(user.employee,
                            where=user.id == table.shipped_user)],
                    where=(table.shipped_by == Null)
                    & (table.shipped_user != Null)))
            table_h.drop_column('shipped_user')
            table_h.drop_column('shipped_at')

    @classmethod
    def copy(cls, shipments, default=None):
        default = default.copy() if default is not None else {}
        for name in ['collected_by', 'handed_over_by', 'collected_at',
                'trackings']:
            default.setdefault(name, None)
        return super().copy(shipments, default=default)

    def tracking_shipment(self):
        return self

    @property
    def delivery_method_used(self):
        if self.delivery_method:
            return self.delivery_method
        if self.carrier:
            return self.carrier.delivery_method

    def tracking_number_list(self):
        "The tracking numbers of the shipment and of its packages"
        numbers = [self.shipping_reference] if self.shipping_reference else []
        for package in self.packages:
            if (package.shipping_reference
                    and package.shipping_reference not in numbers):
                numbers.append(package.shipping_reference)
        return numbers

    def tracking_pairs(self):
        "(number, link) of every tracking number, for the documents"
        return [(n, self.carrier.tracking_link(n) if self.carrier else None)
            for n in self.tracking_number_list()]

    @classmethod
    def get_tracking(cls, shipments, names):
        result = {n: {} for n in names}
        for shipment in shipments:
            links = shipment.tracking_pairs()
            numbers = [n for n, _ in links]
            if 'tracking_numbers' in names:
                result['tracking_numbers'][shipment.id] = (
                    ', '.join(numbers) or None)
            if 'tracking_url' in names:
                result['tracking_url'][shipment.id] = next(
                    (l for _, l in links if l), None)
            if 'tracking_links' in names:
                result['tracking_links'][shipment.id] = '\n'.join(
                    '%s  %s' % (n, l) if l else n
                    for n, l in links) or None
        return result

    def get_delivery_status(self, name):
        pickup = self.delivery_method_used == 'pickup'
        if self.state == 'packed':
            return 'ready_for_pickup' if pickup else 'to_ship'
        if self.state == 'shipped':
            return 'collected' if pickup else 'in_transit'
        if self.state == 'done':
            return 'delivered'

    def sale_flow_pickup_code(self):
        """The pickup code of the shipment's order, for the customer's
        notification and the handover (the code is not on the shipment:
        the shipping screens do not show it)"""
        with without_check_access():
            codes = {m.sale.pickup_code
                for m in self.__class__(self.id).outgoing_moves if m.sale}
        codes.discard(None)
        return codes.pop() if len(codes) == 1 else None

    @classmethod
    def check_shipping(cls, shipments):
        """A courier or freight shipment leaves with a tracking number, a
        self-pickup shipment by its handover (hand_over_to records who
        collected it, then ships it)"""
        for shipment in shipments:
            method = shipment.delivery_method_used
            if method == 'pickup':
                if not shipment.collected_at:
                    raise ShippingError(gettext(
                            'sale_flow.msg_shipping_pickup_handover',
                            shipment=shipment.rec_name))
            elif method in {'courier', 'freight'}:
                if not shipment.tracking_number_list():
                    raise ShippingError(gettext(
                            'sale_flow.msg_shipping_no_tracking',
                            shipment=shipment.rec_name))

    @classmethod
    @ModelView.button
    @transition('packed')
    def pack(cls, shipments):
        super().pack(shipments)
        cls._tracking_in_house(shipments)

    @classmethod
    def _tracking_in_house(cls, shipments):
        "Number the shipments of the company's own fleet"
        to_write = []
        for shipment in shipments:
            carrier = shipment.carrier
            if (carrier and carrier.in_house and carrier.tracking_sequence
                    and not shipment.tracking_number_list()
                    and shipment.delivery_method_used != 'pickup'):
                to_write.extend(([shipment], {
                            'shipping_reference': (
                                carrier.tracking_sequence.get()),
                            }))
        if to_write:
            with without_check_access():
                cls.write(*to_write)

    @classmethod
    @ModelView.button
    @transition('shipped')
    def ship(cls, shipments):
        cls.check_shipping(shipments)
        super().ship(shipments)

    @classmethod
    @ModelView.button
    @transition('done')
    def do(cls, shipments):
        # done straight from packed skips ship: the same rules apply
        cls.check_shipping([s for s in shipments if s.state == 'packed'])
        super().do(shipments)

    @classmethod
    @ModelView.button_action('sale_flow.wizard_hand_over')
    def hand_over(cls, shipments):
        pass

    @classmethod
    def hand_over_to(cls, shipment, code, collected_by):
        """Hand the packed self-pickup shipment over to the person who
        collects it, against the order's pickup code; the shipment leaves
        (shipped)"""
        for value in [code, collected_by]:
            if value is not None and (
                    not isinstance(value, str) or len(value) > 200):
                raise ShippingError(gettext(
                        'sale_flow.msg_hand_over_text', limit=200))
        code = (code or '').strip()
        collected_by = (collected_by or '').strip()
        if (shipment.state != 'packed'
                or shipment.delivery_method_used != 'pickup'):
            raise ShippingError(gettext(
                    'sale_flow.msg_hand_over_state',
                    shipment=shipment.rec_name))
        expected = shipment.sale_flow_pickup_code()
        if not expected or not secrets.compare_digest(code, expected):
            raise ShippingError(gettext(
                    'sale_flow.msg_hand_over_code',
                    shipment=shipment.rec_name))
        if not collected_by:
            raise ShippingError(gettext(
                    'sale_flow.msg_hand_over_collected_by'))
        with without_check_access():
            cls.write([shipment], {
                    'collected_by': collected_by,
                    'handed_over_by': Transaction().user,
                    'collected_at': dt.datetime.now(),
                    })
        cls.ship([shipment])


class HandOverStart(ModelView):
    "Hand over a self-pickup shipment"
    __name__ = 'sale.flow.hand_over.start'

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", readonly=True)
    code = fields.Char(
        "Pickup Code", required=True,
        help="The code the customer received when the order was confirmed.")
    collected_by = fields.Char(
        "Collected by", required=True,
        help="The name of the person who collects the goods.")


class HandOver(Wizard):
    "Hand over a self-pickup shipment"
    __name__ = 'sale.flow.hand_over'

    start = StateView(
        'sale.flow.hand_over.start', 'sale_flow.hand_over_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Hand Over", 'hand_over', 'tryton-ok', default=True),
            ])
    hand_over = StateTransition()

    def default_start(self, fields):
        return {'shipment': self.record.id}

    def transition_hand_over(self):
        Shipment = Pool().get('stock.shipment.out')
        Shipment.hand_over_to(
            self.record, self.start.code, self.start.collected_by)
        return 'end'

    def end(self):
        return 'reload'


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    delivery_method = fields.Selection(
        METHODS, "Delivery Method",
        states={
            'readonly': ~Eval('state').in_(['draft', 'quotation']),
            },
        help="Express courier, logistics company or self-pickup at the "
        "warehouse (a shipment address of the warehouse).")
    delivery_method_string = delivery_method.translated('delivery_method')
    pickup_code = fields.Char(
        "Pickup Code", readonly=True,
        states={
            'invisible': Eval('delivery_method') != 'pickup',
            },
        help="The customer gives this code to collect the goods; the "
        "shipping screens do not show it.")
    tracking = fields.Function(
        fields.Text("Tracking"), 'get_tracking')

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('pickup_code', None)
        return super().copy(sales, default=default)

    @fields.depends('carrier', 'shipment_address', 'warehouse',
        'delivery_method')
    def on_change_with_delivery_method(self):
        if (self.shipment_address and self.warehouse
                and self.warehouse in self.shipment_address.warehouses):
            return 'pickup'
        if self.carrier:
            return self.carrier.delivery_method
        if self.delivery_method == 'pickup':
            return None
        return self.delivery_method

    def get_tracking(self, name):
        lines = []
        for shipment in self.shipments:
            carrier = (shipment.carrier.party.rec_name
                if shipment.carrier else '')
            head = '  '.join(filter(None, [
                        shipment.rec_name, carrier,
                        shipment.delivery_status_string]))
            lines.append(head)
            if shipment.tracking_links:
                lines.extend(
                    '    ' + l for l in shipment.tracking_links.splitlines())
        return '\n'.join(lines) or None

    @classmethod
    @ModelView.button
    @transition('quotation')
    def quote(cls, sales):
        # the client may not have computed it (e.g. a default carrier)
        to_save = []
        for sale in sales:
            if not sale.delivery_method:
                sale.delivery_method = sale.on_change_with_delivery_method()
                if sale.delivery_method:
                    to_save.append(sale)
            if sale.delivery_method == 'pickup' and (
                    sale.carrier or sale.shipment_cost_method):
                # collected at the warehouse: no carrier, no shipping cost
                sale.carrier = None
                sale.shipment_cost_method = None
                to_save.append(sale)
        cls.save(to_save)
        for sale in sales:
            if (sale.delivery_method == 'pickup'
                    and not (sale.warehouse and sale.warehouse.allow_pickup)):
                raise ShippingError(gettext(
                        'sale_flow.msg_sale_pickup_warehouse',
                        sale=sale.rec_name))
        super().quote(sales)

    @classmethod
    @ModelView.button
    @transition('confirmed')
    def confirm(cls, sales):
        to_code = [s for s in sales
            if s.delivery_method == 'pickup' and not s.pickup_code]
        for sale in to_code:
            sale.pickup_code = '%06d' % secrets.randbelow(10 ** 6)
        if to_code:
            with without_check_access():
                cls.save(to_code)
        super().confirm(sales)

    def _get_shipment_sale(self, Shipment, key):
        shipment = super()._get_shipment_sale(Shipment, key)
        shipment.delivery_method = self.delivery_method or (
            self.carrier.delivery_method if self.carrier else None)
        return shipment
