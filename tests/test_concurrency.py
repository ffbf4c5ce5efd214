# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Two operators release the last units of a product at the same time.

Runs on PostgreSQL only, where two transactions really run at once (SQLite
serialises them).  Each release runs in its own thread and transaction, and
both reach Tryton's reservation (``assign_try``) together.
"""

import threading
import time
import unittest

from trytond import backend
from trytond.tests.test_tryton import drop_db
from trytond.tests.tools import activate_modules
from trytond.transaction import Transaction

from .tools import advance_orders, create_orders, server_call, setup_demo_small


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
            # An operator whose release meets the other's lock after the
            # server's retries gets an error and clicks again.
            for attempt in range(5):
                try:
                    server_call(config, work)
                    break
                except backend.DatabaseOperationalError:
                    time.sleep(0.5)
                except Exception as exception:  # reported below
                    errors.append(exception)
                    break
            else:
                errors.append("still locked after 5 attempts")

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
            for attempt in range(5):
                try:
                    results.append(server_call(config, work))
                    break
                except backend.DatabaseOperationalError:
                    time.sleep(0.5)
                except Exception as exception:  # reported below
                    errors.append(exception)
                    break
            else:
                errors.append("still locked after 5 attempts")

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
