#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark the flow monitoring on a large PostgreSQL database.

Fills a database with sale_flow activated with --orders orders and their
timelines (bulk SQL copies of rows made through Tryton: orders of 1 to 3
lines, review decisions, stock check lines, customer shipments with their
moves, Tryton's log of the workflow transitions, signatures; about 15 %
of the orders left open at the stages of the flow), then times, best of
--runs after a warm-up, each query fetched whole with one cursor.execute:

  a. the flow board: sale.flow.board table_query();
  b. a bare SQL aggregate giving the board's figures from the same rows
     (the physical floor);
  c. the cycle-time report: sale.flow.cycle.period table_query(), when the
     model exists;
  d. a bare SQL aggregate giving the report's figures from the same rows;
  e. the flow chart: its figures and its PNG and SVG drawings, against
     the board (target x1.5);

all under the context company, from_date, to_date and period='month', and
checks that the board and the report give the same counts as the bare
queries.

    .venv/bin/python bench/flow_monitoring.py --orders 10000
    .venv/bin/python bench/flow_monitoring.py            # 100,000 orders
    TRYTOND_DATABASE_URI=postgresql://postgres@127.0.0.1:5432/ \\
        .venv/bin/python bench/flow_monitoring.py --reuse

The PostgreSQL server and the demo set-up are those of
bench/sales_statistics.py (a throwaway server on 127.0.0.1 without
TRYTOND_DATABASE_URI).  The cost of recording the stages while the flow
runs (writes per step against Tryton's own flow) is printed by
bench/run.py.
"""

import argparse
import datetime as dt
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import sales_statistics as ss  # noqa: E402

# the stages of the board, in the order of the flow (monitoring.FLOW)
FLOW = ['ordered', 'stock_checked', 'submitted', 'approved', 'released',
    'picked', 'packed', 'shipped', 'signed', 'invoiced']


def build_database(args, conf, today):
    """The demo database of sales_statistics, the demo's users, and two
    orders made through Tryton up to shipped, one of them signed: the
    models of the generated rows; returns the signed order's id"""
    from trytond.modules.sale_flow.tests import tools
    ss.build_database(args, conf, today)
    from proteus import config as pconfig
    config = pconfig.set_trytond(args.database, config_file=conf)
    tools.create_users(config=config)

    def no_identity(pool):
        Configuration = pool.get('sale.configuration')
        Configuration.write([Configuration(1)],
            {'signature_identity': 'none'})
    tools.server_call(config, no_identity)
    sale_ids = tools.create_orders(config=config, count=2, lines=(2, 2),
        seed=7)
    tools.advance_orders(config, sale_ids, 'shipped')

    def sign(pool, sale_id):
        Sale = pool.get('sale.sale')
        Signature = pool.get('sale.flow.signature')
        shipment, = Sale(sale_id).shipments
        Signature.sign(shipment.id, {
                'signer': "Ms. Gao",
                'image': tools.signature_image(),
                'lines': [{'move': m.id, 'accepted': m.quantity,
                        'refused': 0} for m in shipment.outgoing_moves],
                })
    tools.server_call(config, sign, sale_ids[0])
    return sale_ids[0]


# the tables the generated rows go to
GENERATED = ['sale_sale', 'sale_line', 'stock_shipment_out', 'stock_move',
    'sale_flow_review_decision', 'sale_flow_stock_check',
    'sale_flow_stock_line', 'ir_model_log', 'sale_flow_signature']

# the stages an open order is left at, with their shares of the open
# orders (the others go the whole way: done, or rejected)
OPEN_AT = [('ordered', 0.05), ('submitted', 0.20), ('approved', 0.05),
    ('released', 0.20), ('picked', 0.15), ('packed', 0.10),
    ('shipped', 0.15), ('signed', 0.10)]


def log_uniform(low, high):
    "SQL: seconds, log-uniform between low and high"
    return f"exp(ln({low}) + random() * ln({high}.0 / {low}))"


def generate(args, template_sale, today):
    """Fill args.orders orders and their timelines with bulk SQL; returns
    the counts of rows, the seconds taken by the inserts and by VACUUM
    ANALYZE"""
    start = time.perf_counter()
    with ss.connect(args.uri, args.database) as conn, conn.cursor() as cur:

        def one(sql, *params):
            cur.execute(sql, params)
            return cur.fetchone()

        def all_(sql, *params):
            cur.execute(sql, params)
            return cur.fetchall()
        base = {t: one(f'SELECT coalesce(max(id), 0) FROM "{t}"')[0]
            for t in GENERATED}
        # the models: the order made through Tryton up to shipped and signed
        sale, = one('SELECT id FROM sale_sale WHERE id = %s', template_sale)
        line, = one('SELECT min(id) FROM sale_line WHERE sale = %s', sale)
        move, shipment_ref = one('SELECT id, shipment FROM stock_move '
            'WHERE origin = %s', f'sale.line,{line}')
        shipment = int(shipment_ref.split(',')[1])
        inventory, = one('SELECT min(id) FROM stock_move WHERE origin = %s',
            f'stock.move,{move}')
        submitted, = one("SELECT min(id) FROM sale_flow_review_decision "
            "WHERE sale = %s AND decision = 'submitted'", sale)
        stock_check, = one('SELECT min(id) FROM sale_flow_stock_check '
            'WHERE sale = %s', sale)
        stock_line, = one('SELECT min(id) FROM sale_flow_stock_line '
            'WHERE sale = %s', sale)
        log, = one("SELECT min(id) FROM ir_model_log WHERE resource = %s "
            "AND target = 'state:processing'", f'sale.sale,{sale}')
        signature, = one('SELECT id FROM sale_flow_signature '
            'WHERE shipment = %s', shipment)
        products = [r[0] for r in all_("SELECT p.id FROM product_product "
                "AS p JOIN product_template AS t ON t.id = p.template "
                "WHERE t.salable AND t.type = 'goods' ORDER BY p.id")]
        # the demo's customers: a mobile phone and an address each
        customers = all_("SELECT DISTINCT ON (p.id) p.id, a.id "
            "FROM party_party AS p "
            "JOIN party_address AS a ON a.party = p.id "
            "WHERE p.id NOT IN (SELECT party FROM company_company) "
            "AND p.id IN (SELECT party FROM party_contact_mechanism "
            "WHERE type = 'mobile') ORDER BY p.id, a.id")
        users = dict(all_("SELECT login, id FROM res_user "
                "WHERE login IN ('admin', 'clerk', 'reviewer', "
                "'warehouse', 'shipping', 'manager')"))
        p = dict(orders=args.orders, today=today,
            days=(today - ss.first_date(today, args.months)).days + 1,
            **{f'{t}_base': base[t] for t in base})
        cur.execute('SELECT setseed(0.42)')
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        restore = ss.drop_indexes(cur, GENERATED)

        def users_sql(*logins):
            "SQL: one of the users of logins at random, the first most"
            ids = [users.get(l, users['admin']) for l in logins]
            return (f"(ARRAY{ids})[1 + floor(random() ^ 2 * {len(ids)})"
                "::int]")

        # the orders: where each is left (open) or ends (done, rejected),
        # the gaps between its stages in seconds and its users
        cases, total = [], 0
        for stage, share in OPEN_AT:
            total += share * 0.15
            cases.append(f"WHEN r < {total} THEN '{stage}'")
        cur.execute('CREATE TEMP TABLE g_order AS SELECT n, '
            '%(sale_sale_base)s + n AS id, '
            '1 + floor(random() * 3)::int AS k, random() AS r, '
            'random() < 0.7 AS reviewed, '
            f'{len(customers)} * random() ^ 2 AS c, '
            f'{log_uniform(60, 7200)} AS g_quote, '
            f'{log_uniform(300, 8 * 3600)} AS g_review, '
            f'{log_uniform(2, 60)} AS g_release, '
            f'{log_uniform(1800, 2 * 86400)} AS g_pick, '
            f'{log_uniform(300, 4 * 3600)} AS g_pack, '
            f'{log_uniform(1800, 86400)} AS g_ship, '
            f'{log_uniform(2 * 3600, 4 * 86400)} AS g_sign, '
            f'{log_uniform(86400, 20 * 86400)} AS g_done, '
            f'{log_uniform(600, 3 * 86400)} AS wait, '
            'random() < 0.9 AS signs, random() AS a, '
            f"{users_sql('clerk', 'manager', 'admin')} AS u_sales, "
            f"{users_sql('reviewer', 'manager')} AS u_review, "
            f"{users_sql('warehouse', 'manager')} AS u_pick, "
            f"{users_sql('warehouse', 'manager')} AS u_pack, "
            f"{users_sql('shipping', 'manager')} AS u_ship, "
            f"{users_sql('shipping', 'manager', 'warehouse')} AS u_sign "
            'FROM generate_series(1, %(orders)s) AS n', p)
        cur.execute("ALTER TABLE g_order ADD COLUMN stage varchar, "
            "ADD COLUMN position int, ADD COLUMN customer int, "
            "ADD COLUMN address int, ADD COLUMN first_line int, "
            "ADD COLUMN t_ordered timestamp, ADD COLUMN t_submitted "
            "timestamp, ADD COLUMN t_approved timestamp, ADD COLUMN "
            "t_rejected timestamp, ADD COLUMN t_released timestamp, "
            "ADD COLUMN t_picked timestamp, ADD COLUMN t_packed timestamp, "
            "ADD COLUMN t_shipped timestamp, ADD COLUMN t_signed timestamp, "
            "ADD COLUMN t_shipment_done timestamp, "
            "ADD COLUMN t_done timestamp")
        # 2 % of the orders ending rejected, the open ones where they are
        cur.execute("UPDATE g_order SET stage = CASE "
            + ' '.join(cases) + " WHEN r > 0.98 AND reviewed "
            "THEN 'rejected' ELSE 'done' END, "
            f"customer = (ARRAY{[c for c, _ in customers]})"
            "[1 + floor(c)::int], "
            f"address = (ARRAY{[a for _, a in customers]})"
            "[1 + floor(c)::int], "
            "first_line = 3 * n")
        # an order left approved, or rejected, was reviewed
        cur.execute("UPDATE g_order SET reviewed = true "
            "WHERE stage IN ('approved', 'rejected')")
        # an order not reviewed is released when submitted; the gaps of the
        # stages not reached are dropped
        position = {s: i for i, s in enumerate(FLOW + ['done'])}
        position['rejected'] = position['approved']
        cur.execute('UPDATE g_order SET position = CASE stage '
            + ' '.join(f"WHEN '{s}' THEN {i}" for s, i in position.items())
            + ' END')
        cur.execute('UPDATE g_order SET '
            f"g_quote = CASE WHEN position >= {position['submitted']} "
            'THEN g_quote ELSE 0 END, '
            f"g_review = CASE WHEN position >= {position['approved']} "
            'AND reviewed THEN g_review ELSE 0 END, '
            f"g_release = CASE WHEN position >= {position['released']} "
            'THEN g_release ELSE 0 END, '
            f"g_pick = CASE WHEN position >= {position['picked']} "
            'THEN g_pick ELSE 0 END, '
            f"g_pack = CASE WHEN position >= {position['packed']} "
            'THEN g_pack ELSE 0 END, '
            f"g_ship = CASE WHEN position >= {position['shipped']} "
            'THEN g_ship ELSE 0 END, '
            f"g_sign = CASE WHEN position >= {position['signed']} "
            "OR stage = 'done' THEN g_sign ELSE 0 END, "
            "g_done = CASE WHEN stage = 'done' THEN g_done ELSE 0 END, "
            "wait = CASE WHEN stage IN ('done', 'rejected') THEN 0 "
            "ELSE wait END")
        # the orders done or rejected over the months, the open ones
        # having waited at their stage until now
        cur.execute("UPDATE g_order SET t_ordered = CASE "
            "WHEN stage IN ('done', 'rejected') THEN "
            "%(today)s::timestamp - make_interval(secs => "
            "g_quote + g_review + g_release + g_pick + g_pack + g_ship "
            "+ g_sign + g_done + random() * 86400 * %(days)s) "
            "ELSE (now() AT TIME ZONE 'UTC') - make_interval(secs => "
            "g_quote + g_review + g_release + g_pick + g_pack + g_ship "
            "+ g_sign + wait) END", p)
        secs = 'make_interval(secs => {})'.format
        cur.execute('UPDATE g_order SET '
            f"t_submitted = CASE WHEN position >= {position['submitted']} "
            f"THEN t_ordered + {secs('g_quote')} END, "
            f"t_approved = CASE WHEN position >= {position['approved']} "
            "AND reviewed AND stage != 'rejected' "
            f"THEN t_ordered + {secs('g_quote + g_review')} END, "
            "t_rejected = CASE WHEN stage = 'rejected' "
            f"THEN t_ordered + {secs('g_quote + g_review')} END, "
            f"t_released = CASE WHEN position >= {position['released']} "
            f"THEN t_ordered + {secs('g_quote + g_review + g_release')} "
            'END, '
            f"t_picked = CASE WHEN position >= {position['picked']} "
            'THEN t_ordered + '
            f"{secs('g_quote + g_review + g_release + g_pick')} END, "
            f"t_packed = CASE WHEN position >= {position['packed']} "
            'THEN t_ordered + '
            f"{secs('g_quote + g_review + g_release + g_pick + g_pack')} "
            'END, '
            f"t_shipped = CASE WHEN position >= {position['shipped']} "
            f"THEN t_ordered + {secs('g_quote + g_review + g_release')} "
            f"+ {secs('g_pick + g_pack + g_ship')} END")
        # signed (the signature completes the shipment) or completed by
        # the warehouse unsigned; done when invoiced and paid
        cur.execute("UPDATE g_order SET "
            "signs = signs OR stage = 'signed', "
            f"t_shipment_done = CASE WHEN position >= {position['signed']} "
            f"THEN t_shipped + {secs('g_sign')} END")
        cur.execute("UPDATE g_order SET "
            "signs = signs AND t_shipment_done IS NOT NULL, "
            "t_signed = CASE WHEN signs THEN t_shipment_done END, "
            "t_done = CASE WHEN stage = 'done' "
            f"THEN t_shipment_done + {secs('g_done')} END")
        cur.execute('CREATE UNIQUE INDEX ON g_order (id)')

        # lines: 1 to 3 products of the demo
        cur.execute('CREATE TEMP TABLE g_line AS SELECT '
            '%(sale_line_base)s + o.first_line + i AS id, o.id AS sale, '
            'i + 1 AS sequence, '
            f'(ARRAY{products})[1 + floor(random() * {len(products)})::int]'
            ' AS product, 1 + floor(random() ^ 3 * 20) AS quantity, '
            'round((2 + random() * 300)::numeric, 2) AS unit_price '
            'FROM g_order AS o, generate_series(0, o.k - 1) AS i', p)
        sale_state = (
            "CASE WHEN o.stage = 'ordered' THEN 'draft' "
            "WHEN o.stage = 'submitted' THEN 'quotation' "
            "WHEN o.stage = 'approved' THEN 'confirmed' "
            "WHEN o.stage = 'rejected' THEN 'cancelled' "
            "WHEN o.stage = 'done' THEN 'done' ELSE 'processing' END")
        ss.clone(cur, 'sale_sale', sale, 'g_order AS o', {
                'id': 'o.id',
                'number': "'SO' || lpad(o.n::text, 7, '0')",
                'reference': 'NULL', 'description': 'NULL',
                'comment': 'NULL', 'origin': 'NULL', 'contact': 'NULL',
                'party': 'o.customer', 'invoice_address': 'o.address',
                'shipment_address': 'o.address',
                'invoice_party': 'NULL', 'shipment_party': 'NULL',
                'sale_date': 'o.t_ordered::date',
                'quotation_date': 'o.t_submitted::date',
                'shipping_date': 'NULL', 'state': sale_state,
                'quoted_by': 'NULL', 'confirmed_by': 'NULL',
                'shipment_state': "CASE WHEN o.t_shipped IS NOT NULL "
                "THEN 'sent' WHEN o.t_released IS NOT NULL THEN 'waiting' "
                "ELSE 'none' END",
                'invoice_state': "CASE WHEN o.stage = 'done' THEN 'paid' "
                "WHEN o.t_released IS NOT NULL THEN 'pending' "
                "ELSE 'none' END",
                'untaxed_amount_cache': 'NULL', 'tax_amount_cache': 'NULL',
                'total_amount_cache': 'NULL',
                'intake_reference': 'NULL',
                'review_state': "CASE WHEN o.t_submitted IS NULL THEN NULL "
                "WHEN o.stage = 'rejected' THEN 'rejected' "
                "WHEN NOT o.reviewed THEN 'not_required' "
                "WHEN o.t_approved IS NULL THEN 'to_review' "
                "ELSE 'approved' END",
                'review_submitted_at': 'o.t_submitted',
                'review_digest': 'NULL',
                'pickup_code': 'NULL',
                'create_date': 'o.t_ordered', 'create_uid': 'o.u_sales',
                })
        ss.clone(cur, 'sale_line', line,
            'g_line AS s JOIN g_order AS o ON o.id = s.sale', {
                'id': 's.id', 'sale': 's.sale', 'sequence': 's.sequence',
                'product': 's.product', 'quantity': 's.quantity',
                'unit_price': 's.unit_price', 'description': "''",
                'note': 'NULL', 'shipment_cost': 'NULL',
                'actual_quantity': 'CASE WHEN o.t_released IS NULL '
                'THEN NULL ELSE s.quantity END',
                'quantity_to_ship': 'CASE WHEN o.t_shipped IS NOT NULL '
                'THEN 0 ELSE s.quantity END',
                'quantity_to_invoice': 's.quantity',
                'delivered_quantity': 'CASE WHEN o.t_shipment_done '
                'IS NOT NULL THEN s.quantity ELSE 0 END',
                'delivered_cost': '0', 'refused_quantity': 'NULL',
                'invoiced_amount': '0',
                'create_date': 'o.t_ordered', 'create_uid': 'o.u_sales',
                })

        # review: submitted when quoted (the stock is checked then),
        # approved or rejected by the reviewer
        ss.clone(cur, 'sale_flow_stock_check', stock_check, 'g_order AS o', {
                'id': f"{base['sale_flow_stock_check']} + o.n",
                'sale': 'o.id', 'checked_at': 'o.t_submitted',
                'user': 'o.u_sales', 'status': "'sufficient'",
                'create_date': 'o.t_submitted', 'create_uid': 'o.u_sales',
                }, where='o.t_submitted IS NOT NULL')
        ss.clone(cur, 'sale_flow_stock_line', stock_line,
            'g_line AS s JOIN g_order AS o ON o.id = s.sale', {
                'id': f"{base['sale_flow_stock_line']} + s.id "
                f"- {base['sale_line']}",
                'sale': 's.sale', 'line': 's.id', 'product': 's.product',
                'ordered': 's.quantity', 'on_hand': '100',
                'promised': '0', 'available': '100', 'forecast': '100',
                'shortage': '0', 'shipping_date': 'o.t_submitted::date',
                'checked_at': 'o.t_submitted',
                'check': f"{base['sale_flow_stock_check']} + o.n",
                'superseded_at': 'NULL',
                'create_date': 'o.t_submitted', 'create_uid': 'o.u_sales',
                }, where='o.t_submitted IS NOT NULL')
        cur.execute('CREATE TEMP TABLE g_decision AS '
            "SELECT id AS sale, 'submitted' AS decision, "
            't_submitted AS at, u_sales AS "user" FROM g_order '
            'WHERE t_submitted IS NOT NULL UNION ALL '
            "SELECT id, 'approved', t_approved, u_review FROM g_order "
            'WHERE t_approved IS NOT NULL UNION ALL '
            "SELECT id, 'rejected', t_rejected, u_review FROM g_order "
            'WHERE t_rejected IS NOT NULL')
        ss.clone(cur, 'sale_flow_review_decision', submitted,
            '(SELECT *, row_number() OVER (ORDER BY at, sale) AS n '
            'FROM g_decision) AS s', {
                'id': f"{base['sale_flow_review_decision']} + s.n",
                'sale': 's.sale', 'decision': 's.decision',
                'user': 's."user"', 'decided_at': 's.at',
                'reason': "CASE WHEN s.decision = 'rejected' "
                "THEN 'Customer cancelled.' END", 'digest': 'NULL',
                'create_date': 's.at', 'create_uid': 's."user"',
                })

        # the warehouse: a shipment per order released, an outgoing move
        # per line from the output to the customer and an inventory move
        # from the storage to the output
        shipment_state = ("CASE WHEN o.t_shipment_done IS NOT NULL "
            "THEN 'done' WHEN o.t_shipped IS NOT NULL THEN 'shipped' "
            "WHEN o.t_packed IS NOT NULL THEN 'packed' "
            "WHEN o.t_picked IS NOT NULL THEN 'picked' "
            "WHEN o.a < 0.5 THEN 'waiting' ELSE 'assigned' END")
        shipment_id = f"{base['stock_shipment_out']} + o.n"
        ss.clone(cur, 'stock_shipment_out', shipment,
            'g_order AS o', {
                'id': shipment_id,
                'number': "'SH' || lpad(o.n::text, 7, '0')",
                'reference': "'SO' || lpad(o.n::text, 7, '0')",
                'customer': 'o.customer', 'delivery_address': 'o.address',
                'state': shipment_state,
                'planned_date': 'o.t_released::date + 1',
                'origin_planned_date': 'o.t_released::date + 1',
                'effective_date': 'o.t_shipped::date',
                'picked_by': 'NULL', 'packed_by': 'NULL',
                'shipped_by': 'NULL', 'done_by': 'NULL',
                'shipping_reference': 'CASE WHEN o.t_shipped IS NOT NULL '
                "THEN 'SF' || lpad(o.n::text, 10, '0') END",
                'sign_token_hash': 'NULL', 'sign_token_expire': 'NULL',
                'rate_token_hash': 'NULL', 'cost_sale_invoice_line': 'NULL',
                'scan_override_at': 'NULL', 'scan_override_by': 'NULL',
                'scan_override_reason': 'NULL',
                'create_date': 'o.t_released', 'create_uid': 'o.u_sales',
                }, where='o.t_released IS NOT NULL')
        move_state = ("CASE WHEN o.t_shipment_done IS NOT NULL THEN 'done' "
            "WHEN o.t_picked IS NULL AND o.a < 0.5 THEN 'draft' "
            "ELSE 'assigned' END")
        move_values = {
            'product': 's.product', 'quantity': 's.quantity',
            'internal_quantity': 's.quantity',
            'shipment': f"'stock.shipment.out,' || ({shipment_id})",
            'unit_price': 's.unit_price', 'state': move_state,
            'effective_date': 'o.t_shipment_done::date',
            'planned_date': 'o.t_released::date + 1',
            'origin_planned_date': 'o.t_released::date + 1',
            'package': 'NULL', 'shipment_out_cost_price': 'NULL',
            'product_cost_price': 'NULL',
            'internal_weight': 'NULL', 'internal_volume': 'NULL',
            'packed_quantity': 'CASE WHEN o.t_packed IS NOT NULL '
            'THEN s.quantity END',
            'scanned_quantity': 'CASE WHEN o.t_picked IS NOT NULL '
            'THEN s.quantity END',
            'create_date': 'o.t_released', 'create_uid': 'o.u_sales',
            }
        released_lines = 'g_line AS s JOIN g_order AS o ON o.id = s.sale'
        released = 'o.t_released IS NOT NULL'
        outgoing = (f"{base['stock_move']} + 2 * (s.id "
            f"- {base['sale_line']})")
        ss.clone(cur, 'stock_move', move, released_lines, dict(move_values,
                id=outgoing, origin="'sale.line,' || s.id"), where=released)
        ss.clone(cur, 'stock_move', inventory, released_lines, dict(
                move_values, id=outgoing + ' - 1',
                origin=f"'stock.move,' || ({outgoing})",
                unit_price='NULL', packed_quantity='NULL',
                scanned_quantity='NULL',
                state="CASE WHEN o.t_picked IS NOT NULL THEN 'done' "
                "WHEN o.a < 0.5 THEN 'draft' ELSE 'assigned' END",
                effective_date='o.t_picked::date'), where=released)

        # Tryton's log of the transitions: the orders', the shipments' and
        # the moves'
        sale_ref = "'sale.sale,' || o.id"
        shipment_ref = f"'stock.shipment.out,' || ({shipment_id})"
        transitions = [
            (sale_ref, 'state:quotation', 'o.t_submitted', 'o.u_sales'),
            (sale_ref, 'state:confirmed', 'coalesce(o.t_approved, '
                'o.t_released)', "CASE WHEN o.reviewed THEN o.u_review "
                'ELSE o.u_sales END'),
            (sale_ref, 'state:processing', 'o.t_released',
                "CASE WHEN o.reviewed THEN o.u_review ELSE o.u_sales END"),
            (sale_ref, 'shipment_state:waiting', 'o.t_released',
                "CASE WHEN o.reviewed THEN o.u_review ELSE o.u_sales END"),
            (sale_ref, 'invoice_state:pending', 'o.t_released',
                "CASE WHEN o.reviewed THEN o.u_review ELSE o.u_sales END"),
            (sale_ref, 'shipment_state:sent', 'o.t_shipment_done',
                'o.u_sign'),
            (sale_ref, 'state:done', 'o.t_done', users['admin']),
            (sale_ref, 'state:cancelled', 'o.t_rejected', 'o.u_review'),
            (shipment_ref, 'state:waiting', 'o.t_released',
                "CASE WHEN o.reviewed THEN o.u_review ELSE o.u_sales END"),
            (shipment_ref, 'state:assigned', 'CASE WHEN o.t_picked '
                "IS NOT NULL OR o.a >= 0.5 THEN o.t_released "
                "+ interval '1 minute' END", users['admin']),
            (shipment_ref, 'state:picked', 'o.t_picked', 'o.u_pick'),
            (shipment_ref, 'state:packed', 'o.t_packed', 'o.u_pack'),
            (shipment_ref, 'state:shipped', 'o.t_shipped', 'o.u_ship'),
            (shipment_ref, 'state:done', 'o.t_shipment_done', 'o.u_sign'),
            ]
        cur.execute('CREATE TEMP TABLE g_log (resource varchar, '
            'target varchar, at timestamp, "user" int)')
        for resource, target, at, user in transitions:
            cur.execute('INSERT INTO g_log SELECT * FROM (SELECT '
                f"{resource}, %s, {at}, {user} FROM g_order AS o "
                'WHERE o.t_released IS NOT NULL OR %s) '
                'AS l (resource, target, at, "user") '
                'WHERE l.at IS NOT NULL',
                (target, resource == sale_ref))
        # the moves: assigned when the shipment is, done when it is
        move_ref = (f"'stock.move,' || ({base['stock_move']} + 2 * (s.id "
            f"- {base['sale_line']}) - d)")
        for target, at in [
                ('state:assigned', "CASE WHEN o.t_picked IS NOT NULL "
                    "OR o.a >= 0.5 THEN o.t_released "
                    "+ interval '1 minute' END"),
                ('state:done', 'CASE WHEN d = 1 THEN o.t_picked '
                    'ELSE o.t_shipment_done END')]:
            cur.execute('INSERT INTO g_log SELECT * FROM (SELECT '
                f"{move_ref}, %s, {at}, {users['admin']} "
                'FROM g_line AS s JOIN g_order AS o ON o.id = s.sale '
                'CROSS JOIN (VALUES (0), (1)) AS m (d) '
                'WHERE o.t_released IS NOT NULL) '
                'AS l (resource, target, at, "user") '
                'WHERE l.at IS NOT NULL', (target,))
        ss.clone(cur, 'ir_model_log', log,
            '(SELECT *, row_number() OVER (ORDER BY at) AS n '
            'FROM g_log) AS s', {
                'id': f"{base['ir_model_log']} + s.n",
                'event': "'transition'", 'resource': 's.resource',
                'target': 's.target', 'user': 's."user"',
                'create_date': 's.at', 'create_uid': '0',
                })

        # the customer's signature at the door
        ss.clone(cur, 'sale_flow_signature', signature,
            'g_order AS o', {
                'id': f"{base['sale_flow_signature']} + o.n",
                'shipment': shipment_id, 'signed_at': 'o.t_signed',
                'recorded_by': 'o.u_sign', 'digest': 'NULL',
                'complaint': 'NULL', 'return_shipment': 'NULL',
                'create_date': 'o.t_signed', 'create_uid': 'o.u_sign',
                }, where='o.t_signed IS NOT NULL')

        for statement in restore:
            cur.execute(statement)
        for table in GENERATED:
            cur.execute(f"SELECT setval('\"{table}_id_seq\"', "
                f'(SELECT max(id) FROM "{table}"))')
        counts = {t: one(f'SELECT count(*) FROM "{t}" WHERE id > %s',
                base[t])[0] for t in GENERATED}
        stages = dict(all_('SELECT stage, count(*) FROM g_order GROUP BY 1'))
        # an order of each stage, with the times it should show
        columns = ['ordered', 'submitted', 'approved', 'rejected',
            'released', 'picked', 'packed', 'shipped', 'signed', 'done']
        samples = {}
        for stage in stages:
            row = one('SELECT id, ' + ', '.join(f't_{c}' for c in columns)
                + ' FROM g_order WHERE stage = %s ORDER BY n LIMIT 1',
                stage)
            times = dict(zip(columns, row[1:]))
            times['stock_checked'] = times['submitted']
            samples[stage] = (row[0], {k: v.isoformat(sep=' ')
                    for k, v in times.items() if v is not None})
    inserted = time.perf_counter() - start
    start = time.perf_counter()
    with ss.connect(args.uri, args.database, autocommit=True) as conn:
        conn.execute('VACUUM ANALYZE '
            + ', '.join(f'"{t}"' for t in GENERATED))
    return counts, stages, samples, inserted, time.perf_counter() - start


OPEN_STATES = ('draft', 'quotation', 'confirmed', 'processing')

# the sources of the stages, for the bare queries: the shipments of the
# orders (by the moves of their lines) and their invoices
SHIPMENTS = ("SELECT DISTINCT m.shipment AS ref, l.sale FROM stock_move "
    "AS m JOIN sale_line AS l ON m.origin = 'sale.line,' || l.id "
    "JOIN o ON o.sale = l.sale "
    "WHERE m.shipment LIKE 'stock.shipment.out,%%'")
INVOICES = ("SELECT DISTINCT il.invoice, l.sale FROM account_invoice_line "
    "AS il JOIN sale_line AS l ON il.origin = 'sale.line,' || l.id "
    "JOIN o ON o.sale = l.sale")
POSTED = ("((g.event = 'transition' AND g.target = 'state:posted') "
    "OR (g.event = 'button' AND g.target = 'post'))")


def board(pool):
    "a. the flow board: sale.flow.board"
    return ss.execute(pool.get('sale.flow.board').table_query())


def bare_board(pool):
    "b. bare SQL: open orders per furthest stage, oldest"
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    position = {s: i + 1 for i, s in enumerate(FLOW)}
    cursor.execute(
        'WITH o AS (SELECT id AS sale, create_date FROM sale_sale '
        'WHERE state = ANY(%s)), '
        f'ship AS ({SHIPMENTS}), inv AS ({INVOICES}), '
        f"st AS (SELECT sale, {position['ordered']} AS pos, "
        'create_date AS at FROM o '
        f"UNION ALL SELECT k.sale, {position['stock_checked']}, "
        'min(k.checked_at) FROM sale_flow_stock_check AS k '
        'JOIN o ON o.sale = k.sale GROUP BY k.sale '
        "UNION ALL SELECT d.sale, CASE d.decision WHEN 'submitted' "
        f"THEN {position['submitted']} ELSE {position['approved']} END, "
        'd.decided_at FROM sale_flow_review_decision AS d '
        'JOIN o ON o.sale = d.sale '
        "WHERE d.decision IN ('submitted', 'approved') "
        f"UNION ALL SELECT o.sale, {position['released']}, g.create_date "
        "FROM ir_model_log AS g JOIN o ON g.resource = 'sale.sale,' "
        "|| o.sale WHERE g.event = 'transition' "
        "AND g.target = 'state:processing' "
        "UNION ALL SELECT ship.sale, CASE g.target WHEN 'state:picked' "
        f"THEN {position['picked']} WHEN 'state:packed' "
        f"THEN {position['packed']} ELSE {position['shipped']} END, "
        'g.create_date FROM ir_model_log AS g '
        "JOIN ship ON g.resource = ship.ref WHERE g.event = 'transition' "
        "AND g.target IN ('state:picked', 'state:packed', 'state:shipped') "
        f"UNION ALL SELECT ship.sale, {position['signed']}, s.signed_at "
        'FROM sale_flow_signature AS s '
        "JOIN ship ON ship.ref = 'stock.shipment.out,' || s.shipment "
        f"UNION ALL SELECT inv.sale, {position['invoiced']}, g.create_date "
        "FROM ir_model_log AS g JOIN inv ON g.resource = 'account.invoice,'"
        f' || inv.invoice WHERE {POSTED}), '
        'furthest AS (SELECT DISTINCT ON (sale) sale, pos, at FROM st '
        'ORDER BY sale, pos DESC, at DESC NULLS LAST) '
        'SELECT pos, count(*), min(at) FROM furthest '
        'GROUP BY pos ORDER BY pos', (list(OPEN_STATES),))
    return cursor.fetchall()


def steps():
    "The steps of the cycle-time report, or None where it does not exist"
    try:
        from trytond.modules.sale_flow import evaluation
    except ImportError:
        return None
    return getattr(evaluation, 'STEPS', None)


def cycle(pool):
    """c. cycle times: sale.flow.cycle.period

    None (and says so) where the model does not exist"""
    try:
        Period = pool.get('sale.flow.cycle.period')
    except KeyError:
        print("  c. cycle times: not available (no model "
            "sale.flow.cycle.period)")
        return None
    return ss.execute(Period.table_query())


# the first time each order reached the stages the steps start and end at
STAGE_TIMES = {
    'ordered': 'o.create_date',
    'stock_checked': 'k.checked',
    'submitted': 'd.submitted',
    'approved': 'd.approved',
    'released': 'r.released',
    'picked': 'w.picked',
    'packed': 'w.packed',
    'shipped': 'w.shipped',
    'signed': 'sg.signed',
    }


def bare_cycle(pool):
    """d. bare SQL: count, avg, percentiles per month and step

    None where the cycle-time report does not exist"""
    from trytond.transaction import Transaction
    try:
        pool.get('sale.flow.cycle.period')
    except KeyError:
        print("  d. bare SQL of the cycle times: not available")
        return None
    context = Transaction().context
    cursor = Transaction().connection.cursor()
    rows = []
    for i, (_, _, starts, end) in enumerate(steps()):
        start = (f"coalesce({', '.join(STAGE_TIMES[s] for s in starts)})"
            if len(starts) > 1 else STAGE_TIMES[starts[0]])
        rows.append(f'({i}, {start}, {STAGE_TIMES[end]})')
    hours = 'extract(epoch FROM x.at - x.start) / 3600.0'
    cursor.execute(
        'WITH o AS (SELECT id AS sale, create_date FROM sale_sale '
        'WHERE company = %(company)s), '
        f'ship AS ({SHIPMENTS}), '
        'k AS (SELECT sale, min(checked_at) AS checked '
        'FROM sale_flow_stock_check GROUP BY sale), '
        "d AS (SELECT sale, min(decided_at) FILTER (WHERE decision = "
        "'submitted') AS submitted, min(decided_at) FILTER (WHERE "
        "decision = 'approved') AS approved FROM sale_flow_review_decision "
        "WHERE decision IN ('submitted', 'approved') GROUP BY sale), "
        'r AS (SELECT o.sale, min(g.create_date) AS released '
        "FROM ir_model_log AS g JOIN o ON g.resource = 'sale.sale,' "
        "|| o.sale WHERE g.event = 'transition' "
        "AND g.target = 'state:processing' GROUP BY o.sale), "
        'w AS (SELECT ship.sale, '
        "min(g.create_date) FILTER (WHERE g.target = 'state:picked') "
        'AS picked, '
        "min(g.create_date) FILTER (WHERE g.target = 'state:packed') "
        'AS packed, '
        "min(g.create_date) FILTER (WHERE g.target = 'state:shipped') "
        'AS shipped FROM ir_model_log AS g '
        "JOIN ship ON g.resource = ship.ref WHERE g.event = 'transition' "
        "AND g.target IN ('state:picked', 'state:packed', 'state:shipped') "
        'GROUP BY ship.sale), '
        'sg AS (SELECT ship.sale, min(s.signed_at) AS signed '
        'FROM sale_flow_signature AS s '
        "JOIN ship ON ship.ref = 'stock.shipment.out,' || s.shipment "
        'GROUP BY ship.sale) '
        "SELECT date_trunc('month', x.at::date)::date, x.step, count(*), "
        f'avg({hours}), '
        f'percentile_cont(0.5) WITHIN GROUP (ORDER BY {hours}), '
        f'percentile_cont(0.9) WITHIN GROUP (ORDER BY {hours}), '
        f'max({hours}) '
        'FROM o LEFT JOIN k ON k.sale = o.sale '
        'LEFT JOIN d ON d.sale = o.sale LEFT JOIN r ON r.sale = o.sale '
        'LEFT JOIN w ON w.sale = o.sale LEFT JOIN sg ON sg.sale = o.sale '
        'CROSS JOIN LATERAL (VALUES ' + ', '.join(rows)
        + ') AS x (step, start, at) '
        'WHERE x.at >= x.start AND x.at::date >= %(from_date)s '
        'AND x.at::date <= %(to_date)s GROUP BY 1, 2 ORDER BY 1, 2',
        {'company': context['company'], 'from_date': context['from_date'],
            'to_date': context['to_date']})
    return cursor.fetchall()


def chart(pool):
    """e. the flow chart: its figures, PNG and SVG drawings

    None where the chart does not exist"""
    try:
        from trytond.modules.sale_flow import flowchart
    except ImportError:
        print("  e. flow chart: not available")
        return None
    drawing = flowchart.draw(flowchart.figures())
    return [drawing.png(), drawing.svg()]


QUERIES = [('board', board), ('bare_board', bare_board),
    ('cycle', cycle), ('bare_cycle', bare_cycle), ('chart', chart)]


def without_jit(func):
    """func with PostgreSQL's JIT compilation off in its transaction (the
    planner's estimates of the union of the timeline are far above the
    rows read, which makes PostgreSQL compile the query at every run)"""
    def call(pool):
        from trytond.transaction import Transaction
        Transaction().connection.cursor().execute('SET LOCAL jit = off')
        return func(pool)
    call.__doc__ = func.__doc__
    return call


def sanity(config, samples):
    """Print whether the timeline of an order of each generated stage shows
    the stages and times it was generated with"""
    def work(pool):
        Timeline = pool.get('sale.flow.timeline')
        result = {}
        for stage, (sale_id, expected) in samples.items():
            shown = {}
            for t in Timeline.search([('sale', '=', sale_id)]):
                shown.setdefault(t.stage, t.reached_at.isoformat(sep=' '))
            result[stage] = (sale_id, shown == expected, sorted(
                    shown, key=lambda s: shown[s]), shown, expected)
        return result
    print("\ntimeline of a generated order per stage (stages and times as "
        "generated):")
    ok = True
    for stage, (sale_id, equal, order, shown, expected) in work_call(
            config, work).items():
        ok &= equal
        print(f"  {stage:<10} order {sale_id}: "
            f"{'same' if equal else 'DIFFERENT'} ({' → '.join(order)})")
        if not equal:
            print(f"    shown    {shown}\n    expected {expected}")
    return ok


def work_call(config, func):
    from trytond.modules.sale_flow.tests import tools
    return tools.server_call(config, func)


def agreement(config, context):
    """Print the counts per stage of the board and of the bare query, and
    the counts per month and step of the cycle report and of its bare
    query; True where they agree"""
    from trytond.transaction import Transaction

    def work(pool):
        with Transaction().set_context(context):
            return (board(pool), bare_board(pool), cycle(pool),
                bare_cycle(pool))
    ours, bare, cycle_ours, cycle_bare = work_call(config, work)
    print("\nagreement of the figures:")
    ours = {r[0]: (r[2], r[3]) for r in ours}
    bare = {r[0]: (r[1], r[2]) for r in bare}
    print("\nboard per stage — orders, waiting since (ours | bare):")
    for position in sorted(set(ours) | set(bare)):
        a, b = ours.get(position), bare.get(position)
        print(f"  {FLOW[position - 1]:<14}{a[0] if a else '-':>8} "
            f"{a[1] if a else '-'!s:<28}| {b[0] if b else '-':>8} "
            f"{b[1] if b else '-'!s:<28}{'' if a == b else '  DIFFERENT'}")
    same = ours == bare
    print(f"  board {'agrees' if same else 'DISAGREES'} with the bare query")
    if cycle_ours is None or cycle_bare is None:
        return same
    names = [s[0] for s in steps()]

    def hours(value):
        return round(float(value), 2) if value is not None else None
    # (date, step): orders, average, median, p90, longest (hours)
    ours = {(r[2], r[3]): (r[4], *map(hours, r[5:9])) for r in cycle_ours}
    bare = {(r[0], names[r[1]]): (r[2], *map(hours, r[3:7]))
        for r in cycle_bare}
    print("\ncycle times per step over the months — orders, average, "
        "median, p90, longest (h) of the last month; orders in all "
        "(ours | bare):")
    last = max(d for d, _ in ours | bare.keys()) if ours or bare else None
    for name in names:
        a, b = ours.get((last, name)), bare.get((last, name))
        count_a = sum(v[0] for (_, n), v in ours.items() if n == name)
        count_b = sum(v[0] for (_, n), v in bare.items() if n == name)
        print(f"  {name:<20}{count_a:>8} {a!s:<40}| {count_b:>8} {b!s}")
    differ = [k for k in ours.keys() | bare.keys()
        if ours.get(k) != bare.get(k)]
    print(f"  cycle report: {len(ours)} rows, bare {len(bare)}; "
        + ('all counts and hours agree' if not differ else
            f'{len(differ)} rows DIFFER, e.g. '
            + '; '.join(f'{k}: {ours.get(k)} | {bare.get(k)}'
                for k in sorted(differ, key=str)[:3])))
    return same and not differ


def report(args, meta, results, title=None):
    if title is None:
        print(f"\nflow monitoring — {meta['orders']:,} orders over "
            f"{meta['months']} months ({meta['open']:,} open), "
            f"{meta['from_date']} to {meta['to_date']} by month; best of "
            f"{args.runs} runs after a warm-up, ms:")
        print(f"  {ss.server_settings(args)}")
    else:
        print(f"\n{title}")
    ss.print_times(QUERIES, results)

    def ratio(a, b):
        if results.get(a) and results.get(b):
            value = min(results[a][0]) / min(results[b][0])
            return (f"x{value:.2f} ("
                + ('within' if value <= 2 else 'NOT within')
                + " the target of x2)")
        return "n/a"
    print(f"  board / bare {ratio('board', 'bare_board')}")
    print(f"  cycle report / bare {ratio('cycle', 'bare_cycle')}")
    if results.get('chart') and results.get('board'):
        value = min(results['chart'][0]) / min(results['board'][0])
        print(f"  flow chart / board x{value:.2f} ("
            + ('within' if value <= 1.5 else 'NOT within')
            + " the target of x1.5)")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--orders', type=int, default=100_000,
        help="orders to generate (default 100,000)")
    parser.add_argument('--months', type=int, default=24,
        help="the orders are spread over the last MONTHS months")
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--database', default='sale_flow_monitoring')
    parser.add_argument('--workdir',
        default=os.path.join(ROOT, 'var', 'bench-monitoring'))
    parser.add_argument('--reuse', action='store_true',
        help="with TRYTOND_DATABASE_URI: time the database of a former "
        "run without generating again")
    parser.add_argument('--explain', action='store_true',
        help="print EXPLAIN ANALYZE of the board's query (and of the "
        "cycle report's)")
    args = parser.parse_args()
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    args.uri = os.environ.get('TRYTOND_DATABASE_URI')
    if args.uri and not args.uri.startswith('postgresql'):
        sys.exit("TRYTOND_DATABASE_URI must be postgresql://...")
    if not args.uri:
        if args.reuse:
            sys.exit("--reuse needs TRYTOND_DATABASE_URI")
        args.uri = ss.start_postgresql()
    conf = os.path.join(args.workdir, 'trytond.conf')
    with open(conf, 'w') as fp:
        fp.write(f"[database]\nuri = {args.uri}\n")
    os.environ['TRYTOND_CONFIG'] = conf
    from proteus import config as pconfig

    meta = ss.read_meta(args) if args.reuse else None
    if meta is None:
        today = dt.date.today()
        start = time.perf_counter()
        print(f"building the database {args.database} (sale_flow, "
            "demo company, users)...", file=sys.stderr)
        with ss.mail_sink():
            template = build_database(args, conf, today)
        print(f"built in {time.perf_counter() - start:.0f} s; generating "
            f"{args.orders:,} orders...", file=sys.stderr)
        counts, stages, samples, inserted, vacuum = generate(
            args, template, today)
        print(f"generated in {inserted + vacuum:.1f} s ({inserted:.1f} s "
            f"inserting, {vacuum:.1f} s VACUUM ANALYZE): "
            + ', '.join(f'{n:,} {t}' for t, n in counts.items()))
        print("orders per stage where they are (open) or ended: "
            + ', '.join(f'{s} {stages[s]:,}' for s in FLOW + [
                    'done', 'rejected'] if s in stages))
        meta = {'orders': args.orders, 'months': args.months,
            'open': sum(n for s, n in stages.items()
                if s not in {'done', 'rejected'}),
            'from_date': ss.first_date(today, args.months).isoformat(),
            'to_date': today.isoformat(), 'samples': samples}
        ss.write_meta(args, meta)
    config = pconfig.set_trytond(args.database, config_file=conf)
    from trytond.modules.sale_flow import monitoring
    assert monitoring.FLOW == FLOW, "the stages of the board changed"
    sane = sanity(config, meta['samples'])

    from trytond.modules.sale_flow.tests import tools

    def company(pool):
        return pool.get('company.company').search([], limit=1)[0].id
    context = {
        'company': tools.server_call(config, company),
        'from_date': dt.date.fromisoformat(meta['from_date']),
        'to_date': dt.date.fromisoformat(meta['to_date']),
        'period': 'month',
        }
    results = {name: ss.measure(config, context, func, args.runs)
        for name, func in QUERIES}
    report(args, meta, results)
    results = {name: ss.measure(config, context, without_jit(func),
            args.runs) for name, func in QUERIES}
    report(args, meta, results, "the same with jit = off in the "
        "transaction (for the diagnosis, not the server's setting), ms:")
    agree = agreement(config, context)
    if args.explain:
        for model in ['sale.flow.board', 'sale.flow.cycle.period']:
            try:
                plan = ss.explain(config, context, model)
            except KeyError:
                continue
            print(f"\nEXPLAIN ANALYZE of {model}:")
            print('\n'.join(plan))
    if not (sane and agree):
        sys.exit("the timeline or the figures differ from the generated "
            "rows")


if __name__ == '__main__':
    main()
