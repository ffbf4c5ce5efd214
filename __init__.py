# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Sales flow for trading companies (进销存销售流程) on Tryton 8.0.

The classes are registered by tryton.cfg; the files follow the flow:
sale_flow.py (order intake), review.py, stock_check.py, shipment.py and
scan.py (outbound), carrier.py, shipping.py, tracking.py (the logistics
events) and waybill.py (the courier's electronic waybills), signature.py
and satisfaction.py, statistics.py, then monitoring.py, evaluation.py and
flowchart.py (the flow drawn) around the flow; report.py prints
(doc/design.rst, Files).  routes.py serves the pages on the customer's
phone and the scan station; it is imported here, as trytond's own modules
import theirs.
"""

from . import routes

__all__ = ['routes']
