#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Load benchmark of the production serve: concurrent operators over
JSON-RPC against scripts/serve (gunicorn sync workers, trytond-worker and
trytond-cron on a PostgreSQL of its own), sale_flow's flow against
Tryton's own flow driven the same way in the same run.

    .venv/bin/python bench/load.py                  # the default matrix
    .venv/bin/python bench/load.py --workers 1,2,4 --operators 4,8,16
    .venv/bin/python bench/load.py --ci             # short, with a crash

Each operator is a thread that carries one order at a time through the
whole flow, every call with the session of the demo role that does that
step (scripts/demo_data.py): sale_flow's flow is intake (clerk) → quote
(clerk) → approve (reviewer; a short hot line gets a "wait for
replenishment" decision first) → the processing by trytond-worker (waited
for) → assign → scan → pick → pack (warehouse) → ship → sign (shipping);
Tryton's own flow, on a database with only the Tryton modules sale_flow
depends on, is create → quote → confirm (sales clerk) → process (sales
administrator) → assign → pick → pack → ship → done (stock operator).
Every order has one unit of a hot product, stocked for a share of the
orders only (it runs out during the run), and one unit of another product.
An operator repeats a call whose answer was lost (a worker killed, a
connection refused) as a person clicking again would.

Per setting it prints the delivered orders per second of both flows and
their ratio, p50/p95/max per step, the errors operators saw by type and
the invariants read by SQL at the end.  --ci: 2 workers, 4 operators, 40
orders, one gunicorn worker killed (by its pid) in the middle of
sale_flow's run; the exit status is 1 on any invariant violation.

Every run counts the customers' e-mails the mail sink received against
the shipments that were shipped (or packed for pickup): each one once.
Faults in the middle of sale_flow's run (--fault, more than once):
pg-restart restarts the benchmark's own PostgreSQL (pg_ctl on its data
folder; the processes of the serve must reconnect, the operators see at
most an error they retry); mail-down stops the mail sink for
--mail-down seconds (60): the e-mails wait in Tryton's queue and are sent
when it is back, once each.  With a fault, an order an operator could not
finish counts as a violation.

Everything listens on 127.0.0.1 only, on free ports; the run-time files
are in a temporary folder (--keep keeps it); everything started is
stopped at the end, also on Ctrl-C or an error.
"""

import argparse
import collections
import email
import email.header
import glob
import html
import http.client
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
import urllib.error

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

import serve_check  # noqa: E402 (scripts/serve_check.py)
from serve_check import Client, RPCError, alive, free_port  # noqa: E402

DB = serve_check.DB
TRYTON_DB = DB + '_tryton'
# the demo's sizes (small: the run makes its own orders)
DEMO_SIZES = ['--orders', '18', '--customers', '24', '--products', '40']

# Tryton's own roles on the database without sale_flow
TRYTON_ROLES = [
    ('clerk', "Sales Clerk", ['sale.group_sale']),
    ('saleadmin', "Sales Administrator",
        ['sale.group_sale', 'sale.group_sale_admin']),
    ('stock', "Stock Operator", ['stock.group_stock']),
    ]
FLOWS = ['sale_flow', 'tryton']
STEPS = {
    'sale_flow': ['intake', 'quote', 'decide', 'override', 'approve',
        'stock check', 'process', 'assign', 'scan', 'pick', 'pack', 'ship',
        'sign'],
    'tryton': ['create', 'quote', 'confirm', 'process', 'assign', 'pick',
        'pack', 'ship', 'done'],
    }
# transport failures: the connection lost or refused (a worker killed)
TRANSPORT = (ConnectionError, http.client.HTTPException, urllib.error.URLError,
    TimeoutError)


class Stopped(Exception):
    "SIGTERM: stop as on Ctrl-C"


def on_sigterm(signum, frame):
    raise Stopped()


# --- the serve --------------------------------------------------------------

class Serve:
    "scripts/serve with its run-time files in a folder of its own"

    def __init__(self, directory, port, mail_port):
        self.directory = directory
        self.port = port
        self.mail_port = mail_port
        self.url = f'http://127.0.0.1:{port}/'
        self.workers = None
        self.databases = []
        self.pids = set()

    def run(self, *args, check=True):
        env = dict(os.environ, SALE_FLOW_SERVE=self.directory)
        if self.databases:
            # the gunicorn workers load the pools of these databases when
            # they start (scripts/serve gives its own database only): a
            # pool loaded at a worker's first request to its database
            # stays empty in trytond 8.0 (every login answers 'res.user')
            env['GUNICORN_CMD_ARGS'] = (
                '--env TRYTOND_DATABASE_NAMES=' + ','.join(self.databases))
        result = subprocess.run([os.path.join(ROOT, 'scripts', 'serve'),
                *args], env=env, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        if check and result.returncode:
            sys.stdout.write(result.stdout)
            raise SystemExit(f"scripts/serve {args[0]} failed "
                f"(exit {result.returncode}): see {self.directory}")
        return result

    def start(self, workers, databases=()):
        databases = list(databases)
        if self.workers == workers and self.databases == databases:
            return
        if self.workers is not None:
            self.stop()
        self.databases = databases
        started = time.monotonic()
        self.run('start', '--local-pg', '--demo', *DEMO_SIZES,
            '--workers', str(workers), '--port', str(self.port),
            '--email-uri', f'smtp://127.0.0.1:{self.mail_port}')
        self.workers = workers
        self.pids |= serve_check.process_groups(self.directory)
        print(f"scripts/serve started with {workers} workers in "
            f"{time.monotonic() - started:.0f} s", file=sys.stderr)

    def stop(self):
        "scripts/serve stop, then whatever is left of it by pid"
        self.pids |= self.running_pids()
        if os.path.exists(os.path.join(self.directory, 'serve.env')):
            self.run('stop', check=False)
        self.workers = None
        postmaster = self.postmaster()
        if postmaster and alive(postmaster):
            # a start that failed half-way leaves its PostgreSQL running:
            # PostgreSQL's fast shutdown
            os.kill(postmaster, signal.SIGINT)
            for _ in range(100):
                if not alive(postmaster):
                    break
                time.sleep(0.1)
        for pid in sorted(p for p in self.pids if alive(p)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.pids.clear()

    def postmaster(self):
        try:
            with open(os.path.join(
                        self.directory, 'pg', 'data', 'postmaster.pid')) as f:
                return int(f.readline())
        except (FileNotFoundError, ValueError):
            return None

    def running_pids(self):
        try:
            return serve_check.process_groups(self.directory)
        except (FileNotFoundError, ValueError):
            return set()

    def gunicorn_workers(self):
        "The pids of gunicorn's worker processes (its children)"
        with open(os.path.join(self.directory, 'gunicorn.pid')) as file:
            master = file.read().strip()
        out = subprocess.run(['ps', '-o', 'pid=', '--ppid', master],
            stdout=subprocess.PIPE, text=True).stdout
        return [int(p) for p in out.split()]

    @property
    def pg_port(self):
        with open(os.path.join(self.directory, 'pg', 'port')) as file:
            return int(file.read())

    def sql(self, database, query, *params):
        "The rows of a query as the postgres user"
        import psycopg
        with psycopg.connect(host='127.0.0.1', port=self.pg_port,
                user='postgres', dbname=database, autocommit=True) as conn:
            with conn.cursor() as cursor:
                cursor.execute(query, params or None)
                return cursor.fetchall() if cursor.description else []


class MailSink:
    "scripts/mail_sink.py on a port of its own; stopped and started again"

    def __init__(self, port, folder):
        self.port = port
        self.folder = folder
        self.process = None

    def start(self):
        self.process = subprocess.Popen([sys.executable,
                os.path.join(ROOT, 'scripts', 'mail_sink.py'),
                '--port', str(self.port), '--out', self.folder])
        # listening before it is used
        for _ in range(100):
            try:
                with socket.create_connection(('127.0.0.1', self.port), 1):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the mail sink did not start")

    def stop(self):
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def shipments(self):
        "The shipment numbers of the e-mails received: {number: count}"
        received = collections.Counter()
        for name in os.listdir(self.folder):
            with open(os.path.join(self.folder, name), 'rb') as file:
                message = email.message_from_binary_file(file)
            subject = str(email.header.make_header(
                    email.header.decode_header(message['Subject'] or '')))
            found = re.search(r'\(shipment ([^)]+)\)', subject)
            if found:
                received[found.group(1)] += 1
        return received


def restart_postgresql(serve):
    "pg_ctl restart (fast) of the serve's own cluster; the seconds it took"
    data = os.path.join(serve.directory, 'pg', 'data')
    bin_dir = sorted(glob.glob('/usr/lib/postgresql/*/bin'),
        key=lambda p: [int(n) for n in re.findall(r'\d+', p)])[-1]
    command = [os.path.join(bin_dir, 'pg_ctl'), '-D', data, '-l',
        os.path.join(serve.directory, 'pg', 'server.log'), '-m', 'fast',
        '-w', 'restart']
    if os.getuid() == 0:
        # the cluster belongs to the postgres user (scripts/serve)
        command = ['runuser', '-u', 'postgres', '--'] + command
    before = serve.postmaster()
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    print(f"  restarted PostgreSQL (postmaster {before} -> "
        f"{serve.postmaster()}) in {seconds:.1f} s", file=sys.stderr)
    return seconds


def build_tryton_database(serve, customers, products):
    """The database of Tryton's own flow in the same PostgreSQL: the
    Tryton modules sale_flow depends on, the demo generator's company,
    warehouse, customers and products, and Tryton's roles"""
    marker = os.path.join(serve.directory, TRYTON_DB + '.built')
    if os.path.exists(marker):
        return
    import configparser
    started = time.monotonic()
    if not serve.sql('postgres',
            'SELECT 1 FROM pg_database WHERE datname = %s', TRYTON_DB):
        serve.sql('postgres', f'CREATE DATABASE "{TRYTON_DB}"')
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, 'tryton.cfg'))
    modules = [m for m in config.get('tryton', 'depends').split()
        if m not in {'ir', 'res'}]
    conf = os.path.join(serve.directory, 'admin.conf')
    env = dict(os.environ, TRYTONPASSFILE=os.path.join(
            serve.directory, 'admin-password'), TRYTOND_CONFIG=conf)
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    subprocess.run([admin, '-c', conf, '-d', TRYTON_DB, '-u', *modules,
            '--activate-dependencies', '--email', 'admin@example.com'],
        check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, os.path.abspath(__file__),
            '--build-tryton', conf, '--customers', str(customers),
            '--products', str(products)], check=True, env=env)
    open(marker, 'w').close()
    print(f"built the database {TRYTON_DB} in "
        f"{time.monotonic() - started:.0f} s", file=sys.stderr)


