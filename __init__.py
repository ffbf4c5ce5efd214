# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Sales flow for trading companies (进销存销售流程) on Tryton 8.0.

The classes are registered by tryton.cfg; the files follow the flow:
sale_flow.py (order intake), review.py, stock_check.py, shipment.py and
scan.py (outbound), carrier.py and shipping.py, signature.py, report.py.
routes.py serves the signing page on the customer's phone; it is imported
here, as trytond's own modules import theirs.
"""

from . import routes

__all__ = ['routes']
