# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""After the signature: the customer's satisfaction with the delivery
(满意度).

The customer rates a signed shipment once, on the phone page offered after
signing (a single-use token) or through the staff who asked (the *Record
Satisfaction* button of the shipment); the ratings feed the statistics
per customer, carrier and product.
"""

import datetime as dt
import secrets

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import FlowAccessMixin, to_the_second
from .exceptions import SignatureError

# the longest comment of a rating
MAX_COMMENT = 2000

RATINGS = [
    ('1', "1 - Very Dissatisfied"),
    ('2', "2 - Dissatisfied"),
    ('3', "3 - Neutral"),
    ('4', "4 - Satisfied"),
    ('5', "5 - Very Satisfied"),
    ]


class Satisfaction(FlowAccessMixin, ModelSQL, ModelView):
    "Customer's rating of a delivery"
    __name__ = 'sale.flow.satisfaction'
    _flow_external = set()

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", required=True, readonly=True,
        ondelete='CASCADE')
    customer = fields.Many2One('party.party', "Customer", readonly=True)
    carrier = fields.Many2One('carrier', "Carrier", readonly=True)
    rating = fields.Selection(RATINGS, "Rating", required=True, sort=False,
        readonly=True)
    comment = fields.Text("Comment", readonly=True)
    channel = fields.Selection([
            ('phone', "Customer's Phone"),
            ('staff', "Recorded by Staff"),
            ], "Channel", readonly=True)
    recorded_by = fields.Many2One('res.user', "Recorded by", readonly=True)
    rated_at = to_the_second(fields.Timestamp("Rated at", readonly=True))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('shipment_unique', Unique(t, t.shipment),
                'sale_flow.msg_satisfaction_unique'),
            ]
        cls._order = [('rated_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def rate(cls, shipment, rating, comment=None, channel='staff'):
        "Record the customer's rating of the signed shipment"
        Shipment = Pool().get('stock.shipment.out')
        shipment = Shipment(int(shipment))
        rating = str(rating or '').strip()[:10]
        if comment is not None and (not isinstance(comment, str)
                or len(comment) > MAX_COMMENT):
            raise SignatureError(gettext(
                    'sale_flow.msg_signature_text',
                    field=cls.fields_get(['comment'])['comment']['string'],
                    limit=MAX_COMMENT))
        if rating not in dict(RATINGS):
            raise SignatureError(gettext(
                    'sale_flow.msg_satisfaction_rating', rating=rating))
        if not shipment.signatures:
            raise SignatureError(gettext(
                    'sale_flow.msg_satisfaction_signed',
                    shipment=shipment.rec_name))
        if cls.search([('shipment', '=', shipment.id)]):
            raise SignatureError(gettext(
                    'sale_flow.msg_satisfaction_unique_shipment',
                    shipment=shipment.rec_name))
        satisfaction = cls(
            shipment=shipment, customer=shipment.customer,
            carrier=shipment.carrier, rating=rating,
            comment=(comment or '').strip() or None, channel=channel,
            recorded_by=Transaction().user or None,
            rated_at=dt.datetime.now().replace(microsecond=0))
        satisfaction.save()
        return satisfaction


class ShipmentOut(metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'

    satisfactions = fields.One2Many(
        'sale.flow.satisfaction', 'shipment', "Satisfaction", readonly=True)
    rate_token_hash = fields.Char("Rating Token Hash", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'record_satisfaction': {
                    'invisible': Eval('state') != 'done',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def copy(cls, shipments, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('satisfactions', None)
        default.setdefault('rate_token_hash', None)
        return super().copy(shipments, default=default)

    def new_rate_token(self):
        "A single-use token for the rating form shown after signing"
        token = secrets.token_urlsafe(24)
        with without_check_access():
            self.__class__.write([self], {
                    'rate_token_hash': self._sign_token_hash(token)})
        return token

    @classmethod
    def from_rate_token(cls, token):
        "The signed shipment the token may rate, or None"
        shipment = cls._from_token('rate_token_hash', token)
        if shipment and not shipment.satisfactions:
            return shipment

    @classmethod
    @ModelView.button_action('sale_flow.wizard_record_satisfaction')
    def record_satisfaction(cls, shipments):
        pass


class RecordSatisfactionStart(ModelView):
    "Record the customer's satisfaction"
    __name__ = 'sale.flow.satisfaction.record.start'

    rating = fields.Selection(RATINGS, "Rating", required=True, sort=False)
    comment = fields.Text("Comment")


class RecordSatisfaction(Wizard):
    "Record the customer's satisfaction"
    __name__ = 'sale.flow.satisfaction.record'

    start = StateView('sale.flow.satisfaction.record.start',
        'sale_flow.satisfaction_record_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Record", 'record_', 'tryton-ok', default=True),
            ])
    record_ = StateTransition()

    def transition_record_(self):
        Satisfaction = Pool().get('sale.flow.satisfaction')
        Satisfaction.rate(self.record, self.start.rating,
            self.start.comment, channel='staff')
        return 'end'