def build_tryton_data(conf, customers, products):
    "Run in a process of its own: the demo generator on TRYTON_DB"
    from proteus import config as pconfig

    from trytond.modules.sale_flow.tests import tools
    config = pconfig.set_trytond(TRYTON_DB, config_file=conf)
    # the generator's users are Tryton's roles here
    tools.ROLE_USERS = TRYTON_ROLES
    tools.setup_demo(config=config, customers=customers, products=products)


# --- the operators ----------------------------------------------------------

def describe(exception):
    "The kind of an error an operator saw, without its numbers"
    if isinstance(exception, RPCError):
        if exception.status:
            # werkzeug's page: its title, then the description
            body = html.unescape(re.sub(r'<[^>]+>', ' ', exception.body))
            body = ' '.join(body.split()).replace(
                f'{exception.status} Service Unavailable ', '', 1)
            text = f"HTTP {exception.status} {body}"
        else:
            error = exception.error
            if (isinstance(error, list) and len(error) == 2
                    and isinstance(error[1], list) and error[1]):
                text = f"{error[0]}: {error[1][0]}"
            else:
                text = f"server error: {error[0] if error else error}"
                text = text.splitlines()[0]
    else:
        text = f"connection: {type(exception).__name__} {exception}"
    # the status kept, the other numbers (records, quantities) folded
    head = ' '.join(text.split()[:2]) + ' ' if text.startswith('HTTP') else ''
    text = head + re.sub(r'\d+', 'N', text[len(head):])
    return text[:200]


def is_user_error(exception):
    return (isinstance(exception, RPCError) and not exception.status
        and isinstance(exception.error, list)
        and exception.error[:1] in (['UserError'], ['UserWarning']))


class OrderFailed(Exception):
    pass


class Stats:
    "What the operators of one run measured and saw, shared by threads"

    def __init__(self):
        self.lock = threading.Lock()
        self.times = collections.defaultdict(list)
        self.errors = collections.Counter()
        self.answers = collections.Counter()
        self.outcomes = collections.Counter()
        self.checks = collections.Counter()
        self.started = self.ended = None

    def time(self, step, seconds):
        with self.lock:
            self.times[step].append(seconds * 1000)

    def error(self, step, kind):
        with self.lock:
            self.errors[f"{step}: {kind}"] += 1

    def answer(self, step, kind):
        "A refusal the operator expected and handled (e.g. stock short)"
        with self.lock:
            self.answers[f"{step}: {kind}"] += 1

    def outcome(self, kind):
        with self.lock:
            self.outcomes[kind] += 1
            self.ended = time.monotonic()

    def check(self, kind):
        with self.lock:
            self.checks[kind] += 1


