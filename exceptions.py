# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The errors of the flow's steps (their messages are in message.xml)."""

from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.transaction import TransactionError


class IntakeError(UserError):
    pass


class IntakeReceivedMeanwhile(TransactionError):
    """Another transaction received an order of the intake meanwhile: the
    call runs again (Tryton's dispatcher starts it anew) and returns it"""


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


class TrackingCredentialValidationError(ValidationError):
    pass


class TrackingServiceError(UserError):
    "The tracking service did not answer or refused the request"


class WaybillServiceError(UserError):
    "The courier did not answer or refused the electronic waybill request"


class TrackingPushError(Exception):
    "A push refused (its reason: signature or malformed); never shown"


class SignatureError(UserError):
    pass


class SignatureIdentityError(SignatureError):
    "The signer's identity check failed"


class DocumentError(UserError):
    pass


class BusyError(UserError):
    "Another operator's transaction kept the goods longer than we wait"


class LockWaited(TransactionError):
    """The transaction that held the records has ended: the request runs
    again (Tryton's dispatcher starts it anew) and reads what it wrote"""
