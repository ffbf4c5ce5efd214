# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Sales flow for trading companies (进销存销售流程) on Tryton 8.0.

The classes are registered by tryton.cfg; the files follow the flow:
sale_flow.py (order intake and review), stock_check.py, shipment.py
(outbound, shipping, signature) and report.py (statistics and documents).
"""
