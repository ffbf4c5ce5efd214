# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 5 of the flow, before the parcel leaves: the courier's electronic
waybill (电子面单).

A carrier names its waybill service in Tryton's ``shipping_service``
(``stock_package_shipping``).  When a shipment of such a carrier is packed,
the courier is asked for a waybill after the request (Tryton's queue): the
courier's number becomes the shipment's ``shipping_reference`` (the master
number) and its packages' (the child numbers), the labels are stored on
the shipment and on each package and printed from the shipment.  A
failure never blocks packing or shipping: it stays on the shipment, the
cron asks again, the operator can ask again (*Request Waybill*, or
Tryton's *Create Shipping*) or type the number by hand.  Cancelling a
shipment before it leaves cancels its waybill at the courier.

A service is a value of ``shipping_service`` and three methods of
``stock.shipment.out`` named after it: ``_<service>_create_waybill``,
``_<service>_waybill_labels`` and ``_<service>_cancel_waybill``
(doc/reference.rst).  This module has SF Express's open platform (顺丰开放
平台, 丰桥): requests signed with the account's check word, create, search
and cancel an order, cloud-printed labels.
"""

import base64
import hashlib
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import without_check_access
from trytond.wizard import StateTransition

from .access import FlowAccessMixin
from .common import ServiceAccountMixin, transition
from .exceptions import WaybillServiceError

logger = logging.getLogger(__name__)

SERVICES = [
    ('sf_express', "SF Express (顺丰速运)"),
    ]
WAYBILL_STATES = [
    (None, ""),
    ('requested', "Requested"),
    ('created', "Created"),
    ('failed', "Failed"),
    ('cancelled', "Cancelled"),
    ('cancel_failed', "Cancellation Failed"),
    ]
# the states a shipment is cancelled in before it leaves
NOT_LEFT = {'draft', 'waiting', 'assigned', 'picked', 'packed'}

# SF Express's sandbox; production: https://bspgw.sf-express.com/std/service
SF_EXPRESS_ENDPOINT = 'https://sfapi-sbox.sf-express.com/std/service'
SF_EXPRESS_PRODUCTS = [
    ('1', "SF Priority (顺丰特快)"),
    ('2', "SF Standard (顺丰标快)"),
    ]
SF_EXPRESS_OK = 'A1000'
# the order id was used by an earlier request (its answer was lost)
SF_EXPRESS_DUPLICATE = '8016'
MAX_LABEL = 10 * 1024 * 1024


def sf_express_digest(msg_data, timestamp, check_word):
    """SF Express's msgDigest: Base64 of the MD5 of the URL-encoded
    msgData + timestamp + check word"""
    text = urllib.parse.quote_plus(msg_data + timestamp + check_word)
    return base64.b64encode(
        hashlib.md5(text.encode('utf-8')).digest()).decode('ascii')


def service_name(service):
    "The name of the waybill service shown to the operator"
    return dict(SERVICES).get(service, service)


def _text(value, size=200):
    if value is None:
        return ''
    return str(value).strip()[:size]


class Credential(
        ServiceAccountMixin, FlowAccessMixin, ModelSQL, ModelView):
    "Electronic waybill account"
    __name__ = 'sale.flow.waybill.credential'
    _account_unique = 'sale_flow.msg_waybill_credential_unique'

    service = fields.Selection(SERVICES, "Service", required=True)
    partner = fields.Char(
        "Customer Code", required=True, strip=True,
        help="The account's customer code at the courier (SF Express: "
        "partnerID, 顾客编码).")
    check_word = fields.Char(
        "Check Word", required=True, strip=True,
        help="The secret the requests are signed with (SF Express: "
        "checkWord, 校验码).")
    monthly_card = fields.Char(
        "Monthly Account", strip=True,
        help="The account the shipping is charged to (SF Express: "
        "monthlyCard, 月结卡号).")
    endpoint = fields.Char(
        "Endpoint", required=True, strip=True,
        help="The courier's address: its test (sandbox) or production "
        "server.")
    template = fields.Char(
        "Label Template", strip=True,
        help="The courier's label template (SF Express: templateCode; "
        "empty: the standard 150 mm label of the account).")
    timeout = fields.Integer(
        "Timeout", required=True, help="Seconds to wait for the courier.")

    @classmethod
    def default_service(cls):
        return 'sf_express'

    @classmethod
    def default_endpoint(cls):
        return SF_EXPRESS_ENDPOINT

    @classmethod
    def default_timeout(cls):
        return 15

    def _open(self, request):
        "The body of the courier's answer to the request"
        try:
            with urllib.request.urlopen(
                    request, timeout=self.timeout) as response:
                return response.read(MAX_LABEL + 1)
        except (urllib.error.URLError, OSError, ValueError) as exception:
            # the reason, never the form (it is signed with the secret)
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_unreachable',
                    service=service_name(self.service),
                    error=str(getattr(exception, 'reason', exception))
                    [:200])) from exception

    def _refused(self, code, message):
        return WaybillServiceError(gettext(
                'sale_flow.msg_waybill_refused',
                service=service_name(self.service),
                code=_text(code, 20), message=_text(message)))

    def sf_express_call(self, service_code, data):
        """Call the service of SF Express's open platform with the data;
        its result (apiResultData), WaybillServiceError when it fails"""
        msg_data = json.dumps(data, ensure_ascii=False, separators=(',', ':'))
        timestamp = str(int(time.time() * 1000))
        form = {
            'partnerID': self.partner,
            'requestID': uuid.uuid4().hex,
            'serviceCode': service_code,
            'timestamp': timestamp,
            'msgDigest': sf_express_digest(
                msg_data, timestamp, self.check_word),
            'msgData': msg_data,
            }
        request = urllib.request.Request(self.endpoint,
            data=urllib.parse.urlencode(form).encode('utf-8'),
            headers={
                'Content-Type':
                'application/x-www-form-urlencoded;charset=UTF-8',
                })
        answer = self._open(request)
        try:
            answer = json.loads(answer.decode('utf-8'))
            if answer.get('apiResultCode') != SF_EXPRESS_OK:
                raise self._refused(
                    answer.get('apiResultCode'), answer.get('apiErrorMsg'))
            result = json.loads(answer['apiResultData'])
            if not isinstance(result, dict):
                raise ValueError
        except (UnicodeDecodeError, ValueError, KeyError, TypeError,
                AttributeError) as exception:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_answer',
                    service=service_name(self.service))) from exception
        return result

    def download(self, url, token=None):
        "The file at the address the courier gave, with its token"
        if urllib.parse.urlsplit(url or '').scheme not in {'http', 'https'}:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_answer',
                    service=service_name(self.service)))
        headers = {'X-Auth-token': token} if token else {}
        data = self._open(urllib.request.Request(url, headers=headers))
        if len(data) > MAX_LABEL:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_answer',
                    service=service_name(self.service)))
        return data


class Carrier(metaclass=PoolMeta):
    __name__ = 'carrier'

    sf_express_product = fields.Selection(
        [(None, "")] + SF_EXPRESS_PRODUCTS, "SF Express Product",
        states={
            'invisible': Eval('shipping_service') != 'sf_express',
            'required': Eval('shipping_service') == 'sf_express',
            },
        help="The SF Express product the waybills are made for "
        "(expressTypeId).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.shipping_service.selection += SERVICES
        cls.shipping_service.help = (
            "The courier asked for the electronic waybill (its number and "
            "label) when a shipment is packed.")

    @classmethod
    def default_sf_express_product(cls):
        return '2'

    @property
    def shipping_label_mimetype(self):
        if self.shipping_service in dict(SERVICES):
            return 'application/pdf'
        return super().shipping_label_mimetype


class ShipmentOut(metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'

    waybill_state = fields.Selection(
        WAYBILL_STATES, "Waybill", readonly=True,
        help="Where the courier's electronic waybill is.")
    waybill_state_string = waybill_state.translated('waybill_state')
    waybill_error = fields.Char(
        "Waybill Error", readonly=True,
        states={
            'invisible': ~Eval('waybill_error'),
            },
        help="What the courier answered when the waybill last failed.")
    waybill_order = fields.Char(
        "Courier Order", readonly=True,
        help="The order the waybill was asked for at the courier.")
    waybill_attempt = fields.Integer("Waybill Orders", readonly=True)
    waybill_label = fields.Binary(
        "Waybill Label", readonly=True, filename='waybill_label_name',
        states={
            'invisible': ~Eval('waybill_label_name'),
            })
    waybill_label_name = fields.Char("Waybill Label Name", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # a number typed by hand when the courier failed
        cls.shipping_reference.states['readonly'] = (
            Eval('has_shipping_service', False)
            & (Eval('waybill_state') != 'failed'))
        cls.shipping_reference.depends = (
            set(cls.shipping_reference.depends or ()) | {'waybill_state'})
        cls._buttons.update({
                'request_waybill': {
                    'invisible': ~Bool(Eval('has_shipping_service'))
                    | (Eval('state') != 'packed')
                    | Eval('waybill_state', '').in_(
                        ['requested', 'cancel_failed'])
                    | ((Eval('waybill_state') == 'created')
                        & Bool(Eval('waybill_label_name'))),
                    'depends': ['has_shipping_service', 'state',
                        'waybill_state', 'waybill_label_name'],
                    },
                })

    @classmethod
    def copy(cls, shipments, default=None):
        default = default.copy() if default is not None else {}
        for name in ['waybill_state', 'waybill_error', 'waybill_order',
                'waybill_attempt', 'waybill_label', 'waybill_label_name']:
            default.setdefault(name, None)
        return super().copy(shipments, default=default)

    def validate_packing_sf_express(self):
        # what SF Express needs is checked when the waybill is asked for:
        # a missing phone fails the waybill, never the shipment's writes
        pass

    def waybill_service(self):
        "The carrier's waybill service when the shipment needs a waybill"
        carrier = self.carrier
        if (carrier and carrier.shipping_service in dict(SERVICES)
                and self.delivery_method_used != 'pickup'):
            return carrier.shipping_service

    @classmethod
    @ModelView.button
    @transition('packed')
    def pack(cls, shipments):
        super().pack(shipments)
        to_request = [s for s in shipments
            if s.waybill_service() and (not s.shipping_reference
                or s.waybill_state == 'cancelled')]
        if to_request:
            with without_check_access():
                cls.write(to_request, {
                        'waybill_state': 'requested',
                        'waybill_error': None,
                        })
            # the courier is called after the commit, never in the
            # packer's request
            cls.__queue__.request_waybills(to_request)

    @classmethod
    @ModelView.button
    @transition('cancelled')
    def cancel(cls, shipments):
        to_cancel = [s for s in shipments
            if s.waybill_state == 'created' and s.state in NOT_LEFT]
        super().cancel(shipments)
        if to_cancel:
            cls.__queue__.cancel_waybills(to_cancel)

    @classmethod
    @ModelView.button
    def request_waybill(cls, shipments):
        """Ask the courier for the waybill now (and its labels); the
        courier's refusal is shown to the operator"""
        shipments = [s for s in shipments
            if s.state == 'packed' and s.waybill_service()]
        with without_check_access():
            cls._request_waybills(shipments, raise_error=True)

    @classmethod
    def request_waybills(cls, shipments):
        "Ask the courier for the waybills (a queued task)"
        with without_check_access():
            cls._request_waybills([s for s in cls.browse(shipments)
                    if s.state in {'packed', 'shipped'}])

    @classmethod
    def _request_waybills(cls, shipments, raise_error=False):
        Credential = Pool().get('sale.flow.waybill.credential')
        for shipment in shipments:
            service = shipment.waybill_service()
            values = {}
            try:
                credential = Credential.get(service, shipment.company)
                if not credential:
                    raise WaybillServiceError(gettext(
                            'sale_flow.msg_waybill_no_credential',
                            service=service_name(service),
                            company=shipment.company.rec_name))
                if (shipment.waybill_state == 'created'
                        and shipment.shipping_reference):
                    numbers = shipment.tracking_number_list()
                else:
                    if shipment.shipping_reference and (
                            shipment.waybill_state != 'cancelled'):
                        continue  # typed by hand meanwhile
                    attempt = (shipment.waybill_attempt or 0) + 1
                    order = '%s-%s' % (shipment.number, attempt)
                    numbers = getattr(
                        cls, '_%s_create_waybill' % service)(
                        credential, shipment, order)
                    shipment._check_waybill_numbers(numbers)
                    values.update(cls._waybill_numbers(shipment, numbers))
                    values.update({
                            'waybill_state': 'created',
                            'waybill_order': order,
                            'waybill_attempt': attempt,
                            'waybill_label': None,
                            'waybill_label_name': None,
                            })
                    # the number stays even when the label fails
                    cls.write([shipment], values)
                    values = {}
                labels = getattr(cls, '_%s_waybill_labels' % service)(
                    credential, shipment, numbers)
                cls._store_labels(shipment, numbers, labels)
                values['waybill_error'] = None
            except WaybillServiceError as exception:
                if raise_error:
                    raise
                logger.warning('%s waybill of %s failed: %s', service,
                    shipment.rec_name, exception.message)
                values['waybill_error'] = exception.message[:200]
                if shipment.waybill_state != 'created':
                    values['waybill_state'] = 'failed'
            if values:
                cls.write([shipment], values)

    def _check_waybill_numbers(self, numbers):
        "The courier's numbers must be numbers of the carrier"
        if not numbers or not all(
                self.carrier.tracking_matches(n) for n in numbers):
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_number',
                    service=service_name(self.carrier.shipping_service),
                    numbers=', '.join(numbers or []),
                    carrier=self.carrier.rec_name))

    @classmethod
    def _waybill_numbers(cls, shipment, numbers):
        """The shipment's values for the courier's numbers (the master
        first); the root packages get the master and the children"""
        Package = Pool().get('stock.package')
        packages = sorted(shipment.root_packages, key=lambda p: p.id)
        to_write = []
        for package, number in zip(packages, numbers):
            if package.shipping_reference != number:
                to_write.extend(([package], {'shipping_reference': number}))
        if to_write:
            Package.write(*to_write)
        return {'shipping_reference': numbers[0]}

    @classmethod
    def _store_labels(cls, shipment, numbers, labels):
        """Store the courier's labels (number: PDF) on the shipment (the
        master's) and on the packages of the same number"""
        Package = Pool().get('stock.package')
        if numbers[0] not in labels:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_answer',
                    service=service_name(shipment.carrier.shipping_service)))
        mimetype = shipment.carrier.shipping_label_mimetype
        to_write = []
        for package in shipment.root_packages:
            data = labels.get(package.shipping_reference)
            if data:
                to_write.extend(([package], {
                            'shipping_label': data,
                            'shipping_label_mimetype': mimetype,
                            }))
        if to_write:
            Package.write(*to_write)
        cls.write([shipment], {
                'waybill_label': labels[numbers[0]],
                'waybill_label_name': '%s.pdf' % numbers[0],
                })

    @classmethod
    def cancel_waybills(cls, shipments):
        "Cancel the waybills of the cancelled shipments (a queued task)"
        Credential = Pool().get('sale.flow.waybill.credential')
        with without_check_access():
            shipments = [s for s in cls.browse(shipments)
                if s.state == 'cancelled'
                and s.waybill_state in {'created', 'cancel_failed'}]
            for shipment in shipments:
                service = shipment.carrier.shipping_service
                values = {'waybill_state': 'cancelled', 'waybill_error': None}
                try:
                    credential = Credential.get(service, shipment.company)
                    if not credential:
                        raise WaybillServiceError(gettext(
                                'sale_flow.msg_waybill_no_credential',
                                service=service_name(service),
                                company=shipment.company.rec_name))
                    getattr(cls, '_%s_cancel_waybill' % service)(
                        credential, shipment)
                except WaybillServiceError as exception:
                    logger.warning('%s waybill of %s not cancelled: %s',
                        service, shipment.rec_name, exception.message)
                    values = {
                        'waybill_state': 'cancel_failed',
                        'waybill_error': exception.message[:200],
                        }
                cls.write([shipment], values)

    @classmethod
    def retry_waybills(cls):
        """Ask again for the waybills that failed and cancel again those
        whose cancellation failed (the scheduled task)"""
        with without_check_access():
            cls._request_waybills(cls.search([
                        ('state', '=', 'packed'),
                        ('shipping_reference', '=', None),
                        ('waybill_state', '=', 'failed'),
                        ]))
            cls._request_waybills([s for s in cls.search([
                            ('state', 'in', ['packed', 'shipped']),
                            ('waybill_state', '=', 'created'),
                            ('waybill_label_name', '=', None),
                            ])])
            cancelled = cls.search([
                    ('state', '=', 'cancelled'),
                    ('waybill_state', '=', 'cancel_failed'),
                    ])
        if cancelled:
            cls.cancel_waybills(cancelled)

    # SF Express (顺丰开放平台)

    @classmethod
    def _sf_express_contact(cls, kind, party, address):
        "SF Express's contact of the party at the address (1: sender)"
        phone = party.contact_mechanism_get({'mobile', 'phone'})
        if not phone:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_no_phone',
                    party=party.rec_name))
        street = ' '.join(filter(None, [
                    (address.street or '').replace('\n', ' ').strip(),
                    ]))
        if not street or not address.city:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_no_address',
                    party=party.rec_name))
        return {
            'contactType': kind,
            'company': _text(party.name, 100),
            'contact': _text(
                address.party_full_name or party.name, 100),
            'mobile': _text(phone.value, 20),
            'country': (
                address.country.code if address.country else 'CN'),
            'province': _text(
                address.subdivision.name if address.subdivision else '',
                30),
            'city': _text(address.city, 100),
            'address': _text(street),
            'postCode': _text(address.postal_code, 20),
            }

    @classmethod
    def _sf_express_create_waybill(cls, credential, shipment, order):
        """Create the SF Express order of the shipment; its waybill
        numbers, the master first"""
        sender = shipment.warehouse.address
        if not sender:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_no_address',
                    party=shipment.warehouse.rec_name))
        cargo = [{
                'name': _text(m.product.name, 100),
                'count': m.quantity,
                'unit': _text(m.unit.symbol, 10),
                } for m in shipment.outgoing_moves if m.quantity]
        data = {
            'language': 'zh-CN',
            'orderId': order,
            'monthlyCard': credential.monthly_card or '',
            'payMethod': 1,
            'expressTypeId': int(shipment.carrier.sf_express_product or 2),
            'parcelQty': max(len(shipment.root_packages), 1),
            'isReturnRoutelabel': 1,
            'cargoDetails': cargo,
            'contactInfoList': [
                cls._sf_express_contact(
                    1, shipment.company.party, sender),
                cls._sf_express_contact(
                    2, shipment.customer, shipment.delivery_address),
                ],
            }
        result = credential.sf_express_call('EXP_RECE_CREATE_ORDER', data)
        if (not result.get('success')
                and str(result.get('errorCode')) == SF_EXPRESS_DUPLICATE):
            # an earlier request made the order: its numbers
            result = credential.sf_express_call('EXP_RECE_SEARCH_ORDER_RESP',
                {'orderId': order, 'searchType': 1, 'language': 'zh-CN'})
        if not result.get('success'):
            raise credential._refused(
                result.get('errorCode'), result.get('errorMsg'))
        try:
            infos = result['msgData']['waybillNoInfoList']
            infos = sorted(infos, key=lambda i: int(i.get('waybillType', 1)))
            return [_text(i['waybillNo'], 100) for i in infos]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_answer',
                    service=service_name(credential.service))) from exc

    @classmethod
    def _sf_express_waybill_labels(cls, credential, shipment, numbers):
        "The labels (number: PDF) of SF Express's cloud printing"
        template = credential.template or (
            'fm_150_standard_%s' % credential.partner)
        result = credential.sf_express_call('COM_RECE_CLOUD_PRINT_WAYBILLS', {
                'templateCode': template,
                'version': '2.0',
                'fileType': 'pdf',
                'sync': True,
                'documents': [{'masterWaybillNo': numbers[0]}],
                })
        if not result.get('success'):
            raise credential._refused(
                result.get('errorCode'), result.get('errorMessage'))
        labels = {}
        try:
            files = result['obj']['files']
            for file in files:
                data = credential.download(file['url'], file.get('token'))
                if not data.startswith(b'%PDF-'):
                    raise ValueError('not a PDF')
                labels[_text(file.get('waybillNo'), 100) or numbers[0]] = (
                    data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WaybillServiceError(gettext(
                    'sale_flow.msg_waybill_answer',
                    service=service_name(credential.service))) from exc
        return labels

    @classmethod
    def _sf_express_cancel_waybill(cls, credential, shipment):
        "Cancel the SF Express order of the shipment (dealType 2)"
        result = credential.sf_express_call('EXP_RECE_UPDATE_ORDER', {
                'orderId': shipment.waybill_order,
                'dealType': 2,
                'language': 'zh-CN',
                })
        if not result.get('success'):
            raise credential._refused(
                result.get('errorCode'), result.get('errorMsg'))


class CreateShipping(metaclass=PoolMeta):
    __name__ = 'stock.shipment.create_shipping'

    sf_express = StateTransition()

    def transition_start(self):
        next_state = super().transition_start()
        if (self.record.__name__ == 'stock.shipment.out'
                and self.record.waybill_service() == 'sf_express'):
            next_state = 'sf_express'
        return next_state

    def transition_sf_express(self):
        Shipment = Pool().get('stock.shipment.out')
        with without_check_access():
            Shipment._request_waybills(
                Shipment.browse([self.record]), raise_error=True)
        return 'end'


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('stock.shipment.out|retry_waybills',
                "Request the Failed Electronic Waybills Again"))
