# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Steps 1 and 2 of the flow: order intake (客户下单) and review (订单审核).

The order is Tryton's sale.sale.  The roles and the "Sales Flow" menu are
declared in sale_flow.xml; this file receives the order-side extensions as
the steps are built.
"""