class Desk:
    "One role's session of an operator: model calls with its context"

    def __init__(self, url, database, login, password):
        for attempt in range(20):
            try:
                self.client = Client(url, login, password, database=database)
                self.context = self.client.call(
                    'model.res.user.get_preferences', True, {})
                # the messages in English, whatever the user's language
                self.context['language'] = 'en'
                break
            except (RPCError,) + TRANSPORT:
                # a worker's first request to a database loads its pool
                # (trytond 8.0 may refuse that first login)
                if attempt == 19:
                    raise
                time.sleep(0.5)

    def __call__(self, method, *params, context=None):
        return self.client.call('model.' + method, *params,
            dict(self.context, **(context or {})))


class Operator:
    "Carries orders through a flow, each call as the role of its step"

    def __init__(self, run, roles):
        self.run = run
        self.stats = run.stats
        self.desks = {role: Desk(run.url, run.database, role, run.password)
            for role in roles}

    def step(self, name, role, func, done=None, refusals=False):
        """Run one step: func(desk); a lost answer is asked again (after a
        second), and a refusal of the repeat is taken as done when done()
        says the step happened; with refusals, a refusal (a user error)
        goes to the caller"""
        desk = self.desks[role]
        start = time.perf_counter()
        lost = False
        for attempt in range(4):
            try:
                result = func(desk)
                break
            except TRANSPORT + (RPCError,) as exception:
                transient = not isinstance(exception, RPCError) or bool(
                    exception.status and exception.status >= 500)
                if refusals and not lost and is_user_error(exception):
                    raise
                self.stats.error(name, describe(exception))
                if transient and attempt < 3:
                    lost = True
                    time.sleep(1)
                    continue
                if lost and done and is_user_error(exception) and done(desk):
                    self.stats.check(f"{name}: repeated after a lost "
                        "answer, the step had happened")
                    result = None
                    break
                raise OrderFailed(name)
        self.stats.time(name, time.perf_counter() - start)
        return result

    def call(self, role, method, *params):
        "A read between steps, asked again when its answer is lost"
        for attempt in range(4):
            try:
                return self.desks[role](method, *params)
            except TRANSPORT + (RPCError,) as exception:
                self.stats.error('read', describe(exception))
                transient = not isinstance(exception, RPCError) or bool(
                    exception.status and exception.status >= 500)
                if not transient or attempt == 3:
                    raise OrderFailed('read')
                time.sleep(1)

    def work(self):
        while True:
            order = self.run.next_order()
            if order is None:
                return
            try:
                outcome = self.run.flow(self, order)
            except OrderFailed as failed:
                outcome = f"failed at {failed}"
            except Exception as exception:  # an operator's crash is counted
                self.stats.error('driver', describe(exception))
                outcome = 'failed in the driver'
            self.stats.outcome(outcome)


