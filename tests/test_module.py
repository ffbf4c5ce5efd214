# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

import datetime as dt
import os
import re
from unittest.mock import patch

import polib
from lxml import etree

from trytond import config
from trytond.i18n import gettext
from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.sale_flow.access import flow_field_names
from trytond.modules.sale_flow.carrier import pattern_example
from trytond.modules.sale_flow.common import msg, render
from trytond.modules.sale_flow.monitoring import working_before
from trytond.modules.sale_flow.notification import ATTEMPT
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .kuaidi100_mock import Kuaidi100Mock, sign
from .tools import ean13

MODULE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SaleFlowTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Sale Flow module"
    module = 'sale_flow'
    extras = ['purchase_request', 'sale_credit_limit', 'stock_supply']

    def test_ean13(self):
        "EAN-13 check digits of the demo generator"
        self.assertEqual(ean13('690123456789'), '6901234567892')
        self.assertEqual(ean13('400638133393'), '4006381333931')
        with self.assertRaises(AssertionError):
            ean13('12345')

    def test_working_before(self):
        "The service levels in working time: nights, weekends, holidays"
        day, hour = dt.datetime, dt.timedelta(hours=1)
        nine, six = dt.time(9), dt.time(18)
        holidays, working = {dt.date(2026, 3, 9)}, {dt.date(2026, 3, 7)}

        def week(date):
            return date.weekday() < 5

        def calendar(date):
            return date not in holidays and week(date)
        # Friday 17:00 + 2 working hours = Monday 10:00
        self.assertEqual(
            working_before(day(2026, 3, 9, 10), 2 * hour, nine, six, week),
            day(2026, 3, 6, 17))
        # Monday a holiday: Tuesday 10:00
        self.assertEqual(
            working_before(day(2026, 3, 10, 10), 2 * hour, nine, six,
                calendar),
            day(2026, 3, 6, 17))
        # a make-up Saturday (调休) counts
        self.assertEqual(
            working_before(day(2026, 3, 10, 10), 2 * hour, nine, six,
                lambda d: d in working or calendar(d)),
            day(2026, 3, 7, 17))
        # in the evening the day's working time is all behind
        self.assertEqual(
            working_before(day(2026, 3, 10, 21), hour, nine, six, week),
            day(2026, 3, 10, 17))
        # before the day starts: the day before
        self.assertEqual(
            working_before(day(2026, 3, 10, 8), 3 * hour, nine, six, week),
            day(2026, 3, 9, 15))
        # the whole day of every day: plain time
        now = day(2026, 3, 10, 8, 30)
        self.assertEqual(
            working_before(now, 30 * hour, None, None, lambda d: True),
            now - 30 * hour)
        # no working day: never reached
        self.assertLess(
            working_before(now, hour, nine, six, lambda d: False),
            now - dt.timedelta(days=365))

    @with_transaction()
    def test_zh_CN_translations_complete(self):
        "Every string of the module has a zh_CN translation"
        pool = Pool()
        Translation = pool.get('ir.translation')
        TranslationSet = pool.get('ir.translation.set', type='wizard')
        TranslationUpdate = pool.get('ir.translation.update', type='wizard')
        Lang = pool.get('ir.lang')

        zh_CN, = Lang.search([('code', '=', 'zh_CN')])
        Translation.translation_import(
            'zh_CN', 'sale_flow',
            os.path.join(MODULE_DIR, 'locale', 'zh_CN.po'))
        session_id, _, _ = TranslationSet.create()
        TranslationSet.execute(session_id, {}, 'set_')
        TranslationSet.delete(session_id)
        session_id, _, _ = TranslationUpdate.create()
        TranslationUpdate.execute(
            session_id, {'start': {'language': zh_CN.id}}, 'update')
        TranslationUpdate.delete(session_id)

        pofile = polib.pofile(
            Translation.translation_export('zh_CN', 'sale_flow').decode())
        self.assertTrue(len(pofile) > 0)
        missing = [
            (e.msgctxt, e.msgid) for e in pofile
            if not e.msgstr or 'fuzzy' in e.flags]
        self.maxDiff = None  # the whole list, to translate at once
        self.assertEqual(missing, [])
        stale = {e.msgctxt for e in polib.pofile(
                os.path.join(MODULE_DIR, 'locale', 'zh_CN.po'))} - {
            e.msgctxt for e in pofile}
        self.assertEqual(stale, set())

    @with_transaction()
    def test_zh_CN_overrides_of_tryton_modules(self):
        "Tryton's own strings on the flow's path are shown in our zh_CN"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        ModelData = pool.get('ir.model.data')
        Sale = pool.get('sale.sale')
        Shipment = pool.get('stock.shipment.out')
        Package = pool.get('stock.package')
        Carrier = pool.get('carrier')
        ActionDomain = pool.get('ir.action.act_window.domain')

        # As trytond-admin -l zh_CN does: every module's locale/zh_CN.po,
        # then its locale/override/zh_CN.po
        zh_CN, = Lang.search([('code', '=', 'zh_CN')])
        Lang.load_translations([zh_CN])

        # Every override is in force: no stale msgid, none skipped because
        # it equals a fuzzy translation of the overridden module
        overrides = polib.pofile(
            os.path.join(MODULE_DIR, 'locale', 'override', 'zh_CN.po'))
        self.assertGreater(len(overrides), 0)
        not_applied = []
        for entry in overrides:
            type_, name, res_id = entry.msgctxt.split(':')
            module, fs_id = res_id.split('.')
            domain = [
                ('lang', '=', 'zh_CN'),
                ('module', '=', module),
                ('type', '=', type_),
                ('name', '=', name),
                ('res_id', '=',
                    ModelData.get_id(module, fs_id) if fs_id else -1),
                ('src', '=', entry.msgid),
                ]
            value = entry.msgstr or entry.msgstr_plural[0]
            if not Translation.search(domain + [
                        ('value', '=', value),
                        ('fuzzy', '=', False),
                        ('overriding_module', '=', 'sale_flow'),
                        ]):
                not_applied.append((entry.msgctxt, entry.msgid))
        self.assertEqual(not_applied, [])

        # As the clients get them
        with Transaction().set_context(language='zh_CN'):
            fields = Sale.fields_get(['number', 'party', 'state'])
            self.assertEqual(fields['number']['string'], '订单号')
            self.assertEqual(fields['party']['string'], '客户')
            self.assertIn(('confirmed', '已确认'), fields['state']['selection'])
            buttons = self.view_buttons(Sale)
            self.assertEqual(buttons['quote']['string'], '报价')
            self.assertEqual(buttons['confirm']['string'], '确认')
            self.assertEqual(buttons['process']['string'], '处理')
            self.assertEqual(buttons['draft']['string'], '退回草稿')
            # sale ships this one right but fuzzy: confirmed, not skipped
            self.assertEqual(ActionDomain(ModelData.get_id(
                        'sale', 'act_sale_form_domain_all')).name, '全部')

            fields = Shipment.fields_get(['number', 'state'])
            self.assertEqual(fields['number']['string'], '单号')
            self.assertIn(('shipped', '已发货'), fields['state']['selection'])
            buttons = self.view_buttons(Shipment)
            self.assertEqual(buttons['assign_wizard']['string'], '分配库存')
            self.assertEqual(buttons['ship']['string'], '确认发货')
            self.assertEqual(buttons['ship']['confirm'], '确定要发出该发货单吗？')
            self.assertEqual(buttons['do']['string'], '完成')

            self.assertEqual(
                Package.fields_get(['number'])['number']['string'], '包裹号')
            self.assertEqual(
                Carrier.fields_get(['party'])['party']['string'], '承运商')

            self.assertEqual(
                gettext('ir.msg_button_state_record',
                    button='confirm', record='SO59', model='销售订单'),
                '"销售订单"的记录"SO59"在当前状态下不能执行"confirm"。')
            self.assertEqual(
                gettext('ir.msg_access_button_error',
                    button='confirm', model='销售订单'),
                '不允许在"销售订单"上调用按钮"confirm"。')
        with Transaction().set_context(language='en'):
            self.assertEqual(
                Shipment.fields_get(['number'])['number']['string'],
                'Number')

    @staticmethod
    def view_buttons(Model):
        "The buttons of the model's form view with their attributes"
        arch = etree.fromstring(
            Model.fields_view_get(view_type='form')['arch'])
        return {b.get('name'): b.attrib for b in arch.iter('button')}

    @with_transaction()
    def test_finding_message_in_reader_language(self):
        "A finding's explanation is shown in the language of its reader"
        pool = Pool()
        Translation = pool.get('ir.translation')
        Translation.translation_import(
            'zh_CN', 'sale_flow',
            os.path.join(MODULE_DIR, 'locale', 'zh_CN.po'))
        value = msg('sale_flow.msg_finding_duplicate',
            other="SO1", score=80,
            reason=msg('sale_flow.msg_duplicate_similar',
                who=msg('sale_flow.msg_duplicate_same_customer'),
                common=1, total=2, hours='1.0',
                channel={'__channel__': 'web'}))
        with Transaction().set_context(language='en'):
            self.assertEqual(render(value),
                'Possible duplicate of order "SO1" (score 80): same '
                'customer, 1 of 2 products in common with similar '
                'quantities, entered 1.0 h apart by Web Shop.')
        with Transaction().set_context(language='zh_CN'):
            self.assertEqual(render(value),
                '可能与订单"SO1"重复(分数 80):同一客户,2 个产品中有 1 '
                '个相同且数量相近,录入时间相差 1.0 小时,渠道:网店。')

    @with_transaction()
    def test_roles_see_sales_flow_menu(self):
        "Every role of the flow has the Sales Flow menu"
        pool = Pool()
        Data = pool.get('ir.model.data')
        Menu = pool.get('ir.ui.menu')
        menu = Menu(Data.get_id('sale_flow', 'menu_sale_flow'))
        groups = {g.id for g in menu.groups}
        for module, xml_id in [
                ('sale', 'group_sale'),
                ('sale_flow', 'group_sale_flow_reviewer'),
                ('sale_flow', 'group_sale_flow_warehouse'),
                ('sale_flow', 'group_sale_flow_shipping'),
                ('sale_flow', 'group_sale_flow_manager'),
                ]:
            with self.subTest(group=xml_id):
                self.assertIn(Data.get_id(module, xml_id), groups)

    @with_transaction()
    def test_view_extensions_inherit_base_views(self):
        "Every view extension inherits a base view and is in its result"
        # trytond applies only the direct extensions of a base view: one
        # that inherits an extension is silently never shown
        pool = Pool()
        View = pool.get('ir.ui.view')
        extensions = View.search([
                ('module', '=', self.module),
                ('inherit', '!=', None),
                ])
        self.assertTrue(extensions)
        for view in extensions:
            base = view.inherit
            with self.subTest(view=view.name):
                self.assertIsNone(base.inherit,
                    msg='view "%s" inherits the extension "%s" instead of '
                    'a base view' % (view.name, base.name))
                result = pool.get(view.model).fields_view_get(
                    view_id=base.id, view_type=base.type)
                arch = etree.fromstring(result['arch'])
                for element in etree.fromstring(view.arch).iter(
                        'field', 'button', 'page', 'group'):
                    for attribute in ['name', 'id']:
                        value = element.get(attribute)
                        if not value:
                            continue
                        self.assertTrue(arch.xpath(
                                '//%s[@%s=$value]' % (
                                    element.tag, attribute),
                                value=value),
                            msg='<%s %s="%s"> of view "%s" is not in the '
                            'view of %s' % (element.tag, attribute, value,
                                view.name, view.model))
                        if element.tag == 'field' and attribute == 'name':
                            self.assertIn(value, result['fields'])

    @with_transaction()
    def test_list_widgets_known_to_sao(self):
        "Every column of the module's lists has a widget sao 8.0 can draw"
        # sao 8.0's Sao.View.TreeXMLViewParser.WIDGETS (tryton-sao 8.0.x,
        # tree.js): a column with another widget (a timestamp, a datetime)
        # stops the whole list with "ColumnFactory is not a constructor"
        sao_widgets = {
            'binary', 'boolean', 'callto', 'char', 'date', 'dict', 'email',
            'float', 'image', 'integer', 'many2many', 'many2one', 'numeric',
            'one2many', 'one2one', 'progressbar', 'reference', 'selection',
            'multiselection', 'sip', 'text', 'time', 'timedelta', 'url',
            }
        pool = Pool()
        View = pool.get('ir.ui.view')
        views = View.search([
                ('module', '=', self.module),
                ('type', 'in', ['tree', None]),
                ])
        bases = {v.inherit or v for v in views}
        bases = [v for v in bases if v.type == 'tree']
        self.assertTrue(bases)
        for view in bases:
            with self.subTest(view=view.name, model=view.model):
                result = pool.get(view.model).fields_view_get(
                    view_id=view.id, view_type='tree')
                arch = etree.fromstring(result['arch'])
                for field in arch.iter('field'):
                    # without a widget, the client takes the field's type
                    name = field.get('name')
                    widget = (field.get('widget')
                        or result['fields'][name]['type'])
                    self.assertIn(widget, sao_widgets,
                        msg='column "%s" of list "%s" (%s)' % (
                            name, view.name, view.model))

    @with_transaction()
    def test_override_order_documented(self):
        "The order of the flow's overrides is the one doc/design.rst gives"
        pool = Pool()
        path = os.path.join(MODULE_DIR, 'doc', 'design.rst')
        with open(path, encoding='utf-8') as fp:
            text = fp.read()
        section = text.split('\nOverrides\n=========\n', 1)[1]
        section = re.split(r'\n[^\n]+\n=+\n', section, maxsplit=1)[0]
        documented = {}
        for term, body in re.findall(
                r'^``([\w.]+)``\n((?:    .+\n)+)', section, re.M):
            documented[term] = re.findall(r'``([\w.]+)``', body)
        self.assertGreaterEqual(len(documented), 8)
        prefix = 'trytond.modules.'
        for term, expected in documented.items():
            model, method = term.rsplit('.', 1)
            Model = pool.get(model)
            chain = ['%s.%s' % (k.__module__[len(prefix):], k.__qualname__)
                for k in Model.__mro__
                if method in k.__dict__ and k.__module__.startswith(prefix)]
            self.assertEqual(chain, expected, msg=term)

    def test_tracking_pattern_example(self):
        "An example number of the simple tracking number patterns only"
        for pattern, example in [
                (r'SF\d{12,13}', 'SF123456789012'),
                (r'\d{12,15}', '123456789012'),
                (r'DPK\d{12}', 'DPK123456789012'),
                (r'FL\d{8}', 'FL12345678'),
                (r'JD\d{3,}', 'JD123'),
                (r'[A-Z]{2}\d{9}CN', None),
                (r'SF\d+', None),
                ('', None),
                (None, None),
                ]:
            with self.subTest(pattern=pattern):
                self.assertEqual(pattern_example(pattern), example)
                if example:
                    self.assertRegex(example, '^(?:%s)$' % pattern)

    @with_transaction()
    def test_date_times_shown_to_the_second(self):
        "The module's date-times are shown without microseconds"
        pool = Pool()
        checked = 0
        for name, Model in pool.iterobject():
            if not hasattr(Model, '_fields'):
                continue
            for fname in flow_field_names(Model):
                field = Model._fields[fname]
                field = getattr(field, '_field', field)
                if field._type not in {'timestamp', 'datetime'}:
                    continue
                checked += 1
                with self.subTest(model=name, field=fname):
                    definition = Model.fields_get([fname])[fname]
                    self.assertNotIn('%f', definition['format'])
        self.assertGreater(checked, 20)

    @with_transaction()
    def test_kuaidi100_push(self):
        "kuaidi100's pushes: verified with the salt, events as received"
        from types import SimpleNamespace

        from trytond.modules.sale_flow.exceptions import TrackingPushError
        Event = Pool().get('sale.flow.tracking.event')
        mock = Kuaidi100Mock('C', 'K')
        mock.subscriptions['SF1'] = {'salt': 'SALT'}
        mock.add_event('SF1', '2026-12-01 09:00:00', '已收取快件', '揽收',
            '103', '上海市')
        mock.add_event('SF1', '2026-12-02 10:05:00', '已签收', '签收', '301')
        mock.add_event('SF1', '2026-12-02 11:00:00', '?', '?', '99')
        credential = SimpleNamespace(salt='SALT')
        number, events = Event._kuaidi100_push(
            credential, mock.push_form('SF1'))
        self.assertEqual(number, 'SF1')
        self.assertEqual(
            [(e['time'], e['code'], e['state']) for e in events], [
                (dt.datetime(2026, 12, 2, 3), '99', None),
                (dt.datetime(2026, 12, 2, 2, 5), '301', 'delivered'),
                (dt.datetime(2026, 12, 1, 1), '103', 'accepted'),
                ])
        self.assertEqual(events[2]['text'], '已收取快件')
        self.assertEqual(events[2]['place'], '上海市')
        no_time = '{"lastResult": {"nu": "SF1", "data": [{"time": "x"}]}}'
        for form, reason in [
                (mock.push_form('SF1', salt='other'), 'signature'),
                ({'param': mock.push_form('SF1')['param']}, 'malformed'),
                ({'param': '[1]', 'sign': sign('[1]', 'SALT')},
                    'malformed'),
                ({'param': no_time, 'sign': sign(no_time, 'SALT')},
                    'malformed'),
                ]:
            with self.subTest(reason=reason, form=form):
                with self.assertRaises(TrackingPushError) as context:
                    Event._kuaidi100_push(credential, form)
                self.assertEqual(context.exception.args, (reason,))

    @with_transaction()
    def test_email_waits_for_mail_server(self):
        """With a queue worker, a customer e-mail the mail server refuses
        goes back to Tryton's queue, later each time, and is not written"""
        pool = Pool()
        Email = pool.get('notification.email')
        Trigger = pool.get('ir.trigger')
        Queue = pool.get('ir.queue')
        ModelData = pool.get('ir.model.data')
        IrEmail = pool.get('ir.email')
        Shipment = pool.get('stock.shipment.out')
        notification = Email(ModelData.get_id(
                'sale_flow', 'notification_shipment_shipped'))
        trigger = Trigger(ModelData.get_id(
                'sale_flow', 'trigger_shipment_shipped'))

        def refused(*args, **kwargs):
            raise ConnectionRefusedError(111, "Connection refused")
        if not config.has_section('queue'):
            config.add_section('queue')
        had_worker = config.get('queue', 'worker', default='False')
        config.set('queue', 'worker', 'True')
        try:
            with patch('trytond.modules.sale_flow.notification.'
                    'get_smtp_server', refused):
                for attempt, delay in [(0, 5), (3, 40), (30, 3600)]:
                    with self.subTest(attempt=attempt), \
                            Transaction().set_context(**{ATTEMPT: attempt}):
                        before = dt.datetime.now()
                        notification.send_email([Shipment(7)], trigger)
                        task, = Queue.search([], order=[('id', 'DESC')],
                            limit=1)
                        self.assertEqual(task.data['method'],
                            '_send_email_queued')
                        self.assertEqual(task.data['instances'],
                            notification.id)
                        self.assertEqual(list(task.data['args']),
                            [[7], trigger.id])
                        self.assertEqual(task.data['context'][ATTEMPT],
                            attempt + 1)
                        self.assertIsNone(task.finished_at)
                        wait = (task.scheduled_at - before).total_seconds()
                        self.assertGreaterEqual(wait, delay)
                        self.assertLess(wait, delay + 5)
        finally:
            config.set('queue', 'worker', had_worker)
        self.assertFalse(IrEmail.search([]))


del ModuleTestCase
