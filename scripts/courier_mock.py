#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The demo's couriers: the mock of kuaidi100 (tests/kuaidi100_mock.py) on
127.0.0.1, moving every subscribed parcel along its journey.

Every --step seconds each parcel gets its next event — accepted (揽收), in
transit (在途), out for delivery (派件), delivered (签收) — pushed, signed
with the subscription's salt, to the callback the subscription gave (the
demo server's tracking route).  The second parcel, and every third after
it, meets an exception at the door (派件异常) instead of being delivered,
so that the demo's *Parcels to Watch* has one.  A push the server does
not take (not started yet) is sent again at the next step.  With --state
the subscriptions and events are kept in that file, so that the parcels
go on where they were when the demo starts again.

With --sf-port the same process serves the mock of SF Express's open
platform (tests/sf_express_mock.py) for the demo's electronic waybills:
packing a shipment of the demo's SF Express carrier gets its number and
label there (numbers that grow with the time, so that a restarted demo
never gives a number twice), and its orders are kept in the --state file
too, so that a shipment cancelled after a restart cancels its waybill.
Nothing leaves the machine.

    scripts/courier_mock.py --port 8011 --customer DEMO --key KEY \
        --sf-port 8012 --sf-partner DEMO-SF --sf-check-word CHECK
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
import urllib.error
from zoneinfo import ZoneInfo

from trytond.modules.sale_flow.tests.kuaidi100_mock import Kuaidi100Mock
from trytond.modules.sale_flow.tests.sf_express_mock import SFExpressMock

CHINA = ZoneInfo('Asia/Shanghai')
# the courier's status, code, text and place of each event of a journey
JOURNEY = [
    ('揽收', '103', '快递员已揽收快件', '上海市'),
    ('在途', '1002', '快件已发车，正发往 北京顺义集散中心', '上海市'),
    ('派件', '501', '快件交给派送员，正在派送途中', '北京市'),
    ('签收', '301', '已签收，签收人凭取货码签收', '北京市'),
    ]
TROUBLE = JOURNEY[:3] + [
    ('派件异常', '204', '派件异常：收件人电话无人接听，明日再派', '北京市'),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--customer', required=True)
    parser.add_argument('--key', required=True)
    parser.add_argument('--step', type=float, default=30,
        help="seconds between two events of a parcel (default 30)")
    parser.add_argument('--state', metavar='FILE',
        help="keep the subscriptions and events in this JSON file")
    parser.add_argument('--sf-port', type=int,
        help="also serve the SF Express mock (electronic waybills) there")
    parser.add_argument('--sf-partner', default='DEMO-SF')
    parser.add_argument('--sf-check-word', default='DEMO-CHECK')
    args = parser.parse_args()

    mock = Kuaidi100Mock(customer=args.customer, key=args.key)
    waybills = None
    if args.sf_port:
        waybills = SFExpressMock(
            partner=args.sf_partner, check_word=args.sf_check_word)
        # 13 digits after SF that grow with the time (SF\d{12,13})
        waybills._serial = 7 * 10 ** 12 + int(time.time() * 100) % 10 ** 12
    state = {}
    if args.state and os.path.exists(args.state):
        with open(args.state, encoding='utf-8') as fp:
            state = json.load(fp)
        mock.subscriptions.update(state.get('subscriptions', {}))
        mock.events.update(state.get('events', {}))
        if waybills:
            waybills.orders.update(state.get('waybills', {}))
    print("kuaidi100 mock on %s" % mock.start(args.port), flush=True)
    if waybills:
        print("SF Express mock on %s" % waybills.start(args.sf_port),
            flush=True)
    unpushed = set()
    try:
        while True:
            time.sleep(args.step)
            for index, number in enumerate(list(mock.subscriptions)):
                journey = TROUBLE if index % 3 == 1 else JOURNEY
                done = len(mock.events.get(number, []))
                if done < len(journey):
                    now = dt.datetime.now(CHINA).strftime('%Y-%m-%d %H:%M:%S')
                    mock.add_event(number, now, *(journey[done][i]
                            for i in (2, 0, 1, 3)))
                    unpushed.add(number)
                if number in unpushed:
                    try:
                        status, _ = mock.push(number)
                    except (OSError, urllib.error.URLError, ValueError):
                        status = None
                    if status == 200:
                        unpushed.discard(number)
                    print("push %s: %s" % (number, status), flush=True)
            if args.state:
                with open(args.state + '.new', 'w', encoding='utf-8') as fp:
                    json.dump({'subscriptions': mock.subscriptions,
                            'events': mock.events,
                            'waybills': (
                                dict(waybills.orders) if waybills else {}),
                            }, fp, ensure_ascii=False)
                os.replace(args.state + '.new', args.state)
    except KeyboardInterrupt:
        pass
    finally:
        mock.stop()
        if waybills:
            waybills.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
