# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Who may do what, over the RPC layer, as each demo role.

The matrix is enumerated from the pool, so that anything the module adds
is covered: every model of the module (create, write, delete), every field
the module declares on any model (write), every button and wizard of the
module and every RPC method it adds.  Each is called as each role through
Tryton's RPC layer (``RPC.convert``: the caller's context, Tryton's access
check on) and must be allowed or refused as the declarations say:

- a model's modes: Tryton's access rights (``ir.model.access``) and the
  modes the model leaves to callers (``_flow_external``);
- a field: refused when the module declares it readonly (or lists it in
  ``_flow_server_fields``), or readonly by its states on the record;
- a button: its groups (``ir.model.button``), else the model's write right;
- a wizard: it must have groups, and only they may start it;
- an RPC method: the policy below (``RPC_POLICY``); a method missing from
  it fails the test.

A refused call must leave the record as it was (it is committed as the
client's call would be, and the record is read again); an allowed call is
rolled back so that the samples stay the same for the next call.
"""

import base64
import datetime as dt
import unittest

from trytond.exceptions import UserError, UserWarning
from trytond.model import ModelStorage, fields
from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.pool import Pool
from trytond.tests.test_tryton import drop_db
from trytond.tests.tools import activate_modules
from trytond.transaction import Transaction, TransactionError, check_access

from .. import access
from .tools import (
    ROLE_USERS, advance_orders, create_orders, scan_shipments, server_call,
    setup_demo_small, sign_shipments, signature_image)

MODULE = 'sale_flow'
SCAN = {'warehouse', 'manager', 'admin'}
SCAN_WIZARD = 'sale.flow.scan.wizard'
SIGN = {'shipping', 'manager', 'admin'}
# The RPC methods the module adds (not buttons): who may call them.  A
# role set, or 'create'/'write' for Tryton's access right to the model.
RPC_POLICY = {
    ('sale.sale', 'intake'): 'create',
    ('sale.flow.scan', 'scan'): SCAN,
    ('sale.flow.scan', 'undo'): SCAN,
    ('sale.flow.scan', 'reset'): SCAN,
    ('sale.flow.signature', 'sign'): SIGN,
    }
# Tryton's generic RPC methods (of every ModelSQL/ModelView)
GENERIC_MODEL = 'res.group'
GATE_BUTTON = 'Calling button'
# what the matrix covered, for the end of the run (tests/conftest.py)
SUMMARY = []


class NotExposed(Exception):
    "The model has no such RPC method: the clients cannot call it"


def _module_classes(Model):
    return [k for k in Model.__mro__
        if (k.__module__ or '').startswith(access.MODULE + '.')]


class AccessMatrixTestCase(unittest.TestCase):
    "The role × action matrix over RPC"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = activate_modules('sale_flow', setup_demo_small)
        cls.samples = cls._make_samples()
        cls.users = server_call(cls.config, cls._users)
        cls._access = {}
        cls.sizes = {}

    def setUp(self):
        super().setUp()
        self.outcomes = {}

    @classmethod
    def tearDownClass(cls):
        if cls.sizes:
            # the size of the matrix, printed at the end of the run
            SUMMARY.append('access matrix: %s calls (%s refused) by %s '
                'users: %s' % (
                    sum(n for n, _ in cls.sizes.values()),
                    sum(r for _, r in cls.sizes.values()), len(cls.users),
                    ', '.join('%s %s' % (k[5:], n)
                        for k, (n, _) in sorted(cls.sizes.items()))))
        drop_db()
        super().tearDownClass()

    @classmethod
    def _users(cls, pool):
        "{login: (id, group ids, context)} of the roles, admin and outsider"
        User = pool.get('res.user')
        logins = [r[0] for r in ROLE_USERS] + ['admin']
        outsider, = User.create([{'login': 'outsider', 'name': "Outsider"}])
        result = {}
        for user in User.search([('login', 'in', logins + ['outsider'])]):
            with Transaction().set_user(user.id):
                groups = set(User.get_groups())
                context = User.get_preferences(context_only=True)
            context['language'] = 'en'
            result[user.login] = (user.id, groups, context)
        return result

    @classmethod
    def _make_samples(cls):
        """{model: id} of a record of each model the module adds or extends:
        an order in draft, one in review, a shipment being picked, one
        shipped and one signed for, and the records they made"""
        config = cls.config
        draft, quoted, assigned, shipped, signed = create_orders(
            config=config, count=5, lines=(1, 1), quantity=(1, 1))
        advance_orders(config=config, sale_ids=[quoted], stage='quotation')
        advance_orders(
            config=config, sale_ids=[assigned], stage='assigned')
        advance_orders(
            config=config, sale_ids=[shipped, signed], stage='shipped')

        def work(pool):
            Sale = pool.get('sale.sale')
            Scan = pool.get('sale.flow.scan')
            samples = {}
            sale = Sale(quoted)
            shipment, = Sale(assigned).shipments
            scan_shipments(pool, [shipment])
            Scan.scan(shipment, 'NO-SUCH-CODE')
            signed_shipment, = Sale(signed).shipments
            sign_shipments(pool, [signed_shipment])
            Photo = pool.get('sale.flow.signature.photo')
            signature, = signed_shipment.signatures
            Photo.create([{
                        'signature': signature.id,
                        'image': base64.b64decode(signature_image()),
                        }])
            pool.get('sale.flow.satisfaction').rate(signed_shipment, '5')
            Rule = pool.get('sale.flow.review.rule')
            Category = pool.get('party.category')
            category, = Category.create([{'name': "Sample category"}])
            ProductCategory = pool.get('product.category')
            product_category, = ProductCategory.create([{
                        'name': "Sample category"}])
            PaymentTerm = pool.get('account.invoice.payment_term')
            term, = PaymentTerm.create([{
                        'name': "Sample term",
                        'lines': [('create', [{'type': 'remainder'}])],
                        }])
            rule, = Rule.create([{
                        'name': "Sample rule", 'amount_above': 100000,
                        'customer_categories': [('add', [category.id])],
                        'product_categories': [
                            ('add', [product_category.id])],
                        'payment_terms': [('add', [term.id])],
                        }])
            samples.update({
                    'sale.sale': draft,
                    'sale.line': Sale(draft).lines[0].id,
                    'stock.shipment.out': shipment.id,
                    'stock.move': shipment.outgoing_moves[0].id,
                    'sale.flow.review.rule': rule.id,
                    })
            Contact = pool.get('sale.flow.review.contact')
            Contact.create([{
                        'sale': sale.id, 'contact_name': "Mr. Sample",
                        'method': 'phone', 'answer': "Yes",
                        }])
            Decision = pool.get('sale.flow.stock.decision')
            Decision.create([{
                        'sale': sale.id, 'line': sale.lines[0].id,
                        'kind': 'wait',
                        }])
            pool.get('sale.flow.service_level').create([{
                        'stage': 'submitted', 'duration': dt.timedelta(
                            hours=2),
                        }])
            pool.get('sale.flow.calendar.day').create([{
                        'date': dt.date(2026, 10, 1), 'kind': 'holiday',
                        }])
            pool.get('sale.flow.breach').create([{
                        'sale': sale.id, 'stage': 'submitted',
                        'since': dt.datetime(2026, 1, 1),
                        'notified_at': dt.datetime(2026, 1, 1),
                        }])
            shipped_shipment, = Sale(shipped).shipments
            pool.get('sale.flow.tracking.credential').create([{
                        'company': shipped_shipment.company.id,
                        'service': 'kuaidi100', 'customer': "SAMPLE",
                        'key': "KEY", 'salt': "SALT",
                        'endpoint': 'http://127.0.0.1:9',
                        }])
            pool.get('sale.flow.waybill.credential').create([{
                        'company': shipped_shipment.company.id,
                        'service': 'sf_express', 'partner': "SAMPLE",
                        'check_word': "CHECK",
                        'endpoint': 'http://127.0.0.1:9',
                        }])
            subscription, = pool.get(
                'sale.flow.tracking.subscription').create([{
                        'shipment': shipped_shipment.id,
                        'number': shipped_shipment.tracking_number_list()[0],
                        'service': 'kuaidi100',
                        }])
            pool.get('sale.flow.tracking.event').create([{
                        'shipment': shipped_shipment.id,
                        'number': subscription.number,
                        'time': dt.datetime(2026, 1, 1, 1),
                        'code': '103', 'status': "揽收", 'state': 'accepted',
                        'text': "已收取快件", 'origin': 'poll',
                        }])
            pool.get('sale.flow.tracking.alert').create([{
                        'shipment': shipped_shipment.id, 'kind': 'stale',
                        'since': dt.datetime(2026, 1, 1, 1),
                        'notified_at': dt.datetime(2026, 1, 3),
                        }])
            for name in cls._models(pool):
                Model = pool.get(name)
                if name in samples or not issubclass(Model, ModelStorage):
                    continue
                with Transaction().set_context(active_test=False):
                    records = Model.search([], limit=1, order=[])
                if records:
                    samples[name] = records[0].id
            return samples
        return server_call(config, work)

    # --- the RPC layer ---------------------------------------------------

    def call(self, login, name, method, *args, type='model', context=None,
            commit=False):
        """Call method of the model or wizard as login through the RPC
        layer; commit when asked (a refused call), else roll back"""
        user_id, _, user_context = self.users[login]
        ctx = dict(user_context, **(context or {}))
        pool = Pool(self.config.database_name)
        Model = pool.get(name, type=type)
        if method not in Model.__rpc__:
            raise NotExposed(name, method)
        rpc = Model.__rpc__[method]
        extras = {}
        while True:
            with Transaction().start(
                    self.config.database_name, user_id,
                    readonly=rpc.readonly, **extras) as transaction:
                c_args, c_kwargs, transaction.context, _ = rpc.convert(
                    Model, *args, ctx)
                try:
                    result = getattr(Model, method)(*c_args, **c_kwargs)
                    rpc.result(result)
                except TransactionError as e:
                    # as the dispatcher: the transaction starts again
                    transaction.rollback()
                    e.fix(extras)
                    continue
                except BaseException:
                    transaction.rollback()
                    raise
                finally:
                    transaction.tasks.clear()
                if commit:
                    transaction.commit()
                else:
                    transaction.rollback()
            return result

    def outcome(self, login, name, method, *args, **kwargs):
        """'allowed' when the call passes the gates (it may still be
        refused by the flow's rules for the record's state or the values),
        'refused' when a gate stops it, else the unexpected error"""
        try:
            self.call(login, name, method, *args, **kwargs)
        except AccessButtonError as e:
            return 'refused' if e.message.startswith(GATE_BUTTON) else (
                'allowed')
        except (AccessError, NotExposed):
            return 'refused'
        except (UserError, UserWarning):
            return 'allowed'
        except Exception as e:
            return 'error %s: %s' % (e.__class__.__name__, e)
        return 'allowed'

    def check(self, key, expected, got):
        self.outcomes[key] = (expected, got)

    def assertMatrix(self):
        wrong = sorted((k, v) for k, v in self.outcomes.items()
            if v[0] != v[1])
        refused = sum(1 for v in self.outcomes.values() if v[1] == 'refused')
        self.sizes[self._testMethodName] = (len(self.outcomes), refused)
        self.outcomes.clear()
        self.assertFalse(wrong, "\n".join(
                "%s: expected %s, got %s" % (k, *v) for k, v in wrong))

    # --- what the module adds --------------------------------------------

    @classmethod
    def _models(cls, pool):
        "The models the module adds or extends with fields"
        names = []
        for name, Model in pool.iterobject():
            if _module_classes(Model) and (
                    access.flow_field_names(Model)
                    or getattr(Model, '__module__', '') == MODULE):
                names.append(name)
        return sorted(names)

    def own_models(self):
        "The stored models of the module (ir.model of module sale_flow)"
        def work(pool):
            Model = pool.get('ir.model')
            names = []
            for model in Model.search([('module', '=', MODULE)]):
                Class = pool.get(model.name)
                if (issubclass(Class, ModelStorage)
                        and not callable(getattr(Class, 'table_query', None))):
                    names.append(model.name)
            return sorted(names)
        return server_call(self.config, work)

    def model_access(self, login, name, mode):
        "Tryton's access right of login to the model for mode"
        def work(pool):
            ModelAccess = pool.get('ir.model.access')
            with check_access():
                return bool(ModelAccess.check(
                        name, mode, raise_exception=False))
        key = (login, name, mode)
        if key not in self._access:
            user_id = self.users[login][0]
            self._access[key] = server_call(self.config, work, user=user_id)
        return self._access[key]

    # --- the matrix ------------------------------------------------------

    def test_models(self):
        "Create, write and delete of every stored model of the module"
        pool = Pool(self.config.database_name)
        models = self.own_models()
        self.assertGreater(len(models), 10)
        missing = [m for m in models if m not in self.samples]
        self.assertEqual(missing, [], "models without a sample record")
        for name in models:
            Model = pool.get(name)
            self.assertTrue(issubclass(Model, access.FlowAccessMixin), name)
            sample = self.samples[name]
            values = self.read(name, sample)
            for login in self.users:
                for mode in ['create', 'write', 'delete']:
                    expected = 'allowed' if (
                        mode in Model.__rpc__
                        and self.model_access(login, name, mode)
                        and mode in Model._flow_external) else 'refused'
                    if mode == 'create':
                        new = {k: v for k, v in values.items()
                            if k not in Model._flow_readonly}
                        got = self.outcome(login, name, 'create', [new],
                            commit=expected == 'refused')
                    elif mode == 'write':
                        got = self.outcome(login, name, 'write', [sample],
                            {}, commit=expected == 'refused')
                    else:
                        got = self.outcome(login, name, 'delete', [sample],
                            commit=expected == 'refused')
                    self.check((name, mode, login), expected, got)
            self.assertEqual(self.read(name, sample), values, name)
        self.assertMatrix()

    def read(self, name, record_id):
        "The stored values of the record, as root"
        def work(pool):
            Model = pool.get(name)
            names = [n for n in Model._fields
                if not isinstance(Model._fields[n], fields.Function)
                and n not in {'create_date', 'create_uid', 'write_date',
                    'write_uid', 'rec_name', 'id'}
                and Model._fields[n]._type not in {'one2many', 'many2many'}]
            value, = Model.read([record_id], names)
            del value['id']
            return value
        return server_call(self.config, work, user=0)

    def test_fields(self):
        "Write of every field the module declares, on every model"
        pool = Pool(self.config.database_name)
        count = 0
        for name in self._models(pool):
            Model = pool.get(name)
            if name not in self.samples or callable(
                    getattr(Model, 'table_query', None)):
                continue
            self.assertTrue(issubclass(Model, access.FlowAccessMixin), name)
            sample = self.samples[name]
            before = self.read(name, sample)
            names = {n for n in access.flow_field_names(Model)
                if getattr(Model._fields[n], 'setter', True) is not None
                } | Model._flow_server_fields
            for field in sorted(names):
                value = self.value(name, sample, field)
                readonly = self.readonly(name, sample, field)
                for login in self.users:
                    if ('write' not in Model.__rpc__
                            or not self.model_access(login, name, 'write')):
                        continue
                    expected = 'refused' if (readonly
                        or 'write' not in Model._flow_external) else (
                        'allowed')
                    got = self.outcome(login, name, 'write', [sample],
                        {field: value}, commit=expected == 'refused')
                    self.check((name, field, login), expected, got)
                    count += 1
            self.assertEqual(self.read(name, sample), before, name)
        self.assertGreater(count, 100)
        self.assertMatrix()

    def value(self, name, record_id, field):
        "The value of the field to write back: its own, or no change"
        def work(pool):
            Model = pool.get(name)
            if Model._fields[field]._type in {'one2many', 'many2many'}:
                return []
            return Model.read([record_id], [field])[0][field]
        return server_call(self.config, work, user=0)

    def readonly(self, name, record_id, field):
        "Whether the declarations make the field readonly on the record"
        def work(pool):
            from trytond.model.modelstorage import _record_eval_pyson
            Model = pool.get(name)
            if field in Model._flow_readonly:
                return True
            states = Model._flow_readonly_states.get(field)
            return bool(states is not None
                and _record_eval_pyson(Model(record_id), states))
        return server_call(self.config, work, user=0)

    def test_buttons(self):
        "Every button the module declares, as every role"

        def buttons(pool):
            result = []
            for name in self._models(pool):
                Model = pool.get(name)
                for button in getattr(Model, '_buttons', {}):
                    if any(button in vars(k) for k in _module_classes(Model)):
                        result.append((name, button))
            return result
        found = server_call(self.config, buttons)
        self.assertGreater(len(found), 10)

        def groups(pool, name, button):
            return set(pool.get('ir.model.button').get_groups(name, button))
        for name, button in found:
            sample = self.samples.get(name)
            self.assertIsNotNone(sample, name)
            button_groups = server_call(self.config, groups, name, button)
            for login, (_, user_groups, _) in self.users.items():
                if not self.model_access(login, name, 'read'):
                    expected = 'refused'
                elif button_groups:
                    expected = 'allowed' if button_groups & user_groups else (
                        'refused')
                else:
                    expected = 'allowed' if self.model_access(
                        login, name, 'write') else 'refused'
                got = self.outcome(login, name, button, [sample],
                    commit=expected == 'refused')
                self.check((name, button, login), expected, got)
        self.assertMatrix()

    def test_wizards(self):
        "Every wizard of the module has groups, and only they start it"
        def wizards(pool):
            Wizard = pool.get('ir.action.wizard')
            Data = pool.get('ir.model.data')
            ids = [d.db_id for d in Data.search([
                        ('module', '=', MODULE),
                        ('model', '=', 'ir.action.wizard')])]
            return [(w.wiz_name, w.model, {g.id for g in w.groups})
                for w in Wizard.browse(ids)]
        found = server_call(self.config, wizards)
        self.assertGreater(len(found), 5)
        self.assertEqual(
            [w for w, _, g in found if not g], [], "wizards without groups")
        for wiz_name, model, groups in found:
            context = {}
            if model:
                context = {'active_model': model,
                    'active_id': self.samples[model],
                    'active_ids': [self.samples[model]]}
            for login, (_, user_groups, _) in self.users.items():
                expected = 'allowed' if (groups & user_groups and (
                        not model or self.model_access(login, model, 'read'))
                    ) else 'refused'
                got = self.outcome(login, wiz_name, 'create',
                    type='wizard', context=context)
                self.check((wiz_name, login), expected, got)
        self.assertMatrix()

    def test_scan_wizard(self):
        """The scan wizard's Pick and Pack, called over RPC as each role:
        refused to the roles that may not scan, the shipment unchanged;
        done by the warehouse operator"""
        config = self.config
        to_pick, to_pack = create_orders(
            config=config, count=2, lines=(1, 1), quantity=(2, 2), seed=5)
        advance_orders(config=config, sale_ids=[to_pick], stage='assigned')
        advance_orders(config=config, sale_ids=[to_pack], stage='picked')

        def shipments(pool):
            Sale = pool.get('sale.sale')
            result = []
            for sale_id in [to_pick, to_pack]:
                shipment, = Sale(sale_id).shipments
                # the picking scans are complete (strict scanning)
                scan_shipments(pool, [shipment])
                result.append(shipment.id)
            return result
        pick_id, pack_id = server_call(config, shipments)
        model = 'stock.shipment.out'
        steps = [
            (pick_id, 'pick', 'assigned', 'picked'),
            (pack_id, 'pack', 'picked', 'packed'),
            ]
        refused_logins = [l for l in self.users if l not in SCAN]
        self.assertEqual(sorted(refused_logins), sorted(
                ['clerk', 'reviewer', 'shipping', 'outsider']))
        for shipment_id, transition, before, after in steps:
            self.assertEqual(self.read(model, shipment_id)['state'], before)
            contexts = {
                'form': {'active_model': model, 'active_id': shipment_id,
                    'active_ids': [shipment_id]},
                'menu': {},
                }
            data = {'scan': {'shipment': shipment_id}}
            for where, context in contexts.items():
                # a session of the wizard, as a warehouse operator opens it
                session_id, _, _ = self.call('warehouse', SCAN_WIZARD,
                    'create', type='wizard', context=context, commit=True)
                for login in self.users:
                    self.check((transition, where, 'create', login),
                        'allowed' if login in SCAN else 'refused',
                        self.outcome(login, SCAN_WIZARD, 'create',
                            type='wizard', context=context,
                            commit=login not in SCAN))
                for login in refused_logins:
                    values = self.read(model, shipment_id)
                    got = self.outcome(login, SCAN_WIZARD, 'execute',
                        session_id, data, transition, type='wizard',
                        context=context, commit=True)
                    self.check((transition, where, 'execute', login),
                        'refused', got)
                    self.assertEqual(self.read(model, shipment_id), values,
                        (transition, where, login))
            self.assertEqual(self.read(model, shipment_id)['state'], before)
            # the warehouse operator picks or packs from the scan screen
            session_id, _, _ = self.call('warehouse', SCAN_WIZARD, 'create',
                type='wizard', context=contexts['form'], commit=True)
            result = self.call('warehouse', SCAN_WIZARD, 'execute',
                session_id, data, transition, type='wizard',
                context=contexts['form'], commit=True)
            self.assertIn(result['view']['state'], {'scan', 'find'})
            self.assertEqual(self.read(model, shipment_id)['state'], after)
        self.assertMatrix()

    def test_flow_chart(self):
        "The flow chart is read and printed as the flow board is read"
        def action(pool):
            return pool.get('ir.model.data').get_id(
                'sale_flow', 'report_flow_chart')
        # as the clients print: the action of the report
        data = {'action_id': server_call(self.config, action),
            'model': 'sale.flow.chart', 'id': 1, 'ids': [1]}
        refused = set()
        for login in self.users:
            expected = self.outcome(login, 'sale.flow.board', 'search_read',
                [], 0, None, None, ['orders'])
            if expected == 'refused':
                refused.add(login)
            for name, fields_ in [
                    ('sale.flow.chart', ['orders', 'bottleneck', 'image']),
                    ('sale.flow.chart.element', ['orders', 'sales'])]:
                got = self.outcome(login, name, 'search_read',
                    [], 0, None, None, fields_)
                self.check((name, login), expected, got)
            got = self.outcome(login, 'sale_flow.flow_chart', 'execute',
                [1], data, type='report')
            self.check(('sale_flow.flow_chart', login), expected, got)
        self.assertEqual(refused & {'manager', 'admin'}, set())
        self.assertLessEqual(
            {'clerk', 'reviewer', 'warehouse', 'shipping', 'outsider'},
            refused)
        self.assertMatrix()

    def test_rpc_methods(self):
        "Every RPC method the module adds, as every role"
        def methods(pool):
            generic = set(pool.get(GENERIC_MODEL).__rpc__)
            result = []
            for name in self._models(pool):
                Model = pool.get(name)
                # the clients' helpers: on_change and selection methods
                helpers = {f.selection for f in Model._fields.values()
                    if isinstance(getattr(f, 'selection', None), str)}
                for method in Model.__rpc__:
                    if (method in generic or method in helpers
                            or method.startswith('on_change')
                            or method in getattr(Model, '_buttons', {})):
                        continue
                    if any(method in vars(k) for k in _module_classes(Model)):
                        result.append((name, method))
            return sorted(result)
        found = server_call(self.config, methods)
        self.assertEqual(sorted(RPC_POLICY), found,
            "RPC methods not in the policy of the test")
        shipment = self.samples['stock.shipment.out']
        move = self.samples['stock.move']
        args = {
            'intake': [[{
                        'channel': 'web', 'reference': 'MATRIX-1',
                        'customer': 'NO-SUCH-CUSTOMER',
                        'lines': [{'product': 'X', 'quantity': 1}]}]],
            'scan': [shipment, 'NO-SUCH-CODE'],
            'undo': [shipment],
            'reset': [shipment, move],
            'sign': [shipment, {}],
            }
        for (name, method), policy in RPC_POLICY.items():
            for login in self.users:
                if isinstance(policy, str):
                    expected = self.model_access(login, name, policy)
                else:
                    expected = login in policy
                expected = 'allowed' if expected else 'refused'
                got = self.outcome(login, name, method, *args[method],
                    commit=expected == 'refused')
                self.check((name, method, login), expected, got)
        self.assertMatrix()
