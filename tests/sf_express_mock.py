# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A mock of SF Express's open platform (顺丰开放平台) on 127.0.0.1, for the
tests and the demo.

It speaks the documented protocol: one address (``POST /std/service``)
taking the form ``partnerID``, ``requestID``, ``serviceCode``,
``timestamp``, ``msgDigest`` (Base64 of the MD5 of the URL-encoded
msgData + timestamp + check word) and ``msgData`` (JSON); the answer's
``apiResultCode`` (A1000: taken) and ``apiResultData``, the service's
result as a JSON string.  The services: ``EXP_RECE_CREATE_ORDER`` (a
waybill number per parcel, error 8016 for an order id used before),
``EXP_RECE_SEARCH_ORDER_RESP``, ``EXP_RECE_UPDATE_ORDER`` (dealType 2
cancels) and ``COM_RECE_CLOUD_PRINT_WAYBILLS`` (a PDF label per number, to
fetch with its token from ``GET /files/<number>.pdf``).  Nothing reaches
the internet.
"""

import base64
import hashlib
import io
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ['SFExpressMock', 'digest', 'label_pdf']


def digest(msg_data, timestamp, check_word):
    text = urllib.parse.quote_plus(msg_data + timestamp + check_word)
    return base64.b64encode(
        hashlib.md5(text.encode('utf-8')).digest()).decode('ascii')


def label_pdf(number, recipient=''):
    "A 100 x 150 mm label of the number, a real PDF page"
    from PIL import Image, ImageDraw
    image = Image.new('RGB', (400, 600), 'white')
    draw = ImageDraw.Draw(image)
    draw.rectangle([10, 10, 390, 590], outline='black', width=3)
    draw.text((30, 40), 'SF EXPRESS', fill='black')
    draw.text((30, 100), number, fill='black')
    for i, char in enumerate(number):
        width = 2 + (ord(char) % 4)
        draw.rectangle([30 + i * 22, 150, 30 + i * 22 + width * 3, 260],
            fill='black')
    # the default font has no CJK glyphs
    draw.text((30, 300), recipient.encode('ascii', 'ignore').decode()[:40],
        fill='black')
    output = io.BytesIO()
    image.save(output, format='PDF', resolution=68)
    return output.getvalue()


class SFExpressMock:
    "SF Express for one account (partner ID and check word)"

    def __init__(self, partner, check_word):
        self.partner = partner
        self.check_word = check_word
        # orderId: {'numbers', 'data', 'cancelled'}
        self.orders = {}
        # the service codes called, in order
        self.calls = []
        # an HTTP status to answer every request with (e.g. 500)
        self.fail = None
        # the error (code, message) of the next order to create
        self.refuse = None
        # seconds to wait before answering
        self.delay = 0
        self.files = {}
        self._serial = 7444400031880
        self.server = None

    def start(self, port=0):
        "Serve on the port of 127.0.0.1 (a free one by default); the address"
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status, body, content_type):
                self.send_response(status)
                self.send_header('Content-Type', content_type)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # the client gave up waiting (a lost answer)
                    pass

            def do_GET(self):
                number = self.path.split('?', 1)[0].rsplit('/', 1)[-1]
                number = number[:-4] if number.endswith('.pdf') else ''
                file = mock.files.get(number)
                if (not file or self.headers.get('X-Auth-token')
                        != file['token']):
                    self._send(403, b'', 'text/plain')
                    return
                self._send(200, file['data'], 'application/pdf')

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                form = dict(urllib.parse.parse_qsl(
                        self.rfile.read(length).decode('utf-8')))
                if mock.delay:
                    time.sleep(mock.delay)
                if mock.fail:
                    self._send(mock.fail, b'', 'text/plain')
                    return
                if self.path.split('?', 1)[0] != '/std/service':
                    self._send(404, b'', 'text/plain')
                    return
                answer = mock._answer(form, 'http://%s:%s' % (
                        self.server.server_address[0],
                        self.server.server_address[1]))
                self._send(200,
                    json.dumps(answer, ensure_ascii=False).encode('utf-8'),
                    'application/json;charset=UTF-8')

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', port), Handler)
        thread = threading.Thread(
            target=self.server.serve_forever, daemon=True)
        thread.start()
        return self.url

    @property
    def url(self):
        return 'http://127.0.0.1:%s/std/service' % (
            self.server.server_address[1])

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _api(code, message='', result=None):
        return {
            'apiResultCode': code,
            'apiErrorMsg': message,
            'apiResponseID': secrets.token_hex(16).upper(),
            'apiResultData': (json.dumps(result, ensure_ascii=False)
                if result is not None else None),
            }

    def _answer(self, form, base):
        for name in ['partnerID', 'requestID', 'serviceCode', 'timestamp',
                'msgDigest', 'msgData']:
            if not form.get(name):
                return self._api('A1001', '必传参数不可为空: %s' % name)
        if form['partnerID'] != self.partner:
            return self._api('A1004', '无对应服务权限')
        if form['msgDigest'] != digest(
                form['msgData'], form['timestamp'], self.check_word):
            return self._api('A1006', '数字签名无效')
        try:
            data = json.loads(form['msgData'])
        except ValueError:
            return self._api('A1001', 'msgData 不是 JSON')
        code = form['serviceCode']
        self.calls.append(code)
        service = {
            'EXP_RECE_CREATE_ORDER': self._create,
            'EXP_RECE_SEARCH_ORDER_RESP': self._search,
            'EXP_RECE_UPDATE_ORDER': self._update,
            'COM_RECE_CLOUD_PRINT_WAYBILLS': self._print,
            }.get(code)
        if not service:
            return self._api('A1004', '无对应服务权限')
        return self._api('A1000', '', service(data, base))

    @staticmethod
    def _error(code, message):
        return {'success': False, 'errorCode': code, 'errorMsg': message,
            'msgData': None}

    def _order(self, order_id, numbers):
        infos = [{'waybillType': 1 if i == 0 else 2, 'waybillNo': n}
            for i, n in enumerate(numbers)]
        return {'success': True, 'errorCode': 'S0000', 'errorMsg': None,
            'msgData': {'orderId': order_id, 'originCode': '021',
                'destCode': '010', 'filterResult': 2,
                'waybillNoInfoList': infos}}

    def _create(self, data, base):
        order_id = data.get('orderId')
        if self.refuse:
            (code, message), self.refuse = self.refuse, None
            return self._error(code, message)
        if not order_id or not data.get('contactInfoList'):
            return self._error('1010', '寄件地址不能为空')
        if order_id in self.orders:
            return self._error('8016', '重复下单')
        recipient = [c for c in data['contactInfoList']
            if c.get('contactType') == 2]
        if not recipient or not recipient[0].get('address') or not (
                recipient[0].get('mobile') or recipient[0].get('tel')):
            return self._error('1011', '到件地址不能为空')
        numbers = []
        for _ in range(max(int(data.get('parcelQty') or 1), 1)):
            self._serial += 1
            numbers.append('SF%d' % self._serial)
        self.orders[order_id] = {
            'numbers': numbers, 'data': data, 'cancelled': False}
        return self._order(order_id, numbers)

    def _search(self, data, base):
        order = self.orders.get(data.get('orderId'))
        if not order:
            return self._error('8018', '未获取到订单信息')
        return self._order(data['orderId'], order['numbers'])

    def _update(self, data, base):
        order = self.orders.get(data.get('orderId'))
        if not order:
            return self._error('8018', '未获取到订单信息')
        if str(data.get('dealType')) == '2':
            if order['cancelled']:
                return self._error('8037', '已消单')
            order['cancelled'] = True
        return {'success': True, 'errorCode': 'S0000', 'errorMsg': None,
            'msgData': {'orderId': data['orderId'],
                'resStatus': 2}}

    def _print(self, data, base):
        documents = data.get('documents') or []
        files = []
        for document in documents:
            master = document.get('masterWaybillNo')
            order = next((o for o in self.orders.values()
                    if o['numbers'][0] == master), None)
            if not order:
                return {'success': False, 'errorCode': '1001',
                    'errorMessage': '运单号不存在', 'obj': None}
            recipient = [c for c in order['data']['contactInfoList']
                if c.get('contactType') == 2][0]
            for seq, number in enumerate(order['numbers'], 1):
                token = 'AUTH_tkv12_' + secrets.token_hex(16)
                self.files[number] = {'token': token, 'data': label_pdf(
                        number, recipient.get('contact', ''))}
                files.append({'url': '%s/files/%s.pdf' % (base, number),
                        'token': token, 'waybillNo': number,
                        'seqNo': seq, 'areaNo': 1, 'pageNo': 1})
        return {'success': True, 'errorCode': None, 'errorMessage': None,
            'requestId': secrets.token_hex(8),
            'obj': {'clientCode': self.partner,
                'templateCode': data.get('templateCode'),
                'fileType': data.get('fileType'), 'files': files}}
