# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Operators and web shops at the same time.

Runs on PostgreSQL only, where transactions really run at once (SQLite
serialises them).  Each operator runs in its own thread and transaction:
two release the last units of a product together, two scan the last item
of a line; over JSON-RPC (trytond's WSGI application and dispatcher), a
web shop sends one order four times at once, and operators scan or reserve
goods that a third transaction holds.
"""

import datetime as dt
import json
import threading
import time
import unittest
from unittest import mock

from trytond import backend
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.protocols.jsonrpc import JSONDecoder, JSONEncoder
from trytond.tests.test_tryton import drop_db
from trytond.tests.tools import activate_modules
from trytond.transaction import Transaction

from .. import common
from .tools import (
    advance_orders, create_orders, server_call, setup_demo_small,
    signature_image)


@unittest.skipUnless(
    backend.name == 'postgresql', "needs concurrent transactions")
class ConcurrentReleaseTestCase(unittest.TestCase):
    "Concurrent release of the last units"

    def tearDown(self):
        drop_db()

    def test_last_units_to_one_order(self):
        "Exactly one order gets the last units; stock never goes negative"
        config = activate_modules('sale_flow', setup_demo_small)

        def stock(pool, product_id):
            Product = pool.get('product.product')
            Location = pool.get('stock.location')
            warehouse, = Location.search([('type', '=', 'warehouse')])
            with Transaction().set_context(
                    locations=[warehouse.id], stock_assign=True):
                return Product(product_id).quantity

        def goods(pool):
            Product = pool.get('product.product')
            product, = Product.search([('type', '=', 'goods')], limit=1)
            return product.id
        product_id = server_call(config, goods)
        quantity = server_call(config, stock, product_id)
        self.assertGreater(quantity, 0)

        # Two orders, each for all the units there are
        sale_ids = create_orders(
            config=config, count=2, lines=(1, 1),
            quantity=(int(quantity), int(quantity)), products=[product_id])
        advance_orders(config=config, sale_ids=sale_ids, stage='processing')

        def shipments(pool):
            Sale = pool.get('sale.sale')
            return [s.id for sale in Sale.browse(sale_ids)
                for s in sale.shipments]
        shipment_ids = server_call(config, shipments)
        self.assertEqual(len(shipment_ids), 2)

        barrier = threading.Barrier(2, timeout=30)
        errors = []

        def release(shipment_id):
            first = [True]

            def work(pool):
                Shipment = pool.get('stock.shipment.out')
                shipment = Shipment(shipment_id)
                shipment.state  # read before both go on
                if first[0]:
                    first[0] = False
                    barrier.wait()
                Shipment.assign_try([shipment])
            # The release that meets the other's lock waits for it and
            # runs again (common.waiting_for_lock): no error to click away
            try:
                server_call(config, work)
            except Exception as exception:  # reported below
                errors.append(exception)

        threads = [threading.Thread(target=release, args=(i,))
            for i in shipment_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])

        def states(pool):
            Shipment = pool.get('stock.shipment.out')
            return sorted(s.state for s in Shipment.browse(shipment_ids))
        self.assertEqual(server_call(config, states), ['assigned', 'waiting'])
        self.assertEqual(server_call(config, stock, product_id), 0)


@unittest.skipUnless(
    backend.name == 'postgresql', "needs concurrent transactions")
class ConcurrentScanTestCase(unittest.TestCase):
    "Two operators scan the last item of a line at the same time"

    def tearDown(self):
        drop_db()

    def test_last_item_counted_once(self):
        "Exactly one scan is accepted; the line is never over-scanned"
        config = activate_modules('sale_flow', setup_demo_small)
        sale_ids = create_orders(
            config=config, count=1, lines=(1, 1), quantity=(2, 2))
        advance_orders(config=config, sale_ids=sale_ids, stage='assigned')

        def shipment(pool):
            Sale = pool.get('sale.sale')
            Scan = pool.get('sale.flow.scan')
            shipment, = Sale(sale_ids[0]).shipments
            move, = shipment.scan_moves('pick')
            # one of the two items is scanned already
            scan = Scan.scan(shipment, move.product.code)
            assert scan.result == 'accepted', scan.message
            return shipment.id, move.id, move.product.code
        shipment_id, move_id, code = server_call(config, shipment)

        barrier = threading.Barrier(2, timeout=30)
        results, errors = [], []

        def scan():
            first = [True]

            def work(pool):
                Scan = pool.get('sale.flow.scan')
                if first[0]:
                    first[0] = False
                    barrier.wait()
                return Scan.scan(shipment_id, code).result
            # the scan that meets the other's lock waits and runs again
            try:
                results.append(server_call(config, work))
            except Exception as exception:  # reported below
                errors.append(exception)

        threads = [threading.Thread(target=scan) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(results), ['accepted', 'over'])

        def scanned(pool):
            Move = pool.get('stock.move')
            move = Move(move_id)
            return move.scanned_quantity, move.quantity
        self.assertEqual(server_call(config, scanned), (2, 2))


class _Clock:
    "The test client's clock (it keeps no cacheable answer here)"
    now = dt.datetime(2000, 1, 1)


def _rpc_client(config, login):
    """A JSON-RPC client through trytond's WSGI application, as login; an
    answer that is not JSON-RPC (HTTP 503 ...) raises its HTTP status"""
    from .test_client import RPCClient

    class Client(RPCClient):
        def call(self, method, *params):
            headers = {'Content-Type': 'application/json'}
            if self.auth:
                headers['Authorization'] = self.auth
            response = self.http.post(self.url, headers=headers,
                data=json.dumps({'id': 1, 'method': method,
                        'params': params}, cls=JSONEncoder))
            if response.status_code != 200:
                raise RuntimeError('HTTP %s' % response.status)
            data = json.loads(response.get_data(as_text=True),
                object_hook=JSONDecoder())
            if data.get('error'):
                raise RuntimeError(data['error'])
            return data['result']
    return Client(config.database_name, login, _Clock())


def _in_threads(targets, timeout=120):
    "Run each function in its own thread; their results in order"
    results = [None] * len(targets)

    def run(i, target):
        try:
            results[i] = ('ok', target())
        except Exception as exception:  # reported by the caller
            results[i] = ('error', exception)
    threads = [threading.Thread(target=run, args=(i, t))
        for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


def _hold_lock(config, table, ids, seconds, held):
    """Lock the rows in a transaction of its own for seconds (another
    operator's long transaction), set held once they are locked"""
    def work(pool):
        cursor = Transaction().connection.cursor()
        cursor.execute(
            'SELECT 1 FROM "%s" WHERE id = ANY(%%s) FOR UPDATE' % table,
            (list(ids),))
        held.set()
        time.sleep(seconds)
    thread = threading.Thread(target=server_call, args=(config, work))
    thread.start()
    assert held.wait(30)
    return thread


@unittest.skipUnless(
    backend.name == 'postgresql', "needs concurrent transactions")
class ConcurrentIntakeTestCase(unittest.TestCase):
    "A web shop sends the same order four times at once"

    def tearDown(self):
        drop_db()

    def test_resent_order_one_sale(self):
        "One sale; every caller gets its id, none an error"
        config = activate_modules('sale_flow', setup_demo_small)

        def codes(pool):
            Party = pool.get('party.party')
            Product = pool.get('product.product')
            party, = Party.search(
                [('contact_mechanisms.type', '=', 'mobile')], limit=1)
            product, = Product.search([('type', '=', 'goods')], limit=1)
            return party.code, product.code
        customer, product = server_call(config, codes)
        order = {'channel': 'web', 'reference': 'RACE-1',
            'customer': customer,
            'lines': [{'product': product, 'quantity': 1}]}
        clients = [_rpc_client(config, 'clerk') for _ in range(4)]

        # every call looks for the order before any of them creates it
        Sale = Pool(config.database_name).get('sale.sale')
        lookup = Sale._intake_existing
        barrier = threading.Barrier(4, timeout=30)
        first = threading.local()

        def existing(cls, company, orders):
            result = lookup(company, orders)
            if not getattr(first, 'done', False):
                first.done = True
                barrier.wait()
            return result
        with mock.patch.object(Sale, '_intake_existing',
                classmethod(existing)):
            results = _in_threads([
                    (lambda c=c: c.model('sale.sale', 'intake', [order]))
                    for c in clients])

        def sales(pool):
            Sale = pool.get('sale.sale')
            return [s.id for s in Sale.search(
                    [('intake_reference', '=', 'RACE-1')])]
        sale_id, = server_call(config, sales)
        self.assertEqual(results, [('ok', [sale_id])] * 4)


@unittest.skipUnless(
    backend.name == 'postgresql', "needs concurrent transactions")
class OperatorsWaitTestCase(unittest.TestCase):
    """Operators on the goods another transaction holds wait for it, over
    RPC: no 503, no lock error; a clear message after LOCK_TIMEOUT"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = activate_modules('sale_flow', setup_demo_small)

    @classmethod
    def tearDownClass(cls):
        drop_db()
        super().tearDownClass()

    def assigned_shipment(self, quantity):
        "A shipment of one line of quantity, assigned"
        sale_ids = create_orders(config=self.config, count=1, lines=(1, 1),
            quantity=(quantity, quantity))
        advance_orders(config=self.config, sale_ids=sale_ids,
            stage='assigned')

        def shipment(pool):
            Sale = pool.get('sale.sale')
            shipment, = Sale(sale_ids[0]).shipments
            move, = shipment.scan_moves('pick')
            return shipment.id, move.id, move.product.code
        return server_call(self.config, shipment)

    def scanned(self, move_id, scan_ids):
        def work(pool):
            Move = pool.get('stock.move')
            Scan = pool.get('sale.flow.scan')
            return (Move(move_id).scanned_quantity or 0,
                sorted(s.result for s in Scan.browse(scan_ids)))
        return server_call(self.config, work)

    def test_scans_wait(self):
        "Two operators scan goods a third transaction holds: both counted"
        shipment_id, move_id, code = self.assigned_shipment(2)
        clients = [_rpc_client(self.config, 'warehouse') for _ in range(2)]
        held = threading.Event()
        holder = _hold_lock(self.config, 'stock_move', [move_id], 2, held)
        started = time.monotonic()
        results = _in_threads([
                (lambda c=c: c.model(
                        'sale.flow.scan', 'scan', shipment_id, code))
                for c in clients])
        holder.join()
        self.assertGreater(time.monotonic() - started, 1.5)
        self.assertEqual([r[0] for r in results], ['ok', 'ok'], results)
        self.assertEqual(self.scanned(move_id, [r[1] for r in results]),
            (2, ['accepted', 'accepted']))

    def test_scan_busy(self):
        "Held longer than LOCK_TIMEOUT: the translated busy message"
        shipment_id, move_id, code = self.assigned_shipment(2)
        client = _rpc_client(self.config, 'warehouse')

        def message(pool):
            with Transaction().set_context(language=client.context.get(
                        'language')):
                return gettext('sale_flow.msg_goods_busy', seconds=1)
        expected = server_call(self.config, message)
        held = threading.Event()
        with mock.patch.object(common, 'LOCK_TIMEOUT', 1):
            holder = _hold_lock(self.config, 'stock_move', [move_id], 4,
                held)
            (outcome, error), = _in_threads([
                    lambda: client.model(
                        'sale.flow.scan', 'scan', shipment_id, code)])
            holder.join()
        self.assertEqual(outcome, 'error')
        self.assertIn('UserError', str(error))
        self.assertIn(expected, str(error))
        self.assertEqual(self.scanned(move_id, []), (0, []))

    def test_assign_waits(self):
        """Two operators assign the last units while a third transaction
        holds the product's moves: both answered, one shipment assigned"""
        def goods(pool):
            Product = pool.get('product.product')
            Location = pool.get('stock.location')
            warehouse, = Location.search([('type', '=', 'warehouse')])
            product, = Product.search(
                [('type', '=', 'goods')], limit=1, offset=3)
            with Transaction().set_context(
                    locations=[warehouse.id], stock_assign=True):
                return product.id, int(Product(product.id).quantity)
        product_id, quantity = server_call(self.config, goods)
        self.assertGreater(quantity, 0)
        sale_ids = create_orders(config=self.config, count=2, lines=(1, 1),
            quantity=(quantity, quantity), products=[product_id])
        advance_orders(config=self.config, sale_ids=sale_ids,
            stage='processing')

        def moves(pool):
            Sale = pool.get('sale.sale')
            Move = pool.get('stock.move')
            shipments = [s.id for sale in Sale.browse(sale_ids)
                for s in sale.shipments]
            return shipments, [m.id for m in Move.search(
                    [('product', '=', product_id)])]
        shipment_ids, move_ids = server_call(self.config, moves)
        clients = [_rpc_client(self.config, 'warehouse') for _ in range(2)]
        held = threading.Event()
        holder = _hold_lock(self.config, 'stock_move', move_ids, 2, held)
        results = _in_threads([
                (lambda c=c, i=i: c.model(
                        'stock.shipment.out', 'assign_try', [i]))
                for c, i in zip(clients, shipment_ids)])
        holder.join()
        self.assertEqual([r[0] for r in results], ['ok', 'ok'], results)

        def states(pool):
            Shipment = pool.get('stock.shipment.out')
            return sorted(s.state for s in Shipment.browse(shipment_ids))
        self.assertEqual(server_call(self.config, states),
            ['assigned', 'waiting'])

    def test_signatures_wait(self):
        """Two clerks record the signature of a shipment a third transaction
        holds: one signature, the other told it is signed, no lock error"""
        sale_ids = create_orders(config=self.config, count=1, lines=(1, 1),
            quantity=(1, 1))
        advance_orders(config=self.config, sale_ids=sale_ids,
            stage='shipped')

        def values(pool):
            Sale = pool.get('sale.sale')
            shipment, = Sale(sale_ids[0]).shipments
            party = shipment.customer
            phones = [''.join(c for c in m.value if c.isdigit())
                for m in party.contact_mechanisms
                if m.type in {'phone', 'mobile'} and m.value]
            return shipment.id, {
                'signer': party.name,
                'identity': phones[0][-4:] if phones else '',
                'image': signature_image(),
                'lines': [{'move': m.id, 'accepted': m.quantity}
                    for m in shipment.outgoing_moves
                    if m.state != 'cancelled' and m.quantity],
                }
        shipment_id, signed = server_call(self.config, values)

        def message(pool):
            Shipment = pool.get('stock.shipment.out')
            with Transaction().set_context(language=clients[0].context.get(
                        'language')):
                return gettext('sale_flow.msg_signature_unique_shipment',
                    shipment=Shipment(shipment_id).rec_name)
        clients = [_rpc_client(self.config, 'shipping') for _ in range(2)]
        already = server_call(self.config, message)
        held = threading.Event()
        holder = _hold_lock(self.config, 'stock_shipment_out', [shipment_id],
            2, held)
        results = _in_threads([
                (lambda c=c: c.model('sale.flow.signature', 'sign',
                        shipment_id, signed))
                for c in clients])
        holder.join()
        self.assertEqual(sorted(r[0] for r in results), ['error', 'ok'],
            results)
        error, = [r[1] for r in results if r[0] == 'error']
        self.assertIn(already, str(error))

        def signatures(pool):
            Shipment = pool.get('stock.shipment.out')
            shipment = Shipment(shipment_id)
            return shipment.state, len(shipment.signatures)
        self.assertEqual(server_call(self.config, signatures), ('done', 1))
