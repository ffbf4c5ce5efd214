# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Carriers of the shipping step (发货): how they deliver, where the customer
follows a delivery, and what their tracking numbers look like.

A carrier is an express courier or a logistics company (freight); the
company's own fleet is a carrier marked *in-house*, whose tracking numbers
come from a Tryton sequence.  Couriers with an API plug in through Tryton's
``shipping_service`` of ``stock_package_shipping``.
"""

import re
from urllib.parse import quote

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval, Id

from .access import FlowAccessMixin
from .exceptions import CarrierValidationError

DELIVERY_METHODS = [
    ('courier', "Express Courier"),
    ('freight', "Logistics Company (Freight)"),
    ]
NUMBER = '{number}'
# a pattern simple enough to show an example of: a literal prefix and
# digits, e.g. SF\d{12,13}
SIMPLE_PATTERN = re.compile(r'([A-Za-z0-9-]*)\\d\{(\d+)(?:,\d*)?\}')


def pattern_example(pattern):
    """A number that matches a simple pattern (a literal prefix and digits),
    e.g. SF123456789012 for SF\\d{12,13}; None for another pattern"""
    match = SIMPLE_PATTERN.fullmatch(pattern or '')
    if match:
        prefix, count = match.group(1), int(match.group(2))
        return prefix + ('1234567890' * (count // 10 + 1))[:count]


class Carrier(FlowAccessMixin, metaclass=PoolMeta):
    __name__ = 'carrier'

    delivery_method = fields.Selection(
        DELIVERY_METHODS, "Delivery Method", required=True,
        help="How the carrier delivers: parcels by express courier or "
        "freight by a logistics company.")
    in_house = fields.Boolean(
        "In-House Fleet",
        help="The company's own delivery: the tracking numbers come from "
        "the sequence when the shipment is packed.")
    tracking_sequence = fields.Many2One(
        'ir.sequence', "Tracking Number Sequence",
        domain=[
            ('sequence_type', '=',
                Id('sale_flow', 'sequence_type_tracking')),
            ],
        states={
            'invisible': ~Eval('in_house'),
            'required': Eval('in_house', False),
            })
    tracking_url = fields.Char(
        "Tracking Link",
        help="The address where the customer follows a delivery, with "
        "{number} where the tracking number goes, e.g. "
        "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{number}")
    tracking_pattern = fields.Char(
        "Tracking Number Pattern",
        help="A regular expression every tracking number of the carrier "
        "must match, e.g. SF\\d{12} (empty: any number).")
    tracking_example = fields.Char(
        "Tracking Number Example",
        help="A tracking number of the carrier, shown to whoever types a "
        "number that does not match the pattern, e.g. SF1234567890123.")

    @classmethod
    def default_delivery_method(cls):
        return 'courier'

    @classmethod
    def default_in_house(cls):
        return False

    @classmethod
    def validate_fields(cls, carriers, field_names):
        super().validate_fields(carriers, field_names)
        if field_names & {
                'tracking_url', 'tracking_pattern', 'tracking_example'}:
            for carrier in carriers:
                carrier.check_tracking_settings()

    def check_tracking_settings(self):
        if self.tracking_url and NUMBER not in self.tracking_url:
            raise CarrierValidationError(gettext(
                    'sale_flow.msg_carrier_tracking_url',
                    carrier=self.rec_name, url=self.tracking_url))
        if self.tracking_pattern:
            try:
                re.compile(self.tracking_pattern)
            except re.error as exception:
                raise CarrierValidationError(gettext(
                        'sale_flow.msg_carrier_tracking_pattern',
                        carrier=self.rec_name,
                        pattern=self.tracking_pattern,
                        error=str(exception))) from exception
        if self.tracking_example and not self.tracking_matches(
                self.tracking_example):
            raise CarrierValidationError(gettext(
                    'sale_flow.msg_carrier_tracking_example',
                    carrier=self.rec_name, example=self.tracking_example))

    def tracking_link(self, number):
        "The address where the customer follows the delivery of number"
        if self.tracking_url and number:
            return self.tracking_url.replace(NUMBER, quote(number, safe=''))

    def tracking_matches(self, number):
        "Whether number looks like a tracking number of the carrier"
        if not self.tracking_pattern:
            return True
        return bool(re.fullmatch(self.tracking_pattern, number or ''))

    def tracking_hint(self):
        """A tracking number of the carrier to show as an example: the one
        given, else one made from a simple pattern (None otherwise)"""
        return self.tracking_example or pattern_example(
            self.tracking_pattern)
