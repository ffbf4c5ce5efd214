# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 5 of the flow, after the parcel has left: the courier's logistics
events (物流信息) kept in the system.

A carrier names its *tracking service* (``tracking_service``, as Tryton's
``shipping_service`` names a waybill service) and its code at that
service.  When a shipment of such a carrier is shipped, each of its
tracking numbers gets a subscription; the service pushes the parcel's
events to the route ``/<database>/sale_flow/tracking/<service>/<id>``
(routes.py) and a cron polls the numbers whose push has not come, at most
once per number per the account's minimum interval.  Every event is stored
once (per shipment, number, time and code), as received, with our state;
the shipment keeps the state of its latest event.

A service is a value of the selection and three methods of
``sale.flow.tracking.event`` named after it: ``_<service>_subscribe``,
``_<service>_query`` and ``_<service>_push`` (doc/reference.rst).  This
module has kuaidi100's protocol (快递100: MD5-signed query, subscription
with a callback and a salt, signed pushes).
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from base64 import urlsafe_b64encode
from collections import defaultdict
from zoneinfo import ZoneInfo

from sql import Null
from sql.aggregate import Max, Min
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.url import http_host

from .access import FlowAccessMixin, to_the_second
from .common import ServiceAccountMixin, transition
from .exceptions import (
    TrackingCredentialValidationError, TrackingPushError, TrackingServiceError)

logger = logging.getLogger(__name__)

SERVICES = [
    (None, ""),
    ('kuaidi100', "Kuaidi100 (快递100)"),
    ]
STATES = [
    (None, ""),
    ('accepted', "Accepted"),
    ('in_transit', "In Transit"),
    ('out_for_delivery', "Out for Delivery"),
    ('delivered', "Delivered"),
    ('refused', "Refused / Returned"),
    ('exception', "Exception"),
    ]

# kuaidi100's states (``state``) and sub-states (``statusCode`` with
# resultv2=4), as its documentation lists them
KUAIDI100_STATES = {
    '0': 'in_transit',  # 在途
    '1': 'accepted',  # 揽收
    '2': 'exception',  # 疑难
    '3': 'delivered',  # 签收
    '4': 'refused',  # 退签
    '5': 'out_for_delivery',  # 派件
    '6': 'refused',  # 退回
    '7': 'in_transit',  # 转投
    '8': 'in_transit',  # 清关
    '10': 'in_transit',  # 待清关
    '11': 'in_transit',  # 清关中
    '12': 'in_transit',  # 已清关
    '13': 'exception',  # 清关异常
    '14': 'refused',  # 拒签
    '101': 'accepted',  # 已下单
    '102': 'accepted',  # 待揽收
    '103': 'accepted',  # 已揽收
    '1001': 'in_transit',  # 到达派件城市
    '1002': 'in_transit',  # 干线
    '1003': 'in_transit',  # 转递
    '501': 'out_for_delivery',  # 投柜或驿站
    '301': 'delivered',  # 本人签收
    '302': 'delivered',  # 派件异常后签收
    '303': 'delivered',  # 代签
    '304': 'delivered',  # 投柜或站签收
    '401': 'refused',  # 已销单
    '201': 'exception',  # 超时未签收
    '202': 'exception',  # 超时未更新
    '203': 'refused',  # 拒收
    '204': 'exception',  # 派件异常
    '205': 'exception',  # 柜或驿站超时未取
    '206': 'exception',  # 无法联系
    '207': 'exception',  # 超区
    '208': 'exception',  # 滞留
    '209': 'exception',  # 破损
    '210': 'exception',  # 销单
    }
# why a parcel on its way is to be watched
WATCH = [
    (None, ""),
    ('exception', "Exception"),
    ('refused', "Refused / Returned"),
    ('stale', "No News"),
    ]
# the parcels' states that need the shipping clerk
WATCHED_STATES = ['exception', 'refused']

# what the customer's status page says of the order
CUSTOMER_STAGES = [
    ('received', "Received"),
    ('review', "In Review"),
    ('preparing', "Being Prepared"),
    ('shipped', "Shipped"),
    ('delivered', "Delivered"),
    ('signed', "Signed"),
    ('cancelled', "Cancelled"),
    ]
# days a status link works after the order's latest shipment left
STATUS_LINK_DAYS = 60
STATUS_TOKEN = re.compile(r'(\d{1,18})\.([A-Za-z0-9_-]{20,64})')

KUAIDI100_ENDPOINT = 'https://poll.kuaidi100.com'
# the couriers' times are China's
COURIER_TIMEZONE = ZoneInfo('Asia/Shanghai')
PUSH_PATH = '/%(database)s/sale_flow/tracking/%(service)s/%(credential)s'
MAX_TEXT = 1000
# the recipient in a courier's delivered text: 签收人：张三, 签收人是【张三】,
# 签收人为前台 (not 签收人凭取货码签收, which names nobody)
RECIPIENT = re.compile(
    r'签收人\s*(?:是|为|[:：])\s*[【\[(（]?\s*([^】\]）)，,。；;\s]+)')


