# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 6 of the flow: the customer's signature (客户签收), proof of
delivery.

A signature record on the customer shipment keeps who signed (the person),
the identity check, when, the signature image and, per line, the quantity
accepted and the quantity refused with its reason.  A digest of the
signed content (HMAC-SHA-256 keyed with a secret of the database that no
user can read) is stored: any later change is detectable, nobody can
compute a valid digest for forged content, and the record cannot be
written nor deleted.  Signing completes the shipment (done);
refused goods come back to stock through a customer return shipment, so
that only the accepted quantity is invoiced, and open an after-sales case
(Tryton's ``sale_complaint``) on the order.
"""

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import math
import secrets
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access
from trytond.url import http_host
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import FlowAccessMixin, flow_rpc, record_id, to_the_second
from .common import lock_records, transition
from .exceptions import SignatureError, SignatureIdentityError

# the largest signature image or photo accepted, in bytes
MAX_IMAGE = 2 * 1024 * 1024
# the most photos of the goods kept with one signature
MAX_PHOTOS = 10
# the largest image accepted, in pixels (a phone photo has 12 million)
MAX_PIXELS = 50 * 1000 * 1000
# the image formats accepted for signatures and photos
IMAGE_FORMATS = {'PNG', 'JPEG'}
# the longest signer name, identity and reason text
MAX_TEXT = 200
# wrong identity checks before a signing link is locked, by default
SIGN_ATTEMPTS = 5


def check_image(data):
    """Whether data is an image of an accepted format and size, decoded by
    its content (not by what the sender says)"""
    from PIL import Image
    if not isinstance(data, (bytes, bytearray)) or not data:
        return False
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in IMAGE_FORMATS:
                return False
            if image.width * image.height > MAX_PIXELS:
                return False
            image.verify()
    except (Image.DecompressionBombError, OSError, ValueError,
            SyntaxError):
        return False
    return True


REASONS = [
    (None, ""),
    ('damaged', "Damaged"),
    ('wrong_item', "Wrong Item"),
    ('missing', "Missing"),
    ('other', "Other"),
    ]
logger = logging.getLogger(__name__)


def _number(value):
    "The finite number of value (empty is 0), or None"
    if value in (None, ''):
        return 0.0
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(values, name, Model):
    """The stripped text of values[name], refused when not text or too long
    (naming the field of Model in the reader's language)"""
    value = values.get(name)
    if value is None:
        return ''
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise SignatureError(gettext(
                'sale_flow.msg_signature_text',
                field=Model.fields_get([name])[name]['string'],
                limit=MAX_TEXT))
    return value.strip()


def _binary(value):
    "The bytes of value (bytes or base64 text), or None"
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return None


# who records a signature in the client: the shipping clerks and the flow
# managers (the customer signs on the phone page with the link's token)
SIGN_GROUPS = [
    'sale_flow.group_sale_flow_shipping',
    'sale_flow.group_sale_flow_manager',
    ]


class Configuration(metaclass=PoolMeta):
    __name__ = 'sale.configuration'

    signature_identity = fields.Selection([
            ('none', "None"),
            ('phone', "Last 4 Digits of a Customer's Phone"),
            ('id_card', "Last 4 Digits of the Signer's ID Card"),
            ], "Signature Identity Check",
        help="What the signer gives to show who signs: checked against the "
        "customer's phone numbers, or kept as given for an ID card.")
    signature_attempts = fields.Integer(
        "Identity Checks per Link",
        domain=['OR', ('signature_attempts', '=', None),
            ('signature_attempts', '>', 0)],
        help="A signing link is locked after this many wrong identity "
        "checks on the customer's phone (5 when empty).")
    signature_required = fields.Boolean(
        "Signature Required",
        help="A customer shipment of an order is done only with the "
        "customer's signature (proof of delivery).")

    @classmethod
    def default_signature_identity(cls):
        return 'phone'

    @classmethod
    def default_signature_required(cls):
        return True


class Signature(FlowAccessMixin, ModelSQL, ModelView):
    "Customer's signature for a shipment (proof of delivery)"
    __name__ = 'sale.flow.signature'
    _flow_external = set()

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", required=True, readonly=True,
        ondelete='RESTRICT')
    signer = fields.Char("Signed by", required=True, readonly=True,
        help="The person who signed, not the company.")
    identity = fields.Char("Identity Check", readonly=True,
        help="The last four digits of the signer's phone on the customer.")
    signed_at = to_the_second(
        fields.Timestamp("Signed at", required=True, readonly=True))
    recorded_by = fields.Many2One('res.user', "Recorded by", readonly=True)
    channel = fields.Selection([
            ('client', "Tryton Client"),
            ('phone', "Customer's Phone"),
            ('courier', "Courier's Delivery"),
            ], "Signed on", readonly=True,
        help="Where the signature was given; the courier's delivery is the "
        "recipient the courier reported, for a carrier whose courier's "
        "delivery completes the shipment.")
    image = fields.Binary("Signature", readonly=True,
        states={
            'required': Eval('channel') != 'courier',
            })
    photos = fields.One2Many(
        'sale.flow.signature.photo', 'signature', "Photos of the Goods",
        readonly=True)
    lines = fields.One2Many(
        'sale.flow.signature.line', 'signature', "Lines", readonly=True)
    digest = fields.Char("Digest", readonly=True,
        help="SHA-256 of the signed content.")
    digest_valid = fields.Function(
        fields.Boolean("Digest Valid",
            help="Whether the stored content still gives the digest."),
        'get_digest_valid')
    return_shipment = fields.Many2One(
        'stock.shipment.out.return', "Return Shipment", readonly=True)
    complaint = fields.Many2One(
        'sale.complaint', "After-Sales Case", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('shipment_unique', Unique(t, t.shipment),
                'sale_flow.msg_signature_unique'),
            ]
        cls._order = [('signed_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def by_courier(cls, shipments):
        """Record the courier's delivery or refusal of the shipments as
        their proof of delivery and complete them: for the carriers whose
        courier's delivery completes the shipment, the shipments still on
        their way and not signed whose courier reported them delivered or
        refused (the first such event: its time; delivered: its recipient,
        all the goods accepted; refused: all the goods refused with the
        courier's words, their return expected and the after-sales case
        open).  Return the signatures."""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Event = pool.get('sale.flow.tracking.event')
        Line = pool.get('sale.flow.signature.line')
        shipments = [s for s in Shipment.browse(shipments)
            if s.carrier and s.carrier.tracking_proof == 'courier']
        if not shipments:
            return []
        lock_records(shipments)
        shipments = Shipment.browse([s.id for s in shipments])
        decisive = {}
        for event in Event.search([
                    ('shipment', 'in', [s.id for s in shipments]),
                    ('state', 'in', ['delivered', 'refused']),
                    ], order=[('time', 'ASC'), ('id', 'ASC')]):
            decisive.setdefault(event.shipment.id, event)
        to_sign = [s for s in shipments
            if s.state == 'shipped' and not s.signatures
            and s.id in decisive]
        signatures = []
        for shipment in to_sign:
            event = decisive[shipment.id]
            carrier = shipment.carrier.party.rec_name
            if event.state == 'refused':
                signer = gettext(
                    'sale_flow.msg_signature_courier_refused',
                    carrier=carrier)
                reason = (event.text or event.status or '').strip()[
                    :MAX_TEXT] or None
                lines = [Line(move=m, product=m.product, unit=m.unit,
                        delivered=m.quantity, accepted=0,
                        refused=m.quantity, reason='other',
                        reason_text=reason)
                    for m in shipment.moves_to_sign()]
            else:
                signer = event.recipient or gettext(
                    'sale_flow.msg_signature_courier_recipient',
                    carrier=carrier)
                lines = [Line(move=m, product=m.product, unit=m.unit,
                        delivered=m.quantity, accepted=m.quantity,
                        refused=0)
                    for m in shipment.moves_to_sign()]
            signatures.append(cls(
                    shipment=shipment, channel='courier', signer=signer,
                    signed_at=event.time, recorded_by=None, lines=lines))
        if not signatures:
            return []
        with without_check_access():
            cls.save(signatures)
            key = pool.get('sale.flow.signature.secret').get_key()
            for signature in signatures:
                signature.digest = signature.compute_digest(key)
            cls.save(signatures)
            # the customer's signing link is of no use any more
            Shipment.write(to_sign, {
                    'sign_token_hash': None, 'sign_token_expire': None})
            Shipment.do(to_sign)
            for signature in signatures:
                refused = [l for l in signature.lines if l.refused]
                if refused:
                    # the parcel comes back with the courier: the
                    # warehouse receives it when it is there
                    cls._refused(signature, refused, receive=False)
        return signatures

    def content(self):
        "The signed content, canonical"
        return {
            'shipment': self.shipment.number,
            'signer': self.signer,
            'identity': self.identity or '',
            'signed_at': self.signed_at.isoformat(),
            'image': hashlib.sha256(bytes(self.image or b'')).hexdigest(),
            'photos': [
                hashlib.sha256(bytes(p.image or b'')).hexdigest()
                for p in sorted(self.photos, key=lambda p: p.id)],
            'lines': [
                [(l.product.code or str(l.product.id)) if l.product else '',
                    l.delivered,
                    l.accepted, l.refused, l.reason or '',
                    l.reason_text or '']
                for l in sorted(self.lines, key=lambda l: l.id)],
            }

    def compute_digest(self, key=None):
        "HMAC-SHA-256 of the content with the database's signing secret"
        if key is None:
            key = Pool().get('sale.flow.signature.secret').get_key()
        return hmac.new(key, json.dumps(
                self.content(), sort_keys=True,
                ensure_ascii=False).encode('utf-8'), hashlib.sha256
            ).hexdigest()

    def get_rec_name(self, name):
        # who signed for which shipment (it has no name of its own)
        return '%s (%s)' % (self.signer, self.shipment.rec_name)

    @classmethod
    def get_digest_valid(cls, signatures, name):
        key = Pool().get('sale.flow.signature.secret').get_key()
        result = {}
        for signature in signatures:
            try:
                digest = signature.compute_digest(key)
            except Exception:
                # content that cannot be read (a damaged record): not valid
                logger.warning("signature %s: the content cannot be read",
                    signature.id, exc_info=True)
                digest = None
            result[signature.id] = bool(signature.digest and digest
                and hmac.compare_digest(signature.digest, digest))
        return result

    @classmethod
    def check_modification(cls, mode, signatures, values=None,
            external=False):
        super().check_modification(
            mode, signatures, values=values, external=external)
        # only sign() writes a signature (its digest, its after-sales), on
        # the server; no caller may change it afterwards
        if mode == 'delete' or (mode == 'write' and external):
            raise AccessError(gettext('sale_flow.msg_signature_frozen'))


class SignatureSecret(FlowAccessMixin, ModelSQL):
    """The secret that keys the signatures' digests: made once per database
    when the module is installed, readable by nobody over RPC (no access)"""
    __name__ = 'sale.flow.signature.secret'
    _flow_external = set()

    key = fields.Char("Key", required=True)

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        cursor.execute(*table.select(table.id, limit=1))
        if not cursor.fetchone():
            cursor.execute(*table.insert(
                    [table.key], [[secrets.token_hex(32)]]))

    @classmethod
    def get_key(cls):
        "The key, read once per call that needs it"
        with without_check_access():
            secret, = cls.search([], order=[('id', 'ASC')], limit=1)
        return secret.key.encode('ascii')


class SignedContent(FlowAccessMixin, ModelSQL):
    "Part of a signature: created with it, never written nor deleted"
    _flow_external = set()

    signature = fields.Many2One(
        'sale.flow.signature', "Signature", required=True,
        ondelete='CASCADE', readonly=True)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise AccessError(gettext('sale_flow.msg_signature_frozen'))


class SignatureLine(SignedContent, ModelView):
    "Line of a signature: what the customer accepted and refused"
    __name__ = 'sale.flow.signature.line'

    move = fields.Many2One('stock.move', "Move", readonly=True,
        ondelete='SET NULL')
    product = fields.Many2One('product.product', "Product", readonly=True)
    unit = fields.Many2One('product.uom', "Unit", readonly=True)
    delivered = fields.Float("Delivered", readonly=True)
    accepted = fields.Float("Accepted", readonly=True)
    refused = fields.Float("Refused", readonly=True)
    reason = fields.Selection(REASONS, "Reason", readonly=True)
    reason_string = reason.translated('reason')
    reason_text = fields.Char("Reason Details", readonly=True)


class SignaturePhoto(SignedContent, ModelView):
    "Photo of the goods taken at the signature"
    __name__ = 'sale.flow.signature.photo'

    image = fields.Binary("Photo", required=True, readonly=True)


class ShipmentOut(metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'

    signatures = fields.One2Many(
        'sale.flow.signature', 'shipment', "Signature", readonly=True)
    sign_token_hash = fields.Char("Signing Token Hash", readonly=True)
    sign_attempts = fields.Integer(
        "Wrong Identity Checks", readonly=True,
        help="Wrong identity checks on the current signing link.")
    signature_required = fields.Function(fields.Boolean(
            "Signature Required",
            help="The shipment is done by the customer's signature only "
            "(proof of delivery); see the sales configuration."),
        'get_signature_required')
    sign_token_expire = to_the_second(fields.Timestamp(
        "Signing Link Expires", readonly=True,
        states={
            'invisible': ~Eval('sign_token_expire'),
            }))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'sign': {
                    # a self-pickup shipment is signed at the counter,
                    # handed over at the same time
                    'invisible': ((Eval('state') != 'shipped')
                        & ((Eval('state') != 'packed')
                            | (Eval('delivery_method') != 'pickup'))),
                    'depends': ['state', 'delivery_method'],
                    },
                'sign_link': {
                    'invisible': Eval('state') != 'shipped',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def _sign_token_hash(token):
        return hashlib.sha256(token.encode('utf-8')).hexdigest()

    def new_sign_token(self, hours=48):
        """A new signing token for the customer's phone (the previous one no
        longer works); only its hash is stored"""
        token = secrets.token_urlsafe(24)
        with without_check_access():
            self.__class__.write([self], {
                    'sign_attempts': 0,
                    'sign_token_hash': self._sign_token_hash(token),
                    'sign_token_expire': (
                        dt.datetime.now() + dt.timedelta(hours=hours)),
                    })
        return token

    @classmethod
    def _from_token(cls, field, token, domain=None):
        "The shipment whose field holds the hash of token, or None"
        if not token or len(token) > 100:
            return None
        with without_check_access():
            shipments = cls.search([
                    (field, '=', cls._sign_token_hash(token)),
                    ] + (domain or []), limit=1)
        return shipments[0] if shipments else None

    @classmethod
    def from_sign_token(cls, token):
        "The shipment the token may sign now, or None"
        shipment = cls._from_token('sign_token_hash', token, [
                ('sign_token_expire', '>', dt.datetime.now()),
                ('state', '=', 'shipped'),
                ])
        if shipment and not shipment.signatures:
            return shipment

    @classmethod
    @ModelView.button
    @transition('done')
    def do(cls, shipments):
        cls.check_proof_of_delivery(shipments)
        super().do(shipments)

    @classmethod
    def get_signature_required(cls, shipments, name):
        "Whether each shipment is done by the customer's signature only"
        with without_check_access():
            config = Pool().get('sale.configuration')(1)
            # empty (a database from before the setting) is required
            required = (config.signature_required is None
                or bool(config.signature_required))
            # read together, not one shipment after the other
            return {s.id: required and any(
                    m.sale for m in s.outgoing_moves)
                for s in cls.browse([s.id for s in shipments])}

    @classmethod
    def check_proof_of_delivery(cls, shipments):
        """A shipment of an order is done by the customer's signature only,
        unless the company signs for no delivery"""
        shipments = cls.browse(shipments)
        required = cls.get_signature_required(shipments, None)
        for shipment in shipments:
            if shipment.state == 'done' or shipment.signatures:
                continue
            if required[shipment.id]:
                raise SignatureError(gettext(
                        'sale_flow.msg_signature_required',
                        shipment=shipment.rec_name))

    @classmethod
    def record_sign_failure(cls, shipment):
        """Count a wrong identity check on the shipment's signing link and
        lock the link (its token is forgotten) after the configured number;
        return whether it is locked"""
        with without_check_access():
            config = Pool().get('sale.configuration')(1)
            limit = config.signature_attempts or SIGN_ATTEMPTS
            shipment = cls(shipment.id)
            attempts = (shipment.sign_attempts or 0) + 1
            values = {'sign_attempts': attempts}
            locked = attempts >= limit
            if locked:
                values.update(sign_token_hash=None, sign_token_expire=None)
            cls.write([shipment], values)
        logger.info("shipment %s: wrong identity check %s of %s",
            shipment.id, attempts, limit)
        return locked

    @classmethod
    @ModelView.button_action('sale_flow.wizard_sign_link')
    def sign_link(cls, shipments):
        pass

    def moves_to_sign(self):
        """The goods the customer signs for: the customer moves not
        cancelled, with a quantity (the signing page, the signature, the
        delivery note)"""
        return [m for m in self.outgoing_moves
            if m.state != 'cancelled' and m.quantity]

    @classmethod
    def copy(cls, shipments, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('signatures', None)
        default.setdefault('sign_token_hash', None)
        default.setdefault('sign_token_expire', None)
        default.setdefault('sign_attempts', None)
        return super().copy(shipments, default=default)

    @classmethod
    @ModelView.button_action('sale_flow.wizard_sign')
    def sign(cls, shipments):
        pass


class SignLinkShow(ModelView):
    "Signing link for the customer's phone"
    __name__ = 'sale.flow.sign_link.show'

    url = fields.Char("Signing Link", readonly=True,
        help="Send it to the customer (text message, chat); it works once "
        "and expires.")
    expire = to_the_second(fields.Timestamp("Expires", readonly=True))


class SignLink(Wizard):
    "Signing link for the customer's phone"
    __name__ = 'sale.flow.sign_link'

    start = StateTransition()
    show = StateView('sale.flow.sign_link.show',
        'sale_flow.sign_link_show_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        shipment = self.record
        if shipment.state != 'shipped' or shipment.signatures:
            raise SignatureError(gettext(
                    'sale_flow.msg_signature_state',
                    shipment=shipment.rec_name))
        token = shipment.new_sign_token()
        self.show.url = '%s/%s/sale_flow/sign/%s' % (
            http_host(), Transaction().database.name, token)
        self.show.expire = self.record.__class__(shipment.id).sign_token_expire
        return 'show'

    def default_show(self, fields):
        return {'url': self.show.url, 'expire': self.show.expire}


class SignStart(ModelView):
    "Customer signature"
    __name__ = 'sale.flow.sign.start'

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", readonly=True)
    signer = fields.Char("Signed by", required=True,
        help="The name of the person who signs.")
    identity = fields.Char("Identity Check",
        help="The last four digits of the signer's phone on the customer.")
    pickup = fields.Boolean("Self-Pickup", readonly=True)
    pickup_code = fields.Char("Pickup Code",
        states={
            'invisible': ~Eval('pickup'),
            'required': Eval('pickup', False),
            },
        help="The code the customer received when the order was confirmed: "
        "the goods are handed over with the signature.")
    image = fields.Binary("Signature", required=True,
        help="The signature, drawn or photographed.")
    photos = fields.One2Many('sale.flow.sign.photo', None,
        "Photos of the Goods")
    lines = fields.One2Many('sale.flow.sign.line', None, "Lines")


class SignPhoto(ModelView):
    "Customer signature: a photo of the goods"
    __name__ = 'sale.flow.sign.photo'

    image = fields.Binary("Photo", required=True)


class SignLine(ModelView):
    "Customer signature: a line"
    __name__ = 'sale.flow.sign.line'

    move = fields.Many2One('stock.move', "Move", readonly=True)
    product = fields.Many2One('product.product', "Product", readonly=True)
    unit = fields.Many2One('product.uom', "Unit", readonly=True)
    delivered = fields.Float("Delivered", readonly=True)
    accepted = fields.Float("Accepted", required=True)
    refused = fields.Float("Refused", required=True)
    reason = fields.Selection(REASONS, "Reason",
        states={
            'required': Eval('refused', 0) > 0,
            })
    reason_text = fields.Char("Reason Details")

    @fields.depends('delivered', 'accepted')
    def on_change_accepted(self):
        if self.delivered is not None and self.accepted is not None:
            self.refused = max(self.delivered - self.accepted, 0)


class Sign(Wizard):
    "Customer signature"
    __name__ = 'sale.flow.sign'

    start = StateView('sale.flow.sign.start',
        'sale_flow.sign_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Sign", 'sign', 'tryton-ok', default=True),
            ])
    sign = StateTransition()

    def default_start(self, fields):
        shipment = self.record
        return {
            'shipment': shipment.id,
            'pickup': shipment.state == 'packed',
            'lines': [{
                    'move': m.id,
                    'product': m.product.id,
                    'unit': m.unit.id,
                    'delivered': m.quantity,
                    'accepted': m.quantity,
                    'refused': 0,
                    } for m in shipment.moves_to_sign()],
            }

    def transition_sign(self):
        Signature = Pool().get('sale.flow.signature')
        Signature.sign(self.record, {
                'signer': self.start.signer,
                'identity': self.start.identity,
                'image': self.start.image,
                'photos': [p.image for p in self.start.photos],
                'pickup_code': self.start.pickup_code,
                'lines': [{
                        'move': l.move.id,
                        'accepted': l.accepted,
                        'refused': l.refused,
                        'reason': l.reason,
                        'reason_text': l.reason_text,
                        } for l in self.start.lines],
                })
        return 'end'

    def end(self):
        return 'reload'


class SignatureSign(metaclass=PoolMeta):
    "The signing itself, shared by the client wizard and other channels"
    __name__ = 'sale.flow.signature'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'sign': RPC(readonly=False, result=int),
                })

    @classmethod
    @flow_rpc('stock.shipment.out', mode='read', groups=SIGN_GROUPS,
        records=lambda shipment, *a, **k: [record_id(shipment, 'shipment')])
    def sign(cls, shipment, values):
        """Record the signature of the shipment with values (signer,
        identity, image, photos, lines: move, accepted, refused, reason,
        reason_text; pickup_code for a self-pickup shipment still at the
        counter, which is handed over to the signer), complete the shipment
        and open the after-sales case of refused goods.  Return the
        signature."""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Photo = pool.get('sale.flow.signature.photo')
        shipment, pickup = cls._sign_shipment(shipment)
        if not isinstance(values, dict):
            raise SignatureError(gettext(
                    'sale_flow.msg_signature_values', value=repr(values)[:50]))
        signer = _text(values, 'signer', cls)
        if not signer:
            raise SignatureError(gettext('sale_flow.msg_signature_signer'))
        if not values.get('image'):
            raise SignatureError(gettext('sale_flow.msg_signature_image'))
        identity = _text(values, 'identity', cls)
        cls.check_identity(shipment, identity)
        lines = cls._sign_lines(shipment, values.get('lines'))
        image, photos = cls._sign_images(values)
        if pickup:
            # the goods leave the counter with the signature
            Shipment.hand_over_to(
                shipment, values.get('pickup_code'), signer)
            shipment = Shipment(shipment.id)
        # created with the user's rights: shipping clerks and managers
        channel = values.get('channel') or 'client'
        signature = cls(
            shipment=shipment, signer=signer, identity=identity or None,
            signed_at=dt.datetime.now().replace(microsecond=0),
            recorded_by=Transaction().user or None, channel=channel,
            image=image, lines=lines,
            photos=[Photo(image=p) for p in photos])
        signature.save()
        with without_check_access():
            signature = cls(signature.id)
            signature.digest = signature.compute_digest()
            signature.save()
        if shipment.sign_token_hash or shipment.sign_token_expire:
            with without_check_access():
                # the signing link is single-use
                Shipment.write([shipment], {
                        'sign_token_hash': None, 'sign_token_expire': None})
        Shipment.do([shipment])
        refused = [l for l in signature.lines if l.refused]
        if refused:
            cls._refused(signature, refused)
        return signature

    @classmethod
    def _sign_shipment(cls, shipment):
        """The shipment locked, if it may be signed now, and whether it is
        a self-pickup still at the counter"""
        Shipment = Pool().get('stock.shipment.out')
        shipment = Shipment(int(shipment))
        lock_records([shipment])
        shipment = Shipment(shipment.id)
        if shipment.signatures:
            raise SignatureError(gettext(
                    'sale_flow.msg_signature_unique_shipment',
                    shipment=shipment.rec_name))
        pickup = (shipment.state == 'packed'
            and shipment.delivery_method_used == 'pickup')
        if shipment.state != 'shipped' and not pickup:
            raise SignatureError(gettext(
                    'sale_flow.msg_signature_state',
                    shipment=shipment.rec_name))
        return shipment, pickup

    @classmethod
    def _sign_lines(cls, shipment, values):
        """The signature's lines (not saved) from the values given per
        move: one for each move to sign, accepted and refused adding up to
        what was delivered, a reason for what is refused"""
        Line = Pool().get('sale.flow.signature.line')
        moves = {m.id: m for m in shipment.moves_to_sign()}
        given = {}
        for line in values or []:
            if not isinstance(line, dict):
                raise SignatureError(gettext(
                        'sale_flow.msg_signature_lines',
                        shipment=shipment.rec_name))
            given[record_id(line.get('move'), 'move')] = line
        if set(given) != set(moves):
            raise SignatureError(gettext(
                    'sale_flow.msg_signature_lines',
                    shipment=shipment.rec_name))
        lines = []
        for move_id, move in moves.items():
            value = given[move_id]
            accepted = _number(value.get('accepted'))
            refused = _number(value.get('refused'))
            unit = move.unit
            if (accepted is None or refused is None
                    or accepted < 0 or refused < 0
                    or unit.round(accepted) != accepted
                    or unit.round(refused) != refused
                    or abs(accepted + refused - move.quantity) > 1e-9):
                raise SignatureError(gettext(
                        'sale_flow.msg_signature_quantity',
                        product=move.product.rec_name,
                        delivered=move.quantity,
                        accepted=value.get('accepted', 0),
                        refused=value.get('refused', 0)))
            if refused and value.get('reason') not in dict(REASONS):
                raise SignatureError(gettext(
                        'sale_flow.msg_signature_reason',
                        product=move.product.rec_name))
            if refused and not value.get('reason'):
                raise SignatureError(gettext(
                        'sale_flow.msg_signature_reason',
                        product=move.product.rec_name))
            lines.append(Line(
                    move=move, product=move.product, unit=move.unit,
                    delivered=move.quantity, accepted=accepted,
                    refused=refused,
                    reason=value.get('reason') if refused else None,
                    reason_text=_text(value, 'reason_text', Line)
                    if refused else None))
        return lines

    @classmethod
    def _sign_images(cls, values):
        "The signature's image and photos, decoded and checked"
        image = _binary(values['image'])
        photos = [_binary(p) for p in values.get('photos') or []]
        if not check_image(image):
            raise SignatureError(gettext(
                    'sale_flow.msg_signature_image_invalid'))
        if not all(check_image(p) for p in photos):
            raise SignatureError(gettext('sale_flow.msg_signature_photo'))
        if len(photos) > MAX_PHOTOS:
            raise SignatureError(gettext(
                    'sale_flow.msg_signature_photos',
                    count=len(photos), limit=MAX_PHOTOS))
        for data in [image] + photos:
            if data and len(data) > MAX_IMAGE:
                raise SignatureError(gettext(
                        'sale_flow.msg_signature_image_size',
                        size=len(data), limit=MAX_IMAGE))
        return image, photos

    @classmethod
    def check_identity(cls, shipment, identity):
        """The identity check of the configuration: the last four digits of
        a phone of the customer (when it has one), or of an ID card"""
        with without_check_access():
            config = Pool().get('sale.configuration')(1)
            method = config.signature_identity or 'phone'
        if method == 'none':
            return
        if method == 'id_card':
            if len(identity or '') < 4:
                raise SignatureIdentityError(gettext(
                        'sale_flow.msg_signature_identity_id_card'))
            return
        phones = [c.value for c in shipment.customer.contact_mechanisms
            if c.type in {'phone', 'mobile'} and c.value]
        if not phones:
            return
        digits = [''.join(ch for ch in p if ch.isdigit()) for p in phones]
        if not identity or not any(
                d.endswith(identity) and len(identity) >= 4
                for d in digits):
            raise SignatureIdentityError(gettext(
                    'sale_flow.msg_signature_identity',
                    customer=shipment.customer.rec_name))

    @classmethod
    def _refused(cls, signature, lines, receive=True):
        """Bring the refused goods back to stock with a customer return
        shipment (received at once, or left for the warehouse to receive
        when the goods are there) and open the after-sales case on the
        order"""
        with without_check_access():
            return_ = cls._refused_return(signature, lines, receive=receive)
            cls._refused_quantities(lines)
            complaint = cls._refused_complaint(signature, lines)
            signature.return_shipment = return_
            signature.complaint = complaint
            signature.save()

    @classmethod
    def _refused_return(cls, signature, lines, receive=True):
        """The customer return of the refused goods, received and done
        (or waiting for them)"""
        pool = Pool()
        Return = pool.get('stock.shipment.out.return')
        Move = pool.get('stock.move')
        shipment = signature.shipment
        return_ = Return(
            company=shipment.company, customer=shipment.customer,
            warehouse=shipment.warehouse, reference=shipment.number)
        return_.on_change_warehouse()
        moves = []
        for line in lines:
            move = line.move
            moves.append(Move(
                    product=move.product, unit=move.unit,
                    quantity=line.refused,
                    from_location=return_.customer_location,
                    to_location=return_.warehouse_input,
                    unit_price=move.unit_price,
                    currency=move.currency,
                    company=shipment.company,
                    origin=move.origin))
        return_.incoming_moves = moves
        return_.save()
        if not receive:
            return return_
        # The sale warns, on receiving, that its line moves more than
        # ordered: these are the goods that come back, acknowledged by
        # the customer's signature (nobody is there to answer)
        with Transaction().set_context(_skip_warnings=True):
            Return.receive([return_])
        Return.do([return_])
        return return_

    @classmethod
    def _refused_quantities(cls, lines):
        "Add the refused quantities to the order lines (for the statistics)"
        SaleLine = Pool().get('sale.line')
        refused = defaultdict(float)
        for line in lines:
            origin = line.move.origin
            if isinstance(origin, SaleLine):
                refused[origin] += line.refused
        to_write = []
        for sale_line, quantity in refused.items():
            to_write.extend(([sale_line], {
                        'refused_quantity': (
                            (sale_line.refused_quantity or 0) + quantity),
                        }))
        if to_write:
            SaleLine.write(*to_write)

    @classmethod
    def _refused_complaint(cls, signature, lines):
        """The after-sales case of the refused goods on the order, with the
        signature's image attached"""
        pool = Pool()
        Complaint = pool.get('sale.complaint')
        ComplaintType = pool.get('sale.complaint.type')
        Attachment = pool.get('ir.attachment')
        Data = pool.get('ir.model.data')
        Line = pool.get('sale.flow.signature.line')
        shipment = signature.shipment
        sale = next(
            (m.sale for m in shipment.outgoing_moves if m.sale), None)
        type_ = ComplaintType(Data.get_id(
                'sale_flow', 'complaint_type_refused'))
        reasons = dict(Line.fields_get(['reason'])['reason']['selection'])
        description = '\n'.join(gettext(
                'sale_flow.msg_complaint_refused_line',
                product=l.product.rec_name,
                quantity='%g %s' % (l.refused, l.unit.symbol),
                reason=reasons.get(l.reason) or l.reason or '',
                text=(': ' + l.reason_text) if l.reason_text else '')
            for l in lines)
        complaint = Complaint(
            customer=shipment.customer, company=shipment.company,
            date=signature.signed_at.date(), type=type_,
            origin=sale, reference=shipment.number,
            description=description)
        complaint.save()
        if signature.image:
            # the courier's record has no image
            Attachment.save([Attachment(
                        resource=complaint, type='data',
                        name='signature-%s.png' % shipment.number,
                        data=signature.image)])
        return complaint
