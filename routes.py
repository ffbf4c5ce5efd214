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
browser's language (``?lang=zh_CN`` or ``?lang=en`` to choose).
"""

import base64
import binascii
import json
import logging
import os
import re
from functools import wraps
from html import escape

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.protocols.wrappers import (
    allow_null_origin, with_pool, with_transaction)
from trytond.transaction import Transaction
from trytond.wsgi import app

from .exceptions import SignatureIdentityError

_TOKEN = re.compile(r'(/sale_flow/(?:sign|rate)/)[^\s?/"]+')


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

PAGE = '''<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{font-family: sans-serif; margin: 0.8em; max-width: 40em;}}
table {{border-collapse: collapse; width: 100%;}}
td, th {{border-bottom: 1px solid #ccc; padding: 0.3em 0.2em;
    text-align: left;}}
td {{overflow-wrap: anywhere;}}
input, select {{font-size: 1em; max-width: 100%;}}
input[type=number] {{width: 4.5em;}}
/* the quantities fit a 390 px phone: headers on one line, narrow inputs */
th {{font-size: 0.85em; white-space: nowrap;}}
td input[type=number] {{width: 3.2em;}}
td select {{width: 4.5em;}}
canvas {{border: 1px solid #333; width: 100%; height: 160px;
    touch-action: none;}}
.error {{color: #b00; font-weight: bold;}}
button {{font-size: 1.1em; padding: 0.5em 1em; margin-top: 0.6em;}}
</style></head><body>
<h1>{title}</h1>
{body}
</body></html>'''

SCRIPT = '''<script>
(function () {
    var canvas = document.getElementById('pad');
    var ctx = canvas.getContext('2d');
    var drawn = false, down = false;
    function fit() {
        // drawn at the screen's resolution, not blurred on a phone
        var ratio = window.devicePixelRatio || 1;
        canvas.width = Math.round(canvas.clientWidth * ratio);
        canvas.height = Math.round(canvas.clientHeight * ratio);
        ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
        ctx.lineWidth = 2; ctx.lineCap = 'round';
    }
    fit();
    function pos(e) {
        var r = canvas.getBoundingClientRect();
        return [e.clientX - r.left, e.clientY - r.top];
    }
    canvas.addEventListener('pointerdown', function (e) {
        down = true; var p = pos(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
    });
    canvas.addEventListener('pointermove', function (e) {
        if (!down) { return; }
        var p = pos(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); drawn = true;
    });
    window.addEventListener('pointerup', function () { down = false; });
    document.getElementById('clear').addEventListener('click', function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false;
    });
    document.getElementById('form').addEventListener('submit', function () {
        document.getElementById('image').value =
            drawn ? canvas.toDataURL('image/png') : '';
    });
    // photos of the goods: scaled down on the phone (at most 1024 px, JPEG)
    // so that six camera pictures stay below trytond's request size limit
    // for pages without login ([request] max_size, 2 MB by default)
    var photos = document.getElementById('photos');
    var kept = document.getElementById('kept');
    photos.addEventListener('change', function () {
        kept.innerHTML = '';
        Array.prototype.slice.call(photos.files, 0, 6).forEach(
            function (file) {
                var img = new Image();
                img.onload = function () {
                    var scale = Math.min(1, 1024 / Math.max(
                        img.width, img.height));
                    var c = document.createElement('canvas');
                    c.width = Math.round(img.width * scale);
                    c.height = Math.round(img.height * scale);
                    c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
                    var input = document.createElement('input');
                    input.type = 'hidden'; input.name = 'photo';
                    input.value = c.toDataURL('image/jpeg', 0.7);
                    kept.appendChild(input);
                    URL.revokeObjectURL(img.src);
                };
                img.src = URL.createObjectURL(file);
            });
    });
})();
</script>'''


def _language(request):
    lang = request.args.get('lang')
    if lang in {'zh_CN', 'en'}:
        return lang
    accept = request.headers.get('Accept-Language', '')
    return 'zh_CN' if accept.lower().startswith('zh') else 'en'


def _page(lang, title, body, status=200):
    return Response(
        PAGE.format(lang=lang.replace('_', '-'), title=escape(title),
            body=body),
        status=status, content_type='text/html; charset=utf-8')


def _error(lang, title, message, status):
    "A page that only says what went wrong"
    return _page(lang, title, '<p class="error">%s</p>' % escape(message),
        status=status)


def _text(message, **values):
    return escape(gettext('sale_flow.' + message, **values))


def _form(shipment, lang, error=None, values=None):
    pool_reasons = [
        ('damaged', 'msg_sign_page_damaged'),
        ('wrong_item', 'msg_sign_page_wrong_item'),
        ('missing', 'msg_sign_page_missing'),
        ('other', 'msg_sign_page_other'),
        ]
    values = values or {}
    rows = []
    for move in shipment.moves_to_sign():
        accepted = values.get('accepted_%s' % move.id, '%g' % move.quantity)
        refused = values.get('refused_%s' % move.id, '0')
        reason = values.get('reason_%s' % move.id, '')
        options = ''.join(
            '<option value="%s"%s>%s</option>' % (
                key, ' selected' if key == reason else '', _text(msg))
            for key, msg in [('', 'msg_sign_page_no_reason')]
            + pool_reasons)
        rows.append(
            '<tr><td>%s</td><td>%g %s</td>'
            '<td><input type="number" step="any" min="0" name="accepted_%d" '
            'value="%s"></td>'
            '<td><input type="number" step="any" min="0" name="refused_%d" '
            'value="%s"></td><td><select name="reason_%d">%s</select></td>'
            '</tr>' % (
                escape(move.product.rec_name), move.quantity,
                escape(move.unit.symbol), move.id, escape(accepted),
                move.id, escape(refused), move.id, options))
    body = ''
    if error:
        body += '<p class="error">%s</p>' % escape(error)
    body += (
        '<p><strong>%s</strong></p>' % escape(shipment.company.rec_name)
        + '<p>%s %s</p>' % (_text('msg_sign_page_order'), escape(', '.join(
                    sorted({m.sale.number for m in shipment.outgoing_moves
                            if m.sale and m.sale.number}))))
        + '<p>%s %s</p>' % (_text('msg_sign_page_shipment'),
            escape(shipment.number or ''))
        + '<form id="form" method="post" action="?lang=%s">' % lang
        + '<table><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th>'
        '<th>%s</th></tr>%s</table>' % (
            _text('msg_sign_page_product'), _text('msg_sign_page_delivered'),
            _text('msg_sign_page_accepted'), _text('msg_sign_page_refused'),
            _text('msg_sign_page_reason'), ''.join(rows))
        + '<p><label>%s<br><input name="signer" required value="%s">'
        '</label></p>' % (_text('msg_sign_page_signer'),
            escape(values.get('signer', '')))
        + '<p><label>%s<br><input name="identity" inputmode="numeric" '
        'value="%s"></label></p>' % (_text('msg_sign_page_identity'),
            escape(values.get('identity', '')))
        + '<p><label>%s<br><input type="file" id="photos" '
        'accept="image/*" multiple></label><span id="kept"></span></p>' % (
            _text('msg_sign_page_photos'))
        + '<p>%s</p><canvas id="pad"></canvas>'
        '<input type="hidden" id="image" name="image">'
        '<button type="button" id="clear">%s</button> '
        '<button type="submit">%s</button></form>' % (
            _text('msg_sign_page_draw'), _text('msg_sign_page_clear'),
            _text('msg_sign_page_submit'))
        + SCRIPT)
    return body


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
            return _page(lang, title, _form(shipment, lang))
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
            return _page(lang, title, _form(
                    Shipment(shipment.id), lang, error=exception.message,
                    values=form), status=400)
        token = signature.shipment.new_rate_token()
        return _page(lang, title, '<p>%s</p>' % _text(
                'msg_sign_page_thanks', shipment=shipment.number or '')
            + _rating_form(request, token, lang))


def _rating_form(request, token, lang):
    "The 1 to 5 rating form shown once the delivery is signed"
    stars = ''.join(
        '<label style="margin-right:0.8em"><input type="radio" '
        'name="rating" value="%d" required> %d</label>' % (i, i)
        for i in range(1, 6))
    return (
        '<form method="post" action="../rate/%s?lang=%s">' % (
            escape(token), lang)
        + '<p>%s</p><p>%s</p>' % (_text('msg_rate_page_question'), stars)
        + '<p><label>%s<br><textarea name="comment" rows="3" '
        'style="width:100%%"></textarea></label></p>' % _text(
            'msg_rate_page_comment')
        + '<button type="submit">%s</button></form>' % _text(
            'msg_rate_page_submit'))


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
            return _page(lang, title, '<p class="error">%s</p>' % escape(
                    exception.message) + _rating_form(request, token, lang),
                status=400)
        Shipment.write([shipment], {'rate_token_hash': None})
        return _page(lang, title, '<p>%s</p>' % _text(
                'msg_rate_page_thanks'))


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
