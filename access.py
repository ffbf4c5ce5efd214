# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Who may change what: the server side of the module's declarations.

Tryton's clients honour ``readonly`` and ``states``; the server does not.
``FlowAccessMixin`` is mixed into every model the module adds or extends
and makes the module's own field declarations hold for a change that comes
from outside (a ``create``, ``write`` or ``delete`` called over RPC, i.e.
under Tryton's access check):

- a field the module declares readonly (``readonly=True``) is never set
  from outside (on create only its default or an empty value passes);
- a field the module declares with ``states['readonly']`` is not written
  from outside on a record for which the expression is true;
- a model lists in ``_flow_external`` which of create, write and delete
  may come from outside at all (the flow's records — findings, decisions,
  scans, signatures... — allow none or only some);
- ``_flow_server_fields`` adds fields of other modules that only the
  flow's methods change (Tryton's ``state`` of the order and the shipment).

The module's methods change these fields on purpose: buttons and wizards
run without Tryton's access check once their groups have been checked
(``ModelView.button``, ``Wizard.execute``), and the RPC methods the module
adds check their caller with ``check_caller`` before they work under
``without_check_access()``.
"""

from functools import wraps

from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.model.modelstorage import _record_eval_pyson
from trytond.pool import Pool
from trytond.pyson import PYSON
from trytond.transaction import Transaction, without_check_access

MODULE = __name__.rsplit('.', 1)[0]
MODES = {'create', 'write', 'delete'}
TIME_FORMAT = '%H:%M:%S'


def to_the_second(field):
    """The date-time field shown to the second: the clients show a Tryton
    Timestamp with its microseconds (its format is %H:%M:%S.%f); the value
    stored keeps them, so events of the same second stay in order"""
    field.format = TIME_FORMAT
    return field


def flow_field_names(cls):
    "The names of the fields declared by this module's classes of cls"
    names = set()
    for klass in cls.__mro__:
        if (klass.__module__ or '').startswith(MODULE + '.'):
            for name, value in vars(klass).items():
                if name in cls._fields and hasattr(value, '_type'):
                    names.add(name)
    return names


def external():
    "Whether the current call is checked as coming from outside"
    transaction = Transaction()
    return bool(transaction.user and transaction.check_access)


class FlowAccessMixin:
    "Enforce the module's readonly declarations on the server"
    __slots__ = ()
    # the modes a caller from outside may use; the flow's records restrict
    _flow_external = MODES
    # fields of other modules that only the flow's methods change
    _flow_server_fields = set()
    # fields of the module left open to callers on purpose
    _flow_client_fields = set()

    @classmethod
    def __post_setup__(cls):
        super().__post_setup__()
        readonly, by_state = set(cls._flow_server_fields), {}
        for name in flow_field_names(cls) - cls._flow_client_fields:
            field = cls._fields[name]
            if getattr(field, 'setter', True) is None:
                continue  # a function field nobody can write
            if field.readonly is True:
                readonly.add(name)
            elif isinstance(field.states.get('readonly'), PYSON):
                by_state[name] = field.states['readonly']
        cls._flow_readonly = readonly
        cls._flow_readonly_states = by_state

    @classmethod
    def _flow_refuse(cls, mode, field=None, record=None):
        pool = Pool()
        Model = pool.get('ir.model')
        model = Model.get_name(cls.__name__)
        if field:
            with without_check_access():
                # in the reader's language
                string = cls.fields_get([field])[field]['string']
                name = record.rec_name if record else ''
            raise AccessError(gettext(
                    'sale_flow.msg_access_flow_field',
                    field=string, model=model, record=name))
        raise AccessError(gettext(
                'sale_flow.msg_access_flow_%s' % mode, model=model))

    @classmethod
    def create(cls, vlist):
        if external():
            if 'create' not in cls._flow_external:
                cls._flow_refuse('create')
            defaults = {}
            for values in vlist:
                for name in cls._flow_readonly & values.keys():
                    value = values[name]
                    if value in (None, '', [], (), False):
                        continue
                    if name not in defaults:
                        default = getattr(cls, 'default_' + name, None)
                        defaults[name] = default() if default else None
                    if value != defaults[name]:
                        cls._flow_refuse('create', name)
        return super().create(vlist)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if not external:
            return
        if mode not in cls._flow_external:
            cls._flow_refuse(mode)
        if mode == 'write' and values:
            names = values.keys()
            for name in cls._flow_readonly & names:
                cls._flow_refuse(mode, name, records[0] if records else None)
            for name in cls._flow_readonly_states.keys() & names:
                pyson = cls._flow_readonly_states[name]
                for record in records:
                    if _record_eval_pyson(record, pyson):
                        cls._flow_refuse(mode, name, record)


def check_caller(Model, mode='write', groups=None, records=None):
    """Refuse the call of an RPC method of the module to a user who may not
    do what it does: Tryton's access to Model for mode, one of the groups
    (XML ids) when given, and the record rules of records"""
    pool = Pool()
    ModelAccess = pool.get('ir.model.access')
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    transaction = Transaction()
    if not transaction.user:
        return
    ModelAccess.check(Model.__name__, mode)
    if groups:
        ids = {ModelData.get_id(*g.split('.', 1)) for g in groups}
        if not ids & set(User.get_groups()):
            raise AccessError(gettext(
                    'sale_flow.msg_access_flow_role',
                    model=pool.get('ir.model').get_name(Model.__name__)))
    if records:
        # the record rules (companies) of the caller
        Model.read([r.id for r in records if r.id is not None and r.id >= 0],
            ['id'])


def flow_rpc(model, mode='write', groups=None, records=None):
    """Decorate an RPC classmethod of the module (not a button): check the
    caller from outside with check_caller — Tryton's access to model for
    mode, one of the groups, the record rules of the records the call names
    (records(*args, **kwargs) gives their ids) — then run it without
    Tryton's access check, as Tryton runs a button once it is allowed."""
    def decorator(func):
        @wraps(func)
        def wrapper(cls, *args, **kwargs):
            if not external():
                return func(cls, *args, **kwargs)
            Model = Pool().get(model)
            ids = records(*args, **kwargs) if records else None
            check_caller(Model, mode, groups, Model.browse(ids or []))
            with without_check_access():
                return func(cls, *args, **kwargs)
        return wrapper
    return decorator


def record_id(value, field=None):
    """The id of value (an id, a record or a digit string); a clear error
    naming the field otherwise"""
    if hasattr(value, 'id'):
        value = value.id
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AccessError(gettext(
                'sale_flow.msg_access_flow_record', value=repr(value)[:50],
                field=field or ''))
    return value
