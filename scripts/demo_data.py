#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Fill a sale_flow database with demo data (see tests/tools.py).

The orders are spread over the flow and the channels: some typed in,
some waiting for review, some released, picked, packed, shipped, and most
signed for by the customer, a few with goods refused (the after-sales
cases); the accountant posts the invoices of the delivered orders and the
customers pay most of them (those orders are done); service levels per
stage are set.  The steps are then given a
history: the delivered orders over the last months, more each month (the
statistics per period show a trend), the open ones over the last days, a
few of them waiting longer than their stage's service level (late).  Some
customers rate their delivery, two of them badly.

The customers' e-mails (shipped, ready for pickup) go to a mail sink on
127.0.0.1 that keeps them in memory: nothing leaves the machine.
"""

import argparse
import contextlib
import datetime as dt
import os
import random
import re
import sys
import time
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from proteus import config as pconfig
from sql import Null

from trytond import config as trytond_config
from trytond.modules.sale_flow.tests import tools
from trytond.transaction import Transaction

# scripts/mail_sink.py, beside this file (also when the scenario loads it)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_sink import sink  # noqa: E402

# months of history of the delivered orders
MONTHS = 6


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('-c', '--config', dest='config_file')
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--customers', type=int, default=24)
    parser.add_argument('--products', type=int, default=40)
    parser.add_argument('--orders', type=int, default=60)
    parser.add_argument('--language', default='zh_CN',
        help="language of the role users (default: zh_CN)")
    parser.add_argument('--courier', metavar='ENDPOINT',
        help="only follow the couriers' parcels at the kuaidi100 mock of "
        "this address (scripts/courier_mock.py), the server's tracking "
        "route being at --public")
    parser.add_argument('--public', metavar='URL',
        help="the demo server's address, for the courier's pushes")
    parser.add_argument('--waybill', metavar='ENDPOINT',
        help="with --courier: the SF Express carrier's electronic waybills "
        "come from the SF Express mock of this address")
    args = parser.parse_args()

    start = time.monotonic()
    config = pconfig.set_trytond(args.database, config_file=args.config_file)
    if args.courier:
        count = follow_parcels(config, args.courier, args.public)
        print("couriers: %d parcels on their way followed at %s" % (
                count, args.courier))
        if args.waybill:
            carriers = waybills_at(config, args.waybill)
            print("couriers: the waybills of %s come from %s" % (
                    ', '.join(carriers), args.waybill))
        return
    with mail_sink() as mails:
        tools.setup_demo(config=config, customers=args.customers,
            products=args.products, language=args.language)
        orders = populate(config, args.orders)
    print("demo data: %d customers, %d products, %d orders in %.1f s "
        "(%d e-mails to customers kept by the local mail sink)" % (
            args.customers, args.products, orders,
            time.monotonic() - start, len(mails)))


def populate(config, count, months=MONTHS):
    """Create count orders (and three for the review queue) and take them
    along the flow, with service levels, a history over the last months,
    after-sales cases and ratings; return the number of orders"""
    sale_ids = tools.create_orders(config=config, count=count)
    vary_channels(config, sale_ids)
    # Spread the orders over the stages, most signed for (the history of
    # the months before); the oldest go furthest.
    stages = [('signed', 12), ('shipped', 1), ('packed', 1), ('picked', 1),
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
            invoice_delivered(config, chunk)
        elif chunk and stage != 'draft':
            tools.advance_orders(config=config, sale_ids=chunk, stage=stage)
    review_examples(config)
    every_branch(config)
    create_service_levels(config)
    spread_history(config, months=months)
    rate_deliveries(config)
    notify_late(config)
    return len(sale_ids) + 3 + len(BRANCHES)


# the channels of the demo orders and their weights
CHANNELS = [('phone', 35), ('web', 30), ('email', 20), ('walk_in', 10),
    ('other', 5)]


def vary_channels(config, sale_ids, seed=3):
    """The draft orders came in by phone, from the web shop (with its order
    id), by e-mail (with the customer's purchase order number) or at the
    counter"""
    def work(pool):
        Sale = pool.get('sale.sale')
        rng = random.Random(seed)
        names, weights = zip(*CHANNELS)
        to_write = []
        for sale in Sale.browse(sale_ids):
            channel, = rng.choices(names, weights)
            reference = {
                'web': 'SHOP-%06d' % sale.id,
                'email': 'PO-%05d' % (sale.id * 7 % 100000),
                }.get(channel)
            to_write.extend(([sale], {
                        'channel': channel, 'intake_reference': reference}))
        if to_write:
            Sale.write(*to_write)
    tools.server_call(config, work)


def review_examples(config):
    """Orders for the review queue with findings: a web order that repeats
    a phone order, an order priced below cost, an order short of stock"""
    def work(pool):
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        quotations = Sale.search([('state', '=', 'quotation')],
            order=[('id', 'ASC')])
        phone = next((s for s in quotations if s.channel == 'phone'),
            quotations[0])
        # the copies are taken by phone (a web order needs its shop's id)
        copy = {'lines': None, 'channel': 'phone'}
        web_id, = Sale.intake([{
                    'channel': 'web', 'reference': 'SHOP-20261129-001',
                    'customer': phone.party.code,
                    'lines': [{'product': l.product.code,
                            'quantity': l.quantity}
                        for l in phone.lines
                        if l.product and l.product.type == 'goods'],
                    }])
        cheap, = Sale.copy([phone], default=copy)
        product = phone.lines[0].product
        Line.create([{
                    'sale': cheap.id, 'type': 'line', 'product': product.id,
                    'unit': product.sale_uom.id, 'quantity': 20,
                    'unit_price': (product.cost_price * 8 / 10).quantize(
                        product.cost_price.__class__('0.01')),
                    }])
        # and an order for more than the warehouse has of a product
        short, = Sale.copy([phone], default=copy)
        Line.create([{
                    'sale': short.id, 'type': 'line', 'product': product.id,
                    'unit': product.sale_uom.id, 'quantity': 500,
                    'unit_price': product.list_price_used,
                    }])
        Sale.quote(Sale.browse([web_id, cheap.id, short.id]))
    tools.server_call(config, work)


# the orders that take the flow chart's other ways (the demo's others are
# approved as they are, short ones wait for the goods): what happens to each
BRANCHES = ['sent_back', 'rejected', 'overridden', 'wait', 'partial',
    'substitute', 'reduce']


def every_branch(config):
    """Orders that take the other ways of the flow chart: one sent back to
    the clerk, one rejected, one sold below cost whose finding the reviewer
    overrode, collected by the customer at the warehouse; four short of
    stock: waiting for the goods, taken partly now, with a substitute
    product, reduced"""
    def work(pool):
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        Finding = pool.get('sale.flow.review.finding')
        Decision = pool.get('sale.flow.stock.decision')
        Product = pool.get('product.product')
        done = Sale.search([('state', 'in', ['processing', 'done'])],
            order=[('id', 'ASC')], limit=1)
        model, = done
        warehouse = model.warehouse
        goods = Product.search([('type', '=', 'goods')],
            order=[('id', 'ASC')])
        with Transaction().set_context(locations=[warehouse.id]):
            on_hand = {p.id: p.quantity for p in Product.browse(goods)}
        copy = {'lines': None, 'channel': 'phone'}
        orders = dict(zip(BRANCHES, Sale.copy([model] * len(BRANCHES),
                    default=copy)))
        # the one collected at the warehouse
        Sale.write([orders['overridden']], {
                'carrier': None, 'delivery_method': 'pickup',
                'shipment_address': warehouse.address.id})
        lines = []
        for index, (branch, sale) in enumerate(orders.items()):
            product = goods[index % len(goods)]
            quantity, price = 2, product.list_price_used
            if branch == 'overridden':
                price = (product.cost_price * 8 / 10).quantize(Decimal('0.01'))
            elif branch in {'wait', 'partial', 'substitute', 'reduce'}:
                quantity = on_hand[product.id] + 5
            lines.append({
                    'sale': sale.id, 'type': 'line', 'product': product.id,
                    'unit': product.sale_uom.id, 'quantity': quantity,
                    'unit_price': price})
        Line.create(lines)
        Sale.quote(list(orders.values()))
        Sale.review_reject([orders['sent_back']], 'sent_back',
            "Ask the customer for the delivery date.")
        Sale.review_reject([orders['rejected']], 'rejected',
            "The customer cancelled by phone.")
        sale = orders['overridden']
        findings = [f for f in Sale(sale.id).review_findings
            if f.state == 'open' and f.severity == 'blocking']
        Finding.write(findings, {
                'override_reason': "Clearance price agreed by the manager."})
        Finding.override(findings)
        decisions = []
        for branch in ['wait', 'partial', 'substitute', 'reduce']:
            sale = Sale(orders[branch].id)
            line, = [l for l in sale.lines
                if l.product and l.product.type == 'goods']
            values = {'sale': sale.id, 'line': line.id, 'kind': branch,
                'contact': "The buyer, by phone"}
            if branch == 'partial':
                values['quantity'] = on_hand[line.product.id]
            elif branch == 'substitute':
                substitute = max(goods, key=lambda p: on_hand[p.id])
                values.update(substitute=substitute.id, quantity=2,
                    customer_consent=True)
            elif branch == 'reduce':
                values['quantity'] = 2
            decisions.append(values)
        Decision.apply(Decision.create(decisions))
        approved = [orders[b] for b in BRANCHES
            if b not in {'sent_back', 'rejected'}]
        return [s.id for s in approved]
    approved = tools.server_call(config, work)
    tools.advance_orders(config=config, sale_ids=approved,
        stage='processing')
    tools.advance_orders(config=config, sale_ids=approved[:1],
        stage='packed')

    def collect(pool):
        Sale = pool.get('sale.sale')
        Shipment = pool.get('stock.shipment.out')
        sale = Sale(approved[0])
        for shipment in sale.shipments:
            if shipment.state == 'packed':
                Shipment.hand_over_to(shipment, sale.pickup_code,
                    "Mr. Wang Wei")
    tools.server_call(config, collect)


# goods the customers refuse at the delivery: reason, details
REFUSALS = [
    ('damaged', "外箱破损 carton crushed in transit"),
    ('wrong_item', "颜色不对 wrong colour delivered"),
    ('missing', "少一件 one piece short in the carton"),
    ]


def sign_delivered(config, sale_ids):
    """The customers sign for the shipped goods of the orders (the identity
    check with the last four digits of their phone); a few refuse a piece,
    which opens an after-sales case"""
    def work(pool):
        Sale = pool.get('sale.sale')
        sales = Sale.browse(sale_ids)
        shipments = [s for sale in sales for s in sale.shipments]
        # spread over the orders, the first one late in the list
        step = max(1, len(shipments) // (len(REFUSALS) + 1))
        refusals = {s.id: r for s, r in zip(
                shipments[step // 2::step], REFUSALS)}
        tools.sign_shipments(pool, shipments, refusals=refusals)
        Sale.process(Sale.browse(sale_ids))
    tools.server_call(config, work)


# one delivered order in UNPAID_EVERY waits for its payment
UNPAID_EVERY = 3


def invoice_delivered(config, sale_ids):
    """The accountant posts the invoices of the delivered orders; the
    customers pay them, all but one in UNPAID_EVERY, by bank transfer: the
    paid orders are done"""
    def work(pool):
        Sale = pool.get('sale.sale')
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        Date = pool.get('ir.date')
        sales = Sale.browse(sale_ids)
        invoices = [i for s in sales for i in s.invoices
            if i.state in {'draft', 'validated'}]
        # the demo's order lines are made without taxes: the accountant
        # confirms Tryton's warning that the invoices lack the default ones
        with Transaction().set_context(_skip_warnings=True):
            Invoice.post(invoices)
        method = payment_method(pool)
        today = Date.today()
        paid = [i for n, i in enumerate(Invoice.browse(invoices))
            if n % UNPAID_EVERY != UNPAID_EVERY - 1]
        for invoice in paid:
            lines = invoice.pay_invoice(
                invoice.amount_to_pay, method, today)
            MoveLine.reconcile(list(invoice.lines_to_pay) + list(lines))
        Invoice.process(paid)
        Sale.process(Sale.browse(sale_ids))
    tools.server_call(config, work)


def payment_method(pool):
    "The bank transfer of the company: the cash journal and account"
    Method = pool.get('account.invoice.payment.method')
    Journal = pool.get('account.journal')
    Account = pool.get('account.account')
    Company = pool.get('company.company')
    methods = Method.search([], limit=1)
    if methods:
        return methods[0]
    company, = Company.search([], limit=1)
    journal, = Journal.search([('type', '=', 'cash')], limit=1)
    cash, = Account.search([
            ('company', '=', company.id), ('code', '=', '1.1.1')], limit=1)
    method, = Method.create([{
                'company': company.id, 'name': "Bank Transfer 银行转账",
                'journal': journal.id,
                'credit_account': cash.id, 'debit_account': cash.id,
                }])
    return method


# How long an order may wait at a stage (hours) and who is told when it is
# late; no service level after the signature (the accounting's pace)
SERVICE_LEVELS = [
    ('ordered', 24, 'sale.group_sale'),
    ('submitted', 4, 'sale_flow.group_sale_flow_reviewer'),
    ('approved', 2, 'sale_flow.group_sale_flow_reviewer'),
    ('released', 8, 'sale_flow.group_sale_flow_warehouse'),
    ('picked', 4, 'sale_flow.group_sale_flow_warehouse'),
    ('packed', 8, 'sale_flow.group_sale_flow_shipping'),
    ('shipped', 72, 'sale_flow.group_sale_flow_shipping'),
    ]


def create_service_levels(config):
    "The service levels of the company, in hours around the clock"
    def work(pool):
        ServiceLevel = pool.get('sale.flow.service_level')
        Company = pool.get('company.company')
        Data = pool.get('ir.model.data')
        company, = Company.search([], limit=1)
        ServiceLevel.create([{
                    'company': company.id,
                    'stage': stage,
                    'duration': dt.timedelta(hours=hours),
                    'working_time': False,
                    'group': Data.get_id(*group.split('.')),
                    } for stage, hours, group in SERVICE_LEVELS])
    tools.server_call(config, work)


def notify_late(config):
    "The scheduled task tells the responsible users of the late orders"
    def work(pool):
        pool.get('sale.flow.service_level').notify_late()
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


# one open order in LATE_EVERY waits longer than its stage's service level
LATE_EVERY = 5


def growing(count, rng):
    """count shares of a time span (0 to 1), three times as dense at its
    end as at its start (the business grows), evenly drawn so that a few
    dozen orders show the trend, in a random order"""
    shares = [((1 + 8 * (i + rng.random()) / count) ** 0.5 - 1) / 2
        for i in range(count)]
    rng.shuffle(shares)
    return shares


def spread_history(config, months=MONTHS, seed=7):
    """Give the demo orders a history: the steps the generator did a moment
    ago are written as if they had happened then, each step taking a while
    — the e-mail orders wait longer for their review.  The delivered orders
    start over the last months, more each month; the open ones wait at
    their stage since a while, one in LATE_EVERY longer than the service
    level.  The order's date, its shipments' dates and its after-sales
    cases follow the timeline."""
    def work(pool):
        Timeline = pool.get('sale.flow.timeline')
        Sale = pool.get('sale.sale')
        ServiceLevel = pool.get('sale.flow.service_level')
        rng = random.Random(seed)
        now = dt.datetime.now().replace(microsecond=0)
        first = now - relativedelta(months=months)
        # the last delivered orders were taken a few days ago
        last = now - dt.timedelta(days=4)
        levels = {l.stage: l.duration for l in ServiceLevel.search([])}
        flow = [s for s, _ in Timeline.stage.selection]
        reached = {}
        for row in Timeline.search([]):
            reached.setdefault(row.sale.id, set()).add(row.stage)
        channels = {s.id: s.channel for s in Sale.browse(list(reached))}
        times = {}
        open_count = 0
        starts = growing(len([s for s in reached.values() if 'signed' in s]),
            rng)
        for sale_id in sorted(reached):
            stages = reached[sale_id]
            at = {'ordered': dt.datetime.min}
            for stage, (fewest, most) in STEP_HOURS:
                if stage in stages:
                    hours = rng.uniform(fewest, most)
                    if stage == 'approved' and channels[sale_id] == 'email':
                        hours *= 2
                    at[stage] = max(at.values()) + dt.timedelta(hours=hours)
            if 'signed' in stages:
                start = first + (last - first) * starts.pop()
                shift = start - at['ordered']
            else:
                # the open order waits at its furthest stage since
                stage = max(at, key=lambda s: (at[s], flow.index(s)))
                limit = levels.get(stage, dt.timedelta(hours=12))
                if open_count % LATE_EVERY == LATE_EVERY // 2:
                    wait = limit * rng.uniform(1.3, 3)
                else:
                    wait = limit * rng.uniform(0.1, 0.8)
                open_count += 1
                shift = now - wait - at[stage]
            at = {k: (v + shift).replace(microsecond=0)
                for k, v in at.items()}
            late = max(at.values()) - now
            if late > dt.timedelta(0):
                at = {k: v - late - dt.timedelta(minutes=5)
                    for k, v in at.items()}
            # the stock is checked when the order is submitted
            if 'submitted' in at:
                at['stock_checked'] = at['submitted']
            if 'complaint_opened' in stages and 'signed' in at:
                # opened by the signature
                at['complaint_opened'] = at['signed'] + dt.timedelta(
                    seconds=2)
            times[sale_id] = at
        tools.set_stage_times(pool, times)
        date_orders(pool, times)
    tools.server_call(config, work)


def date_orders(pool, times):
    """The orders are dated the day they were taken, their shipments and
    moves the day they left (done: the day they were signed for), their
    after-sales cases the day of the signature"""
    Sale = pool.get('sale.sale')
    Shipment = pool.get('stock.shipment.out')
    Move = pool.get('stock.move')
    cursor = Transaction().connection.cursor()
    sale = Sale.__table__()
    shipment = Shipment.__table__()
    move = Move.__table__()
    complaint = pool.get('sale.complaint').__table__()
    for record in Sale.browse(list(times)):
        at = times[record.id]
        cursor.execute(*sale.update(
                [sale.sale_date], [at['ordered'].date()],
                where=(sale.id == record.id) & (sale.sale_date != Null)))
        if 'complaint_opened' in at:
            cursor.execute(*complaint.update(
                    [complaint.date], [at['signed'].date()],
                    where=complaint.origin == str(record)))
        for ship in record.shipments:
            left = at.get('shipped')
            if not left:
                continue
            done = at.get('signed', left)
            cursor.execute(*shipment.update(
                    [shipment.planned_date, shipment.effective_date],
                    [at['ordered'].date(), done.date()],
                    where=shipment.id == ship.id))
            cursor.execute(*move.update(
                    [move.planned_date, move.effective_date],
                    [at['ordered'].date(), left.date()],
                    where=move.shipment == str(ship)))


def rate_deliveries(config, seed=11):
    """One customer in three rates the delivery a few hours after signing,
    mostly well; the one who got a crushed carton and one whose goods came
    late rate it badly"""
    def work(pool):
        Signature = pool.get('sale.flow.signature')
        Satisfaction = pool.get('sale.flow.satisfaction')
        rng = random.Random(seed)
        signatures = Signature.search([], order=[('signed_at', 'ASC')])
        low = {s.id: ('1', "外箱破损，货也少了。Carton crushed, goods short.")
            for s in signatures if s.complaint}
        rated = [s for s in signatures if s.id in low or rng.random() < 0.35]
        for signature in rated:
            rating, comment = low.get(signature.id) or rng.choice([
                    ('5', "送货很快 Fast delivery"), ('5', None),
                    ('4', "司机很客气 Friendly driver"), ('4', None),
                    ])
            if signature is rated[len(rated) // 2] and not signature.complaint:
                rating, comment = '2', "晚到两天 Two days late"
            satisfaction = Satisfaction.rate(
                signature.shipment, rating, comment=comment)
            table = Satisfaction.__table__()
            Transaction().connection.cursor().execute(*table.update(
                    [table.rated_at],
                    [signature.signed_at + dt.timedelta(
                            hours=rng.uniform(0.5, 6))],
                    where=table.id == satisfaction.id))
    tools.server_call(config, work)


# the demo's account at the kuaidi100 mock (scripts/courier_mock.py)
COURIER_ACCOUNT = {'customer': 'DEMO', 'key': 'DEMO-KEY', 'salt': 'DEMO-SALT'}


def follow_parcels(config, endpoint, public):
    """The demo's couriers report through the kuaidi100 mock at endpoint:
    the company's account there (its address and the server's of this
    start), the carriers followed at kuaidi100 (by the code of their
    tracking link), and the numbers of their parcels on their way
    subscribed; the number of parcels"""
    def work(pool):
        Company = pool.get('company.company')
        Carrier = pool.get('carrier')
        Credential = pool.get('sale.flow.tracking.credential')
        Shipment = pool.get('stock.shipment.out')
        Subscription = pool.get('sale.flow.tracking.subscription')
        company, = Company.search([], limit=1)
        credential = (Credential.search([('service', '=', 'kuaidi100')])
            or [Credential(company=company, service='kuaidi100')])[0]
        for name, value in dict(COURIER_ACCOUNT, endpoint=endpoint,
                callback_url=public).items():
            setattr(credential, name, value)
        credential.save()
        carriers = []
        for carrier in Carrier.search([]):
            match = re.search(r'kuaidi100\.com/.*[?&]com=(\w+)',
                carrier.tracking_url or '')
            if match:
                carrier.tracking_service = 'kuaidi100'
                carrier.tracking_service_code = match.group(1)
                carriers.append(carrier)
        Carrier.save(carriers)
        shipments = Shipment.search([
                ('state', '=', 'shipped'),
                ('carrier', 'in', [c.id for c in carriers]),
                ])
        Subscription.follow(shipments)
        # subscribed now, at the mock: it pushes their journeys
        Subscription._subscribe(Subscription.search([
                    ('shipment', 'in', [s.id for s in shipments]),
                    ]))
        return len(shipments)
    return tools.server_call(config, work)


# the demo's account at the SF Express mock (scripts/courier_mock.py)
WAYBILL_ACCOUNT = {'partner': 'DEMO-SF', 'check_word': 'DEMO-CHECK',
    'monthly_card': '7551234567'}


def waybills_at(config, endpoint):
    """The demo's SF Express carrier gets its electronic waybills from the
    SF Express mock at endpoint (the company's account there, the
    carrier's shipping service); the names of the carriers"""
    def work(pool):
        Company = pool.get('company.company')
        Carrier = pool.get('carrier')
        Credential = pool.get('sale.flow.waybill.credential')
        company, = Company.search([], limit=1)
        credential = (Credential.search([('service', '=', 'sf_express')])
            or [Credential(company=company, service='sf_express')])[0]
        for name, value in dict(WAYBILL_ACCOUNT, endpoint=endpoint).items():
            setattr(credential, name, value)
        credential.save()
        carriers = [c for c in Carrier.search([])
            if 'com=shunfeng' in (c.tracking_url or '')]
        for carrier in carriers:
            carrier.shipping_service = 'sf_express'
            carrier.sf_express_product = '2'
        Carrier.save(carriers)
        return [c.rec_name for c in carriers]
    return tools.server_call(config, work)


@contextlib.contextmanager
def mail_sink():
    """Send the e-mails of the server code run meanwhile to an SMTP server
    on 127.0.0.1 that keeps them in memory: yield the list of the
    messages"""
    uri = trytond_config.get('email', 'uri')
    with sink() as server:
        trytond_config.set('email', 'uri', server.uri)
        try:
            yield server.messages
        finally:
            trytond_config.set('email', 'uri', uri)


if __name__ == '__main__':
    main()
