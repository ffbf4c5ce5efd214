# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 3 of the flow: stock check (库存检查) and the shortage decisions.

Reservation stays Tryton's ``assign_try``; this file receives the advisory
check and the recorded decisions when that step is built.
"""
