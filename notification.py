# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The customers' e-mails: sent for the state that triggered them, and
they wait for the mail server.

Tryton queues a trigger's action with the records whose condition held at
the write, and the queued task evaluates the condition again: with a
queue worker, a shipment signed (done) before the worker got to its
*shipped* trigger never had its e-mail.  For the module's e-mail triggers
the condition is the one of the write that queued them.

Tryton sends a notification e-mail after the commit of the task that
rendered it, and when the mail server cannot be reached it only logs the
failure: the e-mail is lost (its ``ir.email`` record is written all the
same).  With a queue worker, the server is reached first, inside the task:
when it cannot be, the e-mail is not rendered and the task puts itself
back in Tryton's queue, later each time (5 s, 10 s, 20 s ... at most an
hour), until the server answers; the connection opened is the one the
commit sends with.  Without a worker (the demo, the tests) a task runs
right after the request, so it could not wait: Tryton's behaviour then.
"""

import datetime as dt
import logging
import smtplib

from trytond import config
from trytond.pool import Pool, PoolMeta
from trytond.sendmail import SMTPDataManager, get_smtp_server
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)

RETRY_FIRST = 5
RETRY_LAST = 60 * 60
ATTEMPT = '_sale_flow_email_attempt'
# the trigger whose action was queued by a write; the trigger whose
# condition that write checked
QUEUED = '_sale_flow_trigger_queued'
CHECKED = '_sale_flow_trigger_checked'
EMAIL_TRIGGERS = ['trigger_shipment_shipped', 'trigger_shipment_pickup']


def retry_delay(attempt):
    "Seconds before the attempt after attempt (0: the first)"
    return min(RETRY_FIRST * 2 ** min(attempt, 20), RETRY_LAST)


class Email(metaclass=PoolMeta):
    __name__ = 'notification.email'

    def send_email(self, records, trigger):
        if not config.getboolean('queue', 'worker', default=False):
            return super().send_email(records, trigger)
        transaction = Transaction()
        try:
            server = get_smtp_server(strict=True)
        except (OSError, smtplib.SMTPException) as exception:
            attempt = transaction.context.get(ATTEMPT, 0)
            delay = retry_delay(attempt)
            logger.warning("mail server unreachable (%s): %s e-mail(s) of "
                "%s sent again in %d s (attempt %d)", exception,
                len(records), self.rec_name, delay, attempt + 1)
            with transaction.set_context(**{
                        'queue_scheduled_at': dt.timedelta(seconds=delay),
                        ATTEMPT: attempt + 1}):
                self.__class__.__queue__._send_email_queued(
                    self, [r.id for r in records], trigger.id)
            return
        # Tryton's send_email joins a data manager equal to this one: its
        # messages go into this one, sent on this connection at the commit
        datamanager = transaction.join(SMTPDataManager())
        if datamanager._server is None:
            datamanager._server = server
        else:
            server.quit()
        return super().send_email(records, trigger)


class Trigger(metaclass=PoolMeta):
    __name__ = 'ir.trigger'

    @classmethod
    def _email_trigger_ids(cls):
        ModelData = Pool().get('ir.model.data')
        return {ModelData.get_id('sale_flow', name)
            for name in EMAIL_TRIGGERS}

    def queue_trigger_action(self, records):
        # the queued task's context says which trigger's write queued it
        with Transaction().set_context(**{QUEUED: self.id}):
            return super().queue_trigger_action(records)

    def trigger_action(self, ids):
        context = Transaction().context
        if (context.get(QUEUED) == self.id
                and self.id in self._email_trigger_ids()):
            with Transaction().set_context(**{CHECKED: self.id}):
                return super().trigger_action(ids)
        return super().trigger_action(ids)

    def eval(self, record):
        if Transaction().context.get(CHECKED) == self.id:
            return True
        return super().eval(record)