class Run:
    """One flow at one setting: the orders, the hot product, the
    operators' threads"""

    def __init__(self, bench, flow, operators, orders, seconds, seed):
        self.bench = bench
        self.flow_name = flow
        self.database = DB if flow == 'sale_flow' else TRYTON_DB
        self.url = bench.serve.url
        self.password = bench.password
        self.flow = getattr(self, 'flow_' + flow)
        self.operators = operators
        self.count = orders
        self.deadline = None
        self.seconds = seconds
        self.stats = Stats()
        self.taken = 0
        self.lock = threading.Lock()
        self.seed = seed
        self.data = bench.data[flow]
        self.admin = bench.admins[flow]
        self.tag = f'{bench.tag}-{seed}'

    def next_order(self):
        with self.lock:
            if self.taken >= self.count or time.monotonic() > self.deadline:
                return None
            self.taken += 1
            return self.plan[self.taken - 1]

    def prepare(self):
        """A new hot product stocked for a share of the orders, and the
        orders: the same customers and other products in both flows"""
        data = self.data
        self.hot_stock = max(1, math.floor(self.count * self.bench.hot_share))
        self.hot = self.bench.hot_product(self.admin, data, self.hot_stock)
        rng = random.Random(self.seed)
        self.plan = []
        for i in range(self.count):
            customer = data.customers[rng.randrange(len(data.customers))]
            other = data.products[rng.randrange(len(data.products))]
            carrier = (data.carriers[rng.randrange(len(data.carriers))]
                if data.carriers else None)
            self.plan.append(types.SimpleNamespace(
                    number=i, customer=customer, products=[self.hot, other],
                    carrier=carrier,
                    reference=f'LOAD-{self.tag}-{i:04d}',
                    duplicate=(i % 10 == 3)))
        self.first_sale = self.admin('sale.sale.search', [], 0, 1,
            [('id', 'DESC')]) or [0]
        self.first_sale = self.first_sale[0]

    def execute(self, faults=()):
        """Run the operators; faults: (share of the orders done, name,
        func), each func called once when that share is done; returns
        {name: what func returned}"""
        roles = (['clerk', 'reviewer', 'warehouse', 'shipping']
            if self.flow_name == 'sale_flow'
            else ['clerk', 'saleadmin', 'stock'])
        operators = [Operator(self, roles) for _ in range(self.operators)]
        threads = [threading.Thread(target=o.work, daemon=True)
            for o in operators]
        self.stats.started = time.monotonic()
        self.deadline = self.stats.started + self.seconds
        for thread in threads:
            thread.start()
        done = {}
        while any(t.is_alive() for t in threads):
            finished = sum(self.stats.outcomes.values())
            for share, name, func in faults:
                if name not in done and finished >= int(self.count * share):
                    done[name] = func()
            time.sleep(0.2)
        return done

    # sale_flow: intake → quote → approve → process (the queue) → assign →
    # scan → pick → pack → ship → sign

    def flow_sale_flow(self, op, order):
        values = {
            'channel': 'web', 'reference': order.reference,
            'customer': order.customer.code,
            'lines': [{'product': p.code, 'quantity': 1}
                for p in order.products],
            }
        if order.duplicate:
            sale_id = self.duplicate_intake(op, values)
        else:
            sale_id, = op.step('intake', 'clerk',
                lambda d: d('sale.sale.intake', [values]))
        op.step('quote', 'clerk', lambda d: d('sale.sale.quote', [sale_id]),
            done=lambda d: self.sale_state(d, sale_id) != 'draft')
        self.approve(op, sale_id)
        shipment_id = self.processed(op, sale_id)
        if not self.assign(op, shipment_id, 'warehouse'):
            return 'waiting for stock'
        shipment, = op.call('warehouse', 'stock.shipment.out.read',
            [shipment_id], ['inventory_moves', 'outgoing_moves', 'carrier'])
        moves = op.call('warehouse', 'stock.move.read',
            shipment['inventory_moves'] or shipment['outgoing_moves'],
            ['product', 'quantity', 'state'])
        codes = [self.data.code[m['product']] for m in moves
            if m['state'] not in {'cancelled', 'staging'}
            for _ in range(int(m['quantity']))]
        for code in codes:
            self.scan(op, shipment_id, code)
        self.shipment_step(op, 'pick', 'warehouse', shipment_id, 'picked')
        if self.data.scan_pack_strict:
            for code in codes:
                self.scan(op, shipment_id, code)
        self.shipment_step(op, 'pack', 'warehouse', shipment_id, 'packed')
        self.ship(op, shipment_id, shipment['carrier'])
        self.sign(op, order, shipment_id)
        return 'delivered'

    def duplicate_intake(self, op, values):
        """The web shop sends the order twice at once (a retry): both must
        get the one sale"""
        results = [None, None]

        def send(i):
            try:
                results[i], = op.step('intake', 'clerk',
                    lambda d: d('sale.sale.intake', [values]))
            except OrderFailed:
                results[i] = 'failed'
        # the second sender is the same clerk's session
        other = threading.Thread(target=send, args=(1,))
        other.start()
        send(0)
        other.join()
        if results[0] == results[1] and isinstance(results[0], int):
            self.stats.check("intake sent twice at once: both got the sale")
            return results[0]
        self.stats.check("intake sent twice at once: NOT both the sale")
        ids = [r for r in results if isinstance(r, int)]
        if not ids:
            raise OrderFailed('intake')
        return ids[0]

    def sale_state(self, desk, sale_id):
        sale, = desk('sale.sale.read', [sale_id], ['state'])
        return sale['state']

    def approve(self, op, sale_id):
        """The reviewer settles the blocking findings (a short line: wait
        for replenishment; others: overridden), then approves; refused
        for a shortage that only the approval's checks found, the reviewer
        checks the stock again (the button) and decides on the short
        lines"""
        def approved(d):
            sale, = d('sale.sale.read', [sale_id], ['review_state'])
            return sale['review_state'] == 'approved'
        short_lines = []
        for attempt in range(3):
            findings = op.call('reviewer',
                'sale.flow.review.finding.search_read', [
                    ('sale', '=', sale_id), ('state', '=', 'open'),
                    ('severity', '=', 'blocking')], 0, None, None,
                ['check', 'line'])
            short_lines += [f['line'] for f in findings
                if f['check'] == 'stock' and f['line'] not in short_lines]
            others = [f['id'] for f in findings if f['check'] != 'stock']
            if short_lines:
                self.stats.answer('approve', "stock short: the reviewer "
                    "decides to wait for replenishment")

                def decide(d):
                    ids = d('sale.flow.stock.decision.create', [{
                                'sale': sale_id, 'line': line,
                                'kind': 'wait',
                                'contact': "load benchmark",
                                } for line in short_lines])
                    d('sale.flow.stock.decision.apply', ids)
                op.step('decide', 'reviewer', decide)
            if others:
                self.stats.answer('approve', "blocking findings "
                    "overridden: " + ', '.join(sorted(
                            {f['check'] for f in findings
                                if f['check'] != 'stock'})))

                def override(d):
                    d('sale.flow.review.finding.write', others, {
                            'override_reason': "Load benchmark."})
                    d('sale.flow.review.finding.override', others)
                op.step('override', 'reviewer', override)
            try:
                op.step('approve', 'reviewer',
                    lambda d: d('sale.sale.review_approve', [sale_id]),
                    done=approved, refusals=True)
                return
            except RPCError as exception:
                # the checks run again at approval found what blocks:
                # their findings were rolled back with the refusal
                self.stats.answer('approve', describe(exception))
            op.step('stock check', 'reviewer',
                lambda d: d('sale.sale.stock_check', [sale_id]))
            decided = {d['line'] for d in op.call('reviewer',
                    'sale.flow.stock.decision.search_read', [
                        ('sale', '=', sale_id), ('state', '=', 'applied')],
                    0, None, None, ['line'])}
            short_lines = [l['line'] for l in op.call('reviewer',
                    'sale.flow.stock.line.search_read', [
                        ('sale', '=', sale_id),
                        ('superseded_at', '=', None),
                        ('shortage', '>', 0)], 0, None, None, ['line'])
                if l['line'] not in decided]
        raise OrderFailed('approve')

    def processed(self, op, sale_id):
        """Wait for trytond-worker to process the confirmed order: its
        shipment"""
        start = time.perf_counter()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                sale, = op.desks['reviewer']('sale.sale.read', [sale_id],
                    ['state', 'shipments'])
            except TRANSPORT + (RPCError,) as exception:
                self.stats.error('process', describe(exception))
                time.sleep(1)
                continue
            if sale['shipments']:
                self.stats.time('process', time.perf_counter() - start)
                return sale['shipments'][0]
            time.sleep(0.2)
        self.stats.error('process', "no shipment 120 s after the approval "
            "(the order stranded)")
        raise OrderFailed('process')

    def assign(self, op, shipment_id, role):
        def state(d):
            shipment, = d('stock.shipment.out.read', [shipment_id], ['state'])
            return shipment['state']
        op.step('assign', role,
            lambda d: d('stock.shipment.out.assign_try', [shipment_id]),
            done=lambda d: state(d) != 'waiting')
        shipment, = op.call(role, 'stock.shipment.out.read', [shipment_id],
            ['state'])
        return shipment['state'] == 'assigned'

    def scan(self, op, shipment_id, code):
        def scan(d):
            scan_id = d('sale.flow.scan.scan', shipment_id, code, None, None)
            result, = d('sale.flow.scan.read', [scan_id], ['result'])
            return result['result']
        result = op.step('scan', 'warehouse', scan)
        if result != 'accepted':
            self.stats.answer('scan', f"scan {result}")

    def shipment_step(self, op, name, role, shipment_id, state, method=None):
        def reached(d):
            shipment, = d('stock.shipment.out.read', [shipment_id], ['state'])
            return shipment['state'] == state
        op.step(name, role, lambda d: d(
                f'stock.shipment.out.{method or name}', [shipment_id]),
            done=reached)

    def ship(self, op, shipment_id, carrier):
        def ship(d):
            number = self.data.tracking.get(carrier)
            if number:
                d('stock.shipment.out.write', [shipment_id], {
                        'shipping_reference': number(shipment_id)})
            d('stock.shipment.out.ship', [shipment_id])

        def reached(d):
            shipment, = d('stock.shipment.out.read', [shipment_id], ['state'])
            return shipment['state'] in {'shipped', 'done'}
        op.step('ship', 'shipping', ship, done=reached)

    def sign(self, op, order, shipment_id):
        shipment, = op.call('shipping', 'stock.shipment.out.read',
            [shipment_id], ['outgoing_moves'])
        moves = op.call('shipping', 'stock.move.read',
            shipment['outgoing_moves'], ['quantity', 'state'])
        values = {
            'signer': order.customer.name,
            'identity': order.customer.identity,
            'image': self.bench.signature,
            'lines': [{'move': m['id'], 'accepted': m['quantity']}
                for m in moves if m['state'] != 'cancelled' and m['quantity']],
            }

        def signed(d):
            shipment, = d('stock.shipment.out.read', [shipment_id], ['state'])
            return shipment['state'] == 'done'
        op.step('sign', 'shipping',
            lambda d: d('sale.flow.signature.sign', shipment_id, values),
            done=signed)

    # Tryton's own flow: create → quote → confirm → process → assign →
    # pick → pack → ship → done

    def flow_tryton(self, op, order):
        customer = order.customer
        values = {
            'party': customer.id,
            'invoice_address': customer.address,
            'shipment_address': customer.address,
            'carrier': order.carrier,
            'lines': [('create', [{
                            'type': 'line', 'product': p.id, 'unit': p.unit,
                            'quantity': 1, 'unit_price': p.price,
                            } for p in order.products])],
            }
        sale_id, = op.step('create', 'clerk',
            lambda d: d('sale.sale.create', [values]))
        op.step('quote', 'clerk', lambda d: d('sale.sale.quote', [sale_id]),
            done=lambda d: self.sale_state(d, sale_id) != 'draft')
        op.step('confirm', 'clerk',
            lambda d: d('sale.sale.confirm', [sale_id]),
            done=lambda d: self.sale_state(d, sale_id) != 'quotation')
        op.step('process', 'saleadmin',
            lambda d: d('sale.sale.process', [sale_id]))
        sale, = op.call('saleadmin', 'sale.sale.read', [sale_id],
            ['shipments'])
        if not sale['shipments']:
            self.stats.error('process', "no shipment after process")
            raise OrderFailed('process')
        shipment_id = sale['shipments'][0]
        if not self.assign(op, shipment_id, 'stock'):
            return 'waiting for stock'
        self.shipment_step(op, 'pick', 'stock', shipment_id, 'picked')
        self.shipment_step(op, 'pack', 'stock', shipment_id, 'packed')
        self.shipment_step(op, 'ship', 'stock', shipment_id, 'shipped')
        self.shipment_step(op, 'done', 'stock', shipment_id, 'done',
            method='do')
        return 'delivered'