def kuaidi100_sign(*parts):
    "kuaidi100's signature: the upper-case MD5 of the parts joined"
    return hashlib.md5(''.join(parts).encode('utf-8')).hexdigest().upper()


def courier_time(value):
    """The courier's local time (YYYY-MM-DD HH:MM:SS) as Tryton stores
    times (UTC, naive); None when it is not such a time"""
    try:
        local = dt.datetime.strptime(str(value).strip(), '%Y-%m-%d %H:%M:%S')
    except ValueError:
        return None
    return local.replace(tzinfo=COURIER_TIMEZONE).astimezone(
        dt.timezone.utc).replace(tzinfo=None)


def recipient(text):
    "The recipient a courier's delivered text names (签收人：张三), or None"
    match = RECIPIENT.search(text or '')
    if match:
        return _text(match.group(1), 100)


def _text(value, size=MAX_TEXT):
    if value is None:
        return None
    return str(value).strip()[:size] or None


class Credential(
        ServiceAccountMixin, FlowAccessMixin, ModelSQL, ModelView):
    "Tracking service account"
    __name__ = 'sale.flow.tracking.credential'
    _account_unique = 'sale_flow.msg_tracking_credential_unique'
    _account_urls = ['endpoint', 'callback_url']

    service = fields.Selection(
        [s for s in SERVICES if s[0]], "Service", required=True)
    customer = fields.Char(
        "Customer ID", required=True, strip=True,
        help="The account's customer ID at the service (kuaidi100: "
        "customer).")
    key = fields.Char(
        "Key", required=True, strip=True,
        help="The account's authorization key (kuaidi100: key).")
    salt = fields.Char(
        "Push Secret", required=True, strip=True,
        help="The secret the service signs its pushes with (kuaidi100: "
        "salt).")
    endpoint = fields.Char(
        "Endpoint", required=True, strip=True,
        help="The service's address: its production or test server.")
    callback_url = fields.Char(
        "Public Address", strip=True,
        help="The address where the service reaches this server, e.g. "
        "https://erp.example.com; the push route is added to it.  Without "
        "it the numbers are only polled.")
    poll_interval = fields.TimeDelta(
        "Minimum Poll Interval", required=True,
        help="A number is queried at most once in this time (the service's "
        "rate limit).")
    timeout = fields.Integer(
        "Timeout", required=True, help="Seconds to wait for the service.")

    @classmethod
    def default_service(cls):
        return 'kuaidi100'

    @classmethod
    def default_endpoint(cls):
        return KUAIDI100_ENDPOINT

    @classmethod
    def default_poll_interval(cls):
        return dt.timedelta(minutes=30)

    @classmethod
    def default_timeout(cls):
        return 10

    @classmethod
    def validate_fields(cls, credentials, field_names):
        super().validate_fields(credentials, field_names)
        for credential in credentials:
            if (credential.poll_interval is not None
                    and credential.poll_interval < dt.timedelta(0)):
                raise TrackingCredentialValidationError(gettext(
                        'sale_flow.msg_tracking_credential_interval'))

    def push_url(self):
        "The address the service pushes the events of this account to"
        if self.callback_url:
            return self.callback_url.rstrip('/') + PUSH_PATH % {
                'database': urllib.parse.quote(
                    Transaction().database.name, safe=''),
                'service': self.service,
                'credential': self.id,
                }

    def post(self, path, data):
        """POST the form data to the service and return its JSON answer;
        TrackingServiceError when it does not answer or not in JSON"""
        url = self.endpoint.rstrip('/') + path
        body = urllib.parse.urlencode(data).encode('utf-8')
        request = urllib.request.Request(url, data=body, headers={
                'Content-Type': 'application/x-www-form-urlencoded',
                })
        try:
            with urllib.request.urlopen(
                    request, timeout=self.timeout) as response:
                answer = response.read()
        except (urllib.error.URLError, OSError, ValueError) as exception:
            # the URL and the reason, never the form (it has the key)
            raise TrackingServiceError(gettext(
                    'sale_flow.msg_tracking_service_unreachable',
                    service=self.service,
                    error=str(getattr(exception, 'reason', exception))
                    [:200])) from exception
        try:
            answer = json.loads(answer.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as exception:
            raise TrackingServiceError(gettext(
                    'sale_flow.msg_tracking_service_answer',
                    service=self.service)) from exception
        if not isinstance(answer, dict):
            raise TrackingServiceError(gettext(
                    'sale_flow.msg_tracking_service_answer',
                    service=self.service))
        return answer


class Carrier(metaclass=PoolMeta):
    __name__ = 'carrier'

    tracking_service = fields.Selection(
        SERVICES, "Tracking Service",
        help="The service that reports the parcels' logistics events.")
    tracking_service_code = fields.Char(
        "Courier Code at the Service", strip=True,
        states={
            'invisible': ~Eval('tracking_service'),
            'required': Bool(Eval('tracking_service')),
            },
        help="The carrier's code at the tracking service, e.g. shunfeng "
        "(顺丰) or zhongtong (中通) at kuaidi100.")
    tracking_stale_after = fields.TimeDelta(
        "No News After",
        states={
            'invisible': ~Eval('tracking_service'),
            },
        help="A parcel on its way whose courier has recorded nothing for "
        "longer is among the parcels to watch (empty: never).")
    tracking_watch_group = fields.Many2One(
        'res.group', "Notify",
        states={
            'invisible': ~Eval('tracking_service'),
            },
        help="The users of this group are told once when a parcel of the "
        "carrier is in exception, refused or without news.")
    tracking_proof = fields.Selection([
            ('customer', "The Customer Signs"),
            ('courier', "The Courier's Delivery"),
            ], "Proof of Delivery",
        states={
            'invisible': ~Eval('tracking_service'),
            'required': Bool(Eval('tracking_service')),
            },
        help="What completes a shipment of the carrier: the customer's "
        "signature (the signing link or at the counter: the customer "
        "checks quantity and quality), or the courier's delivered event "
        "with its recipient, recorded as the signature.")

    @classmethod
    def default_tracking_stale_after(cls):
        return dt.timedelta(days=2)

    @classmethod
    def default_tracking_watch_group(cls):
        ModelData = Pool().get('ir.model.data')
        return ModelData.get_id('sale_flow', 'group_sale_flow_shipping')

    @classmethod
    def __register__(cls, module):
        table = cls.__table__()
        table_h = cls.__table_handler__(module)
        cursor = Transaction().connection.cursor()
        fill_proof = not table_h.column_exist('tracking_proof')
        super().__register__(module)
        # the carriers followed before the setting: the customer signs
        if fill_proof:
            cursor.execute(*table.update(
                    [table.tracking_proof], ['customer'],
                    where=table.tracking_service != Null))

    @classmethod
    def default_tracking_proof(cls):
        return 'customer'


class Event(FlowAccessMixin, ModelSQL, ModelView):
    "Logistics event of a customer shipment"
    __name__ = 'sale.flow.tracking.event'
    _flow_external = set()

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", required=True, readonly=True,
        ondelete='CASCADE')
    number = fields.Char("Tracking Number", required=True, readonly=True)
    time = to_the_second(fields.Timestamp(
            "Time", required=True, readonly=True,
            help="When the courier recorded the event."))
    place = fields.Char("Place", readonly=True)
    code = fields.Char(
        "Courier Code", readonly=True,
        help="The courier's status code, as received.")
    status = fields.Char(
        "Courier Status", readonly=True,
        help="The courier's status, as received.")
    text = fields.Text("Description", readonly=True)
    recipient = fields.Char("Recipient", readonly=True,
        help="Who received the parcel, as the courier reports it.")
    state = fields.Selection(STATES, "State", readonly=True)
    state_string = state.translated('state')
    service = fields.Selection(SERVICES, "Service", readonly=True)
    origin = fields.Selection([
            ('push', "Push"),
            ('poll', "Poll"),
            ], "Received by", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('event_unique', Unique(t, t.shipment, t.number, t.time, t.code),
                'sale_flow.msg_tracking_event_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.shipment, Index.Range()), (t.time, Index.Range())))
        cls._order = [('time', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return ' '.join(filter(None, [
                    self.number, self.status or self.state_string]))

    @classmethod
    def store(cls, subscription, events, origin):
        """Store the events of the subscription's number that are not
        stored yet and update the shipment's state; the number stored"""
        keys = {(e.number, e.time, e.code or None)
            for e in cls.search([
                    ('shipment', '=', subscription.shipment.id),
                    ('number', '=', subscription.number),
                    ])}
        to_save = []
        for values in events:
            key = (subscription.number, values['time'],
                values.get('code') or None)
            if key in keys:
                continue
            keys.add(key)
            to_save.append(cls(
                    shipment=subscription.shipment,
                    number=subscription.number,
                    service=subscription.service,
                    origin=origin,
                    **values))
        if to_save:
            cls.save(to_save)
            pool = Pool()
            Shipment = pool.get('stock.shipment.out')
            Shipment.update_tracking_state([subscription.shipment])
            if any(e.state in {'delivered', 'refused'} for e in to_save):
                pool.get('sale.flow.signature').by_courier(
                    [subscription.shipment])
        return len(to_save)

    # kuaidi100 (快递100)

    @classmethod
    def _kuaidi100_subscribe(cls, credential, carrier, number):
        answer = credential.post('/poll', {
                'schema': 'json',
                'param': json.dumps({
                        'company': carrier.tracking_service_code,
                        'number': number,
                        'key': credential.key,
                        'parameters': {
                            'callbackurl': credential.push_url(),
                            'salt': credential.salt,
                            'resultv2': '4',
                            },
                        }, ensure_ascii=False),
                })
        # 501: already subscribed
        if str(answer.get('returnCode')) not in {'200', '501'}:
            raise TrackingServiceError(gettext(
                    'sale_flow.msg_tracking_service_refused',
                    service=credential.service,
                    code=_text(answer.get('returnCode'), 20) or '',
                    message=_text(answer.get('message'), 200) or ''))

    @classmethod
    def _kuaidi100_query(cls, credential, carrier, number):
        param = json.dumps({
                'com': carrier.tracking_service_code,
                'num': number,
                'resultv2': '4',
                'order': 'desc',
                }, ensure_ascii=False)
        answer = credential.post('/poll/query.do', {
                'customer': credential.customer,
                'sign': kuaidi100_sign(param, credential.key,
                    credential.customer),
                'param': param,
                })
        if (str(answer.get('returnCode')) == '500'
                and answer.get('result') is False):
            # no result yet: the courier has not recorded the parcel
            return []
        if str(answer.get('status')) != '200':
            raise TrackingServiceError(gettext(
                    'sale_flow.msg_tracking_service_refused',
                    service=credential.service,
                    code=_text(answer.get('returnCode')
                        or answer.get('status'), 20) or '',
                    message=_text(answer.get('message'), 200) or ''))
        return cls._kuaidi100_events(answer)

    @classmethod
    def _kuaidi100_events(cls, result):
        "The events of a kuaidi100 result (of a query or of a push)"
        data = result.get('data')
        if not isinstance(data, list):
            raise ValueError('data')
        events = []
        for item in data:
            if not isinstance(item, dict):
                raise ValueError('data')
            time = courier_time(item.get('time') or item.get('ftime'))
            if time is None:
                raise ValueError('time')
            # without resultv2 only the latest event has a code: the state
            code = _text(item.get('statusCode'), 20)
            if code is None and not events:
                code = _text(result.get('state'), 20)
            text = _text(item.get('context'))
            state = KUAIDI100_STATES.get(code)
            events.append({
                    'time': time,
                    'place': _text(
                        item.get('location') or item.get('areaName'), 200),
                    'code': code,
                    'status': _text(item.get('status'), 100),
                    'text': text,
                    'recipient': (
                        recipient(text) if state == 'delivered' else None),
                    'state': state,
                    })
        return events

    @classmethod
    def _kuaidi100_push(cls, credential, form):
        """The number and the events of kuaidi100's push (the form it
        posts: param and its sign); TrackingPushError if it is refused"""
        param, sign = form.get('param'), form.get('sign')
        if not isinstance(param, str) or not isinstance(sign, str):
            raise TrackingPushError('malformed')
        expected = kuaidi100_sign(param, credential.salt)
        if not hmac.compare_digest(expected, sign.strip().upper()):
            raise TrackingPushError('signature')
        try:
            body = json.loads(param)
            result = body['lastResult']
            number = _text(result['nu'], 100)
            events = cls._kuaidi100_events(result)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise TrackingPushError('malformed')
        if not number:
            raise TrackingPushError('malformed')
        return number, events

    @classmethod
    def _kuaidi100_answer(cls, error=None):
        "The answer kuaidi100 documents for its pushes"
        if error:
            return {'result': False, 'returnCode': '500', 'message': error}
        return {'result': True, 'returnCode': '200', 'message': '成功'}

    @classmethod
    def receive_push(cls, service, credential_id, form):
        """Store the events the service pushes for an account; the HTTP
        status and the answer the service expects"""
        pool = Pool()
        Credential = pool.get('sale.flow.tracking.credential')
        Subscription = pool.get('sale.flow.tracking.subscription')
        answer = getattr(cls, '_%s_answer' % service, None)
        if not answer or service not in dict(SERVICES):
            return 404, {'message': 'unknown service'}
        credentials = Credential.search([
                ('id', '=', credential_id),
                ('service', '=', service),
                ])
        if not credentials:
            logger.warning('%s push refused: unknown account %s',
                service, credential_id)
            return 404, answer('unknown account')
        credential, = credentials
        try:
            number, events = getattr(cls, '_%s_push' % service)(
                credential, form)
        except TrackingPushError as exception:
            reason = exception.args[0] if exception.args else 'malformed'
            logger.warning('%s push refused for account %s: %s',
                service, credential.id, reason)
            if reason == 'signature':
                return 403, answer('sign error')
            return 400, answer('malformed push')
        with Transaction().set_context(company=credential.company.id):
            # the company's shipments only
            subscriptions = Subscription.search([
                    ('number', '=', number),
                    ('service', '=', service),
                    ('shipment.company', '=', credential.company.id),
                    ('shipment.state', 'not in', ['cancelled']),
                    ])
            if not subscriptions:
                logger.warning('%s push for unknown number %s ignored',
                    service, number)
                return 200, answer()
            stored = 0
            for subscription in subscriptions:
                stored += cls.store(subscription, events, 'push')
            Subscription.write(subscriptions, {
                    'pushed_at': dt.datetime.now(),
                    })
        logger.info('%s push for %s: %s new events', service, number, stored)
        return 200, answer()


class Subscription(FlowAccessMixin, ModelSQL, ModelView):
    "Tracking number followed at a tracking service"
    __name__ = 'sale.flow.tracking.subscription'
    _flow_external = set()

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", required=True, readonly=True,
        ondelete='CASCADE')
    number = fields.Char("Tracking Number", required=True, readonly=True)
    service = fields.Selection(SERVICES, "Service", readonly=True)
    subscribed_at = to_the_second(
        fields.Timestamp("Subscribed at", readonly=True))
    pushed_at = to_the_second(
        fields.Timestamp("Last Push", readonly=True))
    polled_at = to_the_second(
        fields.Timestamp("Last Poll", readonly=True))
    error = fields.Char(
        "Last Error", readonly=True,
        help="What the service answered when it last failed.")
    shipment_state = fields.Function(
        fields.Char("Shipment State"), 'get_shipment_state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('shipment_number_unique', Unique(t, t.shipment, t.number),
                'sale_flow.msg_tracking_subscription_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.number, Index.Equality())))
        cls._order = [('id', 'ASC')]
        cls._buttons.update({
                'resubscribe': {
                    'invisible': Eval('shipment_state') != 'shipped',
                    'depends': ['shipment_state'],
                    },
                })

    def get_rec_name(self, name):
        return self.number

    def get_shipment_state(self, name):
        return self.shipment.state

    @classmethod
    def follow(cls, shipments):
        "Subscribe the tracking numbers of the shipments at their service"
        existing = {(s.shipment.id, s.number) for s in cls.search([
                    ('shipment', 'in', [s.id for s in shipments]),
                    ])}
        to_save = []
        for shipment in shipments:
            carrier = shipment.carrier
            if not carrier or not carrier.tracking_service:
                continue
            for number in shipment.tracking_number_list():
                if (shipment.id, number) not in existing:
                    existing.add((shipment.id, number))
                    to_save.append(cls(shipment=shipment, number=number,
                            service=carrier.tracking_service))
        cls.save(to_save)
        return to_save

    def _service(self, accounts=None):
        """The carrier and the account of the subscription's number; the
        accounts already read, by service and company, are in accounts"""
        Credential = Pool().get('sale.flow.tracking.credential')
        carrier = self.shipment.carrier
        if not carrier or carrier.tracking_service != self.service:
            return carrier, None
        accounts = {} if accounts is None else accounts
        key = (self.service, self.shipment.company)
        if key not in accounts:
            accounts[key] = Credential.get(*key)
        return carrier, accounts[key]

    @classmethod
    def subscribe(cls, subscriptions):
        """Subscribe the numbers at their service (failures are kept on
        the subscription and tried again by the cron)"""
        with without_check_access():
            cls._subscribe(cls.browse(subscriptions))

    @classmethod
    def _subscribe(cls, subscriptions, accounts=None):
        Event = Pool().get('sale.flow.tracking.event')
        now = dt.datetime.now()
        accounts = {} if accounts is None else accounts
        to_write = []
        for subscription in subscriptions:
            if subscription.subscribed_at:
                continue
            carrier, credential = subscription._service(accounts)
            values = {}
            try:
                if not credential:
                    raise TrackingServiceError(gettext(
                            'sale_flow.msg_tracking_no_credential',
                            service=subscription.service,
                            company=subscription.shipment.company.rec_name))
                if not credential.push_url():
                    continue  # polled only
                getattr(Event, '_%s_subscribe' % subscription.service)(
                    credential, carrier, subscription.number)
                values = {'subscribed_at': now, 'error': None}
            except TrackingServiceError as exception:
                logger.warning('%s subscription of %s failed: %s',
                    subscription.service, subscription.number,
                    exception.message)
                values = {'error': exception.message[:200]}
            to_write.extend(([subscription], values))
        if to_write:
            cls.write(*to_write)

    @classmethod
    @ModelView.button
    def resubscribe(cls, subscriptions):
        """Subscribe the numbers again and query their events at once
        (after the request): for a number the service lost or refused"""
        subscriptions = [s for s in subscriptions
            if s.shipment.state == 'shipped']
        if subscriptions:
            cls.write(subscriptions, {
                    'subscribed_at': None,
                    'polled_at': None,
                    'error': None,
                    })
            cls.__queue__.refresh(subscriptions)

    @classmethod
    def refresh(cls, subscriptions):
        "Subscribe and query the numbers now (a queued task)"
        with without_check_access():
            cls._poll(cls.browse(subscriptions))

    @classmethod
    def poll(cls):
        """Query the numbers of the parcels on their way whose minimum
        interval has passed; subscribe those not subscribed yet; then tell
        the parcels to watch (the scheduled task)"""
        with without_check_access():
            cls._poll()
            cls.watch()

    @classmethod
    def _poll(cls, subscriptions=None):
        pool = Pool()
        Event = pool.get('sale.flow.tracking.event')
        now = dt.datetime.now()
        # the parcels on their way
        domain = [
            ('shipment.state', '=', 'shipped'),
            ['OR',
                ('shipment.tracking_state', '=', None),
                ('shipment.tracking_state', '!=', 'delivered'),
                ],
            ]
        if subscriptions is not None:
            domain.append(('id', 'in', [s.id for s in subscriptions]))
        subscriptions = cls.search(domain,
            order=[('polled_at', 'ASC NULLS FIRST'), ('id', 'ASC')])
        accounts = {}
        cls._subscribe([s for s in subscriptions if not s.subscribed_at],
            accounts)
        due = defaultdict(list)
        for subscription in subscriptions:
            carrier, credential = subscription._service(accounts)
            if not credential:
                continue
            if (subscription.polled_at
                    and subscription.polled_at
                    > now - credential.poll_interval):
                continue
            due[credential].append((carrier, subscription))
        to_write = []
        for credential, pairs in due.items():
            query = getattr(Event, '_%s_query' % credential.service)
            for carrier, subscription in pairs:
                values = {'polled_at': now, 'error': None}
                try:
                    events = query(credential, carrier, subscription.number)
                except (TrackingServiceError, ValueError) as exception:
                    message = getattr(exception, 'message', None) or gettext(
                        'sale_flow.msg_tracking_service_answer',
                        service=credential.service)
                    logger.warning('%s query of %s failed: %s',
                        credential.service, subscription.number, message)
                    values['error'] = message[:200]
                else:
                    Event.store(subscription, events, 'poll')
                to_write.extend(([subscription], values))
        if to_write:
            cls.write(*to_write)

    @classmethod
    def watch(cls):
        """Tell the users of each carrier's group who work for the
        parcel's company, once per parcel and reason, of the parcels in
        exception, refused or without news, each user in their own
        language"""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Alert = pool.get('sale.flow.tracking.alert')
        User = pool.get('res.user')
        shipments = Shipment.search([('parcel_watch', '!=', None)])
        known = {(a.shipment.id, a.kind) for a in Alert.search([
                    ('shipment', 'in', [s.id for s in shipments]),
                    ])}
        now = dt.datetime.now()
        alerts, told = [], defaultdict(list)
        for shipment in shipments:
            kind = shipment.parcel_watch
            if (shipment.id, kind) in known:
                continue
            alerts.append(Alert(shipment=shipment, kind=kind,
                    since=shipment.tracking_last_at, notified_at=now))
            group = shipment.carrier.tracking_watch_group
            for user in (group.users if group else []):
                # a group may gather the people of several companies
                if shipment.company in user.companies:
                    told[user.id].append((shipment, kind))
        Alert.save(alerts)
        for user in User.browse(list(told)):
            language = user.language.code if user.language else None
            with Transaction().set_context(language=language):
                reasons = dict(Alert.fields_get(['kind'])['kind']['selection'])
                for shipment, kind in told[user.id]:
                    Shipment.notify_user([shipment], 'tryton-warning',
                        gettext('sale_flow.msg_tracking_watch',
                            shipment=shipment.rec_name,
                            numbers=', '.join(
                                shipment.tracking_number_list()),
                            carrier=shipment.carrier.rec_name,
                            reason=reasons[kind]),
                        user=user.id)


class Alert(FlowAccessMixin, ModelSQL, ModelView):
    "A parcel to watch, told once per reason"
    __name__ = 'sale.flow.tracking.alert'
    _flow_external = set()

    shipment = fields.Many2One(
        'stock.shipment.out', "Shipment", required=True, readonly=True,
        ondelete='CASCADE')
    kind = fields.Selection(WATCH, "Reason", required=True, readonly=True)
    kind_string = kind.translated('kind')
    since = to_the_second(fields.Timestamp(
            "Last News", readonly=True,
            help="The time of the courier's latest event when told."))
    notified_at = to_the_second(
        fields.Timestamp("Notified at", readonly=True))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('shipment_kind_unique', Unique(t, t.shipment, t.kind),
                'sale_flow.msg_tracking_alert_unique'),
            ]
        cls._order = [('notified_at', 'DESC'), ('id', 'DESC')]


class ShipmentOut(metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'

    tracking_state = fields.Selection(
        STATES, "Parcel State", readonly=True,
        help="The state of the latest logistics event of the courier.")
    tracking_state_string = tracking_state.translated('tracking_state')
    tracking_events = fields.One2Many(
        'sale.flow.tracking.event', 'shipment', "Logistics Events",
        readonly=True)
    tracking_subscriptions = fields.One2Many(
        'sale.flow.tracking.subscription', 'shipment',
        "Tracking Subscriptions", readonly=True)
    tracking_last_at = to_the_second(fields.Function(fields.Timestamp(
                "Last News",
                help="When the courier recorded the parcel's latest event "
                "(when it was shipped, before any event).",),
            'get_parcel_watch'))
    parcel_watch = fields.Function(fields.Selection(
            WATCH, "To Watch",
            help="Why the parcel on its way needs the shipping clerk: its "
            "courier reports an exception or a refusal, or has reported "
            "nothing for longer than the carrier allows."),
        'get_parcel_watch', searcher='search_parcel_watch')
    parcel_watch_string = parcel_watch.translated('parcel_watch')
    tracking_alerts = fields.One2Many(
        'sale.flow.tracking.alert', 'shipment', "Told", readonly=True)

    @classmethod
    def copy(cls, shipments, default=None):
        default = default.copy() if default is not None else {}
        for name in ['tracking_state', 'tracking_events',
                'tracking_subscriptions', 'tracking_alerts']:
            default.setdefault(name, None)
        return super().copy(shipments, default=default)

    @classmethod
    @ModelView.button
    @transition('shipped')
    def ship(cls, shipments):
        super().ship(shipments)
        pool = Pool()
        Sale = pool.get('sale.sale')
        Subscription = pool.get('sale.flow.tracking.subscription')
        # the customer follows the orders that leave (the shipped e-mail
        # carries the link)
        Sale.open_status_links(list({m.sale for s in shipments
                    for m in s.outgoing_moves if m.sale}))
        with without_check_access():
            subscriptions = Subscription.follow(shipments)
        if subscriptions:
            # the service is called after the commit, never in the
            # clerk's request
            Subscription.__queue__.subscribe(subscriptions)

    def status_links(self):
        "The orders of the shipment and their status pages' addresses"
        sales = {m.sale for m in self.outgoing_moves if m.sale}
        links = [(s.number or '', s.status_url())
            for s in sorted(sales, key=lambda s: s.id)]
        return [(number, url) for number, url in links if url]

    @classmethod
    def _parcel_watch_query(cls):
        """The query of the parcels on their way that are followed at a
        tracking service: id, watch (why to watch it, or NULL) and last
        (the time of the latest news)"""
        pool = Pool()
        Carrier = pool.get('carrier')
        Event = pool.get('sale.flow.tracking.event')
        Subscription = pool.get('sale.flow.tracking.subscription')
        shipment = cls.__table__()
        event = Event.__table__()
        subscription = Subscription.__table__()
        now = dt.datetime.now()
        with without_check_access():
            carriers = Carrier.search([
                    ('tracking_service', '!=', None),
                    ('tracking_stale_after', '!=', None),
                    ])
        latest = event.select(event.shipment, Max(event.time).as_('time'),
            group_by=[event.shipment])
        followed = subscription.select(subscription.shipment,
            Min(subscription.create_date).as_('since'),
            group_by=[subscription.shipment])
        last = Coalesce(latest.time, followed.since)
        watch = [(shipment.tracking_state.in_(WATCHED_STATES),
                shipment.tracking_state)]
        watch += [((shipment.carrier == c.id)
                & (last < now - c.tracking_stale_after), 'stale')
            for c in carriers]
        return (shipment
            .join(followed, condition=followed.shipment == shipment.id)
            .join(latest, 'LEFT', condition=latest.shipment == shipment.id)
            .select(
                shipment.id.as_('id'),
                Case(*watch).as_('watch'),
                last.as_('last'),
                where=(shipment.state == 'shipped')
                & ((shipment.tracking_state == Null)
                    | (shipment.tracking_state != 'delivered'))))

    @classmethod
    def get_parcel_watch(cls, shipments, names):
        cursor = Transaction().connection.cursor()
        result = {n: {s.id: None for s in shipments} for n in names}
        query = cls._parcel_watch_query()
        for sub_ids in grouped_slice(
                [s.id for s in shipments], backend.MAX_QUERY_PARAMS):
            cursor.execute(*query.select(query.id, query.watch, query.last,
                    where=fields.SQL_OPERATORS['in'](
                        query.id, list(sub_ids))))
            for id_, watch, last in cursor:
                if 'parcel_watch' in result:
                    result['parcel_watch'][id_] = watch
                if 'tracking_last_at' in result:
                    if isinstance(last, str):
                        last = dt.datetime.fromisoformat(last)
                    result['tracking_last_at'][id_] = last
        return result

    @classmethod
    def search_parcel_watch(cls, name, clause):
        _, operator, value = clause[:3]
        query = cls._parcel_watch_query()
        if value is None and operator in {'=', '!='}:
            watched = query.select(query.id, where=query.watch != Null)
            return [('id', 'not in' if operator == '=' else 'in', watched)]
        Operator = fields.SQL_OPERATORS[operator]
        return [('id', 'in', query.select(query.id,
                    where=Operator(query.watch, value)))]

    @classmethod
    def update_tracking_state(cls, shipments):
        "The state of each shipment's latest mapped event"
        pool = Pool()
        Event = pool.get('sale.flow.tracking.event')
        event = Event.__table__()
        cursor = Transaction().connection.cursor()
        ids = [s.id for s in shipments]
        latest = {}
        cursor.execute(*event.select(
                event.shipment, event.state,
                where=event.shipment.in_(ids) & (event.state != Null),
                order_by=[event.shipment, event.time.asc, event.id.asc]))
        for shipment, state in cursor:
            latest[shipment] = state
        to_write = []
        for shipment in cls.browse(ids):
            state = latest.get(shipment.id)
            if shipment.tracking_state != state:
                to_write.extend(([shipment], {'tracking_state': state}))
        if to_write:
            with without_check_access():
                cls.write(*to_write)


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    tracking_events = fields.Function(fields.Many2Many(
            'sale.flow.tracking.event', None, None, "Logistics Events",
            help="The courier's events of the order's parcels, the latest "
            "first."),
        'get_tracking_events')
    customer_stage = fields.Function(fields.Selection(
            CUSTOMER_STAGES, "Customer Stage",
            help="Where the order is, as the customer's status page "
            "says."),
        'get_customer_stage')
    customer_stage_string = customer_stage.translated('customer_stage')
    status_nonce = fields.Char("Status Link Key", readonly=True)
    status_expire = to_the_second(fields.Timestamp(
            "Status Link Expires", readonly=True,
            states={
                'invisible': ~Eval('status_expire'),
                },
            help="Until when the link of the e-mails to the customer shows "
            "the order's status (extended by each shipment that leaves)."))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'revoke_status_link': {
                    'invisible': ~Eval('status_expire'),
                    'depends': ['status_expire'],
                    },
                })

    @classmethod
    @ModelView.button
    @transition('confirmed')
    def confirm(cls, sales):
        super().confirm(sales)
        # the order confirmation carries the link
        cls.open_status_links(sales)

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('status_nonce', None)
        default.setdefault('status_expire', None)
        return super().copy(sales, default=default)

    @staticmethod
    def _status_digest(sale_id, nonce):
        "The keyed digest of the order's status link (never stored)"
        Secret = Pool().get('sale.flow.signature.secret')
        digest = hmac.new(Secret.get_key(),
            ('status:%s:%s' % (sale_id, nonce)).encode('utf-8'),
            hashlib.sha256).digest()
        return urlsafe_b64encode(digest[:24]).decode('ascii')

    @classmethod
    def open_status_links(cls, sales):
        """Make the orders' status links work for STATUS_LINK_DAYS days
        more (when an order is confirmed and at each shipment that
        leaves): a link sent before keeps working unless it was revoked or
        has expired"""
        now = dt.datetime.now()
        expire = now + dt.timedelta(days=STATUS_LINK_DAYS)
        to_write = []
        for sale in sales:
            values = {'status_expire': expire}
            if (not sale.status_nonce or not sale.status_expire
                    or sale.status_expire < now):
                values['status_nonce'] = secrets.token_urlsafe(12)
            to_write.extend(([sale], values))
        if to_write:
            with without_check_access():
                cls.write(*to_write)

    def status_url(self):
        "The address of the order's status page, while its link works"
        if (not self.status_nonce or not self.status_expire
                or self.status_expire < dt.datetime.now()):
            return None
        return '%s/%s/sale_flow/status/%s.%s' % (
            http_host(), urllib.parse.quote(
                Transaction().database.name, safe=''),
            self.id, self._status_digest(self.id, self.status_nonce))

    @classmethod
    def from_status_token(cls, token):
        "The order whose status the token shows now, or None"
        match = STATUS_TOKEN.fullmatch(token or '')
        if not match:
            return None
        with without_check_access():
            sales = cls.search([
                    ('id', '=', int(match.group(1))),
                    ('status_nonce', '!=', None),
                    ('status_expire', '>', dt.datetime.now()),
                    ], limit=1)
        if sales and hmac.compare_digest(match.group(2),
                cls._status_digest(sales[0].id, sales[0].status_nonce)):
            return sales[0]

    @classmethod
    @ModelView.button
    def revoke_status_link(cls, sales):
        "The links sent to the customer no longer show the order"
        cls.write(sales, {'status_nonce': None, 'status_expire': None})

    def get_customer_stage(self, name):
        "Where the customer's order is, in the words of the status page"
        if self.state == 'cancelled':
            return 'cancelled'
        shipments = [s for s in self.shipments if s.state != 'cancelled']
        if self.state == 'done' or (
                shipments and all(s.state == 'done' for s in shipments)):
            return 'signed'
        if any(s.state == 'shipped' and s.tracking_state == 'delivered'
                for s in shipments):
            return 'delivered'
        if any(s.state in {'shipped', 'done'} for s in shipments):
            return 'shipped'
        if self.state in {'confirmed', 'processing'}:
            return 'preparing'
        if self.state == 'quotation':
            return 'review'
        return 'received'

    @classmethod
    def get_tracking_events(cls, sales, name):
        "The events of the orders' shipments, read at once for the list"
        pool = Pool()
        Event = pool.get('sale.flow.tracking.event')
        Timeline = pool.get('sale.flow.timeline')
        cursor = Transaction().connection.cursor()
        shipment_sales = Timeline._shipment_sales()
        sales_of = defaultdict(list)
        for sub_ids in grouped_slice(
                [s.id for s in sales], backend.MAX_QUERY_PARAMS):
            cursor.execute(*shipment_sales.select(
                    shipment_sales.out_shipment, shipment_sales.sale,
                    where=fields.SQL_OPERATORS['in'](
                        shipment_sales.sale, list(sub_ids))))
            for shipment, sale in cursor:
                sales_of[shipment].append(sale)
        result = {s.id: [] for s in sales}
        if sales_of:
            for event in Event.search(
                    [('shipment', 'in', list(sales_of))]):
                for sale in sales_of[event.shipment.id]:
                    result[sale].append(event.id)
        return result


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('sale.flow.tracking.subscription|poll',
                "Fetch the Logistics Events of the Parcels"))
