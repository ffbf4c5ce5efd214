#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Fill a sale_flow database with demo data (see tests/tools.py).

The orders are spread over the flow: some typed in, some waiting for
review, some released, picked, packed, shipped, and four in ten signed for
by the customer; their steps are then given a history over the last weeks
(the flow board and the cycle times have something to show).
"""

import argparse
import datetime as dt
import random
import time

from proteus import config as pconfig

from trytond.modules.sale_flow.tests import tools


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('-c', '--config', dest='config_file')
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--customers', type=int, default=24)
    parser.add_argument('--products', type=int, default=40)
    parser.add_argument('--orders', type=int, default=60)
    parser.add_argument('--language', default='zh_CN',
        help="language of the role users (default: zh_CN)")
    args = parser.parse_args()

    start = time.monotonic()
    config = pconfig.set_trytond(args.database, config_file=args.config_file)
    tools.setup_demo(config=config, customers=args.customers,
        products=args.products, language=args.language)
    sale_ids = tools.create_orders(config=config, count=args.orders)
    # Spread the orders over the stages, four tenths signed for; the oldest
    # go furthest.
    stages = [('signed', 4), ('shipped', 1), ('packed', 1), ('picked', 1),
        ('processing', 1), ('quotation', 1), ('draft', 1)]
    parts = sum(n for _, n in stages)
    end = 0
    for stage, n in stages:
        begin, end = end, end + max(1, len(sale_ids) * n // parts)
        chunk = sale_ids[begin:end] if stage != 'draft' else sale_ids[begin:]
        if chunk and stage == 'signed':
            tools.advance_orders(config=config, sale_ids=chunk,
                stage='shipped')
            sign_delivered(config, chunk)
        elif chunk and stage != 'draft':
            tools.advance_orders(config=config, sale_ids=chunk, stage=stage)
    review_examples(config)
    spread_history(config)
    print("demo data: %d customers, %d products, %d orders in %.1f s" % (
            args.customers, args.products, len(sale_ids) + 3,
            time.monotonic() - start))


def review_examples(config):
    """Orders for the review queue with findings: a web order that repeats
    a phone order, an order priced below cost, an order short of stock"""
    def work(pool):
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        phone, = Sale.search([
                ('state', '=', 'quotation'), ('channel', '=', 'phone')],
            order=[('id', 'ASC')], limit=1)
        web_id, = Sale.intake([{
                    'channel': 'web', 'reference': 'SHOP-20261129-001',
                    'customer': phone.party.code,
                    'lines': [{'product': l.product.code,
                            'quantity': l.quantity}
                        for l in phone.lines
                        if l.product and l.product.type == 'goods'],
                    }])
        cheap, = Sale.copy([phone], default={'lines': None})
        product = phone.lines[0].product
        Line.create([{
                    'sale': cheap.id, 'type': 'line', 'product': product.id,
                    'unit': product.sale_uom.id, 'quantity': 20,
                    'unit_price': (product.cost_price * 8 / 10).quantize(
                        product.cost_price.__class__('0.01')),
                    }])
        # and an order for more than the warehouse has of a product
        short, = Sale.copy([phone], default={'lines': None})
        Line.create([{
                    'sale': short.id, 'type': 'line', 'product': product.id,
                    'unit': product.sale_uom.id, 'quantity': 500,
                    'unit_price': product.list_price_used,
                    }])
        Sale.quote(Sale.browse([web_id, cheap.id, short.id]))
    tools.server_call(config, work)


def sign_delivered(config, sale_ids):
    """The customers sign for the shipped goods of the orders (the identity
    check with the last four digits of their phone)"""
    def work(pool):
        Sale = pool.get('sale.sale')
        sales = Sale.browse(sale_ids)
        tools.sign_shipments(
            pool, [s for sale in sales for s in sale.shipments])
        Sale.process(Sale.browse(sale_ids))
    tools.server_call(config, work)


# hours a step takes in the demo: (fewest, most), after the previous stage
STEP_HOURS = [
    ('submitted', (0.1, 3)),
    ('approved', (0.2, 6)),
    ('released', (0.02, 0.5)),
    ('picked', (0.5, 6)),
    ('packed', (0.2, 2)),
    ('shipped', (1, 10)),
    ('signed', (10, 60)),
    ('invoiced', (0.5, 24)),
    ('done', (0.1, 2)),
    ]


def spread_history(config, weeks=8, seed=7):
    """Give the demo orders a history: the steps the generator did a moment
    ago are written as if they had happened over the last weeks (the
    delivered orders) and days (the open ones), each step taking a while —
    the e-mail orders wait longer for their review — so the flow board and
    the cycle times have something to show"""
    def work(pool):
        Timeline = pool.get('sale.flow.timeline')
        Sale = pool.get('sale.sale')
        rng = random.Random(seed)
        now = dt.datetime.now().replace(microsecond=0)
        reached = {}
        for row in Timeline.search([]):
            reached.setdefault(row.sale.id, set()).add(row.stage)
        channels = {s.id: s.channel for s in Sale.browse(list(reached))}
        times = {}
        for sale_id in sorted(reached):
            stages = reached[sale_id]
            span = weeks * 7 if 'signed' in stages else 4
            start = now - dt.timedelta(days=rng.uniform(0, span))
            at = {'ordered': start}
            for stage, (fewest, most) in STEP_HOURS:
                if stage in stages:
                    hours = rng.uniform(fewest, most)
                    if stage == 'approved' and channels[sale_id] == 'email':
                        hours *= 2
                    at[stage] = max(at.values()) + dt.timedelta(hours=hours)
            # the stock is checked when the order is submitted
            if 'submitted' in at:
                at['stock_checked'] = at['submitted']
            late = max(at.values()) - now
            if late > dt.timedelta(0):
                at = {k: v - late - dt.timedelta(minutes=5)
                    for k, v in at.items()}
            times[sale_id] = at
        tools.set_stage_times(pool, times)
    tools.server_call(config, work)


if __name__ == '__main__':
    main()