# --- the invariants ---------------------------------------------------------

# A task that fails on the database (PostgreSQL restarted under it) is
# pushed again by trytond-worker as a new task with the same data; the
# failed one stays in ir_queue, taken and never finished.
RESCHEDULED_WHERE = """q.finished_at IS NULL AND q.dequeued_at IS NOT NULL
    AND EXISTS (SELECT 1 FROM ir_queue r
        WHERE r.id > q.id AND r.finished_at IS NOT NULL
            AND CAST(r.data AS TEXT) = CAST(q.data AS TEXT))"""
QUEUE_LEFT = ("SELECT {columns} FROM ir_queue q WHERE q.finished_at IS NULL "
    "AND NOT (" + RESCHEDULED_WHERE + ")")
RESCHEDULED = "SELECT q.id, q.name FROM ir_queue q WHERE " + RESCHEDULED_WHERE


def invariants(serve, database, first_sale, queue_wait=60):
    """Violations read by SQL once the queue is done (or queue_wait
    seconds): {name: (count, examples)}"""
    sql = serve.sql
    deadline = time.monotonic() + queue_wait
    while time.monotonic() < deadline:
        left, = sql(database, QUEUE_LEFT.format(columns='COUNT(*)'))[0]
        if not left:
            break
        time.sleep(1)
    result = {}

    def rows(name, query, *params):
        found = sql(database, query, *params)
        result[name] = (len(found), found[:3])

    # on hand (done moves) and available to reserve (less the assigned
    # moves out) per product and storage location
    rows("negative stock quantity", """
        WITH q AS (
            SELECT l.id AS location, m.product,
                SUM(CASE WHEN m.to_location = l.id AND m.state = 'done'
                    THEN m.internal_quantity ELSE 0 END)
                - SUM(CASE WHEN m.from_location = l.id
                    AND m.state IN ('done', 'assigned')
                    THEN m.internal_quantity ELSE 0 END) AS available,
                SUM(CASE WHEN m.to_location = l.id AND m.state = 'done'
                    THEN m.internal_quantity ELSE 0 END)
                - SUM(CASE WHEN m.from_location = l.id AND m.state = 'done'
                    THEN m.internal_quantity ELSE 0 END) AS on_hand
            FROM stock_location l
            JOIN stock_move m
                ON m.to_location = l.id OR m.from_location = l.id
            WHERE l.type = 'storage'
            GROUP BY l.id, m.product)
        SELECT location, product, on_hand, available FROM q
        WHERE on_hand < 0 OR available < 0""")
    sales = 'SELECT id FROM sale_sale WHERE id > %s'
    shipments = f"""
        SELECT DISTINCT CAST(SPLIT_PART(m.shipment, ',', 2) AS INTEGER)
        FROM stock_move m JOIN sale_line l
            ON m.origin = 'sale.line,' || l.id
        WHERE l.sale IN ({sales})
            AND m.shipment LIKE 'stock.shipment.out,%%'"""
    rows("order stuck (confirmed or processing without a shipment)", f"""
        SELECT s.id, s.number, s.state FROM sale_sale s
        WHERE s.id IN ({sales}) AND s.state IN ('confirmed', 'processing')
            AND NOT EXISTS (
                SELECT 1 FROM stock_move m JOIN sale_line l
                    ON m.origin = 'sale.line,' || l.id
                WHERE l.sale = s.id
                    AND m.shipment LIKE 'stock.shipment.out,%%')""",
        first_sale)
    if database == DB:
        rows("duplicate intake reference", """
            SELECT company, channel, party, intake_reference, COUNT(*)
            FROM sale_sale
            WHERE intake_reference IS NOT NULL AND intake_reference != ''
            GROUP BY company, channel, party, intake_reference
            HAVING COUNT(*) > 1""")
        rows("shipment signed twice", """
            SELECT shipment, COUNT(*) FROM sale_flow_signature
            GROUP BY shipment HAVING COUNT(*) > 1""")
        rows("shipment done without signature", f"""
            SELECT s.id, s.number FROM stock_shipment_out s
            WHERE s.id IN ({shipments}) AND s.state = 'done'
                AND NOT EXISTS (SELECT 1 FROM sale_flow_signature g
                    WHERE g.shipment = s.id)""", first_sale)
        rows("scans beyond the quantity", """
            SELECT id, quantity, scanned_quantity, packed_quantity
            FROM stock_move
            WHERE scanned_quantity > quantity OR packed_quantity > quantity""")
        # each accepted scan counted once: their quantities add up to the
        # move's count (no undo or reset in this run)
        rows("accepted scans not equal to the move's scanned count", f"""
            SELECT m.id, m.scanned_quantity, SUM(c.quantity)
            FROM sale_flow_scan c JOIN stock_move m ON m.id = c.move
            WHERE c.shipment IN ({shipments}) AND c.step = 'pick'
                AND c.result = 'accepted'
            GROUP BY m.id, m.scanned_quantity
            HAVING SUM(c.quantity) != COALESCE(m.scanned_quantity, 0)""",
            first_sale)
        rows("approved without its decision record", f"""
            SELECT s.id, s.number FROM sale_sale s
            WHERE s.id IN ({sales}) AND s.review_state = 'approved'
                AND NOT EXISTS (SELECT 1 FROM sale_flow_review_decision d
                    WHERE d.sale = s.id AND d.decision = 'approved')""",
            first_sale)
        rows("queue tasks left", QUEUE_LEFT.format(
                columns='q.id, q.name, q.enqueued_at'))
        rows("(queue tasks that failed on the database and ran again as "
            "Tryton's copy)", RESCHEDULED)
    else:
        # no trytond-worker serves this database: confirm's queued
        # process waits there for ever, while the flow calls process
        left, = sql(database, QUEUE_LEFT.format(columns='COUNT(*)'))[0]
        result['(queue tasks left, not served: the flow processes)'] = (
            left, [])
    return result


