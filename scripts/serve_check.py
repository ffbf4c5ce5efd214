#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Check scripts/serve end to end on a PostgreSQL of its own: start it with
two gunicorn workers and the demo data, log in over JSON-RPC, read, see a
change of a user's groups made through one worker at once on the others,
ship a shipment and see its customer e-mail sent by trytond-worker (not by
the request), check `status`, stop everything and check that nothing is
left running.

    .venv/bin/python scripts/serve_check.py

Its run-time files are in a temporary folder (not var/serve), removed at
the end unless --keep.
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(HERE, 'serve')
DB = 'sale_flow'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class CheckFailed(Exception):
    pass


class RPCError(CheckFailed):
    """An RPC the server answered with an error: its HTTP status (and the
    start of its body) or its JSON-RPC error"""

    def __init__(self, method, status=None, body='', error=None):
        self.method, self.status, self.body, self.error = (
            method, status, body, error)
        super().__init__(f"RPC {method}: HTTP {status}" if status
            else f"RPC {method}: {error}")


def check(condition, message):
    if not condition:
        raise CheckFailed(message)
    print('ok:', message, flush=True)


class Client:
    "A JSON-RPC session on /<db>/rpc/, as scripts/walk.py logs in"

    def __init__(self, url, login, password, database=DB):
        self.url = url + database + '/rpc/'
        user_id, key = self.call(
            'common.db.login', login, {'password': password},
            session=None)[:2]
        self.session = base64.b64encode(
            f'{login}:{user_id}:{key}'.encode()).decode()

    def call(self, method, *params, session=True):
        headers = {'Content-Type': 'application/json'}
        if session:
            headers['Authorization'] = 'Session ' + self.session
        request = urllib.request.Request(self.url, data=json.dumps({
                    'id': 1, 'method': method, 'params': list(params),
                    }).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                result = json.loads(answer.read())
        except urllib.error.HTTPError as error:
            raise RPCError(method, status=error.code,
                body=error.read(500).decode(errors='replace'))
        if result.get('error'):
            raise RPCError(method, error=result['error'])
        return result['result']


def serve(serve_dir, *args):
    env = dict(os.environ, SALE_FLOW_SERVE=serve_dir)
    return subprocess.run([SERVE, *args], env=env, text=True,
        stdout=subprocess.PIPE)


def process_groups(serve_dir):
    "The pids of every process of the groups serve started"
    pids = set()
    for name in ['gunicorn', 'worker', 'cron']:
        with open(os.path.join(serve_dir, name + '.pid')) as file:
            group = file.read().strip()
        out = subprocess.run(['ps', '-o', 'pid=', '--sid', group],
            stdout=subprocess.PIPE, text=True).stdout
        pids.update(int(p) for p in out.split())
    with open(os.path.join(serve_dir, 'pg', 'data', 'postmaster.pid')) as f:
        pids.add(int(f.readline()))
    return pids


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as file:
            # a zombie waits for its parent only
            return file.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def checks(url, serve_dir, mail_dir):
    with urllib.request.urlopen(url) as answer:
        check(b'sao' in answer.read().lower(),
            f"the web client sao is served on {url}")

    admin = Client(url, 'admin', 'admin')
    check(admin.call('model.sale.sale.search_count', [], {}) > 0,
        "the administrator logs in over JSON-RPC and reads the orders")
    modules = admin.call('model.ir.module.search_read',
        [('name', '=', 'sale_flow')], 0, None, None, ['state'], {})
    check(modules[0]['state'] == 'activated', "sale_flow is activated")

    status = serve(serve_dir, 'status')
    print(status.stdout, end='')
    check(status.returncode == 0, "status: everything runs (exit 0)")
    check(re.search(r'^gunicorn: running \(pid \d+, 2 workers\)',
            status.stdout, re.M), "status: gunicorn with 2 workers")
    for name in ['worker', 'cron', 'postgresql']:
        check(re.search(rf'^{name}: running', status.stdout, re.M),
            f"status: {name} runs")

    # A change through one worker is seen by the next request on the
    # others: each process caches the groups of the users and the access
    # they give (with the default clean_timeout, for up to five minutes)
    company = admin.call('model.res.user.get_preferences', False, {})[
        'company']
    group, = admin.call('model.res.group.search', [
            ('name', '=', 'Sales')], 0, None, None, {})
    password = 'serve-check-' + base64.b32encode(os.urandom(10)).decode()
    user, = admin.call('model.res.user.create', [{
                'login': 'serve_check', 'name': 'Serve check',
                'password': password, 'companies': [('add', [company])],
                'company': company}], {})
    probe = Client(url, 'serve_check', password)

    def reads(count=20):
        "How many of count requests may read the orders"
        allowed = 0
        for _ in range(count):
            try:
                probe.call('model.sale.sale.search_count', [], {})
                allowed += 1
            except CheckFailed:
                pass
        return allowed
    check(reads() == 0, "a user without the Sales group reads no order "
        "(20 requests)")
    admin.call('model.res.user.write', [user],
        {'groups': [('add', [group])]}, {})
    allowed = reads()
    check(allowed == 20, "given the group, it reads them at once, "
        f"whichever worker answers ({allowed} of 20)")
    admin.call('model.res.user.write', [user],
        {'groups': [('remove', [group])]}, {})
    allowed = reads()
    check(allowed == 0, "the group taken away, at once it reads no more "
        f"({allowed} of 20)")
    with open(os.path.join(serve_dir, 'access.log')) as file:
        workers = {line.split()[1] for line in file if '/rpc/' in line}
    check(len(workers) == 2, f"both workers answered ({len(workers)})")

    # The customer's e-mail is a task of Tryton's queue, sent by
    # trytond-worker after the shipping clerk's request
    shipments = admin.call('model.stock.shipment.out.search_read', [
            ('state', '=', 'packed'),
            ('delivery_method', 'in', ['courier', 'freight']),
            ('shipping_reference', '!=', None),
            ], 0, 1, None, ['number'], {})
    check(shipments, "the demo data has a packed shipment with its number")
    shipment = shipments[0]
    resource = f"stock.shipment.out,{shipment['id']}"
    shipping = Client(url, 'shipping', 'sale_flow')
    shipping.call('model.stock.shipment.out.ship', [shipment['id']], {})
    check(True, f"the shipping clerk ships {shipment['number']}")
    for _ in range(120):
        emails = admin.call('model.ir.email.search_read',
            [('resource', '=', resource)], 0, None, None, ['subject'], {})
        if emails:
            break
        time.sleep(0.5)
    check(emails and 'on their way' in emails[0]['subject'],
        f"the customer's e-mail is sent: {emails and emails[0]['subject']}")
    with open(os.path.join(serve_dir, 'worker.log')) as file:
        tasks = re.findall(r'<Task \d+@sale_flow> in', file.read())
    check(tasks, f"trytond-worker ran the queue's tasks ({len(tasks)})")
    mails = os.listdir(mail_dir)
    check(len(mails) == 1, f"the mail server received it ({len(mails)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--keep', action='store_true',
        help="keep the temporary folder (logs, database cluster)")
    args = parser.parse_args()
    serve_dir = tempfile.mkdtemp(prefix='sale_flow-serve.')
    # the postgres user runs the cluster in it
    os.chmod(serve_dir, 0o755)
    mail_dir = os.path.join(serve_dir, 'mail')
    os.mkdir(mail_dir)
    port, mail_port = free_port(), free_port()
    url = f'http://127.0.0.1:{port}/'
    mail_sink = subprocess.Popen([sys.executable,
            os.path.join(HERE, 'mail_sink.py'), '--port', str(mail_port),
            '--out', mail_dir])
    pids = set()
    status = 1
    try:
        started = time.monotonic()
        start = serve(serve_dir, 'start', '--local-pg', '--workers', '2',
            '--port', str(port), '--demo', '--orders', '18',
            '--email-uri', f'smtp://127.0.0.1:{mail_port}')
        print(start.stdout, end='')
        check(start.returncode == 0, "scripts/serve start in %.0f s" % (
                time.monotonic() - started))
        pids = process_groups(serve_dir)
        checks(url, serve_dir, mail_dir)
        status = 0
    except CheckFailed as error:
        print('FAILED:', error, flush=True)
    finally:
        stop = serve(serve_dir, 'stop')
        mail_sink.terminate()
        mail_sink.wait()
        try:
            check(stop.returncode == 0, "scripts/serve stop")
            left = sorted(p for p in pids if alive(p))
            check(pids and not left, "nothing left running of the %d "
                "processes started (%s)" % (len(pids), left or 'none'))
            after = serve(serve_dir, 'status')
            print(after.stdout, end='')
            check(after.returncode == 3, "status: all stopped (exit 3)")
        except CheckFailed as error:
            print('FAILED:', error, flush=True)
            status = 1
        if args.keep:
            print('kept', serve_dir)
        else:
            shutil.rmtree(serve_dir, ignore_errors=True)
    print('serve check:', 'passed' if status == 0 else 'FAILED')
    return status


if __name__ == '__main__':
    sys.exit(main())
