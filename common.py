# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What several steps of the flow share, and nothing else: messages kept
to be rendered in the reader's language, the order channels, the scan
results that are refusals, and the SQL expressions of dates the reporting
models (statistics, monitoring, evaluation) group by, and the transition
decorator of the overrides of Tryton's transitions."""

from decimal import Decimal
from functools import wraps

from sql.functions import DateTrunc, Extract, Function

from trytond import backend
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction

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