def emails(serve, sink, first_sale, wait=60):
    """The customers' e-mails of sale_flow's run against the mail sink
    (waiting up to wait seconds for the missing ones): {name: (count,
    examples)}, and the number expected"""
    expected = {number for number, in serve.sql(DB, """
        SELECT s.number FROM stock_shipment_out s
        WHERE s.id IN (
                SELECT DISTINCT CAST(SPLIT_PART(m.shipment, ',', 2)
                    AS INTEGER)
                FROM stock_move m JOIN sale_line l
                    ON m.origin = 'sale.line,' || l.id
                WHERE l.sale IN (SELECT id FROM sale_sale WHERE id > %s)
                    AND m.shipment LIKE 'stock.shipment.out,%%')
            AND CASE WHEN s.delivery_method = 'pickup'
                THEN s.state IN ('packed', 'shipped', 'done')
                ELSE s.state IN ('shipped', 'done') END
            AND EXISTS (SELECT 1 FROM party_contact_mechanism c
                WHERE c.party = s.customer AND c.type = 'email'
                    AND c.active AND COALESCE(c.value, '') != '')""",
            first_sale)}
    deadline = time.monotonic() + wait
    while True:
        received = sink.shipments()
        missing = sorted(expected - set(received))
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    twice = sorted(n for n in expected if received[n] > 1)
    return {
        "shipped without its e-mail received": (len(missing), missing[:3]),
        "e-mail received more than once": (len(twice), twice[:3]),
        }, len(expected)


# --- the benchmark ----------------------------------------------------------

