# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 7 of the flow: sales statistics (销售统计报表) and printed documents.

Templates live in report/; the reporting models follow Tryton's
``table_query`` pattern (see sale/sale_reporting.py) when that step is built.
"""
