# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The errors of the flow's steps (their messages are in message.xml)."""

from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class IntakeError(UserError):
    pass


class ReviewError(UserError):
    pass


class StockDecisionError(UserError):
    pass


class RuleValidationError(ValidationError):
    pass


class ScanError(UserError):
    pass


class ShippingError(UserError):
    pass


class CarrierValidationError(ValidationError):
    pass


class TrackingValidationError(ValidationError):
    pass


class SignatureError(UserError):
    pass


class SignatureIdentityError(SignatureError):
    "The signer's identity check failed"


class DocumentError(UserError):
    pass