class Bench:
    def __init__(self, args, serve):
        self.args = args
        self.serve = serve
        self.hot_share = args.hot_share
        self.tag = '%x' % int(time.time())
        from trytond.modules.sale_flow.tests import tools
        self.tools = tools
        self.password = tools.DEMO_PASSWORD
        self.signature = tools.signature_image()
        self.data = {}
        self.admins = {}
        self.hot_serial = 0

    def connect(self):
        "The administrators' sessions and the data the orders are made of"
        with open(os.path.join(self.serve.directory, 'admin-password')) as f:
            password = f.read().strip()
        for flow in FLOWS:
            database = DB if flow == 'sale_flow' else TRYTON_DB
            admin = Desk(self.serve.url, database, 'admin', password)
            self.admins[flow] = admin
            if flow not in self.data:
                self.data[flow] = self.read_data(admin, flow)

    def read_data(self, admin, flow):
        data = types.SimpleNamespace()
        company = admin.context['company']
        company_party, = admin('company.company.read', [company], ['party'])
        parties = admin('party.party.search_read', [
                ('id', '!=', company_party['party']),
                ('addresses', '!=', None),
                ('contact_mechanisms.type', '=', 'mobile')],
            0, None, [('id', 'ASC')],
            ['code', 'name', 'addresses', 'contact_mechanisms'])
        mechanisms = {m['id']: m for m in admin('party.contact_mechanism.read',
                [i for p in parties for i in p['contact_mechanisms']],
                ['type', 'value'])}
        data.customers = []
        for party in parties:
            phones = [''.join(c for c in mechanisms[i]['value'] if c.isdigit())
                for i in party['contact_mechanisms']
                if mechanisms[i]['type'] in {'phone', 'mobile'}
                and mechanisms[i]['value']]
            data.customers.append(types.SimpleNamespace(
                    id=party['id'], code=party['code'], name=party['name'],
                    address=party['addresses'][0],
                    identity=phones[0][-4:] if phones else ''))
        warehouse, = admin('stock.location.search_read',
            [('type', '=', 'warehouse')], 0, 1, None,
            ['storage_location', 'lost_found_location']
            + (['scan_pack_strict'] if flow == 'sale_flow' else []))
        data.warehouse = warehouse
        data.scan_pack_strict = warehouse.get('scan_pack_strict')
        data.lost_found, = admin('stock.location.search',
            [('type', '=', 'lost_found')], 0, 1, None)
        products = admin('product.product.search_read', [
                ('salable', '=', True), ('type', '=', 'goods'),
                ('code', 'not like', 'LOADHOT%')], 0, None,
            [('id', 'ASC')],
            ['code', 'sale_uom', 'list_price_used', 'forecast_quantity'],
            context={'locations': [warehouse['id']]})
        # the others have enough for every run
        data.products = [self.product(p) for p in products
            if (p['forecast_quantity'] or 0) >= 40]
        data.code = {p.id: p.code for p in data.products}
        unit, = admin('product.uom.search', [('symbol', '=', 'u')], 0, 1,
            None)
        category, = admin('product.category.search',
            [('accounting', '=', True)], 0, 1, None)
        data.unit, data.category = unit, category
        data.carriers = admin('carrier.search', [], 0, None, [('id', 'ASC')])
        data.tracking = {}
        if flow == 'sale_flow':
            for carrier in admin('carrier.search_read', [], 0, None, None,
                    ['party.name', 'in_house']):
                if carrier.get('in_house'):
                    continue
                record = types.SimpleNamespace(party=types.SimpleNamespace(
                        name=carrier['party.']['name']))
                if self.tools.tracking_number(record, 1):
                    data.tracking[carrier['id']] = (
                        lambda serial, record=record: self.tools.
                        tracking_number(record, 10 ** 7 + serial))
        return data

    @staticmethod
    def product(values):
        return types.SimpleNamespace(id=values['id'], code=values['code'],
            unit=values['sale_uom'], price=values['list_price_used'])

    def hot_product(self, admin, data, stock):
        "A new product with stock units on hand and nothing else"
        self.hot_serial += 1
        code = 'LOADHOT%s%02d' % (self.tag[-5:].upper(), self.hot_serial)
        template, = admin('product.template.create', [{
                    'name': f"Hot product {code}",
                    'type': 'goods', 'salable': True,
                    'default_uom': data.unit, 'sale_uom': data.unit,
                    'list_price': {'__class__': 'Decimal', 'decimal': '10'},
                    'account_category': data.category,
                    'products': [('create', [{
                                    'suffix_code': code,
                                    'cost_price': {'__class__': 'Decimal',
                                        'decimal': '6'},
                                    'identifiers': [('create', [{
                                                    'type': 'ean',
                                                    'code': self.tools.ean13(
                                                        '699%09d' % (int(
                                                                time.time())
                                                            % 10 ** 7 * 100
                                                            + self.hot_serial
                                                            )),
                                                    }])],
                                    }])],
                    }])
        product, = admin('product.product.search_read',
            [('template', '=', template)], 0, 1, None,
            ['code', 'sale_uom', 'list_price_used'])
        move, = admin('stock.move.create', [{
                    'product': product['id'], 'unit': data.unit,
                    'quantity': stock,
                    'from_location': data.lost_found,
                    'to_location': data.warehouse['storage_location'],
                    'company': admin.context['company'],
                    }])
        admin('stock.move.do', [move])
        hot = self.product(product)
        data.code[hot.id] = hot.code
        return hot

    def kill_worker(self):
        "Kill one gunicorn worker process by its pid; return the pid"
        workers = self.serve.gunicorn_workers()
        if not workers:
            return None

        def running(pid):
            "Busy with a request now (its state is R)"
            try:
                with open(f'/proc/{pid}/stat') as file:
                    return file.read().rsplit(')', 1)[1].split()[0] == 'R'
            except FileNotFoundError:
                return False
        pid = next((p for p in workers if running(p)), workers[0])
        os.kill(pid, signal.SIGKILL)
        print(f"  killed the gunicorn worker {pid} (SIGKILL)",
            file=sys.stderr)
        return pid

    def setting(self, workers, operators, index):
        if not os.path.exists(os.path.join(
                    self.serve.directory, TRYTON_DB + '.built')):
            # the first start makes the cluster and the database of
            # sale_flow
            self.serve.start(workers)
            build_tryton_database(self.serve, self.args.customers,
                self.args.products)
        self.serve.start(workers, databases=[DB, TRYTON_DB])
        self.connect()
        results = {}
        for flow in FLOWS:
            if self.args.warmup:
                # the caches of every worker filled (not measured)
                warmup = Run(self, flow, workers,
                    self.args.warmup * workers, self.args.seconds,
                    seed=1000 + index)
                warmup.prepare()
                warmup.execute()
            run = Run(self, flow, operators, self.args.orders,
                self.args.seconds, seed=index)
            run.prepare()
            faults = self.faults() if flow == 'sale_flow' else []
            done = run.execute(faults=faults)
            wait = 60
            if 'mail down' in done:
                # the sink back before the checks; the queue's retries
                done['mail down'].join()
                wait = 180
            checks = invariants(self.serve, run.database, run.first_sale,
                queue_wait=wait)
            if flow == 'sale_flow':
                mails, expected = emails(self.serve, self.sink,
                    run.first_sale, wait=wait)
                checks.update(mails)
                checks['(e-mails expected: shipments shipped or ready '
                    'for pickup with a customer e-mail)'] = (expected, [])
                if self.args.fault:
                    failed = sum(v for k, v in run.stats.outcomes.items()
                        if k.startswith('failed'))
                    checks["order an operator could not finish "
                        "(a fault on)"] = (failed, [])
            if 'pg restart' in done:
                checks.update(self.listeners())
            results[flow] = (run, done, checks)
        return self.report(workers, operators, results)

    def faults(self):
        "The faults of sale_flow's run: (share of orders done, name, func)"
        faults = []
        if self.args.kill:
            faults.append((1 / 3, 'worker killed', self.kill_worker))
        if 'mail-down' in self.args.fault:
            faults.append((1 / 4, 'mail down', self.mail_down))
        if 'pg-restart' in self.args.fault:
            faults.append((1 / 2, 'pg restart', self.restart_postgresql))
        return faults

    def mail_down(self):
        """Stop the mail sink now, start it again after --mail-down
        seconds: the thread that does"""
        seconds = self.args.mail_down
        self.sink.stop()
        print(f"  stopped the mail sink for {seconds:.0f} s",
            file=sys.stderr)

        def back():
            time.sleep(seconds)
            self.sink.start()
            print("  the mail sink is back", file=sys.stderr)
        thread = threading.Thread(target=back, daemon=True)
        thread.start()
        return thread

    def restart_postgresql(self):
        "The fault: the logs' sizes first, to read what follows"
        self.logs_at_restart = {name: self.log_size(name)
            for name in ['gunicorn', 'worker']}
        return restart_postgresql(self.serve)

    def log_size(self, name):
        path = os.path.join(self.serve.directory, name + '.log')
        return os.path.getsize(path) if os.path.exists(path) else 0

    def log_since_restart(self, name):
        with open(os.path.join(self.serve.directory, name + '.log'),
                errors='replace') as file:
            file.seek(self.logs_at_restart[name])
            return file.read()

    def listeners(self):
        """After the PostgreSQL restart, from the logs: the cache listener
        threads of the gunicorn workers that died and started again for
        sale_flow's database, the queue worker's restarts; whether the
        processes of the serve still run"""
        log = self.log_since_restart('gunicorn')
        crashed = log.count(f"cache listener on '{DB}' crashed")
        started = log.count(f"of '{DB}'\n") + log.count(f"of '{DB}'\r")
        restarts = self.log_since_restart('worker').count(
            'the connection to PostgreSQL of')
        status = self.serve.run('status', check=False)
        return {
            f"(after the restart: {crashed} cache listeners died, "
            f"started again; trytond-worker started again "
            f"{restarts} time(s))": (started, []),
            "process of the serve not running after the restart "
            "(scripts/serve status)": (int(status.returncode != 0),
                [status.stdout.strip()] if status.returncode else []),
            }

    def report(self, workers, operators, results):
        print(f"\n=== {workers} gunicorn workers × {operators} operators, "
            f"{self.args.orders} orders per flow (hot product stocked for "
            f"{self.hot_share:.0%} of them) ===")
        rates = {}
        for flow in FLOWS:
            run, done, checks = results[flow]
            stats = run.stats
            wall = (stats.ended or stats.started) - stats.started
            delivered = stats.outcomes.get('delivered', 0)
            rates[flow] = delivered / wall if wall else 0
            print(f"\n{flow}: {delivered} delivered of {run.taken} orders "
                f"in {wall:.1f} s: {rates[flow]:.2f} orders/s")
            if done.get('worker killed'):
                print(f"  fault: gunicorn worker {done['worker killed']} "
                    f"killed after {run.count // 3} orders")
            if 'pg restart' in done:
                print(f"  fault: PostgreSQL restarted after "
                    f"{int(run.count / 2)} orders "
                    f"({done['pg restart']:.1f} s)")
            if 'mail down' in done:
                print(f"  fault: the mail sink down for "
                    f"{self.args.mail_down:.0f} s after "
                    f"{int(run.count / 4)} orders")
            print("  outcomes: " + ', '.join(
                    f"{k} {v}" for k, v in sorted(stats.outcomes.items())))
            print(f"  {'step':<12}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}"
                f"{'max ms':>9}")
            for step in STEPS[flow]:
                times = sorted(stats.times.get(step, []))
                if not times:
                    continue
                p95 = times[min(len(times) - 1,
                        math.ceil(len(times) * 0.95) - 1)]
                print(f"  {step:<12}{len(times):>7}"
                    f"{times[len(times) // 2]:>9.0f}{p95:>9.0f}"
                    f"{times[-1]:>9.0f}")
            print(f"  errors seen by operators: "
                f"{sum(stats.errors.values()) or 'none'}")
            for kind, count in stats.errors.most_common():
                print(f"    {count:>4} × {kind}")
            if stats.answers:
                print("  refusals handled by the operators (expected):")
                for kind, count in stats.answers.most_common():
                    print(f"    {count:>4} × {kind}")
            for kind, count in sorted(stats.checks.items()):
                print(f"  {count:>4} × {kind}")
            print("  invariants (SQL at the end):")
            for name, (count, examples) in checks.items():
                print(f"    {count:>4}  {name}"
                    + (f"  e.g. {examples}" if count and examples else ""))
        ratio = rates['sale_flow'] / rates['tryton'] if rates['tryton'] else 0
        print(f"\nratio sale_flow / tryton delivered orders/s: x{ratio:.2f}"
            f" ({rates['sale_flow']:.2f} / {rates['tryton']:.2f})")
        violations = 0
        for flow in FLOWS:
            run, _, checks = results[flow]
            for name, (count, _) in checks.items():
                if not name.startswith('(') and count:
                    violations += count
            bad = run.stats.checks.get(
                "intake sent twice at once: NOT both the sale", 0)
            violations += bad
        return violations


