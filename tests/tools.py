# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data for sale_flow: one generator for the demo database, the
scenarios and the benchmarks.

The company set-up (chart of accounts, fiscal year) reuses Tryton's own test
tools through proteus; customers, products, stock and orders are created
server side in batches, so that thousands of orders cost one ``create`` per
batch instead of one round trip per record.

Every function takes the proteus ``config`` (as ``activate_modules`` passes
it), so that scenarios can cache a database built with them::

    config = activate_modules('sale_flow', setup_demo)
"""

import base64
import datetime as dt
import io
import random
import time
from decimal import Decimal
from functools import partial

from dateutil.relativedelta import relativedelta
from proteus import Model
from proteus import config as pconfig
from sql.aggregate import Min

from trytond import backend
from trytond import config as trytond_config
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, create_tax, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    set_fiscalyear_invoice_sequences)
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.pool import Pool
from trytond.transaction import Transaction, TransactionError
from trytond.worker import run_task

__all__ = [
    'DEMO_PASSWORD', 'ROLE_USERS', 'ean13', 'server_call', 'setup_company',
    'setup_warehouse', 'create_carriers', 'create_users', 'create_customers',
    'create_products', 'order_values', 'create_orders', 'advance_orders',
    'scan_shipments', 'record_tracking', 'tracking_number', 'CARRIERS',
    'setup_demo', 'setup_demo_small']

DEMO_PASSWORD = 'sale_flow'

# login, full name, groups (module.xml_id)
ROLE_USERS = [
    ('clerk', "Sales Clerk 销售员", ['sale.group_sale']),
    ('reviewer', "Order Reviewer 订单审核员",
        ['sale_flow.group_sale_flow_reviewer']),
    ('warehouse', "Warehouse Operator 仓库操作员",
        ['sale_flow.group_sale_flow_warehouse']),
    ('shipping', "Shipping Clerk 发货员",
        ['sale_flow.group_sale_flow_shipping']),
    ('manager', "Sales Flow Manager 销售流程经理", [
            'sale_flow.group_sale_flow_manager',
            'sale_flow.group_sale_flow_reviewer',
            'sale_flow.group_sale_flow_warehouse',
            'sale_flow.group_sale_flow_shipping',
            ]),
    ]

_CUSTOMER_PREFIXES = [
    ('华东', 'Huadong'), ('鑫源', 'Xinyuan'), ('恒通', 'Hengtong'),
    ('瑞丰', 'Ruifeng'), ('宏达', 'Hongda'), ('天成', 'Tiancheng'),
    ('金泰', 'Jintai'), ('东方', 'Dongfang'), ('永盛', 'Yongsheng'),
    ('同福', 'Tongfu'), ('德润', 'Derun'), ('博远', 'Boyuan'),
    ]
_CUSTOMER_SUFFIXES = [
    ('贸易有限公司', 'Trading Co., Ltd.'), ('商行', 'Trading House'),
    ('电子科技有限公司', 'Electronics Co., Ltd.'), ('百货', 'Department Store'),
    ('五金店', 'Hardware Store'), ('办公用品有限公司', 'Office Supplies Co.'),
    ]
_CITIES = [
    ('上海', 'Shanghai', '200000'), ('北京', 'Beijing', '100000'),
    ('广州', 'Guangzhou', '510000'), ('深圳', 'Shenzhen', '518000'),
    ('杭州', 'Hangzhou', '310000'), ('南京', 'Nanjing', '210000'),
    ('成都', 'Chengdu', '610000'), ('武汉', 'Wuhan', '430000'),
    ]
_STREETS = [
    ('人民路', 'Renmin Road'), ('中山路', 'Zhongshan Road'),
    ('解放路', 'Jiefang Road'), ('建设路', 'Jianshe Road'),
    ('和平街', 'Heping Street'),
    ]
# English name, Chinese name, list price (CNY), cost share of list price
_PRODUCTS = [
    ("A4 Copy Paper (500 sheets)", "A4 复印纸(500张)", '25.00', '0.70'),
    ("Gel Pen, black", "黑色中性笔", '2.50', '0.45'),
    ("Stapler", "订书机", '18.00', '0.55'),
    ("File Folder", "文件夹", '6.80', '0.50'),
    ("USB Flash Drive 64 GB", "U盘 64GB", '49.00', '0.72'),
    ("Wireless Mouse", "无线鼠标", '69.00', '0.60'),
    ("Keyboard", "键盘", '99.00', '0.62'),
    ("LED Desk Lamp", "LED台灯", '129.00', '0.58'),
    ("Power Strip", "插线板", '39.00', '0.52'),
    ("HDMI Cable 2 m", "HDMI线 2米", '29.00', '0.40'),
    ("Electric Kettle", "电热水壶", '159.00', '0.65'),
    ("Thermos Cup", "保温杯", '79.00', '0.48'),
    ("Packing Tape", "封箱胶带", '8.50', '0.42'),
    ("Carton Box", "纸箱", '5.00', '0.35'),
    ("Screwdriver Set", "螺丝刀套装", '45.00', '0.50'),
    ("Safety Gloves", "劳保手套", '12.00', '0.40'),
    ("Calculator", "计算器", '58.00', '0.55'),
    ("Whiteboard Marker", "白板笔", '4.00', '0.45'),
    ("Printer Toner", "打印机硒鼓", '299.00', '0.70'),
    ("Bluetooth Speaker", "蓝牙音箱", '199.00', '0.63'),
    ]
_VARIANTS = [("", ""), (" - blue", "-蓝色"), (" - red", "-红色"),
    (" - large", "-大号"), (" - small", "-小号")]


def ean13(number12):
    "Return the EAN-13 code of the 12 digits with its check digit"
    digits = [int(d) for d in number12]
    assert len(digits) == 12
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return number12 + str((10 - total % 10) % 10)


def server_call(config, func, *args, user=None, **kwargs):
    """Call func(pool, *args, **kwargs) in a server transaction and commit

    The transaction is started again when trytond asks for it (SQLite table
    and record locks, serialization failures), as its dispatcher does; the
    calls queued meanwhile run after the commit, as without a queue worker.
    """
    config = config or pconfig.get_config()
    context = dict(config.context)
    user = user if user is not None else config.user
    retry = trytond_config.getint('database', 'retry')
    extras = {}
    for count in range(retry + 100):
        if count:
            # as trytond's dispatcher: let the other transaction finish
            time.sleep(0.02 * count)
        with Transaction().start(
                config.database_name, user, context=context,
                **extras) as transaction:
            try:
                result = func(Pool(), *args, **kwargs)
            except TransactionError as e:
                transaction.rollback()
                transaction.tasks.clear()
                e.fix(extras)
                continue
            except backend.DatabaseOperationalError:
                if count >= retry:
                    raise
                transaction.rollback()
                transaction.tasks.clear()
                continue
            transaction.commit()
            tasks, transaction.tasks[:] = list(transaction.tasks), []
        break
    for task_id in tasks:
        run_task(config.database_name, task_id)
    return result


def _ref(pool, fs_id):
    module, fs_id = fs_id.split('.')
    return pool.get('ir.model.data').get_id(module, fs_id)


def setup_company(config=None, today=None):
    "Company in CNY with a chart of accounts, fiscal year, VAT and categories"
    config = config or pconfig.get_config()
    Currency = Model.get('currency.currency', config=config)
    Rate = Model.get('currency.currency.rate', config=config)
    Party = Model.get('party.party', config=config)
    Country = Model.get('country.country', config=config)
    Category = Model.get('product.category', config=config)
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)

    today = today or dt.date.today()
    cny, = Currency.find([('code', '=', 'CNY')]) or [None]
    if not cny:
        cny = Currency(
            name="Chinese Yuan", code='CNY', symbol='¥',
            rounding=Decimal('0.01'))
        cny.save()
        Rate(date=dt.date.min, rate=Decimal(1), currency=cny).save()
    china, = Country.find([('code', '=', 'CN')]) or [None]
    if not china:
        china = Country(name="China", code='CN', code3='CHN')
        china.save()

    party = Party(name="演示贸易有限公司 Demo Trading Co., Ltd.")
    address, = party.addresses
    address.street = "上海市浦东新区张江路 88 号"
    address.postal_code = '201203'
    address.city = "上海 Shanghai"
    address.country = china
    party.contact_mechanisms.new(type='phone', value='+86 21 5080 8888')
    party.save()
    create_company(party=party, currency=cny, config=config)
    create_chart(config=config)
    fiscalyear = create_fiscalyear(
        today=(today - relativedelta(months=12), today + relativedelta(
                months=6)), config=config)
    fiscalyear = set_fiscalyear_invoice_sequences(fiscalyear, config=config)
    fiscalyear.click('create_period')

    accounts = get_accounts(config=config)
    tax = create_tax(Decimal('.13'), config=config)
    tax.name = tax.description = "VAT 13% 增值税"
    tax.save()

    category = Category(name="Goods 商品", accounting=True)
    category.account_expense = accounts['expense']
    category.account_revenue = accounts['revenue']
    category.customer_taxes.append(tax)
    category.save()

    term = PaymentTerm(name="Net 30 days 月结30天")
    line = term.lines.new(type='remainder')
    line.relativedeltas.new(days=30)
    term.save()
    return config


def setup_warehouse(config=None):
    "Name the warehouse, give it the company's address and allow pickup"
    config = config or pconfig.get_config()
    Location = Model.get('stock.location', config=config)
    company = get_company(config=config)
    warehouse, = Location.find([('type', '=', 'warehouse')], limit=1)
    warehouse.name = "Shanghai Warehouse 上海仓"
    warehouse.address, = company.party.addresses
    warehouse.allow_pickup = True
    warehouse.save()
    PackageType = Model.get('stock.package.type', config=config)
    Uom = Model.get('product.uom', config=config)
    if not PackageType.find([]):
        kg, = Uom.find([('symbol', '=', 'kg')])
        carton = PackageType(name="Carton 纸箱")
        carton.packaging_weight = 0.25
        carton.packaging_weight_uom = kg
        carton.save()
    return warehouse


# Carriers common in China.  The tracking links go to kuaidi100, a public
# tracking site that follows every courier; adjust them to the couriers' own
# sites as you prefer.  name, service, price, method, link, pattern, prefix
CARRIERS = [
    ("顺丰速运 SF Express", "Express delivery 快递", '15.00', 'courier',
        'https://www.kuaidi100.com/chaxun?com=shunfeng&nu={number}',
        r'SF\d{12,13}', 'SF'),
    ("中通快递 ZTO Express", "Express delivery 快递", '10.00', 'courier',
        'https://www.kuaidi100.com/chaxun?com=zhongtong&nu={number}',
        r'\d{12,15}', '75'),
    ("德邦物流 Deppon Logistics", "Freight 物流", '80.00', 'freight',
        'https://www.kuaidi100.com/chaxun?com=debangwuliu&nu={number}',
        r'DPK\d{12}', 'DPK'),
    ]
# the example number each carrier shows to whoever types a wrong one (the
# fleet's comes from its sequence)
TRACKING_EXAMPLES = {
    "顺丰速运 SF Express": 'SF1234567890123',
    "中通快递 ZTO Express": '751234567890',
    "德邦物流 Deppon Logistics": 'DPK123456789012',
    "自有车队 Own Fleet": 'FL00000001',
    }


def create_carriers(config=None):
    """Express couriers, a logistics company and the company's own fleet,
    priced by their product, with their tracking links and numbers"""
    config = config or pconfig.get_config()
    Party = Model.get('party.party', config=config)
    Uom = Model.get('product.uom', config=config)
    Template = Model.get('product.template', config=config)
    Carrier = Model.get('carrier', config=config)
    Category = Model.get('product.category', config=config)
    Sequence = Model.get('ir.sequence', config=config)
    SequenceType = Model.get('ir.sequence.type', config=config)
    unit, = Uom.find([('name', '=', 'Unit')])
    category, = Category.find([('accounting', '=', True)], limit=1)
    # without sale_flow (Tryton's own flow in the benchmark): plain carriers
    with_module = 'delivery_method' in Carrier._fields
    carriers = []
    fleet = [("自有车队 Own Fleet", "Delivery by our fleet 自有车队配送",
            '20.00', 'courier', None, r'FL\d{8}', None)]
    if with_module:
        fleet_sequence_type, = SequenceType.find(
            [('name', '=', "Tracking Number")])
        fleet_sequence = Sequence(
            name="Own fleet delivery notes 自有车队运单",
            sequence_type=fleet_sequence_type, prefix='FL', padding=8)
        fleet_sequence.save()
    for name, service, price, method, link, pattern, _ in CARRIERS + fleet:
        party = Party(name=name)
        party.save()
        template = Template(
            name=service, type='service', default_uom=unit,
            list_price=Decimal(price), account_category=category,
            salable=True)
        template.save()
        carrier = Carrier(party=party, carrier_product=template.products[0])
        if with_module:
            carrier.delivery_method = method
            carrier.tracking_url = link
            carrier.tracking_pattern = pattern
            carrier.tracking_example = TRACKING_EXAMPLES.get(name)
            if link is None:
                carrier.in_house = True
                carrier.tracking_sequence = fleet_sequence
        carrier.save()
        carriers.append(carrier)
    return carriers


def tracking_number(carrier, serial):
    "A tracking number of the carrier, as on its waybills (for demo data)"
    for name, _, _, _, _, _, prefix in CARRIERS:
        if carrier.party.name == name:
            digits = {'SF': 12, '75': 11, 'DPK': 12}[prefix]
            return '%s%0*d' % (prefix, digits, serial)


def create_users(config=None, password=DEMO_PASSWORD, language=None):
    """One user per role of the flow, with the documented password; each is
    an employee of the company, so that Tryton records who picked, packed
    and shipped"""
    config = config or pconfig.get_config()

    def work(pool):
        User = pool.get('res.user')
        Lang = pool.get('ir.lang')
        Company = pool.get('company.company')
        Employee = pool.get('company.employee')
        Party = pool.get('party.party')
        company, = Company.search([], limit=1)
        lang = None
        if language:
            lang, = Lang.search([('code', '=', language)])
        parties = Party.create([{'name': name} for _, name, _ in ROLE_USERS])
        employees = Employee.create([{
                    'party': party.id,
                    'company': company.id,
                    } for party in parties])
        users = User.create([{
                    'login': login,
                    'name': name,
                    'password': password,
                    'language': lang.id if lang else None,
                    'companies': [('add', [company.id])],
                    'company': company.id,
                    'employees': [('add', [employee.id])],
                    'employee': employee.id,
                    'groups': [('add', [_ref(pool, g) for g in groups])],
                    } for (login, name, groups), employee
                in zip(ROLE_USERS, employees)])
        return [u.id for u in users]
    return server_call(config, work)


def create_customers(config=None, count=20, seed=1):
    "Customers with Chinese or English names, an address, phone and e-mail"
    config = config or pconfig.get_config()
    rng = random.Random(seed)

    def work(pool):
        Party = pool.get('party.party')
        Country = pool.get('country.country')
        china, = Country.search([('code', '=', 'CN')], limit=1)
        values = []
        for i in range(count):
            (zh_pre, en_pre) = _CUSTOMER_PREFIXES[i % len(_CUSTOMER_PREFIXES)]
            (zh_suf, en_suf) = _CUSTOMER_SUFFIXES[
                (i // len(_CUSTOMER_PREFIXES)) % len(_CUSTOMER_SUFFIXES)]
            zh_city, en_city, postal_code = rng.choice(_CITIES)
            zh_street, en_street = rng.choice(_STREETS)
            number = rng.randint(1, 999)
            serial = i // (len(_CUSTOMER_PREFIXES) * len(_CUSTOMER_SUFFIXES))
            serial = f" {serial + 1}" if serial else ""
            if i % 2:
                name = f"{en_pre} {en_suf}{serial}"
                street = f"No. {number} {en_street}"
                city = en_city
            else:
                name = f"{zh_city}{zh_pre}{zh_suf}{serial}"
                street = f"{zh_street}{number}号"
                city = zh_city
            phone = '+86 1%d%d %04d %04d' % (
                rng.randint(3, 9), rng.randint(0, 9),
                rng.randint(0, 9999), rng.randint(0, 9999))
            values.append({
                    'name': name,
                    'addresses': [('create', [{
                                    'street': street,
                                    'city': city,
                                    'postal_code': postal_code,
                                    'country': china.id,
                                    }])],
                    'contact_mechanisms': [('create', [
                                {'type': 'mobile', 'value': phone},
                                {'type': 'email',
                                    'value': f'customer{i + 1}@example.com'},
                                ])],
                    })
        return [p.id for p in Party.create(values)]
    return server_call(config, work)


def create_products(config=None, count=30, stock=100, seed=1):
    "Goods with EAN-13 barcodes, cost and list price, and stock on hand"
    config = config or pconfig.get_config()
    rng = random.Random(seed)
    weights = random.Random(seed + 1)

    def work(pool):
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        Uom = pool.get('product.uom')
        Category = pool.get('product.category')
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        Company = pool.get('company.company')
        company, = Company.search([], limit=1)
        unit, = Uom.search([('symbol', '=', 'u')], limit=1)
        kg, = Uom.search([('symbol', '=', 'kg')], limit=1)
        category, = Category.search([('accounting', '=', True)], limit=1)
        start = Product.search([], count=True)
        values, zh_names = [], []
        for i in range(count):
            en, zh, price, cost_share = _PRODUCTS[i % len(_PRODUCTS)]
            en_var, zh_var = _VARIANTS[(i // len(_PRODUCTS)) % len(_VARIANTS)]
            serial = i // (len(_PRODUCTS) * len(_VARIANTS))
            serial = f" #{serial + 1}" if serial else ""
            code = 'SF%05d' % (start + i + 1)
            list_price = Decimal(price)
            values.append({
                    'name': en + en_var + serial,
                    'type': 'goods',
                    'default_uom': unit.id,
                    'salable': True,
                    'sale_uom': unit.id,
                    'list_price': list_price,
                    'account_category': category.id,
                    'weight': round(weights.uniform(0.05, 2.5), 2),
                    'weight_uom': kg.id,
                    'products': [('create', [{
                                    'suffix_code': code,
                                    'cost_price': (
                                        list_price * Decimal(cost_share)
                                        ).quantize(Decimal('0.0001')),
                                    'identifiers': [('create', [{
                                                    'type': 'ean',
                                                    'code': ean13('690%09d'
                                                        % (start + i + 1)),
                                                    }])],
                                    }])],
                    })
            zh_names.append(zh + zh_var + serial)
        # Small batches: product's unique-code validation builds one SQL
        # condition per record, too deep for SQLite's parser on large lists.
        templates = []
        for i in range(0, len(values), 25):
            templates.extend(Template.create(values[i:i + 25]))
        with Transaction().set_context(language='zh_CN'):
            to_write = []
            for template, name in zip(Template.browse(templates), zh_names):
                to_write.extend(([template], {'name': name}))
            Template.write(*to_write)
        products = [p for t in templates for p in t.products]

        if stock:
            warehouse, = Location.search([('type', '=', 'warehouse')], limit=1)
            lost_found, = Location.search([('type', '=', 'lost_found')],
                limit=1)
            moves = Move.create([{
                        'product': p.id,
                        'unit': unit.id,
                        'quantity': rng.randint(stock // 2, stock)
                        if stock > 1 else stock,
                        'from_location': lost_found.id,
                        'to_location': warehouse.storage_location.id,
                        'company': company.id,
                        } for p in products])
            Move.do(moves)
        return [p.id for p in products]
    return server_call(config, work)


def order_values(pool, count, lines=(1, 4), quantity=(1, 5),
        customers=None, products=None, rng=None):
    "Values of count draft sales for Sale.create, read in a few queries"
    rng = rng or random.Random(1)
    Party = pool.get('party.party')
    Product = pool.get('product.product')
    Company = pool.get('company.company')
    Location = pool.get('stock.location')
    PaymentTerm = pool.get('account.invoice.payment_term')
    Carrier = pool.get('carrier')
    company, = Company.search([], limit=1)
    warehouse, = Location.search([('type', '=', 'warehouse')], limit=1)
    terms = PaymentTerm.search([], limit=1)
    carriers = [c.id for c in Carrier.search([])] or [None]
    if customers is None:
        parties = Party.search([
                ('id', '!=', company.party.id),
                ('addresses', '!=', None),
                ('contact_mechanisms.type', '=', 'mobile'),
                ])
    else:
        parties = Party.browse(customers)
    if products is None:
        goods = Product.search([
                ('salable', '=', True), ('type', '=', 'goods')])
    else:
        goods = Product.browse(products)
    assert parties and goods, "create customers and products first"
    parties = [(c.id, c.addresses[0].id) for c in parties]
    goods = [(p.id, p.sale_uom.id, p.template.list_price) for p in goods]
    values = []
    for _ in range(count):
        party, address = rng.choice(parties)
        chosen = rng.sample(goods, min(len(goods), rng.randint(*lines)))
        values.append({
                'company': company.id,
                'currency': company.currency.id,
                'party': party,
                'invoice_address': address,
                'shipment_address': address,
                'warehouse': warehouse.id,
                'payment_term': terms[0].id if terms else None,
                'carrier': rng.choice(carriers),
                'lines': [('create', [{
                                'type': 'line',
                                'product': product,
                                'unit': unit,
                                'quantity': rng.randint(*quantity),
                                'unit_price': price,
                                } for product, unit, price in chosen])],
                })
    return values


def create_orders(config=None, count=10, lines=(1, 4), quantity=(1, 5),
        customers=None, products=None, seed=1, batch=500):
    "Draft sales in batches: one create per batch, no per-order set-up"
    config = config or pconfig.get_config()

    def work(pool):
        Sale = pool.get('sale.sale')
        rng = random.Random(seed)
        sale_ids = []
        for start in range(0, count, batch):
            values = order_values(pool, min(batch, count - start),
                lines=lines, quantity=quantity, customers=customers,
                products=products, rng=rng)
            sale_ids.extend(s.id for s in Sale.create(values))
        return sale_ids
    return server_call(config, work)


_STAGES = ['draft', 'quotation', 'confirmed', 'processing', 'assigned',
    'picked', 'packed', 'shipped', 'done']


def advance_orders(config=None, sale_ids=(), stage='quotation'):
    """Move the draft sales through the flow up to the stage

    Where sale_flow's review is active, the orders to review are approved
    (blocking findings overridden with a reason saying so) before they are
    confirmed.
    """
    config = config or pconfig.get_config()
    target = _STAGES.index(stage)

    def work(pool):
        Sale = pool.get('sale.sale')
        Shipment = pool.get('stock.shipment.out')
        sales = Sale.browse(sale_ids)
        if target >= _STAGES.index('quotation'):
            Sale.quote(sales)
        if target >= _STAGES.index('confirmed'):
            if 'review_state' in Sale._fields:
                _approve(pool, Sale.browse(sale_ids))
            Sale.confirm([s for s in Sale.browse(sale_ids)
                    if s.state == 'quotation'])
        if target >= _STAGES.index('processing'):
            # confirm queues process; run it now as a worker would
            Sale.process(sales)
        if target < _STAGES.index('assigned'):
            return
        shipments = Shipment.browse(
            [s for sale in Sale.browse(sale_ids) for s in sale.shipments])
        Shipment.assign_try(shipments)
        shipments = [s for s in Shipment.browse(shipments)
            if s.state == 'assigned']
        for state, method in [
                ('picked', Shipment.pick), ('packed', Shipment.pack),
                ('shipped', Shipment.ship), ('done', Shipment.do)]:
            if target >= _STAGES.index(state):
                if state in {'picked', 'packed'} and 'scans' in (
                        Shipment._fields):
                    scan_shipments(pool, Shipment.browse(shipments))
                if state == 'shipped' and 'trackings' in Shipment._fields:
                    record_tracking(pool, Shipment.browse(shipments))
                if state == 'done' and 'signatures' in Shipment._fields:
                    # the customer signs: the proof of delivery is done
                    sign_shipments(pool, Shipment.browse(shipments))
                    continue
                method(shipments)
    return server_call(config, work)


def signature_image():
    "A signature drawn in a PNG, base64 encoded"
    from PIL import Image, ImageDraw
    image = Image.new('RGB', (300, 100), 'white')
    draw = ImageDraw.Draw(image)
    draw.line([(20, 70), (60, 20), (90, 80), (130, 30), (170, 75),
            (210, 35), (280, 60)], fill='navy', width=4)
    data = io.BytesIO()
    image.save(data, 'PNG')
    return base64.b64encode(data.getvalue()).decode()


def sign_shipments(pool, shipments, image=None, refusals=None):
    """The customers sign for everything of the shipped shipments (the
    identity check with the last four digits of their phone); refusals
    {shipment id: (reason, details)}: the customer refuses one piece of
    the largest line"""
    Signature = pool.get('sale.flow.signature')
    image = image or signature_image()
    refusals = refusals or {}
    for shipment in shipments:
        if shipment.state != 'shipped':
            continue
        party = shipment.customer
        phones = [''.join(c for c in m.value if c.isdigit())
            for m in party.contact_mechanisms
            if m.type in {'phone', 'mobile'} and m.value]
        lines = [{'move': m.id, 'accepted': m.quantity}
            for m in shipment.outgoing_moves
            if m.state != 'cancelled' and m.quantity]
        if shipment.id in refusals and lines:
            line = max(lines, key=lambda l: l['accepted'])
            line['reason'], line['reason_text'] = refusals[shipment.id]
            line['accepted'] -= 1
            line['refused'] = 1
        Signature.sign(shipment.id, {
                'signer': party.name,
                'identity': phones[0][-4:] if phones else '',
                'image': image,
                'lines': lines,
                })


def set_stage_times(pool, times, approvers=None):
    """Write when each order reached the stages of its flow, as if the steps
    had happened then: times is {sale id: {stage: datetime}} (stages of
    sale.flow.timeline: ordered, submitted, approved, stock_checked,
    released, picked, packed, shipped, signed, invoiced, done,
    complaint_opened);
    approvers {sale id: user id} changes who approved

    The times are written where the steps record them (the order's creation,
    the review decisions, the stock check, Tryton's log of transitions, the
    signatures, the after-sales cases), so the timeline reads them back.
    """
    Sale = pool.get('sale.sale')
    cursor = Transaction().connection.cursor()
    sale_table = Sale.__table__()
    decision = pool.get('sale.flow.review.decision').__table__()
    stock_line = pool.get('sale.flow.stock.line').__table__()
    stock_check = pool.get('sale.flow.stock.check').__table__()
    log = pool.get('ir.model.log').__table__()
    signature = pool.get('sale.flow.signature').__table__()
    complaint = pool.get('sale.complaint').__table__()
    approvers = approvers or {}
    for sale in Sale.browse(list(times)):
        stages = times[sale.id]
        first_check = stock_check.select(
            Min(stock_check.id), where=stock_check.sale == sale.id)
        shipments = [str(s) for s in sale.shipments]
        invoices = [str(i) for i in sale.invoices]
        updates = {
            'ordered': (sale_table, sale_table.create_date,
                sale_table.id == sale.id),
            # the first check, which the stage shows, and what it found
            'stock_checked': (stock_check, stock_check.checked_at,
                stock_check.id.in_(first_check)),
            'released': (log, log.create_date,
                (log.resource == str(sale))
                & (log.target == 'state:processing')),
            'done': (log, log.create_date,
                (log.resource == str(sale)) & (log.target == 'state:done')),
            'signed': (signature, signature.signed_at,
                signature.shipment.in_([s.id for s in sale.shipments]
                    or [-1])),
            'complaint_opened': (complaint, complaint.create_date,
                complaint.origin == str(sale)),
            'invoiced': (log, log.create_date,
                log.resource.in_(invoices or ['-'])
                & ((log.target == 'state:posted') | (log.target == 'post'))),
            }
        for value in ['submitted', 'approved']:
            updates[value] = (decision, decision.decided_at,
                (decision.sale == sale.id) & (decision.decision == value))
        for state in ['picked', 'packed', 'shipped']:
            updates[state] = (log, log.create_date,
                log.resource.in_(shipments or ['-'])
                & (log.target == 'state:' + state))
        for stage, time_ in stages.items():
            table, column, where = updates[stage]
            cursor.execute(*table.update([column], [time_], where=where))
            if stage == 'stock_checked':
                cursor.execute(*stock_line.update(
                        [stock_line.checked_at], [time_],
                        where=stock_line.check.in_(first_check)))
        if sale.id in approvers:
            cursor.execute(*decision.update(
                    [decision.user], [approvers[sale.id]],
                    where=(decision.sale == sale.id)
                    & (decision.decision == 'approved')))
    # the signing time is part of the signed content: the signatures are
    # digested again at the times written, as if signed then
    Signature = pool.get('sale.flow.signature')
    for cache in Transaction().cache.values():
        cache.clear()
    signed = Signature.search([('shipment', 'in', [
                    s.id for sale in Sale.browse(list(times))
                    for s in sale.shipments])])
    if signed:
        key = pool.get('sale.flow.signature.secret').get_key()
        for record in signed:
            cursor.execute(*signature.update(
                    [signature.digest], [record.compute_digest(key)],
                    where=signature.id == record.id))


def record_tracking(pool, shipments):
    "Record the waybill number of the courier shipments, as the clerk does"
    Shipment = pool.get('stock.shipment.out')
    to_write = []
    for shipment in shipments:
        if (shipment.carrier and not shipment.tracking_number_list()
                and shipment.delivery_method_used != 'pickup'):
            number = tracking_number(shipment.carrier, 10 ** 6 + shipment.id)
            if number:
                to_write.extend(([shipment], {'shipping_reference': number}))
    if to_write:
        Shipment.write(*to_write)


def scan_shipments(pool, shipments):
    """Scan every line of the shipments for their current step, as the
    warehouse does with sale_flow: one scan of N*CODE per line"""
    Scan = pool.get('sale.flow.scan')
    for shipment in shipments:
        step = shipment.scan_step()
        if not step or not shipment.warehouse.scan_strict_for(step):
            continue
        field = shipment.scan_field(step)
        for move in shipment.scan_moves(step):
            left = move.quantity - (getattr(move, field) or 0)
            if left > 0:
                scan = Scan.scan(shipment, '%g*%s' % (
                        left, move.product.code))
                assert scan.result == 'accepted', scan.message


def _approve(pool, sales):
    "Approve the sales waiting for review, as a reviewer accepting all"
    Sale = pool.get('sale.sale')
    Finding = pool.get('sale.flow.review.finding')
    to_review = [s for s in sales if s.review_state == 'to_review']
    blocking = [f for s in to_review for f in s.review_findings
        if f.state == 'open' and f.severity == 'blocking']
    short = [f for f in blocking if f.check == 'stock']
    if short:
        Decision = pool.get('sale.flow.stock.decision')
        decisions = Decision.create([{
                    'sale': f.sale.id, 'line': f.line.id, 'kind': 'wait',
                    'contact': "Demo data generator",
                    } for f in short])
        Decision.apply(decisions)
        sales = Sale.browse(sales)
        to_review = [s for s in sales if s.review_state == 'to_review']
        blocking = [f for s in to_review for f in s.review_findings
            if f.state == 'open' and f.severity == 'blocking']
    if blocking:
        Finding.write(blocking, {
                'override_reason': "Accepted by the demo data generator."})
        Finding.override(blocking)
    if to_review:
        Sale.review_approve(to_review)


def setup_demo(config=None, customers=20, products=30, orders=0,
        language=None, users=True):
    "The whole demo: company, warehouse, carriers, users, data and orders"
    config = config or pconfig.get_config()
    setup_company(config=config)
    setup_warehouse(config=config)
    create_carriers(config=config)
    if users:
        create_users(config=config, language=language)
    create_customers(config=config, count=customers)
    create_products(config=config, count=products)
    if orders:
        create_orders(config=config, count=orders)
    _close_config_wizard(config)
    return config


def _close_config_wizard(config):
    "The set-up is done: the administrator is not asked again at login"
    def work(pool):
        Item = pool.get('ir.module.config_wizard.item')
        Item.write(Item.search([('state', '!=', 'done')]), {'state': 'done'})
    server_call(config, work)


# A small fixed data set for the scenarios (a stable name for DB_CACHE)
setup_demo_small = partial(setup_demo, customers=6, products=8)
