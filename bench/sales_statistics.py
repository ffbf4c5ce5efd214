#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark the sales statistics on a large PostgreSQL database.

Fills a database with sale_flow activated with --lines sale lines (bulk SQL
in PostgreSQL, seconds for a million), then times, best of --runs after a
warm-up, each query fetched whole with one cursor.execute:

  a. Tryton's own sale.reporting.main table_query() (and its monthly time
     series, for reference);
  b. a bare SQL sum of quantity * unit_price per month over the same lines
     (the physical floor);
  c. ours: sale.flow.statistics.period table_query(), when the model exists;

all under the context company, from_date, to_date and period='month'.

    .venv/bin/python bench/sales_statistics.py --lines 20000
    .venv/bin/python bench/sales_statistics.py            # 1,000,000 lines
    TRYTOND_DATABASE_URI=postgresql://postgres@127.0.0.1:5432/ \\
        .venv/bin/python bench/sales_statistics.py --reuse

Without TRYTOND_DATABASE_URI a throwaway PostgreSQL is started on
127.0.0.1 (as .ci/run does) and removed at the end; with it, the database
is kept and --reuse times it again without generating.
"""

import argparse
import atexit
import contextlib
import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

from mail_sink import sink  # noqa: E402


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_postgresql():
    """A throwaway PostgreSQL on 127.0.0.1, as .ci/run starts one; returns
    its URI and stops and removes it at exit"""
    bins = sorted(glob.glob('/usr/lib/postgresql/*/bin/postgres'),
        key=lambda p: [int(x) for x in p.split('/')[-3].split('.')])
    if not bins:
        sys.exit("PostgreSQL is not installed (apt-get install postgresql), "
            "or give TRYTOND_DATABASE_URI=postgresql://...")
    pgbin = os.path.dirname(bins[-1])
    pgdir = tempfile.mkdtemp(prefix='sale_flow-pg.')
    port = free_port()
    runas = []
    if os.getuid() == 0:
        # initdb refuses root
        shutil.chown(pgdir, 'postgres')
        runas = ['runuser', '-u', 'postgres', '--']
    data = os.path.join(pgdir, 'data')
    subprocess.run(runas + [os.path.join(pgbin, 'initdb'), '-D', data,
            '-U', 'postgres', '--auth=trust', '-E', 'UTF8',
            '--locale=C.UTF-8'], check=True, stdout=subprocess.DEVNULL)
    pg_ctl = runas + [os.path.join(pgbin, 'pg_ctl'), '-D', data]
    subprocess.run(pg_ctl + ['-l', os.path.join(pgdir, 'server.log'),
            '-o', f"-h 127.0.0.1 -p {port} -k {pgdir} -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off "
            "-c shared_buffers=1GB -c max_wal_size=8GB",
            '-w', 'start'], check=True, stdout=subprocess.DEVNULL)

    def stop():
        subprocess.run(pg_ctl + ['-m', 'fast', '-w', 'stop'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(pgdir, ignore_errors=True)
    atexit.register(stop)
    os.environ['PATH'] = pgbin + os.pathsep + os.environ['PATH']
    return f'postgresql://postgres@127.0.0.1:{port}/'


@contextlib.contextmanager
def mail_sink():
    """The customers' e-mails of the orders made through Tryton (shipped:
    the goods on their way) go to a mail sink on 127.0.0.1, as in the
    demo, not to a mail server that is not there"""
    from trytond import config
    uri = config.get('email', 'uri')
    with sink() as server:
        config.set('email', 'uri', server.uri)
        try:
            yield server
        finally:
            config.set('email', 'uri', uri)


def connect(uri, database, **kwargs):
    import psycopg
    parsed = urlparse(uri)
    return psycopg.connect(host=parsed.hostname or '127.0.0.1',
        port=parsed.port or 5432, user=parsed.username or 'postgres',
        password=parsed.password, dbname=database, **kwargs)


def build_database(args, conf, today):
    """A database with sale_flow activated, the demo company (CNY, chart
    of accounts), a US dollar with monthly rates and a few orders made
    through Tryton, whose rows are the models of the generated ones"""
    from proteus import config as pconfig

    from trytond.modules.sale_flow.tests import tools
    with connect(args.uri, 'postgres', autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        conn.execute(f'CREATE DATABASE "{args.database}" '
            "ENCODING 'UTF8' TEMPLATE template0")
    env = dict(os.environ, TRYTONPASSFILE=os.path.join(args.workdir, 'pass'))
    with open(env['TRYTONPASSFILE'], 'w') as fp:
        fp.write('admin\n')
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    subprocess.run([admin, '-c', conf, '-d', args.database, '-u', 'sale_flow',
            '--activate-dependencies', '--email', 'admin@example.com'],
        check=True, env=env, stdout=subprocess.DEVNULL)
    config = pconfig.set_trytond(args.database, config_file=conf)
    tools.setup_demo(config=config, customers=10, products=10, users=False)
    tools.server_call(config, create_dollar, today, args.months)
    sale_ids = tools.create_orders(config=config, count=2, lines=(2, 2))
    tools.advance_orders(config, sale_ids, 'done')
    tools.server_call(config, post_invoices, sale_ids)
    return sale_ids


def create_dollar(pool, today, months):
    "US dollar with a rate against the yuan on the first of each month"
    Currency = pool.get('currency.currency')
    Rate = pool.get('currency.currency.rate')
    from decimal import Decimal
    usd, = Currency.search([('code', '=', 'USD')]) or Currency.create([{
                'name': "US Dollar", 'code': 'USD', 'symbol': '$',
                'rounding': Decimal('0.01')}])
    first = today.replace(day=1)
    rates = []
    for i in range(months + 1):
        year, month = divmod(first.year * 12 + first.month - 1 - i, 12)
        rates.append({'currency': usd.id,
                'date': dt.date(year, month + 1, 1),
                # dollars per yuan: 6.80 to 7.29 yuan a dollar
                'rate': (1 / (Decimal('7.05') + Decimal((i * 37) % 50 - 25)
                        / 100)).quantize(Decimal('0.000001'))})
    Rate.create(rates)


def post_invoices(pool, sale_ids):
    Sale = pool.get('sale.sale')
    Invoice = pool.get('account.invoice')
    from trytond.transaction import Transaction
    invoices = [i for s in Sale.browse(sale_ids) for i in s.invoices]
    with Transaction().set_context(_skip_warnings=True):
        # the demo lines have no taxes
        Invoice.post(invoices)


# Every generated row is a copy of a row the demo set-up made through
# Tryton (so that every NOT NULL column, including those other modules add,
# is filled as Tryton fills it), but for the columns given here.
BOOKKEEPING = {
    'create_date': "(now() AT TIME ZONE 'UTC')",
    'create_uid': '0',
    'write_date': 'NULL',
    'write_uid': 'NULL',
    }


def clone(cur, table, template_id, source, values, where=None):
    """Insert into table a row per row of the SQL FROM item source (alias
    s) meeting the SQL condition where: a copy of row template_id (alias
    t) but for values, a dict of column: SQL expression; returns the count
    of rows"""
    cur.execute("SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s "
        "ORDER BY ordinal_position", (table,))
    names = [n for n, in cur.fetchall()]
    values = dict(BOOKKEEPING, **values)
    assert set(values) <= set(names), set(values) - set(names)
    cur.execute(
        f'INSERT INTO "{table}" ('
        + ', '.join(f'"{n}"' for n in names) + ') SELECT '
        + ', '.join(values.get(n, f't."{n}"') for n in names)
        + f' FROM {source} CROSS JOIN (SELECT * FROM "{table}" '
        f'WHERE id = {int(template_id)}) AS t'
        + (f' WHERE {where}' if where else ''))
    return cur.rowcount


def drop_indexes(cur, tables):
    """Drop the foreign keys and the indexes that are no constraint of the
    tables (checking and updating them row by row is most of the cost of
    a bulk insert); returns the statements that put them back"""
    cur.execute("SELECT format('ALTER TABLE %%I DROP CONSTRAINT %%I', "
        "conrelid::regclass, conname), format('ALTER TABLE %%I ADD "
        "CONSTRAINT %%I %%s', conrelid::regclass, conname, "
        "pg_get_constraintdef(oid)) FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid = ANY(%s::regclass[])", (tables,))
    foreign_keys = cur.fetchall()
    cur.execute("SELECT format('DROP INDEX %%I', indexname), indexdef "
        "FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM "
        "pg_constraint WHERE conindid = format('%%I', indexname)::regclass)",
        (tables,))
    indexes = cur.fetchall()
    for drop, _ in foreign_keys + indexes:
        cur.execute(drop)
    return [create for _, create in indexes + foreign_keys]


GENERATED = ['party_party', 'party_address', 'product_template',
    'product_product', 'product_list_price', 'product_cost_price',
    'sale_sale', 'sale_line', 'stock_move', 'account_invoice',
    'account_invoice_line']
# the tables of a row per order or per line
BULK = ['sale_sale', 'sale_line', 'stock_move', 'account_invoice',
    'account_invoice_line']


def generate(args, sale_ids, today):
    """Fill args.lines sale lines with bulk SQL; returns the seconds taken
    by the inserts and by VACUUM ANALYZE"""
    start = time.perf_counter()
    with connect(args.uri, args.database) as conn, conn.cursor() as cur:

        def one(sql, *params):
            cur.execute(sql, params)
            return cur.fetchone()
        base = {t: one(f'SELECT coalesce(max(id), 0) FROM "{t}"')[0]
            for t in GENERATED}
        # the models: an order made and delivered through Tryton
        sale, company, party, address = one('SELECT id, company, party, '
            'invoice_address FROM sale_sale WHERE id = %s', sale_ids[0])
        line, product = one("SELECT id, product FROM sale_line "
            "WHERE sale = %s AND product IS NOT NULL ORDER BY id", sale)
        template, = one('SELECT template FROM product_product '
            'WHERE id = %s', product)
        move, output, customer = one('SELECT id, from_location, '
            "to_location FROM stock_move WHERE origin = %s",
            f'sale.line,{line}')
        input_, = one("SELECT input_location FROM stock_location "
            "WHERE type = 'warehouse' ORDER BY id")
        invoice_line, invoice = one('SELECT id, invoice FROM '
            'account_invoice_line WHERE origin = %s', f'sale.line,{line}')
        list_price, = one('SELECT id FROM product_list_price '
            'WHERE template = %s', template)
        cost_price, = one('SELECT id FROM product_cost_price '
            'WHERE product = %s', product)
        cny, = one('SELECT currency FROM company_company WHERE id = %s',
            company)
        usd, = one("SELECT id FROM currency_currency WHERE code = 'USD'")
        p = dict(lines=args.lines, customers=args.customers,
            products=args.products, today=today,
            days=(today - first_date(today, args.months)).days + 1,
            cny=cny, usd=usd, **{f'{t}_base': base[t] for t in base})
        cur.execute('SELECT setseed(0.42)')
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        restore = drop_indexes(cur, BULK)

        # customers: names as the demo's, an address each
        cur.execute('CREATE TEMP TABLE g_party AS SELECT n, '
            '%(party_party_base)s + n AS id, '
            '%(party_address_base)s + n AS address '
            'FROM generate_series(1, %(customers)s) AS n', p)
        clone(cur, 'party_party', party, 'g_party AS s', {
                'id': 's.id',
                'code': "'BC' || lpad(s.n::text, 6, '0')",
                'code_alnum': "'BC' || lpad(s.n::text, 6, '0')",
                'code_digit': 's.n',
                'name': "(ARRAY['华东', '鑫源', 'Hengtong', '瑞丰', 'Hongda', "
                "'天成', 'Jintai', '东方', 'Yongsheng', '同福'])[1 + s.n % 10]"
                " || (ARRAY['贸易有限公司', ' Trading Co., Ltd.', '商行', "
                "' Hardware Store', '电子科技有限公司'])[1 + s.n / 10 % 5] "
                "|| ' ' || s.n",
                })
        clone(cur, 'party_address', address, 'g_party AS s', {
                'id': 's.address', 'party': 's.id'})

        # products: list prices log-uniform from 2 to 800 yuan, cost 40-80%
        cur.execute('CREATE TEMP TABLE g_product AS SELECT n, '
            '%(product_product_base)s + n AS id, '
            '%(product_template_base)s + n AS template, '
            '%(product_list_price_base)s + n AS list_price_id, '
            '%(product_cost_price_base)s + n AS cost_price_id, '
            'round(exp(ln(2) + random() * ln(400))::numeric, 2) '
            'AS list_price, (0.4 + 0.4 * random())::numeric AS cost_share '
            'FROM generate_series(1, %(products)s) AS n', p)
        cur.execute('CREATE UNIQUE INDEX ON g_product (id)')
        clone(cur, 'product_template', template, 'g_product AS s', {
                'id': 's.template',
                'name': "'Product ' || s.n || ' 商品'",
                'code': 'NULL',
                })
        clone(cur, 'product_product', product, 'g_product AS s', {
                'id': 's.id', 'template': 's.template',
                'suffix_code': "'BP' || lpad(s.n::text, 6, '0')",
                'code': "'BP' || lpad(s.n::text, 6, '0')",
                })
        clone(cur, 'product_list_price', list_price, 'g_product AS s', {
                'id': 's.list_price_id', 'template': 's.template',
                'list_price': 's.list_price'})
        clone(cur, 'product_cost_price', cost_price, 'g_product AS s', {
                'id': 's.cost_price_id', 'product': 's.id',
                'cost_price': 'round(s.list_price * s.cost_share, 4)'})

        # orders of 1 to 7 lines until there are args.lines lines, over
        # the months, a tenth in US dollars; the older the more are done
        cur.execute('CREATE TEMP TABLE g_order AS SELECT *, '
            'sum(k) OVER (ORDER BY n) - k AS first_line FROM ('
            'SELECT n, 1 + floor(random() * 7)::int AS k, '
            'floor(random() * %(days)s)::int AS age, random() AS r, '
            'random() < 0.1 AS usd, random() AS c, '
            '1 + floor(%(customers)s * random() ^ 2)::int AS customer '
            'FROM generate_series(1, %(lines)s / 4 * 6 / 5 + 10) AS n) AS o',
            p)
        cur.execute('DELETE FROM g_order WHERE first_line >= %(lines)s', p)
        cur.execute('ALTER TABLE g_order '
            'ADD COLUMN id int, ADD COLUMN sale_date date, '
            'ADD COLUMN state varchar, ADD COLUMN shipped boolean, '
            'ADD COLUMN invoice_state varchar')
        cur.execute('UPDATE g_order SET id = %(sale_sale_base)s + n, '
            "sale_date = %(today)s::date - age, state = CASE "
            "WHEN age > 45 THEN CASE WHEN r < 0.97 THEN 'done' "
            "ELSE 'processing' END "
            "WHEN age > 7 THEN CASE WHEN r < 0.6 THEN 'done' "
            "WHEN r < 0.95 THEN 'processing' ELSE 'confirmed' END "
            "ELSE CASE WHEN r < 0.1 THEN 'done' WHEN r < 0.5 "
            "THEN 'processing' ELSE 'confirmed' END END", p)
        cur.execute("UPDATE g_order SET "
            "shipped = state = 'done' OR (state = 'processing' "
            "AND random() < 0.8), invoice_state = CASE "
            "WHEN state = 'done' THEN 'paid' "
            "WHEN state = 'processing' AND random() < 0.5 "
            "THEN 'awaiting payment' "
            "WHEN state = 'processing' THEN 'pending' ELSE 'none' END")
        cur.execute('CREATE UNIQUE INDEX ON g_order (id)')

        # lines: popular products sell more, mostly a few units, sold
        # at 85-105% of the list price (US orders at about 7.05 yuan/$)
        cur.execute('CREATE TEMP TABLE g_line AS SELECT '
            '%(sale_line_base)s + x.position + 1 AS id, x.sale, '
            'x.sequence, pr.id AS product, x.quantity, '
            'pr.cost_share * pr.list_price AS cost_price, '
            'round(pr.list_price * (0.85 + 0.2 * random())::numeric '
            '/ CASE WHEN x.usd THEN 7.05 ELSE 1 END, 2) AS unit_price '
            'FROM (SELECT o.id AS sale, o.first_line + i AS position, '
            'i + 1 AS sequence, o.usd, '
            '1 + floor(%(products)s * random() ^ 1.6)::int AS n, '
            '1 + floor(random() ^ 3 * 40) AS quantity '
            'FROM g_order AS o, generate_series(0, o.k - 1) AS i '
            'WHERE o.first_line + i < %(lines)s) AS x '
            'JOIN g_product AS pr ON pr.n = x.n', p)
        cur.execute('CREATE TEMP TABLE g_amount AS SELECT sale, '
            'sum(quantity * unit_price) AS amount FROM g_line GROUP BY sale')
        clone(cur, 'sale_sale', sale,
            'g_order AS s JOIN g_amount AS a ON a.sale = s.id', {
                'id': 's.id',
                'number': "'SO' || lpad(s.n::text, 7, '0')",
                'reference': 'NULL', 'description': 'NULL',
                'comment': 'NULL', 'origin': 'NULL', 'contact': 'NULL',
                'party': f"{base['party_party']} + s.customer",
                'invoice_address': f"{base['party_address']} + s.customer",
                'shipment_address': f"{base['party_address']} + s.customer",
                'invoice_party': 'NULL', 'shipment_party': 'NULL',
                'currency': f'CASE WHEN s.usd THEN {usd} ELSE {cny} END',
                'sale_date': 's.sale_date', 'quotation_date': 's.sale_date',
                'shipping_date': 'NULL', 'state': 's.state',
                'shipment_state': "CASE WHEN s.shipped THEN 'sent' "
                "WHEN s.state = 'confirmed' THEN 'none' ELSE 'waiting' END",
                'invoice_state': 's.invoice_state',
                'untaxed_amount_cache': 'a.amount',
                'tax_amount_cache': '0', 'total_amount_cache': 'a.amount',
                'channel': "CASE WHEN s.c < 0.35 THEN 'phone' "
                "WHEN s.c < 0.55 THEN 'email' WHEN s.c < 0.85 THEN 'web' "
                "WHEN s.c < 0.95 THEN 'walk_in' ELSE 'other' END",
                'intake_reference': "CASE WHEN s.c >= 0.55 AND s.c < 0.85 "
                "THEN 'WEB' || s.n END",
                'review_submitted_at': 's.sale_date + time \'09:00\'',
                'pickup_code': 'NULL',
                })
        clone(cur, 'sale_line', line,
            'g_line AS s JOIN g_order AS o ON o.id = s.sale', {
                'id': 's.id', 'sale': 's.sale', 'sequence': 's.sequence',
                'product': 's.product', 'quantity': 's.quantity',
                'unit_price': 's.unit_price', 'description': "''",
                'note': 'NULL', 'shipment_cost': 'NULL',
                'actual_quantity': "CASE WHEN o.state = 'confirmed' "
                "THEN NULL ELSE s.quantity END",
                'quantity_to_ship': 'CASE WHEN o.shipped THEN 0 '
                'ELSE s.quantity END',
                'quantity_to_invoice': "CASE WHEN o.invoice_state IN "
                "('paid', 'awaiting payment') THEN 0 ELSE s.quantity END",
                # what sale_flow keeps on the line for its statistics (the
                # 2% returned below are not taken off: timing only)
                'delivered_quantity': 'CASE WHEN o.shipped THEN s.quantity '
                'ELSE 0 END',
                'delivered_cost': 'CASE WHEN o.shipped THEN '
                'round((s.quantity * s.cost_price)::numeric, 4) ELSE 0 END',
                'refused_quantity': 'NULL',
                'invoiced_amount': "CASE WHEN o.invoice_state IN "
                "('paid', 'awaiting payment') "
                "THEN s.quantity * s.unit_price ELSE 0 END",
                })

        # a done move from the warehouse's output to the customer for the
        # lines of shipped orders; 2% of them returned to its input
        cur.execute('CREATE TEMP TABLE g_move AS SELECT '
            '%(stock_move_base)s + row_number() OVER (ORDER BY l.id) AS id, '
            'l.id AS line, l.product, l.cost_price, l.quantity, '
            'l.unit_price, o.usd, false AS return, '
            'least(o.sale_date + floor(random() * 5)::int, '
            '%(today)s::date) AS effective_date '
            'FROM g_line AS l JOIN g_order AS o ON o.id = l.sale '
            'WHERE o.shipped', p)
        cur.execute("INSERT INTO g_move SELECT "
            "(SELECT max(id) FROM g_move) + row_number() OVER (ORDER BY id), "
            "line, product, cost_price, 1 + floor(random() * quantity), "
            "unit_price, usd, true, "
            "effective_date + 3 + floor(random() * 28)::int FROM g_move "
            "WHERE random() < 0.02")
        cur.execute('DELETE FROM g_move WHERE effective_date > %(today)s',
            p)
        clone(cur, 'stock_move', move, 'g_move AS s', {
                'id': 's.id', 'product': 's.product',
                'quantity': 's.quantity', 'internal_quantity': 's.quantity',
                'from_location': f'CASE WHEN s.return THEN {customer} '
                f'ELSE {output} END',
                'to_location': f'CASE WHEN s.return THEN {input_} '
                f'ELSE {customer} END',
                'origin': "'sale.line,' || s.line",
                'currency': f'CASE WHEN s.usd THEN {usd} ELSE {cny} END',
                'unit_price': 's.unit_price',
                'cost_price': 'round(s.cost_price, 4)',
                'product_cost_price': 'NULL',
                'effective_date': 's.effective_date',
                'planned_date': 's.effective_date',
                'origin_planned_date': 's.effective_date',
                'shipment': 'NULL', 'package': 'NULL',
                'shipment_out_cost_price': 'NULL',
                'internal_weight': 'NULL', 'internal_volume': 'NULL',
                'packed_quantity': 'NULL', 'scanned_quantity': 'NULL',
                })

        # an invoice for each order done (paid) and half of those in
        # process (posted), a line per sale line
        cur.execute('CREATE TEMP TABLE g_invoice AS SELECT '
            '%(account_invoice_base)s + row_number() OVER (ORDER BY id) '
            'AS id, id AS sale, customer, usd, amount, '
            "CASE WHEN state = 'done' THEN 'paid' ELSE 'posted' END "
            'AS state, least(sale_date + floor(random() * 10)::int, '
            '%(today)s::date) AS invoice_date FROM g_order '
            'JOIN g_amount ON g_amount.sale = g_order.id '
            "WHERE invoice_state IN ('paid', 'awaiting payment')", p)
        number = f"(s.id - {base['account_invoice']})"
        clone(cur, 'account_invoice', invoice, 'g_invoice AS s', {
                'id': 's.id',
                'number': f"'INV' || lpad({number}::text, 7, '0')",
                'number_alnum': f"'INV' || lpad({number}::text, 7, '0')",
                'number_digit': number,
                'party': f"{base['party_party']} + s.customer",
                'invoice_address': f"{base['party_address']} + s.customer",
                'currency': f'CASE WHEN s.usd THEN {usd} ELSE {cny} END',
                'invoice_date': 's.invoice_date', 'accounting_date': 'NULL',
                'payment_term_date': 'NULL', 'state': 's.state',
                'move': 'NULL', 'cancel_move': 'NULL',
                'invoice_report_cache': 'NULL',
                'invoice_report_cache_id': 'NULL',
                'invoice_report_format': 'NULL',
                'untaxed_amount_cache': 's.amount',
                'tax_amount_cache': '0', 'total_amount_cache': 's.amount',
                'reference': 'NULL', 'description': 'NULL',
                'comment': 'NULL', 'posted_by': 'NULL',
                'validated_by': 'NULL',
                })
        clone(cur, 'account_invoice_line', invoice_line,
            'g_line AS l JOIN g_invoice AS s ON s.sale = l.sale', {
                'id': f"{base['account_invoice_line']} + l.id "
                f"- {base['sale_line']}",
                'invoice': 's.id', 'product': 'l.product',
                'quantity': 'l.quantity', 'unit_price': 'l.unit_price',
                'currency': f'CASE WHEN s.usd THEN {usd} ELSE {cny} END',
                'origin': "'sale.line,' || l.id", 'sequence': 'l.sequence',
                'description': 'NULL', 'note': 'NULL', 'party': 'NULL',
                })

        for statement in restore:
            cur.execute(statement)
        for table in GENERATED:
            cur.execute(f"SELECT setval('\"{table}_id_seq\"', "
                f'(SELECT max(id) FROM "{table}"))')
        counts = {t: one(f'SELECT count(*) FROM "{t}" WHERE id > %s',
                base[t])[0] for t in GENERATED}
    inserted = time.perf_counter() - start
    start = time.perf_counter()
    with connect(args.uri, args.database, autocommit=True) as conn:
        conn.execute('VACUUM ANALYZE '
            + ', '.join(f'"{t}"' for t in GENERATED))
    return counts, inserted, time.perf_counter() - start


def first_date(today, months):
    "The first day of the months up to today"
    from dateutil.relativedelta import relativedelta
    return today - relativedelta(months=months) + dt.timedelta(days=1)


SALE_STATES = ('confirmed', 'processing', 'done')


def execute(query):
    "Execute the python-sql query whole and fetch all its rows"
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute(*query)
    return cursor.fetchall()


def tryton(pool):
    "a. Tryton's sale.reporting.main"
    return execute(pool.get('sale.reporting.main').table_query())


def tryton_monthly(pool):
    "a. Tryton's sale.reporting.main.time_series (by month)"
    return execute(
        pool.get('sale.reporting.main.time_series').table_query())


def bare(pool):
    "b. bare SQL sum(quantity * unit_price) by month"
    from trytond.transaction import Transaction
    context = Transaction().context
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT date_trunc(\'month\', s.sale_date) AS month, '
        'sum(l.quantity * l.unit_price) AS amount '
        'FROM sale_line AS l JOIN sale_sale AS s ON s.id = l.sale '
        'WHERE s.company = %s AND s.state = ANY(%s) '
        'AND s.sale_date >= %s AND s.sale_date <= %s '
        'GROUP BY 1 ORDER BY 1', (context['company'], list(SALE_STATES),
            context['from_date'], context['to_date']))
    return cursor.fetchall()


def ours(pool):
    """c. ours: sale_flow's sale.flow.statistics.period

    None (and says so) where the model does not exist"""
    try:
        Statistics = pool.get('sale.flow.statistics.period')
    except KeyError:
        print("  c. ours: not available (no model "
            "sale.flow.statistics.period)")
        return None
    return execute(Statistics.table_query())


QUERIES = [('tryton', tryton), ('tryton_monthly', tryton_monthly),
    ('bare', bare), ('ours', ours)]


def measure(config, context, func, runs):
    """Milliseconds of each of runs calls of func(pool) after a warm-up,
    under the context, and the rows; None where func returns None"""
    from trytond.modules.sale_flow.tests import tools
    from trytond.transaction import Transaction

    def work(pool):
        with Transaction().set_context(context):
            rows = func(pool)
            if rows is None:
                return None
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                func(pool)
                times.append((time.perf_counter() - start) * 1000)
            return times, len(rows)
    return tools.server_call(config, work)


def explain(config, context, model):
    "EXPLAIN ANALYZE of the table_query() of model"
    from trytond.modules.sale_flow.tests import tools
    from trytond.transaction import Transaction

    def work(pool):
        with Transaction().set_context(context):
            query, params = tuple(pool.get(model).table_query())
            cursor = Transaction().connection.cursor()
            cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + query, params)
            return [r for r, in cursor.fetchall()]
    return tools.server_call(config, work)


def read_meta(args):
    "What a former run generated in the database, or None"
    import json
    with connect(args.uri, 'postgres') as conn:
        row = conn.execute('SELECT shobj_description(oid, \'pg_database\')'
            ' FROM pg_database WHERE datname = %s',
            (args.database,)).fetchone()
    try:
        return json.loads(row[0])
    except (TypeError, ValueError):
        return None


def write_meta(args, meta):
    import json
    with connect(args.uri, args.database, autocommit=True) as conn:
        conn.execute(f'COMMENT ON DATABASE "{args.database}" IS '
            + "'" + json.dumps(meta).replace("'", "''") + "'")


def server_settings(args):
    with connect(args.uri, args.database) as conn:
        return ', '.join(f"{n} {conn.execute(f'SHOW {n}').fetchone()[0]}"
            for n in ['server_version', 'shared_buffers', 'work_mem',
                'jit', 'max_parallel_workers_per_gather'])


def print_times(queries, results):
    "Print the best time of each query measured, with its runs"
    for name, func in queries:
        result = results.get(name)
        if result is None:
            continue
        times, rows = result
        print(f"  {func.__doc__.splitlines()[0]:<58}"
            f"{min(times):>10.1f}   ({rows} rows; runs: "
            + ' '.join(f'{t:.1f}' for t in times) + ')')


def report(args, meta, results):
    print(f"\nsales statistics — {meta['lines']:,} sale lines, "
        f"{meta['from_date']} to {meta['to_date']} by month; best of "
        f"{args.runs} runs after a warm-up, ms:")
    print(f"  {server_settings(args)}")
    print_times(QUERIES, results)

    def ratio(a, b):
        if results.get(a) and results.get(b):
            return f"x{min(results[a][0]) / min(results[b][0]):.2f}"
        return "n/a"
    print(f"  ours / Tryton {ratio('ours', 'tryton')}, "
        f"ours / bare {ratio('ours', 'bare')}, "
        f"Tryton / bare {ratio('tryton', 'bare')} "
        f"(Tryton by month / bare {ratio('tryton_monthly', 'bare')})")


def agreement(config, context):
    """Print the revenue and orders of Tryton's report and of ours over the
    whole range: the same figures (ours rounds per month)"""
    from trytond.modules.sale_flow.tests import tools
    from trytond.transaction import Transaction

    def work(pool):
        Main = pool.get('sale.reporting.main')
        with Transaction().set_context(context):
            tryton, = Main.search([])
            try:
                Period = pool.get('sale.flow.statistics.period')
            except KeyError:
                return None
            ours = Period.search([])
            return (tryton.revenue, tryton.number,
                sum(p.revenue for p in ours), sum(p.orders for p in ours))
    result = tools.server_call(config, work)
    if result:
        print("  revenue, orders: Tryton %s, %s; ours %s, %s" % result)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--lines', type=int, default=1_000_000,
        help="sale lines to generate (default 1,000,000)")
    parser.add_argument('--customers', type=int, default=2000)
    parser.add_argument('--products', type=int, default=5000)
    parser.add_argument('--months', type=int, default=24,
        help="the orders are spread over the last MONTHS months")
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--database', default='sale_flow_statistics')
    parser.add_argument('--workdir',
        default=os.path.join(ROOT, 'var', 'bench-statistics'))
    parser.add_argument('--reuse', action='store_true',
        help="with TRYTOND_DATABASE_URI: time the database of a former "
        "run without generating again")
    parser.add_argument('--explain', action='store_true',
        help="print EXPLAIN ANALYZE of Tryton's query")
    args = parser.parse_args()
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    args.uri = os.environ.get('TRYTOND_DATABASE_URI')
    if args.uri and not args.uri.startswith('postgresql'):
        sys.exit("TRYTOND_DATABASE_URI must be postgresql://...")
    if not args.uri:
        if args.reuse:
            sys.exit("--reuse needs TRYTOND_DATABASE_URI")
        args.uri = start_postgresql()
    conf = os.path.join(args.workdir, 'trytond.conf')
    with open(conf, 'w') as fp:
        fp.write(f"[database]\nuri = {args.uri}\n")
    os.environ['TRYTOND_CONFIG'] = conf
    from proteus import config as pconfig

    meta = read_meta(args) if args.reuse else None
    if meta is None:
        today = dt.date.today()
        start = time.perf_counter()
        print(f"building the database {args.database} (sale_flow, "
            "demo company)...", file=sys.stderr)
        with mail_sink():
            sale_ids = build_database(args, conf, today)
        print(f"built in {time.perf_counter() - start:.0f} s; generating "
            f"{args.lines:,} sale lines...", file=sys.stderr)
        counts, inserted, vacuum = generate(args, sale_ids, today)
        print(f"generated in {inserted + vacuum:.1f} s ({inserted:.1f} s "
            f"inserting, {vacuum:.1f} s VACUUM ANALYZE): "
            + ', '.join(f'{n:,} {t}' for t, n in counts.items()))
        meta = {'lines': args.lines, 'months': args.months,
            'from_date': first_date(today, args.months).isoformat(),
            'to_date': today.isoformat()}
        write_meta(args, meta)
    config = pconfig.set_trytond(args.database, config_file=conf)

    from trytond.modules.sale_flow.tests import tools

    def company(pool):
        return pool.get('company.company').search([], limit=1)[0].id
    context = {
        'company': tools.server_call(config, company),
        'from_date': dt.date.fromisoformat(meta['from_date']),
        'to_date': dt.date.fromisoformat(meta['to_date']),
        'period': 'month',
        }
    results = {name: measure(config, context, func, args.runs)
        for name, func in QUERIES}
    report(args, meta, results)
    agreement(config, context)
    if args.explain:
        print("\nEXPLAIN ANALYZE of a. (sale.reporting.main):")
        print('\n'.join(explain(config, context, 'sale.reporting.main')))


if __name__ == '__main__':
    main()