def numbers(value):
    return [int(v) for v in value.split(',') if v]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('--workers', type=numbers, default=[1, 2],
        help="gunicorn worker counts (default 1,2)")
    parser.add_argument('--operators', type=numbers, default=[4, 8],
        help="concurrent operators (default 4,8)")
    parser.add_argument('--orders', type=int, default=40,
        help="orders per flow and setting (default 40)")
    parser.add_argument('--seconds', type=float, default=300,
        help="at most this long per flow and setting (default 300)")
    parser.add_argument('--warmup', type=int, default=2,
        help="orders per worker before each measured run (default 2)")
    parser.add_argument('--hot-share', type=float, default=0.6,
        help="the hot product is stocked for this share of the orders")
    parser.add_argument('--ci', action='store_true',
        help="2 workers, 4 operators, 40 orders, a worker killed")
    parser.add_argument('--kill', action='store_true',
        help="kill a gunicorn worker in the middle of sale_flow's run")
    parser.add_argument('--fault', action='append', default=[],
        choices=['pg-restart', 'mail-down'],
        help="a fault in the middle of sale_flow's run: PostgreSQL "
        "restarted, the mail server down (more than one: --fault each)")
    parser.add_argument('--mail-down', type=float, default=60,
        help="seconds the mail server is down (default 60)")
    parser.add_argument('--dir', help="run-time folder (default: a new "
        "temporary one, removed at the end unless --keep)")
    parser.add_argument('--keep', action='store_true')
    parser.add_argument('--customers', type=int, default=24,
        help=argparse.SUPPRESS)
    parser.add_argument('--products', type=int, default=40,
        help=argparse.SUPPRESS)
    parser.add_argument('--build-tryton', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_tryton:
        build_tryton_data(args.build_tryton, args.customers, args.products)
        return 0
    if args.ci:
        args.workers, args.operators, args.orders = [2], [4], 40
        args.kill = True

    signal.signal(signal.SIGTERM, on_sigterm)
    directory = args.dir or tempfile.mkdtemp(prefix='sale_flow-load.')
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    # the postgres user runs the cluster in it
    os.chmod(directory, 0o755)
    mail_dir = os.path.join(directory, 'mail')
    os.makedirs(mail_dir, exist_ok=True)
    port, mail_port = free_port(), free_port()
    serve = Serve(directory, port, mail_port)
    sink = MailSink(mail_port, mail_dir)
    sink.start()
    violations = 0
    status = 1
    try:
        bench = Bench(args, serve)
        bench.sink = sink
        index = 0
        for workers in args.workers:
            for operators in args.operators:
                index += 1
                violations += bench.setting(workers, operators, index)
        status = 1 if violations else 0
        print(f"\nload benchmark: {violations} invariant violations"
            + (" — FAILED" if violations else ""))
    except (KeyboardInterrupt, Stopped):
        print("\ninterrupted: stopping what was started", file=sys.stderr)
        status = 130
    finally:
        serve.stop()
        sink.stop()
        if args.keep or args.dir:
            print(f"run-time files kept in {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return status


if __name__ == '__main__':
    sys.exit(main())
