# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What the clients get over Tryton's JSON-RPC, as the demo roles.

The calls go through trytond's WSGI application (its dispatcher, access
checks and cache hints), made by a small client that behaves as sao and the
desktop client do: it logs in with the user's password and keeps the
answers of the methods the server marks cacheable (``X-Tryton-Cache``) for
as long as the server says.
"""

import base64
import datetime as dt
import json
import types
import unittest
from unittest import mock

from werkzeug.test import Client

from trytond.protocols.jsonrpc import JSONDecoder, JSONEncoder
from trytond.tests.test_tryton import drop_db
from trytond.tests.tools import activate_modules
from trytond.wsgi import app

from .. import review
from .tools import (
    DEMO_PASSWORD, advance_orders, create_orders, server_call,
    setup_demo_small, sign_shipments)


class Clock:
    "A clock the test moves: the server's and the client's time"

    def __init__(self, now):
        self.now = now

    def datetime_module(self):
        "The datetime module as review.py sees it, with this clock's now"
        clock = self

        class DateTime(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return clock.now

        module = {k: getattr(dt, k) for k in dir(dt) if k[0] != '_'}
        module['datetime'] = DateTime
        return types.SimpleNamespace(**module)


class RPCClient:
    "A JSON-RPC client keeping cacheable answers, as sao and tryton do"

    def __init__(self, database, login, clock):
        self.http = Client(app)
        self.url = '/%s/rpc/' % database
        self.clock = clock
        self.cache = {}
        self.auth = None
        user_id, session = self.call(
            'common.db.login', login, {'password': DEMO_PASSWORD}, 'en')[:2]
        self.user_id = user_id
        self.auth = 'Session ' + base64.b64encode(
            ('%s:%s:%s' % (login, user_id, session)).encode()).decode()
        self.context = self.call('model.res.user.get_preferences', True, {})

    def call(self, method, *params):
        key = json.dumps([method, params], cls=JSONEncoder, sort_keys=True)
        if key in self.cache:
            expire, result = self.cache[key]
            if self.clock.now < expire:
                return result
        headers = {'Content-Type': 'application/json'}
        if self.auth:
            headers['Authorization'] = self.auth
        response = self.http.post(self.url, headers=headers, data=json.dumps(
                {'id': 1, 'method': method, 'params': params},
                cls=JSONEncoder))
        data = json.loads(response.get_data(as_text=True),
            object_hook=JSONDecoder())
        if data.get('error'):
            raise RuntimeError(data['error'])
        seconds = response.headers.get('X-Tryton-Cache')
        if seconds:
            self.cache[key] = (
                self.clock.now + dt.timedelta(seconds=int(seconds)),
                data['result'])
        return data['result']

    def model(self, model, method, *args):
        return self.call(
            'model.%s.%s' % (model, method), *args, self.context)


class ClientTestCase(unittest.TestCase):
    "Dialogs and lists as the clients show them"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = activate_modules('sale_flow', setup_demo_small)
        config = cls.config
        cls.quoted, shipped = create_orders(
            config=config, count=2, lines=(1, 1), quantity=(1, 1))
        advance_orders(config=config, sale_ids=[cls.quoted],
            stage='quotation')
        advance_orders(config=config, sale_ids=[shipped], stage='shipped')

        def sign(pool):
            sign_shipments(pool, pool.get('sale.sale')(shipped).shipments)
        server_call(config, sign)
        cls.shipped = shipped

    @classmethod
    def tearDownClass(cls):
        drop_db()
        super().tearDownClass()

    def client(self, login, clock):
        return RPCClient(self.config.database_name, login, clock)

    def test_contact_dialogs(self):
        """Each contact dialog gets the time it is opened, and the method
        picked is the one saved"""
        clock = Clock(dt.datetime(2026, 12, 1, 9, 30, 15))
        fields = ['contacted_at', 'method', 'user', 'contact_name',
            'answer', 'changes', 'sale']
        with mock.patch.object(review, 'dt', clock.datetime_module()):
            client = self.client('reviewer', clock)
            # the first dialog, then a second one a minute later
            first = client.model(
                'sale.flow.review.contact', 'default_get', fields, False)
            clock.now += dt.timedelta(minutes=1)
            second = client.model(
                'sale.flow.review.contact', 'default_get', fields, False)
        self.assertEqual(first['contacted_at'],
            dt.datetime(2026, 12, 1, 9, 30, 15))
        self.assertEqual(second['contacted_at'],
            dt.datetime(2026, 12, 1, 9, 31, 15))
        self.assertEqual((first['method'], second['method']),
            ('phone', 'phone'))

        # the user keeps the default of the first and picks e-mail in the
        # second; the order is saved with both, as the client sends them
        # (the clients send no readonly field)
        for values in [first, second]:
            del values['user']
        first.update(contact_name="Ms. Wang", answer="Confirmed")
        second.update(contact_name="Mr. Li", answer="Confirmed",
            method='email')
        client.model('sale.sale', 'write', [self.quoted], {
                'review_contacts': [('create', [first, second])],
                })
        contacts = client.model(
            'sale.flow.review.contact', 'search_read',
            [('sale', '=', self.quoted)], 0, None, [('id', 'ASC')],
            ['contact_name', 'method', 'contacted_at', 'user'])
        self.assertEqual(
            [(c['contact_name'], c['method'], c['contacted_at'])
                for c in contacts], [
                ("Ms. Wang", 'phone', dt.datetime(2026, 12, 1, 9, 30, 15)),
                ("Mr. Li", 'email', dt.datetime(2026, 12, 1, 9, 31, 15)),
                ])
        self.assertEqual({c['user'] for c in contacts}, {client.user_id})

    def test_timeline_names(self):
        "The timeline names its records, for each role that reads it"
        def expected(pool):
            Sale = pool.get('sale.sale')
            sale = Sale(self.shipped)
            shipment, = sale.shipments
            signature, = shipment.signatures
            approval, = [d for d in sale.review_decisions
                if d.decision == 'approved']
            # an order is named by its number and its customer
            order = '%s – %s' % (sale.number, sale.party.name)
            names = {
                'ordered': order,
                'released': order,
                'approved': "Approved %s" % order,
                'packed': shipment.rec_name,
                'signed': '%s (%s)' % (signature.signer, shipment.rec_name),
                }
            return names, pool.get('ir.model').get_name(
                approval.__name__), sale.party.name
        names, decision_model, customer = server_call(
            self.config, expected)
        clock = Clock(dt.datetime.now())
        for login in ['manager', 'reviewer', 'warehouse', 'shipping']:
            with self.subTest(login=login):
                client = self.client(login, clock)
                view = client.model('sale.flow.timeline', 'fields_view_get',
                    None, 'tree')
                fields = list(view['fields'])
                self.assertIn('record_name', fields)
                self.assertNotIn('record', fields)
                rows = client.model('sale.flow.timeline', 'search_read',
                    [('sale', '=', self.shipped)], 0, None, None, fields)
                got = {r['stage']: r['record_name'] for r in rows}
                if login in {'manager', 'reviewer'}:
                    for stage, name in names.items():
                        self.assertEqual(got[stage], name)
                else:
                    # a decision they may not read is named by its model
                    self.assertEqual(got['approved'], decision_model)
                    for stage in ['ordered', 'released', 'packed', 'signed']:
                        self.assertEqual(got[stage], names[stage])
                for name in got.values():
                    # no reference (model,id); the customer's name may
                    # have a comma of its own
                    self.assertNotIn(',', name.replace(customer, ''))
                    self.assertFalse(name.startswith('('), name)
