#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""trytond-worker that starts again when its PostgreSQL connection is lost
(scripts/serve runs it with trytond-worker's own options).

trytond 8.0's worker keeps one connection per database for as long as it
runs: it pulls the tasks and LISTENs for new ones on it.  When PostgreSQL
restarts, that connection is closed and never opened again: reading its
notifications raises and the worker exits, or every pull fails and it
loops without running a task again.  Either way the queue (the processing
of confirmed orders, the customers' e-mails) stops until someone restarts
the worker.  Here trytond's worker runs unchanged but for its queue's
connection: when it is broken, the worker leaves its loop (its running
tasks end first), waits for PostgreSQL and runs again in the same process
(exec: same pid, same process group, so scripts/serve's pid file and stop
still hold).  A task that was running when the connection went away is
Tryton's to retry (its DatabaseOperationalError reschedules it).
"""

import logging
import os
import sys
import time

import trytond.commandline as commandline
import trytond.config as config

logger = logging.getLogger('sale_flow.serve_worker')
# seconds between two starts while PostgreSQL is away
PAUSE = 2


class ConnectionLost(Exception):
    "The queue's connection to PostgreSQL is broken"


def broken(connection):
    return bool(connection.closed or getattr(connection, 'broken', False))


def patch(worker):
    "trytond.worker.Queue whose lost connection ends the worker's loop"
    class Queue(worker.Queue):
        def pull(self, name=None):
            try:
                return super().pull(name)
            except Exception as exception:
                if broken(self.connection):
                    raise ConnectionLost(self.database.name) from exception
                raise

        def get_notifications(self):
            try:
                return super().get_notifications()
            except Exception as exception:
                if broken(self.connection):
                    raise ConnectionLost(self.database.name) from exception
                raise
    worker.Queue = Queue


def main():
    parser = commandline.get_parser_worker()
    options = parser.parse_args()
    config.update_etc(options.configfile)
    commandline.config_log(options)

    # imported once the configuration is read, as trytond-worker does
    import trytond.worker as worker
    from trytond import backend
    from trytond.pool import Pool
    patch(worker)
    try:
        Pool.start()
        worker.work(options)
        return 0
    except KeyboardInterrupt:
        return 0
    except ConnectionLost as exception:
        logger.warning("the connection to PostgreSQL of %s is lost: "
            "starting again in %d s", exception, PAUSE)
    except backend.DatabaseOperationalError:
        # PostgreSQL not back yet when the worker started again
        logger.warning("PostgreSQL is not reachable: starting again in "
            "%d s", PAUSE, exc_info=True)
    logging.shutdown()
    time.sleep(PAUSE)
    os.execv(sys.executable, [sys.executable] + sys.argv)


if __name__ == '__main__':
    sys.exit(main())
