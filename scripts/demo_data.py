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
    print("demo data: %d customers, %d products, %d orders in %.1f s" % (
            args.customers, args.products, len(sale_ids),
            time.monotonic() - start))


if __name__ == '__main__':
    main()
