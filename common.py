# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What several steps of the flow share, and nothing else: messages kept
to be rendered in the reader's language, the order channels, the scan
results that are refusals, the SQL expressions of dates the reporting
models (statistics, monitoring, evaluation) group by, the transition
decorator of the overrides of Tryton's transitions, and the row locks of
operators working on the same goods, and the company's accounts at the
outside services (tracking, waybills)."""

import threading
import time
import urllib.parse
from contextlib import contextmanager
from decimal import Decimal
from functools import wraps

from sql import For, Literal
from sql.functions import DateTrunc, Extract, Function

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from .exceptions import (
    BusyError, LockWaited, TrackingCredentialValidationError)

CHANNELS = [
    ('phone', "Phone"),
    ('email', "E-mail"),
    ('web', "Web Shop"),
    ('walk_in', "Walk-in"),
    ('other', "Other"),
    ]
# the results of a scan that refused the code (scan.py records them, the
# monitoring counts them)
SCAN_REFUSED = {'unknown', 'not_on_shipment', 'over', 'wrong_state'}
PERIODS = [
    ('year', "Year"),
    ('month', "Month"),
    ('week', "Week"),
    ('day', "Day"),
    ]


def transition(state):
    """``Workflow.transition(state)`` for an override of a transition that
    a module below (Tryton's own at the bottom) already decorates: the
    same filter of the records that may take the transition, without the
    outer wrapper's write of the state.  The innermost wrapper writes and
    logs the state; Tryton's outer wrappers then find nothing left to
    change and still write it to no record (an ``UPDATE ... WHERE id IN
    ()`` per level)."""
    def decorator(func):
        @wraps(func)
        def wrapper(cls, records, *args, **kwargs):
            records = [r for r in records
                if (getattr(r, cls._transition_state), state)
                in cls._transitions]
            return func(cls, records, *args, **kwargs)
        return wrapper
    return decorator


def address_text(text):
    """An address text as compared: without spaces, in lower case (Chinese
    addresses are written without spaces, others with any number)"""
    return ''.join((text or '').split()).lower()


def msg(message_id, **params):
    "A message to render later, in the language of whoever reads it"
    params = {k: str(v) if isinstance(v, Decimal) else v
        for k, v in params.items()}
    return dict(params, __msg__=message_id)


def render(value):
    "The text of a msg() value in the current language"
    if isinstance(value, dict):
        if '__msg__' in value:
            params = {k: render(v) for k, v in value.items()
                if k != '__msg__'}
            return gettext(value['__msg__'], **params)
        if '__decision__' in value:
            Decision = Pool().get('sale.flow.stock.decision')
            selection = dict(Decision.fields_get(['kind'])['kind'][
                    'selection'])
            return selection.get(
                value['__decision__'], value['__decision__'])
        if '__channel__' in value:
            Sale = Pool().get('sale.sale')
            selection = dict(Sale.fields_get(['channel'])['channel'][
                    'selection'])
            return selection.get(value['__channel__'], value['__channel__'])
    return value


class SQLiteDate(Function):
    "SQLite's date(value, modifier, ...)"
    __slots__ = ()
    _function = 'DATE'


def day_of(timestamp):
    "The SQL expression of the date of a timestamp"
    if backend.name == 'sqlite':
        return SQLiteDate(timestamp)
    return timestamp.cast('DATE')


def date_number(date):
    "The SQL expression of a date as the number yyyymmdd (for ids)"
    return (Extract('YEAR', date) * 10000 + Extract('MONTH', date) * 100
        + Extract('DAY', date))


def period_start(date, period=None):
    """The SQL expression of the first day of the period of date (the
    context's period, month by default)"""
    if period is None:
        period = Transaction().context.get('period')
    if period not in dict(PERIODS):
        period = 'month'
    if period == 'week':
        if backend.name == 'sqlite':
            return SQLiteDate(date, '-6 days', 'weekday 1')
        return DateTrunc('week', date)
    return DateTrunc(period, date)


# How long (seconds) an operator's request waits for another's transaction
# on the same goods (scan, undo, signature, Tryton's assign_try) before the
# operator is told they are busy
LOCK_TIMEOUT = 15
# PostgreSQL's error codes: lock not available (NOWAIT, lock_timeout), query
# cancelled (statement_timeout), serialization failure
_LOCK_NOT_AVAILABLE = '55P03'
_QUERY_CANCELED = '57014'
_SERIALIZATION_FAILURE = '40001'
# The wait of the request running in this thread, kept across the restarts
# of its transaction: the deadline and when the request was restarted
_wait_state = threading.local()
# a transaction started this soon after a restart is the restarted request
_RESTART_WINDOW = 5 * 10 ** 9


def lock_records(records):
    """Lock the records (of one model) for update until the transaction
    ends, as Model.lock does; on PostgreSQL a request meeting another
    transaction's lock waits for it to end, then runs again (see
    waiting_for_lock)"""
    records = [r for r in records if r.id is not None and r.id >= 0]
    if not records:
        return
    Model = records[0].__class__
    if backend.name != 'postgresql':
        # SQLite runs one writing transaction at a time: Tryton's own lock
        Model.lock(records)
        return
    transaction = Transaction()
    new = set(transaction.create_records[Model.__name__])
    ids = {r.id for r in records} - new
    # Tryton's lock records of the transaction: Model.lock of these records
    # is then a no-op too
    locked = transaction._locked_records[Model._table]
    if not ids or Model._table in transaction._locked_tables or (
            ids <= locked):
        return
    table = Model.__table__()
    where = fields.SQL_OPERATORS['in'](table.id, sorted(ids))
    with waiting_for_lock(table, where):
        cursor = transaction.connection.cursor()
        cursor.execute(*table.select(Literal(1), where=where,
                for_=For('UPDATE', nowait=True)))
    locked.update(ids)


@contextmanager
def waiting_for_lock(table, where):
    """Run the block, which locks rows of table (where) with NOWAIT.  When
    another transaction holds them (PostgreSQL), roll back, wait for that
    transaction to end with a plain FOR SHARE on the same rows (LOCK_TIMEOUT
    at most over all the restarts of the request, then BusyError) and raise
    LockWaited: the dispatcher runs the request again in a new transaction,
    which reads what the other one wrote."""
    if backend.name != 'postgresql':
        yield
        return
    try:
        yield
    except backend.DatabaseOperationalError as exception:
        if getattr(exception, 'sqlstate', None) != _LOCK_NOT_AVAILABLE:
            raise
        _wait_for(table, where, exception)
    else:
        _wait_state.__dict__.clear()


def _wait_for(table, where, exception):
    "Wait until the rows are free, then raise LockWaited (or BusyError)"
    transaction = Transaction()
    connection = transaction.connection
    connection.rollback()
    now = time.monotonic_ns()
    deadline = getattr(_wait_state, 'deadline', None)
    restarted = getattr(_wait_state, 'restarted', None)
    if (deadline is None or restarted is None
            or not 0 <= transaction.started_at - restarted
            < _RESTART_WINDOW):
        # the first wait of this request
        deadline = now + LOCK_TIMEOUT * 10 ** 9
    _wait_state.__dict__.clear()
    milliseconds = (deadline - now) // 10 ** 6
    if milliseconds <= 0:
        raise _busy() from exception
    cursor = connection.cursor()
    try:
        cursor.execute('SELECT set_config(%s, %s, true)',
            ('lock_timeout', '%dms' % milliseconds))
        cursor.execute(*table.select(Literal(1), where=where,
                for_=For('SHARE')))
    except backend.DatabaseOperationalError as error:
        connection.rollback()
        code = getattr(error, 'sqlstate', None)
        if code in {_LOCK_NOT_AVAILABLE, _QUERY_CANCELED}:
            raise _busy() from exception
        if code != _SERIALIZATION_FAILURE:
            raise
        # the other transaction changed the rows and ended
    else:
        connection.rollback()
    _wait_state.deadline = deadline
    _wait_state.restarted = time.monotonic_ns()
    raise LockWaited() from exception


def _busy():
    return BusyError(gettext('sale_flow.msg_goods_busy', seconds=LOCK_TIMEOUT))


class ServiceAccountMixin:
    """The company's account at an outside service (a tracking service, a
    courier): one per company and service, found by ``get``, its secrets
    never in its name; its addresses (``_account_urls``) are http(s) and
    its timeout at most two minutes"""
    __slots__ = ()
    # the message of the uniqueness per company and service
    _account_unique = None
    # the fields that hold an address of the service or of this server
    _account_urls = ['endpoint']

    company = fields.Many2One('company.company', "Company", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_service_unique', Unique(t, t.company, t.service),
                cls._account_unique),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_rec_name(self, name):
        # never a key nor a secret
        return '%s - %s' % (self.service, self.company.rec_name)

    @classmethod
    def validate_fields(cls, accounts, field_names):
        super().validate_fields(accounts, field_names)
        for account in accounts:
            for name in cls._account_urls:
                value = getattr(account, name)
                parsed = urllib.parse.urlsplit(value or '')
                if value and (parsed.scheme not in {'http', 'https'}
                        or not parsed.netloc):
                    raise TrackingCredentialValidationError(gettext(
                            'sale_flow.msg_tracking_credential_url',
                            url=value))
            if account.timeout is not None and not (
                    0 < account.timeout <= 120):
                raise TrackingCredentialValidationError(gettext(
                        'sale_flow.msg_tracking_credential_timeout'))

    @classmethod
    def get(cls, service, company):
        "The account of the company at the service (None if there is none)"
        with without_check_access():
            accounts = cls.search([
                    ('service', '=', service),
                    ('company', '=', company.id if company else None),
                    ], limit=1)
        return accounts[0] if accounts else None
