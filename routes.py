# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The pages trytond serves itself: the signing page on the customer's
phone and the warehouse's scan station.

``/<database>/sale_flow/scan``: the scan station for scanner-speed
scanning (see ``web/scan_station.html``).  The page holds no data and no
rights of its own: it calls the JSON-RPC of the web client's session (the
session cookie of a user logged into sao in the same browser), so every
scan goes through ``sale.flow.scan.scan`` and its gates.

``/<database>/sale_flow/sign/<token>``: the shipment's signing link (a
random, single-use, expiring token made by *Signing Link* on the shipment)
shows the delivered lines; the customer enters what is accepted and
refused, draws the signature and submits.  A wrong, used or expired token
gets a plain page and stores nothing.  Chinese or English after the
browser's language (``?lang=zh_CN`` or ``?lang=en`` to choose).  The
pages are ``web/sign_page.html`` (a Genshi template, as trytond's own
reports use Genshi: every value is escaped) and its ``web/sign_pad.js``.

``/<database>/sale_flow/status/<token>``: the order's status for the
customer, without a login (the link of the shipped e-mail): its stage, its
shipments with their tracking numbers, the courier's links and the
logistics events — nothing else of the company (``web/status_page.html``).
A wrong, revoked or expired token gets a plain page.

``/<database>/sale_flow/tracking/<service>/<account>``: the tracking
service's pushes of logistics events (tracking.py); the push is verified
with the account's secret and answered as the service documents.
"""

import base64
import binascii
import datetime as dt
import json
import logging
import os
import re
from functools import wraps
from html import escape
from zoneinfo import ZoneInfo

from genshi.core import Markup
from genshi.template import TemplateLoader
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.protocols.wrappers import (
    allow_null_origin, with_pool, with_transaction)
from trytond.transaction import Transaction
from trytond.wsgi import app

from .exceptions import SignatureIdentityError
from .tracking import COURIER_TIMEZONE

_TOKEN = re.compile(r'(/sale_flow/(?:sign|rate|status)/)[^\s?/"]+')


class _HideTokens(logging.Filter):
    "The access log shows the pages, never the customers' tokens"

    def filter(self, record):
        if isinstance(record.msg, str) and '/sale_flow/' in record.msg:
            record.msg = _TOKEN.sub(r'\1***', record.msg)
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(self._hide(a) for a in record.args)
        return True

    @staticmethod
    def _hide(value):
        # trytond logs the request object itself: its text has the URL
        if isinstance(value, (int, float)) or value is None:
            return value
        text = str(value)
        if '/sale_flow/' in text:
            return _TOKEN.sub(r'\1***', text)
        return value


for _name in ['werkzeug', 'trytond.wsgi', 'gunicorn.access']:
    logging.getLogger(_name).addFilter(_HideTokens())


def _http_errors_answered(wsgi_app):
    """trytond 8.0 refuses a request from another web site (its Origin
    header) by raising 403 outside its own error handling, so the server
    answered 500; answer the 403 itself"""
    @wraps(wsgi_app)
    def wrapper(environ, start_response):
        try:
            return wsgi_app(environ, start_response)
        except HTTPException as exception:
            return exception(environ, start_response)
    return wrapper


app.wsgi_app = _http_errors_answered(app.wsgi_app)

_WEB = os.path.join(os.path.dirname(__file__), 'web')
# the customer's pages (Genshi templates of web/)
_PAGES = TemplateLoader(_WEB, auto_reload=True)
# the strings of the signing pages: name in the template, message
SIGN_STRINGS = {
    'order': 'msg_sign_page_order',
    'shipment': 'msg_sign_page_shipment',
    'product': 'msg_sign_page_product',
    'delivered': 'msg_sign_page_delivered',
    'accepted': 'msg_sign_page_accepted',
    'refused': 'msg_sign_page_refused',
    'reason': 'msg_sign_page_reason',
    'signer': 'msg_sign_page_signer',
    'identity': 'msg_sign_page_identity',
    'photos': 'msg_sign_page_photos',
    'draw': 'msg_sign_page_draw',
    'clear_pad': 'msg_sign_page_clear',
    'submit': 'msg_sign_page_submit',
    'question': 'msg_rate_page_question',
    'comment': 'msg_rate_page_comment',
    'rate': 'msg_rate_page_submit',
    'rated': 'msg_rate_page_thanks',
    }
REASONS = [
    ('', 'msg_sign_page_no_reason'),
    ('damaged', 'msg_sign_page_damaged'),
    ('wrong_item', 'msg_sign_page_wrong_item'),
    ('missing', 'msg_sign_page_missing'),
    ('other', 'msg_sign_page_other'),
    ]


def _language(request):
    lang = request.args.get('lang')
    if lang in {'zh_CN', 'en'}:
        return lang
    accept = request.headers.get('Accept-Language', '')
    return 'zh_CN' if accept.lower().startswith('zh') else 'en'


def _page(lang, title, page, status=200, **values):
    """The signing link's page (web/sign_page.html) in the language: page
    is error, form, signed, rated or thanks"""
    text = {key: gettext('sale_flow.' + message)
        for key, message in SIGN_STRINGS.items()}
    values.setdefault('error', None)
    if page == 'form':
        with open(os.path.join(_WEB, 'sign_pad.js'),
                encoding='utf-8') as script:
            values['script'] = Markup(script.read())
    stream = _PAGES.load('sign_page.html').generate(
        lang=lang.replace('_', '-'), query_lang=lang, title=title,
        page=page, text=_Strings(text), **values)
    return Response(
        stream.render('html', doctype='html5', encoding='utf-8'),
        status=status, content_type='text/html; charset=utf-8')


class _Strings(dict):
    "The page's strings as attributes: ${text.order}"
    __getattr__ = dict.__getitem__


def _error(lang, title, message, status):
    "A page that only says what went wrong"
    return _page(lang, title, 'error', error=message, status=status)


def _form(shipment, lang, error=None, values=None, status=200):
    "The signing form of the shipment, filled with the values sent"
    values = values or {}
    lines = []
    for move in shipment.moves_to_sign():
        lines.append(_Strings(
                id=move.id,
                product=move.product.rec_name,
                delivered='%g %s' % (move.quantity, move.unit.symbol),
                accepted=values.get(
                    'accepted_%s' % move.id, '%g' % move.quantity),
                refused=values.get('refused_%s' % move.id, '0'),
                reason=values.get('reason_%s' % move.id, '')))
    return _page(lang, gettext('sale_flow.msg_sign_page_title'), 'form',
        status=status, error=error, lines=lines,
        reasons=[(key, gettext('sale_flow.' + message))
            for key, message in REASONS],
        company=shipment.company.rec_name,
        orders=', '.join(sorted({m.sale.number
                    for m in shipment.outgoing_moves
                    if m.sale and m.sale.number})),
        shipment=shipment.number or '',
        signer=values.get('signer', ''),
        identity=values.get('identity', ''))


def _data_url(value, types):
    "The bytes of a data: URL of one of the types, or None"
    value = value or ''
    for type_ in types:
        prefix = 'data:%s;base64,' % type_
        if value.startswith(prefix):
            try:
                return base64.b64decode(value[len(prefix):], validate=True)
            except (binascii.Error, ValueError):
                return None


@app.route('/<database_name>/sale_flow/sign/<token>', methods=['GET', 'POST'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def sign(request, pool, token):
    try:
        Shipment = pool.get('stock.shipment.out')
        Signature = pool.get('sale.flow.signature')
    except KeyError:
        return Response('Not Found', status=404)
    lang = _language(request)
    with Transaction().set_context(language=lang):
        title = gettext('sale_flow.msg_sign_page_title')
        shipment = Shipment.from_sign_token(token)
        if not shipment:
            return _error(lang, title,
                gettext('sale_flow.msg_sign_page_invalid'), 404)
        if request.method == 'GET':
            return _form(shipment, lang)
        form = request.form
        lines = []
        for move in shipment.moves_to_sign():
            try:
                accepted = float(form.get('accepted_%s' % move.id) or 0)
                refused = float(form.get('refused_%s' % move.id) or 0)
            except ValueError:
                accepted = refused = -1
            lines.append({
                    'move': move.id, 'accepted': accepted,
                    'refused': refused,
                    'reason': form.get('reason_%s' % move.id) or None,
                    })
        try:
            signature = Signature.sign(shipment, {
                    'signer': form.get('signer'),
                    'identity': form.get('identity'),
                    'image': _data_url(form.get('image'), {'image/png'}),
                    'photos': [
                        _data_url(p, {'image/jpeg', 'image/png'})
                        for p in form.getlist('photo')],
                    'lines': lines,
                    'channel': 'phone',
                    })
        except UserError as exception:
            # nothing of the refused submission is kept
            Transaction().rollback()
            if isinstance(exception, SignatureIdentityError):
                # but the wrong identity check is counted
                if Shipment.record_sign_failure(shipment):
                    return _error(lang, title,
                        gettext('sale_flow.msg_sign_page_locked'), 403)
            return _form(Shipment(shipment.id), lang,
                error=exception.message, values=form, status=400)
        token = signature.shipment.new_rate_token()
        # the 1 to 5 rating form, once the delivery is signed
        return _page(lang, title, 'signed', token=token,
            thanks=gettext('sale_flow.msg_sign_page_thanks',
                shipment=shipment.number or ''))


@app.route('/<database_name>/sale_flow/rate/<token>', methods=['POST'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def rate(request, pool, token):
    try:
        Shipment = pool.get('stock.shipment.out')
        Satisfaction = pool.get('sale.flow.satisfaction')
    except KeyError:
        return Response('Not Found', status=404)
    lang = _language(request)
    with Transaction().set_context(language=lang):
        title = gettext('sale_flow.msg_sign_page_title')
        shipment = Shipment.from_rate_token(token)
        if not shipment:
            return _error(lang, title,
                gettext('sale_flow.msg_rate_page_invalid'), 404)
        try:
            Satisfaction.rate(shipment, request.form.get('rating'),
                request.form.get('comment'), channel='phone')
        except UserError as exception:
            Transaction().rollback()
            return _page(lang, title, 'rated', token=token,
                error=exception.message, status=400)
        Shipment.write([shipment], {'rate_token_hash': None})
        return _page(lang, title, 'thanks')


# the strings of the status page: name in the template, message
STATUS_STRINGS = {
    'title': 'msg_status_page_title',
    'order': 'msg_status_page_order',
    'ordered': 'msg_status_page_ordered',
    'shipment': 'msg_status_page_shipment',
    'carrier': 'msg_status_page_carrier',
    'numbers': 'msg_status_page_numbers',
    'follow': 'msg_status_page_follow',
    'no_events': 'msg_status_page_no_events',
    'invalid': 'msg_status_page_invalid',
    }
# the stages of the page, in order (tracking.CUSTOMER_STAGES)
STATUS_STAGES = ['received', 'review', 'preparing', 'shipped', 'delivered',
    'signed']


@app.route('/<database_name>/sale_flow/status/<token>', methods=['GET'])
@allow_null_origin
@with_pool
@with_transaction()
def status(request, pool, token):
    "The order's status for the customer (no login: the token is the key)"
    try:
        Sale = pool.get('sale.sale')
    except KeyError:
        return Response('Not Found', status=404)
    lang = _language(request)
    with Transaction().set_context(language=lang):
        text = _Strings({key: gettext('sale_flow.' + message)
                for key, message in STATUS_STRINGS.items()})
        sale = Sale.from_status_token(token)
        values = {'sale': None, 'error': None}
        if not sale:
            values['error'] = text.invalid
        else:
            values.update(_status_values(sale))
        stream = _PAGES.load('status_page.html').generate(
            lang=lang.replace('_', '-'), title=text.title, text=text,
            **values)
    return Response(
        stream.render('html', doctype='html5', encoding='utf-8'),
        status=404 if not sale else 200,
        content_type='text/html; charset=utf-8',
        headers={
            'Cache-Control': 'no-store',
            'Content-Security-Policy': (
                "default-src 'none'; style-src 'unsafe-inline'"),
            'Referrer-Policy': 'no-referrer',
            'X-Frame-Options': 'DENY',
            })


def _status_values(sale):
    "What the status page shows of the order: read in the page's language"
    # the couriers' time (China's) for a company without a time zone
    zone = (ZoneInfo(sale.company.timezone) if sale.company.timezone
        else COURIER_TIMEZONE)
    stages = dict(sale.fields_get(['customer_stage'])
        ['customer_stage']['selection'])

    def local(value):
        return value.replace(tzinfo=dt.timezone.utc).astimezone(
            zone).strftime('%Y-%m-%d %H:%M')

    stage = sale.customer_stage
    shipments = []
    for shipment in sorted(sale.shipments, key=lambda s: s.id):
        if shipment.state == 'cancelled':
            continue
        shipments.append(_Strings(
                number=shipment.number or '',
                carrier=(shipment.carrier.party.rec_name
                    if shipment.carrier else ''),
                state=shipment.tracking_state_string or '',
                pairs=shipment.tracking_pairs(),
                events=[_Strings(time=local(e.time), place=e.place or '',
                        text=e.text or e.status or e.state_string or '')
                    for e in shipment.tracking_events]))
    position = (STATUS_STAGES.index(stage) if stage in STATUS_STAGES
        else -1)
    return {
        'sale': _Strings(
            company=sale.company.rec_name,
            number=sale.number or '',
            date=sale.sale_date.isoformat() if sale.sale_date else '',
            stage=stages.get(stage, stage)),
        'steps': [(stages[s], i <= position)
            for i, s in enumerate(STATUS_STAGES)],
        'shipments': shipments,
        }


STATION_STRINGS = {
    'title': 'msg_station_title',
    'scan_shipment': 'msg_station_scan_shipment',
    'shipment': 'msg_station_shipment',
    'code': 'msg_station_code',
    'counts': 'msg_station_counts',
    'sound_on': 'msg_station_sound_on',
    'sound_off': 'msg_station_sound_off',
    'pick': 'msg_station_pick',
    'pack': 'msg_station_pack',
    'other': 'msg_station_other',
    'unknown_shipment': 'msg_scan_shipment_unknown',
    'not_ready': 'msg_station_not_ready',
    'opened': 'msg_station_opened',
    'picked': 'msg_station_picked',
    'packed': 'msg_station_packed',
    'login': 'msg_station_login',
    'login_link': 'msg_station_login_link',
    }
_STATION = os.path.join(
    os.path.dirname(__file__), 'web', 'scan_station.html')


@app.route('/<database_name>/sale_flow/scan', methods=['GET'])
@with_pool
@with_transaction()
def scan_station(request, pool):
    "The page only: its scans are the session's JSON-RPC calls"
    lang = _language(request)
    placeholders = {
        # %(name)s stay for the page to fill in
        name: '%%(%s)s' % name for name in [
            'accepted', 'refused', 'waiting', 'code', 'shipment']}
    with Transaction().set_context(language=lang):
        strings = {key: gettext('sale_flow.' + message, **placeholders)
            for key, message in STATION_STRINGS.items()}
    with open(_STATION, encoding='utf-8') as template:
        page = template.read()
    data = json.dumps(strings, ensure_ascii=False).replace('</', '<\\/')
    page = (page
        .replace('__STRINGS__', data)
        .replace('__TITLE__', escape(strings['title']))
        .replace('__LANG__', lang.replace('_', '-'))
        .replace('__DATABASE__', escape(Transaction().database.name)))
    return Response(page, content_type='text/html; charset=utf-8',
        headers={
            'Cache-Control': 'no-store',
            'Content-Security-Policy': (
                "default-src 'none'; script-src 'unsafe-inline'; "
                "style-src 'unsafe-inline'; connect-src 'self'"),
            'X-Frame-Options': 'DENY',
            })


@app.route('/<database_name>/sale_flow/tracking/<service>/<int:credential>',
    methods=['POST'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def tracking_push(request, pool, service, credential):
    "A tracking service pushes the events of a number it follows"
    try:
        Event = pool.get('sale.flow.tracking.event')
    except KeyError:
        return Response('Not Found', status=404)
    status, answer = Event.receive_push(service, credential, request.form)
    if status != 200:
        # nothing of a refused push is kept
        Transaction().rollback()
    return Response(json.dumps(answer, ensure_ascii=False), status=status,
        content_type='application/json; charset=utf-8')
