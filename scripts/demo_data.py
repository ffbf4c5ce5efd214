#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Fill a sale_flow database with demo data (see tests/tools.py).

The orders are spread over the flow: some typed in, some waiting for
review, some released, picked, packed, shipped and delivered.
"""

import argparse
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
    # Spread the orders over the stages; the oldest go furthest.
    stages = ['done', 'shipped', 'packed', 'picked', 'processing',
        'quotation', 'draft']
    share = max(1, len(sale_ids) // len(stages))
    for i, stage in enumerate(stages):
        chunk = sale_ids[i * share:(i + 1) * share]
        if stage == 'draft':
            chunk = sale_ids[i * share:]
        if chunk and stage != 'draft':
            tools.advance_orders(config=config, sale_ids=chunk, stage=stage)
    review_examples(config)
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


if __name__ == '__main__':
    main()
