#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Scan burst test in the browser: a keyboard-wedge scanner types 20 codes
100 ms apart into the scan station, faster than the server answers.  Every
code must be answered once, in order, and the counts on the server must be
exactly what the codes ask for: none lost, none counted twice.

    scripts/scan_burst.py --url http://127.0.0.1:8000/ --out var/burst

Runs against the demo (scripts/demo): it logs into sao as the warehouse
operator, opens Sales Flow ‣ Scan Station on a shipment waiting to be
picked, and types the codes there.  The shipment and the expected results
are read over JSON-RPC as the administrator, before and after.
"""

import argparse
import base64
import json
import os
import sys
import urllib.request

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from trytond.modules.sale_flow.tests.tools import DEMO_PASSWORD

import sao  # scripts/sao.py, beside this script

CHROMIUM_ARGS = sao.CHROMIUM_ARGS + [
    '--autoplay-policy=no-user-gesture-required']
DATABASE = 'sale_flow_demo'
CODES = 20
GAP = 100  # ms between two codes, from Enter to the next code's first key
KEY_DELAY = 8  # ms between two keys of a code: a scanner types fast


class JSONRPC:
    "A JSON-RPC client of trytond, as the clients speak it"

    def __init__(self, url, database, login, password):
        self.url = url.rstrip('/') + '/' + database + '/rpc/'
        self.id = 0
        user_id, session, *_ = self.call(
            'common.db.login', login, {'password': password}, 'en')
        token = f'{login}:{user_id}:{session}'.encode()
        self.authorization = 'Session ' + base64.b64encode(token).decode()

    def call(self, method, *params):
        self.id += 1
        request = urllib.request.Request(self.url, data=json.dumps({
                    'id': self.id, 'method': method,
                    'params': list(params)}).encode(),
            headers={'Content-Type': 'application/json'})
        if getattr(self, 'authorization', None):
            request.add_header('Authorization', self.authorization)
        with urllib.request.urlopen(request, timeout=60) as response:
            data = json.load(response)
        if data.get('error'):
            raise RuntimeError(f"{method}: {data['error']}")
        return data['result']

    def model(self, model, method, *params):
        return self.call(f'model.{model}.{method}', *params, {})


def burst_plan(admin):
    """A shipment waiting to be picked or packed and the 20 codes with the
    result each must get: its products' codes, then beyond what is required
    (over), and an unknown code now and then"""
    fields = ['number', 'state', 'warehouse_storage', 'warehouse_output',
        'inventory_moves', 'outgoing_moves']
    domain = [('state', 'in', ['assigned', 'picked'])]
    shipments = admin.model('stock.shipment.out', 'search_read',
        domain, 0, None, [('id', 'ASC')], fields)
    if not shipments:
        # the goods of a waiting shipment reserved, as the warehouse would
        waiting = admin.model('stock.shipment.out', 'search',
            [('state', '=', 'waiting')], 0, None, [('id', 'ASC')])
        if waiting:
            admin.model('stock.shipment.out', 'assign_try', waiting)
        shipments = admin.model('stock.shipment.out', 'search_read',
            domain, 0, None, [('id', 'ASC')], fields)
    for shipment in shipments:
        direct = shipment['warehouse_storage'] == shipment['warehouse_output']
        pack = shipment['state'] == 'picked'
        moves = shipment['outgoing_moves' if direct or pack
            else 'inventory_moves']
        field = 'packed_quantity' if pack else 'scanned_quantity'
        moves = admin.model('stock.move', 'read', moves,
            ['product', 'quantity', field, 'state'])
        moves = [m for m in moves
            if m['state'] not in {'cancelled', 'staging'} and m['quantity']]
        if not moves:
            continue
        products = admin.model('product.product', 'read',
            sorted({m['product'] for m in moves}), ['code'])
        code = {p['id']: p['code'] for p in products if p['code']}
        if len(code) < len({m['product'] for m in moves}):
            continue
        left = {}
        for move in moves:
            left[move['product']] = left.get(move['product'], 0) + (
                move['quantity'] - (move[field] or 0))
        break
    else:
        raise SystemExit("scan burst: no shipment to pick or pack in "
            "the demo")
    plan, order = [], sorted(left)
    for i in range(CODES):
        if i % 5 == 4:
            plan.append((f'NO-SUCH-CODE-{i}', 'unknown'))
            continue
        product = order[i % len(order)]
        if left[product] >= 1:
            left[product] -= 1
            plan.append((code[product], 'accepted'))
        else:
            plan.append((code[product], 'over'))
    return shipment, plan


def scans_of(admin, shipment):
    return admin.model('sale.flow.scan', 'search_read',
        [('shipment', '=', shipment['id'])], 0, None, [('id', 'ASC')],
        ['code', 'result', 'quantity'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='http://127.0.0.1:8000/')
    parser.add_argument('--out', default='var/burst')
    parser.add_argument('--chromium', default=sao.CHROMIUM)
    parser.add_argument('--timeout', type=float, default=30)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    admin = JSONRPC(args.url, DATABASE, 'admin', 'admin')
    shipment, plan = burst_plan(admin)
    before = len(scans_of(admin, shipment))
    timeout = args.timeout * 1000
    station = (f"{args.url.rstrip('/')}/{DATABASE}/sale_flow/scan")
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={'width': 390, 'height': 844}, locale='zh-CN')
        page = context.new_page()
        page.set_default_timeout(timeout)
        page.on('pageerror', lambda e: errors.append(str(e)))
        try:
            sao.login(page, args.url, 'warehouse', DEMO_PASSWORD, timeout)
            page.get_by_text('销售流程', exact=True).wait_for()
            page.goto(station)
            page.locator('#code').wait_for()
            page.keyboard.type(shipment['number'], delay=KEY_DELAY)
            page.keyboard.press('Enter')
            page.locator('#progress').wait_for()
            page.screenshot(path=os.path.join(args.out, '1-station.png'))
            for code, _ in plan:
                page.keyboard.type(code, delay=KEY_DELAY)
                page.keyboard.press('Enter')
                page.wait_for_timeout(GAP)
            # every code answered: one line each, after the shipment's line
            page.wait_for_function(
                'n => document.querySelectorAll("#log li").length >= n',
                arg=len(plan) + 1, timeout=timeout * 2)
            page.wait_for_function(
                '() => document.getElementById("status").textContent'
                '.trim().endsWith(" 0")')
            page.screenshot(path=os.path.join(args.out, '2-burst.png'))
            shown = page.eval_on_selector_all('#log li',
                'items => items.map(i => i.dataset.result)')
        except PlaywrightError as exception:
            page.screenshot(path=os.path.join(args.out, 'FAIL-burst.png'))
            print(f"scan burst failed: {str(exception).splitlines()[0]}",
                file=sys.stderr)
            return 1
        finally:
            browser.close()
    failures = []
    if errors:
        failures.append(f"errors in the page: {errors}")
    scans = scans_of(admin, shipment)[before:]
    if [s['code'] for s in scans] != [c for c, _ in plan]:
        failures.append("the server did not get each code once, in order: "
            f"{[s['code'] for s in scans]}")
    if [s['result'] for s in scans] != [r for _, r in plan]:
        failures.append("results differ from the plan: "
            f"{[s['result'] for s in scans]} != {[r for _, r in plan]}")
    # the page lists the newest first, the shipment's line last
    expected_page = ['refused' if r != 'accepted' else r
        for _, r in reversed(plan)] + ['accepted']
    if shown != expected_page:
        failures.append(f"the page shows {shown}, expected {expected_page}")
    if failures:
        print("scan burst failed:\n  " + "\n  ".join(failures),
            file=sys.stderr)
        return 1
    accepted = sum(1 for _, r in plan if r == 'accepted')
    print(f"scan burst passed: {len(plan)} codes {GAP} ms apart on "
        f"{shipment['number']}: {accepted} accepted, "
        f"{len(plan) - accepted} refused, each once and in order")
    return 0


if __name__ == '__main__':
    sys.exit(main())
