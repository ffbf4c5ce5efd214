# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Steps 4 to 6 of the flow on stock.shipment.out: outbound (商品出库),
shipping (发货) and the customer's signature (客户签收).

Tryton's customer shipment already has the states the flow reads (waiting,
assigned, picked, packed, shipped, done); this file receives the gates and
records of those steps when they are built.
"""
