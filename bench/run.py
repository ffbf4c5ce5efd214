#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark the sales flow against Tryton's own sale-to-delivery flow.

Every flow in FLOWS runs the same orders (one line each, one transaction per
order, models called in-process as a trytond worker would) and prints, per
step, the mean milliseconds and the SQL statements per order; the last table
gives each flow's cost as a ratio of Tryton's own flow measured in the same
run.  Later steps of sale_flow add their flows to FLOWS.

    .venv/bin/python bench/run.py --orders 30
    TRYTOND_DATABASE_URI=postgresql://postgres@127.0.0.1:5432/ \\
        .venv/bin/python bench/run.py

Tryton's own flow runs on a database with only the Tryton modules sale_flow
depends on, the other flows on a database with sale_flow; both are built
with the demo generator (tests/tools.py) the first time and reused
afterwards on SQLite (--rebuild makes new ones).
"""

import argparse
import collections
import configparser
import datetime as dt
import glob
import hashlib
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# a statement that writes, and its table
WRITE = re.compile(r'(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?')


class StatementCounter(logging.Handler):
    """Count the SQL statements trytond's backends log at DEBUG level, and
    the writes (INSERT, UPDATE, DELETE) per table"""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0
        self.stock = 0
        self.writes = 0
        self.tables = collections.Counter()

    def emit(self, record):
        self.count += 1
        # the statements that read stock quantities (the stock moves)
        statement = str(record.msg).lstrip().upper()
        if (statement.startswith(('SELECT', 'WITH'))
                and '"STOCK_MOVE"' in statement):
            self.stock += 1
        write = WRITE.match(statement)
        if write:
            self.writes += 1
            self.tables[write.group(1).lower()] += 1


COUNTER = StatementCounter()
SQL_LOGGERS = [
    logging.getLogger('trytond.backend.sqlite.database'),
    logging.getLogger('trytond.backend.postgresql.database'),
    ]


def counting(enabled):
    for logger in SQL_LOGGERS:
        logger.setLevel(logging.DEBUG if enabled else logging.WARNING)


def deliver(pool, sale, step, scan=False):
    """Tryton's own customer shipment: assign, pick, pack, ship, done; with
    scan (sale_flow), every line is scanned before pick as the strict mode
    wants (one scan per unit, by EAN) and the tracking number is recorded
    before ship"""
    from trytond.modules.sale_flow.tests import tools
    Shipment = pool.get('stock.shipment.out')
    shipments = list(sale.shipments)
    with step('assign'):
        Shipment.assign_try(shipments)
    shipments = Shipment.browse(shipments)
    assert all(s.state == 'assigned' for s in shipments), "not enough stock"
    if scan:
        Scan = pool.get('sale.flow.scan')
        codes = [(s.id, m.product.identifiers[0].code)
            for s in shipments for m in s.scan_moves('pick')
            for _ in range(int(m.quantity))]
        with step('scan'):
            for shipment_id, code in codes:
                result = Scan.scan(shipment_id, code)
                assert result.result == 'accepted', result.message
    with step('pick'):
        Shipment.pick(shipments)
    with step('pack'):
        Shipment.pack(shipments)
    with step('ship'):
        if scan:
            # the shipping clerk records the courier's waybill number
            for shipment in shipments:
                number = tools.tracking_number(
                    shipment.carrier, 10 ** 6 + shipment.id)
                if number:
                    shipment.shipping_reference = number
            Shipment.save(shipments)
        Shipment.ship(shipments)
    if scan:
        # the customer's signature (proof of delivery) does the shipment
        image = tools.signature_image()
        with step('sign'):
            tools.sign_shipments(pool, Shipment.browse(shipments), image)
    else:
        with step('done'):
            Shipment.do(shipments)


def tryton_flow(pool, order, step):
    "Tryton's own flow: sale create → quote → confirm → process → shipment"
    Sale = pool.get('sale.sale')
    with step('create'):
        sale, = Sale.create([order])
    with step('quote'):
        Sale.quote([sale])
    with step('confirm'):
        Sale.confirm([sale])
    with step('process'):
        Sale.process([sale])
    deliver(pool, sale, step)


def sale_flow_flow(pool, order, step):
    "sale_flow: Tryton's flow with the order review (checks, approval)"
    Sale = pool.get('sale.sale')
    with step('create'):
        sale, = Sale.create([dict(order, channel='phone')])
    with step('quote'):
        # submits to the review: digest and every check
        Sale.quote([sale])
    with step('approve'):
        # re-runs the checks, approves and confirms
        Sale.review_approve([sale])
    assert sale.state == 'confirmed', sale.state
    with step('process'):
        Sale.process([sale])
    deliver(pool, sale, step, scan=True)


# name: (function, runs on the database with sale_flow activated);
# the first is the reference for the ratios
FLOWS = {
    'tryton': (tryton_flow, False),
    'sale_flow': (sale_flow_flow, True),
    }


class Steps:
    "Collect milliseconds and SQL statements per step of one order"

    def __init__(self):
        self.times = {}
        self.queries = {}
        # INSERT, UPDATE, DELETE statements, and per table
        self.writes = {}
        self.tables = {}

    def __call__(self, name):
        steps = self

        class _Step:
            def __enter__(self):
                self.count = COUNTER.count
                self.writes = COUNTER.writes
                self.tables = COUNTER.tables.copy()
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                if exc[0] is None:
                    steps.times[name] = (
                        time.perf_counter() - self.start) * 1000
                    steps.queries[name] = COUNTER.count - self.count
                    steps.writes[name] = COUNTER.writes - self.writes
                    steps.tables[name] = COUNTER.tables - self.tables
        return _Step()


def build_database(args, conf, database, with_module):
    """Create a benchmark database with the demo generator: with sale_flow,
    or with only the Tryton modules sale_flow depends on"""
    from proteus import config as pconfig

    from trytond.modules.sale_flow.tests import tools
    env = dict(os.environ, TRYTONPASSFILE=os.path.join(args.workdir, 'pass'))
    with open(env['TRYTONPASSFILE'], 'w') as fp:
        fp.write('admin\n')
    if args.uri.startswith('sqlite'):
        path = os.path.join(args.workdir, database + '.sqlite')
        if os.path.exists(path):
            os.remove(path)
        open(path, 'w').close()
    else:
        subprocess.run(['dropdb', '--if-exists', '-h', args.pg_host,
                '-p', args.pg_port, '-U', args.pg_user, database],
            check=False)
        subprocess.run(['createdb', '-h', args.pg_host, '-p', args.pg_port,
                '-U', args.pg_user, '-E', 'UTF8', database], check=True)
    if with_module:
        modules = ['sale_flow']
    else:
        config = configparser.ConfigParser()
        config.read(os.path.join(ROOT, 'tryton.cfg'))
        modules = [m for m in config.get('tryton', 'depends').split()
            if m not in {'ir', 'res'}]
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    subprocess.run([admin, '-c', conf, '-d', database, '-u', *modules,
            '--activate-dependencies', '--email', 'admin@example.com'],
        check=True, env=env, stdout=subprocess.DEVNULL)
    config = pconfig.set_trytond(database, config_file=conf)
    tools.setup_demo(config=config, customers=args.customers,
        products=args.products, users=with_module)
    with open(os.path.join(args.workdir, database + '.built'), 'w') as fp:
        fp.write(module_hash())


def run(args, conf):
    from proteus import config as pconfig

    from trytond.modules.sale_flow.tests import tools
    configs = {
        with_module: pconfig.TrytondConfig(
            database_of(args, with_module), config_file=conf)
        for with_module in [False, True]}

    def orders(pool, count, seed):
        values = tools.order_values(pool, count, lines=(1, 1),
            quantity=(1, 1), rng=random.Random(seed))
        for value in values:
            value['invoice_method'] = 'manual'
        return values

    results = {}
    for name, (flow, with_module) in FLOWS.items():
        config = configs[with_module]
        for phase, count, count_sql in [
                ('warm-up', args.warmup, False),
                ('time', args.orders, False),
                ('sql', args.sql_orders, True)]:
            values = tools.server_call(
                config, orders, count, seed=len(results) * 1000)
            counting(count_sql)
            totals, per_step = [], []
            for order in values:
                steps = Steps()

                def one(pool):
                    steps.times.clear()
                    steps.queries.clear()
                    steps.writes.clear()
                    steps.tables.clear()
                    flow(pool, order, steps)
                    # The queued "process" of confirm already ran above.
                    from trytond.transaction import Transaction
                    Transaction().tasks.clear()
                start = time.perf_counter()
                tools.server_call(config, one)
                totals.append((time.perf_counter() - start) * 1000)
                per_step.append(steps)
            counting(False)
            if phase == 'time':
                results[name] = {'totals': totals, 'steps': per_step}
            elif phase == 'sql':
                results[name]['sql'] = per_step
    return results


def measure_call(config, func):
    """ms, SQL statements and statements reading stock moves of
    func(pool), in a transaction rolled back"""
    from trytond.modules.sale_flow.tests import tools
    from trytond.transaction import Transaction

    def work(pool):
        start_count, start_stock = COUNTER.count, COUNTER.stock
        start = time.perf_counter()
        func(pool)
        elapsed = (time.perf_counter() - start) * 1000
        counts = (COUNTER.count - start_count, COUNTER.stock - start_stock)
        Transaction().rollback()
        return (elapsed,) + counts
    # SQLite traces the statements of connections opened while counting
    counting(True)
    try:
        return tools.server_call(config, work)
    finally:
        counting(False)


def scan_scaling(args, config):
    """One scan on a shipment of 5 lines against one of 200 lines: time
    and SQL statements (median of 10 scans, each rolled back)"""
    from trytond.modules.sale_flow.tests import tools

    def shipment_of(lines):
        def values(pool):
            Product = pool.get('product.product')
            products = Product.search([
                    ('salable', '=', True), ('type', '=', 'goods'),
                    ], order=[('id', 'ASC')], limit=lines)
            assert len(products) == lines, "not enough products"
            order, = tools.order_values(pool, 1, lines=(lines, lines),
                quantity=(1, 1), products=[p.id for p in products])
            order['invoice_method'] = 'manual'
            sale, = pool.get('sale.sale').create([order])
            return sale.id, sale.lines[-1].product.identifiers[0].code
        sale_id, code = tools.server_call(config, values)
        tools.advance_orders(config, [sale_id], 'assigned')

        def shipment(pool):
            sale = pool.get('sale.sale')(sale_id)
            shipment, = sale.shipments
            assert shipment.state == 'assigned', shipment.state
            return shipment.id
        return tools.server_call(config, shipment), code

    def measure(shipment_id, code):
        def scan(pool):
            scan = pool.get('sale.flow.scan').scan(shipment_id, code)
            assert scan.result == 'accepted', scan.message
        return measure_call(config, scan)[:2]

    def products(pool):
        return pool.get('product.product').search([
                ('salable', '=', True), ('type', '=', 'goods'),
                ], count=True)
    missing = 200 - tools.server_call(config, products)
    if missing > 0:
        tools.create_products(config=config, count=missing)

    print("\none scan (one round trip) on a shipment of few and many lines "
        "(median of 10):")
    print(f"  {'lines':>8}{'ms':>10}{'SQL':>8}")
    rows = {}
    for lines in [5, 200]:
        shipment_id, code = shipment_of(lines)
        samples = [measure(shipment_id, code) for _ in range(10)]
        rows[lines] = (statistics.median(s[0] for s in samples),
            statistics.median(s[1] for s in samples))
        print(f"  {lines:>8}{rows[lines][0]:>10.1f}{rows[lines][1]:>8.0f}")
    print(f"  200 / 5 lines: time x{rows[200][0] / rows[5][0]:.2f}, "
        f"SQL x{rows[200][1] / rows[5][1]:.2f}")


def scan_round_trip(args, conf, config, scans=100):
    """The scan as the scan station sees it: JSON-RPC over HTTP to a
    trytond server on 127.0.0.1 (started here on the benchmark database),
    logged in as the warehouse operator, each scan followed by the read of
    its result; p50 and p95 over the scans of shipments of few and of many
    lines"""
    import base64
    import json
    import socket
    import urllib.request

    from trytond.modules.sale_flow.tests import tools

    def shipments(pool, lines, count):
        "count sales of lines lines each (one unit, other products)"
        Product = pool.get('product.product')
        products = Product.search([
                ('salable', '=', True), ('type', '=', 'goods'),
                ], order=[('id', 'ASC')], limit=lines * count)
        assert len(products) == lines * count, "not enough products"
        values = []
        for i in range(count):
            order, = tools.order_values(pool, 1, lines=(lines, lines),
                quantity=(1, 1), products=[
                    p.id for p in products[i * lines:(i + 1) * lines]])
            order['invoice_method'] = 'manual'
            values.append(order)
        return [s.id for s in pool.get('sale.sale').create(values)]

    def codes(pool, sale_ids):
        "(shipment, code) of every unit to pick"
        result = []
        for sale in pool.get('sale.sale').browse(sale_ids):
            shipment, = sale.shipments
            assert shipment.state == 'assigned', shipment.state
            result.extend((shipment.id, m.product.identifiers[0].code)
                for m in shipment.scan_moves('pick')
                for _ in range(int(m.quantity)))
        return result

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    server_conf = os.path.join(args.workdir, 'trytond-http.conf')
    with open(conf) as fp, open(server_conf, 'w') as out:
        out.write(fp.read() + f"\n[web]\nlisten = 127.0.0.1:{port}\n")
    trytond = os.path.join(os.path.dirname(sys.executable), 'trytond')
    server = subprocess.Popen(
        [trytond, '-c', server_conf, '-d', database_of(args, True)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f'http://127.0.0.1:{port}/{database_of(args, True)}/rpc/'

    def call(method, *params, session=None):
        headers = {'Content-Type': 'application/json'}
        if session:
            headers['Authorization'] = 'Session ' + session
        request = urllib.request.Request(url, data=json.dumps({
                    'id': 1, 'method': method,
                    # the model methods take the context last, as sao sends
                    'params': list(params) + ([{}] if session else []),
                    }).encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=60) as answer:
            result = json.loads(answer.read())
        assert not result.get('error'), result['error']
        return result['result']
    try:
        work = {}
        for lines, count in [(5, scans // 5), (200, 1)]:
            sale_ids = tools.server_call(config, shipments, lines, count)
            tools.advance_orders(config, sale_ids, 'assigned')
            work[lines] = tools.server_call(config, codes, sale_ids)[:scans]
        for _ in range(600):
            try:
                user_id, key = call('common.db.login', 'warehouse',
                    {'password': tools.DEMO_PASSWORD}, 'en')[:2]
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the trytond server did not answer")
        session = base64.b64encode(
            f'warehouse:{user_id}:{key}'.encode()).decode()
        print(f"\none scan as the scan station sends it (JSON-RPC over "
            f"HTTP to trytond on 127.0.0.1 as the warehouse operator: scan, "
            f"then read its result; {scans} scans):")
        print(f"  {'lines':>8}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
        rows = {}
        for lines, todo in work.items():
            samples = []
            for shipment_id, code in todo:
                start = time.perf_counter()
                scan_id = call('model.sale.flow.scan.scan',
                    shipment_id, code, None, None, session=session)
                result, = call('model.sale.flow.scan.read', [scan_id],
                    ['result', 'message'], session=session)
                samples.append((time.perf_counter() - start) * 1000)
                assert result['result'] == 'accepted', result['message']
            samples.sort()
            rows[lines] = (statistics.median(samples),
                samples[int(len(samples) * 0.95) - 1], samples[-1])
            print(f"  {lines:>8}" + ''.join(
                    f"{v:>10.1f}" for v in rows[lines]))
        print(f"  200 / 5 lines: p50 x{rows[200][0] / rows[5][0]:.2f}, "
            f"p95 x{rows[200][1] / rows[5][1]:.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def review_scaling(args, config):
    """The stock check and the review of many orders in one call against
    one order, and the duplicate check against few and many existing
    orders"""
    from trytond.modules.sale_flow.tests import tools

    def measure(sale_ids, method):
        "ms and SQL statements of Sale.method(sales), rolled back"
        def call(pool):
            Sale = pool.get('sale.sale')
            getattr(Sale, method)(Sale.browse(sale_ids))
        elapsed, queries, measure.stock = measure_call(config, call)
        return elapsed, queries

    print("\nstock check of many orders in one call (5 lines each, one "
        "warehouse and date; ms and SQL per order, statements reading "
        "stock moves in all):")
    print(f"  {'orders':>8}{'ms':>10}{'SQL':>10}{'stock SQL':>11}")
    rows = {}
    for count in [1, args.review_batch]:
        ids = tools.create_orders(config=config, count=count,
            lines=(5, 5), seed=count + 7)
        ms, sql = measure(ids, 'stock_check_run')
        rows[count] = (ms / count, sql / count, sql, measure.stock)
        print(f"  {count:>8}{rows[count][0]:>10.1f}{rows[count][1]:>10.2f}"
            f"{measure.stock:>11}   ({sql} statements in all)")
    many = rows[args.review_batch]
    print(f"  {args.review_batch} in one call / 1: time per order "
        f"x{many[0] / rows[1][0]:.3f}, SQL per order "
        f"x{many[1] / rows[1][1]:.3f}, stock SQL in all "
        f"x{many[3] / rows[1][3]:.2f}")

    print("\nreview of many orders in one call (3 lines each; SQL and ms "
        "per order):")
    print(f"  {'orders':>8}{'quote ms':>10}{'quote SQL':>11}"
        f"{'checks ms':>11}{'checks SQL':>12}")
    rows = {}
    for count in [1, args.review_batch]:
        ids = tools.create_orders(config=config, count=count,
            lines=(3, 3), seed=count)
        checks_ms, checks_sql = measure(ids, 'review_run_checks')
        quote_ms, quote_sql = measure(ids, 'quote')
        rows[count] = (quote_ms / count, quote_sql / count,
            checks_ms / count, checks_sql / count)
        print(f"  {count:>8}{rows[count][0]:>10.1f}{rows[count][1]:>11.1f}"
            f"{rows[count][2]:>11.1f}{rows[count][3]:>12.1f}")
    one, many = rows[1], rows[args.review_batch]
    print(f"  {args.review_batch} in one call / 1: quote time per order "
        f"x{many[0] / one[0]:.3f}, SQL x{many[1] / one[1]:.3f}; checks "
        f"time per order x{many[2] / one[2]:.3f}, SQL x{many[3] / one[3]:.3f}")
    batch = review_findings(config, ids)
    alone = review_findings(config, ids, one_by_one=True)
    assert batch == alone, "the review of many orders in one call found " \
        "other findings than the review of each order alone"
    print(f"  findings of the {len(ids)} orders reviewed in one call equal "
        f"those of each order reviewed alone "
        f"({sum(len(f) for f in batch.values())} findings)")

    if not args.duplicates:
        return
    print("\nduplicate check of one new order against existing orders "
        "(spread over a year; median of 10):")
    print(f"  {'existing':>10}{'checks ms':>11}{'checks SQL':>12}")
    results = []
    for size in args.duplicates:
        def existing(pool):
            return pool.get('sale.sale').search([], count=True)
        missing = size - tools.server_call(config, existing)
        if missing > 0:
            start = time.monotonic()
            ids = tools.create_orders(config=config, count=missing,
                lines=(1, 3), seed=size, batch=1000)
            spread_dates(config, ids)
            print(f"  (created {missing} orders in "
                f"{time.monotonic() - start:.0f} s)", file=sys.stderr)
        new = tools.create_orders(config=config, count=10, lines=(3, 3),
            seed=size + 1)
        samples = [measure([i], 'review_run_checks') for i in new]
        ms = statistics.median(s[0] for s in samples)
        sql = statistics.median(s[1] for s in samples)
        results.append((size, ms, sql))
        print(f"  {size:>10}{ms:>11.1f}{sql:>12.0f}")
    (small, small_ms, small_sql), (large, large_ms, large_sql) = (
        results[0], results[-1])
    print(f"  {large} / {small} existing orders: time "
        f"x{large_ms / small_ms:.2f}, SQL x{large_sql / small_sql:.2f}")


def review_findings(config, sale_ids, one_by_one=False):
    """The findings of the review's checks of the orders run in one call
    (or in one call per order), per order, rolled back"""
    from trytond.modules.sale_flow.tests import tools
    from trytond.transaction import Transaction

    def call(pool):
        Sale = pool.get('sale.sale')
        for ids in ([[i] for i in sale_ids] if one_by_one else [sale_ids]):
            Sale.review_run_checks(Sale.browse(ids))
        result = {s.id: sorted(
                (f.check, f.severity, f.key, f.message_data, f.state,
                    f.line.id if f.line else None)
                for f in s.review_findings)
            for s in Sale.browse(sale_ids)}
        Transaction().rollback()
        return result
    return tools.server_call(config, call)


def spread_dates(config, sale_ids):
    "Spread the creation dates of generated orders over the past year"
    from trytond.modules.sale_flow.tests import tools

    def work(pool):
        from sql.operators import In

        from trytond.transaction import Transaction
        Sale = pool.get('sale.sale')
        table = Sale.__table__()
        cursor = Transaction().connection.cursor()
        now = dt.datetime.now()
        for offset in range(0, 365):
            ids = sale_ids[offset::365]
            if ids:
                cursor.execute(*table.update(
                        [table.create_date],
                        [now - dt.timedelta(days=offset + 1)],
                        where=In(table.id, ids)))
    tools.server_call(config, work)


def module_hash():
    "Fingerprint of what the benchmark databases are built from"
    digest = hashlib.sha256()
    for pattern in ['tryton.cfg', '*.xml', '*.py', 'view/*.xml',
            'tests/tools.py']:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            with open(path, 'rb') as fp:
                digest.update(fp.read())
    return digest.hexdigest()


def database_of(args, with_module):
    return args.database + ('' if with_module else '_tryton')


def report(args, results, backend):
    print(f"\nsale_flow benchmark — backend {backend}, {args.orders} orders "
        f"timed, SQL counted on {args.sql_orders} orders, one line each, "
        "one transaction per order")
    reference = next(iter(results))
    for name, result in results.items():
        print(f"\nflow '{name}': {FLOWS[name][0].__doc__}")
        print(f"  {'step':<12}{'mean ms':>10}{'median ms':>11}"
            f"{'SQL/order':>11}")
        step_names = list(result['steps'][0].times)
        for step in step_names:
            times = [s.times[step] for s in result['steps']]
            queries = [s.queries[step] for s in result['sql']] or [0]
            print(f"  {step:<12}{statistics.mean(times):>10.1f}"
                f"{statistics.median(times):>11.1f}"
                f"{statistics.mean(queries):>11.0f}")
        total = statistics.mean(result['totals'])
        queries = statistics.mean(
            sum(s.queries.values()) for s in result['sql'])
        print(f"  {'per order':<12}{total:>10.1f}"
            f"{statistics.median(result['totals']):>11.1f}{queries:>11.0f}"
            f"   ({1000 / total:.2f} orders/s, with commit and restarts)")
        result['mean'], result['queries'] = total, queries
    print(f"\nratios against '{reference}' (same run):")
    base = results[reference]
    for name, result in results.items():
        print(f"  {name:<20} time x{result['mean'] / base['mean']:.2f}"
            f"   SQL x{result['queries'] / base['queries']:.2f}")

    def outbound(result):
        "ms and SQL of scanning (where there is), picking and packing"
        steps = ['scan', 'pick', 'pack']
        return (sum(statistics.mean(s.times.get(n, 0)
                    for s in result['steps']) for n in steps),
            sum(statistics.mean(s.queries.get(n, 0)
                    for s in result['sql']) for n in steps))
    base_ms, base_sql = outbound(base)
    print(f"\noutbound per order (scan + pick + pack) against '{reference}'"
        " (pick + pack):")
    for name, result in results.items():
        ms, sql = outbound(result)
        print(f"  {name:<20}{ms:>8.1f} ms x{ms / base_ms:.2f}"
            f"{sql:>8.0f} SQL x{sql / base_sql:.2f}")

    writes_per_step(args, results)

    def ship(result):
        return (statistics.mean(s.times['ship'] for s in result['steps']),
            statistics.mean(s.queries['ship'] for s in result['sql']))
    base_ms, base_sql = ship(base)
    print(f"\nship per order (sale_flow: recording the tracking number, its "
        f"checks, the customer e-mail queued) against '{reference}':")
    for name, result in results.items():
        ms, sql = ship(result)
        print(f"  {name:<20}{ms:>8.1f} ms x{ms / base_ms:.2f}"
            f"{sql:>8.0f} SQL x{sql / base_sql:.2f}")


# the steps of a flow compared with another step of the reference flow:
# sale_flow's approval confirms the order
SAME_STEP = {'approve': 'confirm'}


def writes_per_step(args, results):
    """Print the writes (INSERT, UPDATE, DELETE) per order of each step of
    each flow against the reference flow, and the tables of the extra
    ones"""
    reference, *others = results
    base = results[reference]['sql']
    names = []
    for name in [*others, reference]:
        for step in results[name]['sql'][0].writes:
            if step not in names and step not in SAME_STEP.values():
                names.append(step)

    def writes(sql, step):
        if step not in sql[0].writes:
            return None
        return statistics.mean(s.writes[step] for s in sql)

    def tables(sql, step):
        total = collections.Counter()
        for s in sql:
            total.update(s.tables.get(step, {}))
        return {t: n / len(sql) for t, n in total.items()}
    print(f"\nwrites (INSERT, UPDATE, DELETE statements) per order and "
        f"step against '{reference}' (counted on {args.sql_orders} "
        "orders; a step missing from a flow counts 0; approve/confirm: "
        "the approval confirms the order):")
    for name in others:
        sql = results[name]['sql']
        print(f"  {'step':<16}{reference:>10}{name:>12}{'extra':>8}   "
            "extra writes by table")
        for step in names:
            step_base = SAME_STEP.get(step, step)
            a, b = writes(base, step_base), writes(sql, step)
            extra = (b or 0) - (a or 0)
            more = tables(sql, step)
            for table, count in tables(base, step_base).items():
                more[table] = more.get(table, 0) - count
            detail = ', '.join(f'{t} {n:+g}' for t, n in sorted(
                    more.items(), key=lambda i: -abs(i[1])) if n)
            label = (step if step_base == step
                else f'{step}/{step_base}')
            print(f"  {label:<16}"
                + (f"{a:>10.1f}" if a is not None else f"{'-':>10}")
                + (f"{b:>12.1f}" if b is not None else f"{'-':>12}")
                + f"{extra:>+8.1f}   {detail}")
        total_a = statistics.mean(sum(s.writes.values()) for s in base)
        total_b = statistics.mean(sum(s.writes.values()) for s in sql)
        print(f"  {'per order':<16}{total_a:>10.1f}{total_b:>12.1f}"
            f"{total_b - total_a:>+8.1f}")
    print("  the flow timeline itself adds no write: sale.flow.timeline and "
        "the board are queries (table_query) over Tryton's log of the "
        "transitions (ir_model_log, written in both flows) and the records "
        "the steps keep anyway (review decisions, stock lines, "
        "signatures)")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--orders', type=int, default=30)
    parser.add_argument('--sql-orders', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--customers', type=int, default=50)
    parser.add_argument('--products', type=int, default=100)
    parser.add_argument('--database', default='sale_flow_bench')
    parser.add_argument(
        '--workdir', default=os.path.join(ROOT, 'var', 'bench'))
    parser.add_argument('--rebuild', action='store_true')
    parser.add_argument('--review-batch', type=int, default=500,
        help="orders reviewed in one call (0: skip)")
    parser.add_argument('--scan-round-trip', type=int, default=100,
        help="scans sent over HTTP to a trytond server (0: skip)")
    parser.add_argument('--duplicates', type=lambda v: [
            int(x) for x in v.split(',')], default=[],
        help="existing order counts for the duplicate check, "
        "e.g. 1000,100000")
    args = parser.parse_args()
    args.uri = os.environ.get('TRYTOND_DATABASE_URI', 'sqlite://')
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    conf = os.path.join(args.workdir, 'trytond.conf')
    with open(conf, 'w') as fp:
        fp.write(f"[database]\nuri = {args.uri}\npath = {args.workdir}\n")
    os.environ['TRYTOND_CONFIG'] = conf
    backend = args.uri.split(':', 1)[0]
    if backend.startswith('postgresql'):
        from urllib.parse import urlparse
        parsed = urlparse(args.uri)
        args.pg_host = parsed.hostname or '127.0.0.1'
        args.pg_port = str(parsed.port or 5432)
        args.pg_user = parsed.username or 'postgres'
    for logger in SQL_LOGGERS:
        logger.addHandler(COUNTER)
        logger.propagate = False
    # SQLite installs its statement trace on new connections only when
    # DEBUG is enabled: leave it enabled, the handler decides.
    logging.getLogger('trytond.backend.sqlite.database').setLevel(
        logging.DEBUG)

    for with_module in [False, True]:
        database = database_of(args, with_module)
        built = os.path.join(args.workdir, database + '.built')
        if (args.rebuild or backend != 'sqlite'
                or not os.path.exists(built)
                or open(built).read() != module_hash()):
            start = time.monotonic()
            print(f"building the benchmark database {database}...",
                file=sys.stderr)
            build_database(args, conf, database, with_module)
            print(f"built in {time.monotonic() - start:.0f} s",
                file=sys.stderr)
    counting(False)
    results = run(args, conf)
    report(args, results, backend)
    from proteus import config as pconfig
    config = pconfig.TrytondConfig(database_of(args, True), config_file=conf)
    scan_scaling(args, config)
    if args.scan_round_trip:
        scan_round_trip(args, conf, config, scans=args.scan_round_trip)
    if args.review_batch:
        review_scaling(args, config)


if __name__ == '__main__':
    main()
