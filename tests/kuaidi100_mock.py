# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A mock of kuaidi100 (快递100) on 127.0.0.1, for the tests and the demo.

It speaks the documented protocol of the tracking aggregator: the
subscription (``POST /poll``, ``schema=json`` and ``param`` with the
account's key, the callback URL and the salt), the real-time query (``POST
/poll/query.do``, ``customer``, ``param`` and ``sign`` = upper-case MD5 of
param + key + customer) and the push of a number's events to its callback
(``param`` and ``sign`` = upper-case MD5 of param + salt).  The events of a
number are added by the test (``add_event``); nothing reaches the internet.
"""

import hashlib
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ['Kuaidi100Mock', 'sign']


def sign(*parts):
    return hashlib.md5(''.join(parts).encode('utf-8')).hexdigest().upper()


class Kuaidi100Mock:
    "kuaidi100 for one account (customer and key)"

    def __init__(self, customer, key):
        self.customer = customer
        self.key = key
        # number: {'company', 'callbackurl', 'salt'}
        self.subscriptions = {}
        # number: the events, oldest first
        self.events = {}
        # the numbers queried, in order
        self.queries = []
        # an HTTP status to answer every request with (e.g. 500)
        self.fail = None
        self.server = None

    def start(self, port=0):
        "Serve on the port of 127.0.0.1 (a free one by default); the address"
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                form = dict(urllib.parse.parse_qsl(
                        self.rfile.read(length).decode('utf-8')))
                if mock.fail:
                    self.send_response(mock.fail)
                    self.end_headers()
                    return
                path = self.path.split('?', 1)[0]
                if path == '/poll':
                    answer = mock._subscribe(form)
                elif path == '/poll/query.do':
                    answer = mock._query(form)
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(answer, ensure_ascii=False).encode('utf-8')
                self.send_response(200)
                self.send_header(
                    'Content-Type', 'application/json;charset=UTF-8')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', port), Handler)
        thread = threading.Thread(
            target=self.server.serve_forever, daemon=True)
        thread.start()
        return self.url

    @property
    def url(self):
        return 'http://127.0.0.1:%s' % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _subscribe(self, form):
        try:
            param = json.loads(form['param'])
        except (KeyError, ValueError):
            return {'result': False, 'returnCode': '400',
                'message': '提交的数据不完整'}
        if param.get('key') != self.key:
            return {'result': False, 'returnCode': '600',
                'message': '您不是合法的订阅者'}
        number = param.get('number')
        if number in self.subscriptions:
            return {'result': False, 'returnCode': '501',
                'message': '重复订阅'}
        parameters = param.get('parameters') or {}
        self.subscriptions[number] = {
            'company': param.get('company'),
            'callbackurl': parameters.get('callbackurl'),
            'salt': parameters.get('salt'),
            }
        return {'result': True, 'returnCode': '200', 'message': '提交成功'}

    def _query(self, form):
        param = form.get('param', '')
        if (form.get('customer') != self.customer
                or form.get('sign') != sign(param, self.key, self.customer)):
            return {'result': False, 'returnCode': '503',
                'message': '验证签名失败'}
        try:
            param = json.loads(param)
        except ValueError:
            return {'result': False, 'returnCode': '400',
                'message': '提交的数据不完整'}
        number = param.get('num')
        self.queries.append(number)
        if not self.events.get(number):
            return {'result': False, 'returnCode': '500',
                'message': '查询无结果，请隔段时间再查'}
        return self.result(number, param.get('com'))

    def add_event(self, number, time, context, status, code, location=''):
        "A courier's event of the number (time in China's local time)"
        self.events.setdefault(number, []).append({
                'time': time, 'ftime': time, 'context': context,
                'location': location, 'areaName': location,
                'status': status, 'statusCode': code,
                })

    def result(self, number, company=None):
        "kuaidi100's result of the number: its events, the latest first"
        data = list(reversed(self.events.get(number, [])))
        state = data[0]['statusCode'] if data else '0'
        # the main state of the sub-state (301 -> 3, 1002 -> 0)
        main = {4: '0', 3: state[:1]}.get(len(state), state)
        return {
            'message': 'ok', 'nu': number, 'ischeck': (
                '1' if main == '3' else '0'),
            'condition': 'F00', 'com': company or (
                self.subscriptions.get(number, {}).get('company')),
            'status': '200', 'state': main, 'data': data,
            }

    def push_form(self, number, salt=None):
        "The form kuaidi100 posts to the callback of the number"
        salt = salt if salt is not None else (
            self.subscriptions[number]['salt'])
        param = json.dumps({
                'status': 'polling', 'billstatus': 'got', 'message': '',
                'autoCheck': '0', 'comOld': '', 'comNew': '',
                'lastResult': self.result(number),
                }, ensure_ascii=False)
        return {'param': param, 'sign': sign(param, salt)}

    def push(self, number, send=None):
        """Push the events of the number to its callback: send(url, form)
        posts it (by default over HTTP); the answer's status and JSON"""
        url = self.subscriptions[number]['callbackurl']
        form = self.push_form(number)
        if send:
            return send(url, form)
        request = urllib.request.Request(
            url, data=urllib.parse.urlencode(form).encode('utf-8'))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b'{}')
