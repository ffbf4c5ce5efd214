# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The sales flow chart (销售流程图): the flow drawn from the orders.

The steps are the process evaluation's (their orders, median and 90th
percentile), the orders there now and the late ones are the flow board's,
and the decisions count what the steps recorded (review decisions and
overridden findings, the first stock check and the shortage decisions, the
delivery method, the signatures): one query layer, read when the chart is
read, nothing written.  The layout is fixed by the flow's shape; Pillow
draws the PNG and the SVG is written as text from the same drawing
(doc/design.rst, Flow chart).
"""

import io
import shutil
import subprocess
from functools import lru_cache
from xml.sax.saxutils import escape

from sql import Cast, Literal, Null, Select, Union, Window, With
from sql.aggregate import Count, Sum
from sql.conditionals import Case
from sql.functions import RowNumber
from sql.operators import Concat, Exists

from trytond import backend, config
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from .common import day_of
from .evaluation import STEP_SELECTION, STEPS, context_sales
from .monitoring import flow_positions
from .report import CompanyReport
from .statistics import Context

# the boxes of the seven steps (the evaluation's), the positions of the
# flow board where their orders wait now and the role that owns them
STEP_BOXES = {
    'intake': ([1, 2], 'sale.group_sale'),
    'review': ([3], 'sale_flow.group_sale_flow_reviewer'),
    'release': ([4], 'sale.group_sale'),
    'picking': ([5], 'sale_flow.group_sale_flow_warehouse'),
    'packing': ([6], 'sale_flow.group_sale_flow_warehouse'),
    'shipping': ([7], 'sale_flow.group_sale_flow_shipping'),
    'signature': ([8], 'sale_flow.group_sale_flow_shipping'),
    }
# signed, then invoiced: what is left of an open order after the flow
END_POSITIONS = [9, 10]

# every box, diamond and arrow of the chart, in the order of the flow
ELEMENTS = [
    ('intake', 'step', "Order Intake"),
    ('review', 'step', "Order Review"),
    ('review_decision', 'decision', "Review Decision"),
    ('approved', 'arrow', "Approved"),
    ('sent_back', 'arrow', "Sent Back"),
    ('rejected', 'arrow', "Rejected"),
    ('overridden', 'arrow', "Findings Overridden"),
    ('stock_decision', 'decision', "Stock Check"),
    ('sufficient', 'arrow', "Stock Sufficient"),
    ('short', 'arrow', "Short of Stock"),
    ('shortage', 'step', "Shortage Decision"),
    ('wait', 'arrow', "Wait for Replenishment"),
    ('partial', 'arrow', "Partial Shipment"),
    ('substitute', 'arrow', "Substitute Product"),
    ('reduce', 'arrow', "Reduce or Remove"),
    ('release', 'step', "Release to the Warehouse"),
    ('picking', 'step', "Picking"),
    ('packing', 'step', "Packing"),
    ('delivery_decision', 'decision', "Delivery Method"),
    ('courier', 'arrow', "Courier or Freight"),
    ('own_fleet', 'arrow', "Own Fleet"),
    ('pickup', 'arrow', "Self-Pickup"),
    ('shipping', 'step', "Shipping"),
    ('signature', 'step', "Customer Signature"),
    ('signature_decision', 'decision', "Goods Accepted?"),
    ('accepted', 'arrow', "All Accepted"),
    ('refused', 'arrow', "Partly Refused"),
    ('after_sales', 'end', "After-Sales"),
    ('signed', 'end', "Signed"),
    ]
ELEMENT_KEYS = [e[0] for e in ELEMENTS]
KINDS = [
    ('step', "Step"),
    ('decision', "Decision"),
    ('arrow', "Path"),
    ('end', "End"),
    ]
OWNERS = dict({k: v[1] for k, v in STEP_BOXES.items()},
    shortage='sale.group_sale')
# the arrows leaving each diamond (or box): their share is of its orders
BRANCHES = {
    'review_decision': ['approved', 'sent_back', 'rejected', 'overridden'],
    'stock_decision': ['sufficient', 'short'],
    'shortage': ['wait', 'partial', 'substitute', 'reduce'],
    'delivery_decision': ['courier', 'own_fleet', 'pickup'],
    'signature_decision': ['accepted', 'refused'],
    }


def _in_period(at):
    "The SQL condition: at is a day of the context's dates"
    context = Transaction().context
    day = day_of(at)
    condition = at != Null
    if context.get('from_date'):
        condition &= day >= context['from_date']
    if context.get('to_date'):
        condition &= day <= context['to_date']
    return condition


def title():
    "The chart's title: its dates, and its carrier if the context has one"
    context = Transaction().context
    values = dict(start=context.get('from_date') or '…',
        end=context.get('to_date') or '…')
    if context.get('carrier'):
        # the carrier's company: its service product makes a long title
        carrier = Pool().get('carrier')(context['carrier'])
        return gettext('sale_flow.msg_flow_chart_title_carrier',
            carrier=carrier.party.rec_name, **values)
    return gettext('sale_flow.msg_flow_chart_title', **values)


def _members():
    """The query of the chart's members in the context: one row (element,
    sale, seconds) per order that passed a box or took a path in the period
    (an order may come twice in a path: count it once), with the seconds
    spent for the steps' boxes, and the WITH of the step durations it
    reads"""
    pool = Pool()
    Sale = pool.get('sale.sale')
    Period = pool.get('sale.flow.cycle.period')
    Timeline = pool.get('sale.flow.timeline')
    Decision = pool.get('sale.flow.review.decision')
    Finding = pool.get('sale.flow.review.finding')
    StockCheck = pool.get('sale.flow.stock.check')
    StockDecision = pool.get('sale.flow.stock.decision')
    Carrier = pool.get('carrier')
    Signature = pool.get('sale.flow.signature')
    Move = pool.get('stock.move')
    SaleLine = pool.get('sale.line')
    orders = context_sales()
    steps = [s[0] for s in STEPS]

    def element(value):
        return Cast(Literal(value), 'VARCHAR')
    no_seconds = Literal(None)

    # the steps: the evaluation's cycle times of the context, read once
    with_ = With(query=Period._durations())
    durations = with_
    boxes = durations.step.in_([steps.index(s) for s in STEP_BOXES])
    box = Case(*((durations.step == steps.index(s), s) for s in STEP_BOXES))
    parts = [durations.select(box.as_('element'),
            durations.sale.as_('sale'), durations.seconds.as_('seconds'),
            where=boxes)]
    # the orders of any step: the chart's orders
    parts.append(durations.select(element('orders'), durations.sale,
            no_seconds, where=boxes, group_by=[durations.sale]))

    # the review's decisions and the findings overridden
    decision = Decision.__table__()
    decided = (decision.decision.in_(['approved', 'sent_back', 'rejected'])
        & _in_period(decision.decided_at) & decision.sale.in_(orders))
    parts.append(decision.select(Cast(decision.decision, 'VARCHAR'),
            decision.sale, no_seconds, where=decided))
    parts.append(decision.select(element('review_decision'), decision.sale,
            no_seconds, where=decided))
    finding = Finding.__table__()
    parts.append(finding.select(element('overridden'), finding.sale,
            no_seconds,
            where=(finding.state == 'overridden')
            & _in_period(finding.overridden_at)
            & finding.sale.in_(orders)))

    # the first stock check of the orders (the one they were submitted on)
    # and the decisions taken on their short lines
    check = StockCheck.__table__()
    earlier = StockCheck.__table__()
    found = Case((check.status == 'sufficient', 'sufficient'),
        (check.status.in_(['short', 'partly_short']), 'short'))
    first = (~Exists(earlier.select(earlier.id,
                where=(earlier.sale == check.sale)
                & (earlier.id < check.id)))
        & check.status.in_(['sufficient', 'short', 'partly_short'])
        & _in_period(check.checked_at) & check.sale.in_(orders))
    parts.append(check.select(Cast(found, 'VARCHAR'), check.sale, no_seconds,
            where=first))
    parts.append(check.select(element('stock_decision'), check.sale,
            no_seconds, where=first))
    stock_decision = StockDecision.__table__()
    applied = ((stock_decision.state == 'applied')
        & _in_period(stock_decision.create_date)
        & stock_decision.sale.in_(orders))
    parts.append(stock_decision.select(
            Cast(stock_decision.kind, 'VARCHAR'), stock_decision.sale,
            no_seconds, where=applied))
    parts.append(stock_decision.select(element('shortage'),
            stock_decision.sale, no_seconds, where=applied))

    # the orders shipped in the period, by their delivery method
    shipping = durations.step == steps.index('shipping')
    sale = Sale.__table__()
    carrier = Carrier.__table__()
    method = Case((sale.delivery_method == 'pickup', 'pickup'),
        (carrier.in_house == Literal(True), 'own_fleet'), else_='courier')
    parts.append(durations
        .join(sale, condition=sale.id == durations.sale)
        .join(carrier, 'LEFT', condition=sale.carrier == carrier.id)
        .select(Cast(method, 'VARCHAR'), durations.sale, no_seconds,
            where=shipping))

    # the orders signed in the period: all accepted, or goods refused
    signature = Signature.__table__()
    move = Move.__table__()
    line = SaleLine.__table__()
    refused = (signature
        .join(move, condition=move.shipment == Concat(
                'stock.shipment.out,', signature.shipment))
        .join(line, condition=move.origin == Concat('sale.line,', line.id))
        .select(line.sale, where=(signature.return_shipment != Null)
            & line.sale.in_(orders)))
    signing = durations.step == steps.index('signature')
    parts.append(durations.select(
            Cast(Case((durations.sale.in_(refused), 'refused'),
                    else_='accepted'), 'VARCHAR'),
            durations.sale, no_seconds, where=signing))

    # the after-sales cases opened in the period
    timeline = Timeline.query(sales=orders, stages=['complaint_opened'])
    parts.append(timeline.select(element('after_sales'), timeline.sale,
            no_seconds, where=_in_period(timeline.reached_at)))
    return Union(*parts, all_=True), with_


def _positions():
    "The board's query of the open orders of the context, where they wait"
    return flow_positions(context_sales())


WAITING = dict({k: v[0] for k, v in STEP_BOXES.items()},
    signed=END_POSITIONS)
# the elements whose orders are a step's: the orders shipped at the
# delivery method, the orders signed at the signature's end
SAME_ORDERS = {
    'delivery_decision': 'shipping',
    'signature_decision': 'signature',
    'signed': 'signature',
    }


def figures():
    """The chart's figures in the context (company, dates, warehouse,
    channel): {element: {'orders', 'now' (the orders there now or None),
    'late', 'median', 'p90', 'total' (seconds), 'share'}} and the chart's
    orders under the key 'orders'; counted and ranked by the database"""
    pool = Pool()
    Period = pool.get('sale.flow.cycle.period')
    ServiceLevel = pool.get('sale.flow.service_level')
    cursor = Transaction().connection.cursor()

    members, with_ = _members()
    columns = [members.element, members.sale, members.seconds]
    if backend.name == 'sqlite':
        # the ranks for the percentiles, as the evaluation's
        columns += [
            RowNumber(window=Window([members.element],
                    order_by=[members.seconds.asc])).as_('position'),
            Count(Literal(1), window=Window([members.element])).as_('size'),
            ]
    keyed = members.select(*columns)
    cursor.execute(*keyed.select(
            keyed.element, Count(keyed.sale, distinct=True),
            Period._percentile(keyed, 0.5), Period._percentile(keyed, 0.9),
            Sum(keyed.seconds),
            group_by=[keyed.element], with_=[with_]))
    counted = {e: (n, median, p90, total)
        for e, n, median, p90, total in cursor}

    result = {k: {'orders': 0, 'now': None, 'late': None,
            'median': None, 'p90': None, 'total': None, 'share': None}
        for k in ELEMENT_KEYS}
    for key, (n, median, p90, total) in counted.items():
        if key not in result:
            continue
        result[key]['orders'] = n
        if key in STEP_BOXES:
            # PostgreSQL gives the seconds as numeric
            result[key].update({k: float(v) if v is not None else None
                    for k, v in [
                        ('median', median), ('p90', p90), ('total', total)]})
    for key, step in SAME_ORDERS.items():
        result[key]['orders'] = result[step]['orders']
    result['orders'] = counted.get('orders', (0,))[0]

    # where the open orders are now, and the late ones: the board's
    positions = _positions()
    late = ServiceLevel.late_case(
        positions.company, positions.position, positions.since)
    cursor.execute(*positions.select(positions.position,
            Count(Literal(1)), Sum(late), group_by=[positions.position]))
    now = {p: (n, late or 0) for p, n, late in cursor}
    for name, waiting in WAITING.items():
        result[name]['now'] = sum(now.get(p, (0, 0))[0] for p in waiting)
        result[name]['late'] = sum(now.get(p, (0, 0))[1] for p in waiting)

    for source, branches in BRANCHES.items():
        base = result[source]['orders']
        for branch in branches:
            if base:
                result[branch]['share'] = (
                    result[branch]['orders'] * 100.0 / base)
    return result


def element_sales(keys):
    """The ids of the orders that passed each element of keys in the
    context's period: {key: [ids]}"""
    members, with_ = _members()
    cursor = Transaction().connection.cursor()
    read = {SAME_ORDERS.get(k, k) for k in keys}
    cursor.execute(*members.select(members.element, members.sale,
            where=members.element.in_(list(read)),
            group_by=[members.element, members.sale],
            order_by=[members.sale.asc], with_=[with_]))
    sales = {k: [] for k in read}
    for key, sale_id in cursor:
        sales[key].append(sale_id)
    return {k: sales[SAME_ORDERS.get(k, k)] for k in keys}


def element_sales_now(keys):
    """The ids of the open orders of the context waiting at each element
    of keys: {key: [ids]}"""
    result = {k: [] for k in keys}
    at = {p: k for k in keys for p in WAITING.get(k, [])}
    if at:
        positions = _positions()
        cursor = Transaction().connection.cursor()
        cursor.execute(*positions.select(positions.position, positions.sale,
                where=positions.position.in_(list(at)),
                order_by=[positions.sale.asc]))
        for position, sale_id in cursor:
            result[at[position]].append(sale_id)
    return result


def bottleneck(result):
    "The step the orders spent most time in, or None"
    totals = [(result[s]['total'], -i, s)
        for i, s in enumerate(STEP_BOXES) if result[s]['total']]
    if totals:
        return max(totals)[2]


@lru_cache(maxsize=None)
def _font_path():
    path = config.get('sale_flow', 'chart_font', default=None)
    if path:
        return path
    if shutil.which('fc-match'):
        try:
            found = subprocess.run(
                ['fc-match', '-f', '%{file}', 'sans-serif:lang=zh-cn'],
                capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ''
        if found:
            return found
    return None


@lru_cache(maxsize=32)
def _font(size):
    from PIL import ImageFont
    path = _font_path()
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)


RED = '#c0392b'
GREY = '#555555'
BLUE = '#2c5d8f'
WIDTH, HEIGHT = 1740, 940
# the flow in two rows: intake to picking, then packing to the signature
ROW_1, ROW_2 = 250, 700
BOX_W, BOX_H = 210, 100
DIAMOND_W, DIAMOND_H = 150, 100


class Drawing:
    "The chart as shapes, drawn as PNG by Pillow or written as SVG"

    def __init__(self):
        self.shapes = []

    def box(self, x, y, w, h, fill='#ffffff', outline=BLUE, width=2,
            rounded=0):
        self.shapes.append(('box', x, y, w, h, fill, outline, width, rounded))

    def diamond(self, x, y, w, h, fill='#fff8e1', outline='#b7791f'):
        self.shapes.append(('poly', [(x, y - h / 2), (x + w / 2, y),
                    (x, y + h / 2), (x - w / 2, y)], fill, outline, 2))

    def arrow(self, points, color=GREY, width=2):
        self.shapes.append(('arrow', points, color, width))

    def text(self, x, y, text, size=15, color='#222222', anchor='middle'):
        if text:
            self.shapes.append(('text', x, y, text, size, color, anchor))

    def png(self):
        from PIL import Image, ImageDraw
        image = Image.new('RGB', (WIDTH, HEIGHT), 'white')
        draw = ImageDraw.Draw(image)
        for shape in self.shapes:
            kind = shape[0]
            if kind == 'box':
                _, x, y, w, h, fill, outline, width, rounded = shape
                xy = [x - w / 2, y - h / 2, x + w / 2, y + h / 2]
                draw.rounded_rectangle(xy, radius=rounded or 1, fill=fill,
                    outline=outline, width=width)
            elif kind == 'poly':
                _, points, fill, outline, width = shape
                draw.polygon(points, fill=fill, outline=outline, width=width)
            elif kind == 'arrow':
                _, points, color, width = shape
                draw.line(points, fill=color, width=width)
                draw.polygon(_head(points), fill=color)
            elif kind == 'text':
                _, x, y, text, size, color, anchor = shape
                draw.text((x, y), text, fill=color, font=_font(size),
                    anchor='mm' if anchor == 'middle' else 'lm')
        data = io.BytesIO()
        image.save(data, 'PNG')
        return data.getvalue()

    def svg(self):
        out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" '
            'height="%d" viewBox="0 0 %d %d" font-family="WenQuanYi Zen '
            'Hei, Noto Sans CJK SC, sans-serif">' % (
                WIDTH, HEIGHT, WIDTH, HEIGHT),
            '<rect width="100%" height="100%" fill="white"/>']
        for shape in self.shapes:
            kind = shape[0]
            if kind == 'box':
                _, x, y, w, h, fill, outline, width, rounded = shape
                out.append('<rect x="%g" y="%g" width="%g" height="%g" '
                    'rx="%g" fill="%s" stroke="%s" stroke-width="%g"/>' % (
                        x - w / 2, y - h / 2, w, h, rounded, fill, outline,
                        width))
            elif kind == 'poly':
                _, points, fill, outline, width = shape
                out.append('<polygon points="%s" fill="%s" stroke="%s" '
                    'stroke-width="%g"/>' % (_points(points), fill,
                        outline, width))
            elif kind == 'arrow':
                _, points, color, width = shape
                out.append('<polyline points="%s" fill="none" stroke="%s" '
                    'stroke-width="%g"/>' % (_points(points), color, width))
                out.append('<polygon points="%s" fill="%s"/>' % (
                        _points(_head(points)), color))
            elif kind == 'text':
                _, x, y, text, size, color, anchor = shape
                out.append('<text x="%g" y="%g" font-size="%d" fill="%s" '
                    'text-anchor="%s" dominant-baseline="central">%s'
                    '</text>' % (x, y, size, color,
                        'middle' if anchor == 'middle' else 'start',
                        escape(text)))
        out.append('</svg>')
        return '\n'.join(out).encode('utf-8')


def _points(points):
    return ' '.join('%g,%g' % p for p in points)


def _head(points, length=12, half=6):
    "The triangle of an arrow's head at the last point"
    (x0, y0), (x1, y1) = points[-2], points[-1]
    dx, dy = x1 - x0, y1 - y0
    norm = (dx * dx + dy * dy) ** 0.5 or 1
    ux, uy = dx / norm, dy / norm
    bx, by = x1 - ux * length, y1 - uy * length
    return [(x1, y1), (bx - uy * half, by + ux * half),
        (bx + uy * half, by - ux * half)]


def _hours(seconds):
    if seconds is None:
        return '–'
    return '%.1f' % (seconds / 3600.0)


def draw(result):
    """The drawing of the chart's figures, in the language of the
    transaction"""
    pool = Pool()
    Element = pool.get('sale.flow.chart.element')
    Group = pool.get('res.group')
    ModelData = pool.get('ir.model.data')
    labels = dict(Element.fields_get(['element'])['element']['selection'])
    roles = {}
    for key, owner in OWNERS.items():
        module, fs_id = owner.split('.')
        roles[key] = Group(ModelData.get_id(module, fs_id)).name
    slowest = bottleneck(result)
    drawing = Drawing()

    drawing.text(20, 30, title(), size=22, anchor='start')
    drawing.text(20, 60, gettext('sale_flow.msg_flow_chart_legend'),
        size=14, color=GREY, anchor='start')

    def count(key):
        return result[key]['orders']

    def path_label(key):
        share = result[key]['share']
        return gettext('sale_flow.msg_flow_chart_path', label=labels[key],
            orders=count(key),
            share='%.0f' % share if share is not None else '–')

    def step(key, x, y):
        figure = result[key]
        late = figure['late'] or 0
        hot = key == slowest
        drawing.box(x, y, BOX_W, BOX_H,
            fill='#fdecea' if hot else '#eef4fb',
            outline=RED if hot or late else BLUE, width=3 if hot else 2,
            rounded=6)
        if hot:
            drawing.text(x, y - BOX_H / 2 - 14,
                gettext('sale_flow.msg_flow_chart_bottleneck'), size=14,
                color=RED)
        drawing.text(x, y - 32, labels[key], size=16)
        now = figure['now']
        drawing.text(x, y - 8, gettext('sale_flow.msg_flow_chart_orders',
                orders=count(key), now=now if now is not None else '–'),
            size=13)
        if key in STEP_BOXES:
            drawing.text(x, y + 14, gettext(
                    'sale_flow.msg_flow_chart_times',
                    median=_hours(figure['median']),
                    p90=_hours(figure['p90'])), size=13)
        if late:
            drawing.text(x, y + 35, gettext('sale_flow.msg_flow_chart_late',
                    late=late), size=13, color=RED)
        if key in roles:
            drawing.text(x, y + BOX_H / 2 + 16, roles[key], size=13,
                color=GREY)

    def diamond(key, x, y):
        drawing.diamond(x, y, DIAMOND_W, DIAMOND_H)
        drawing.text(x, y - 8, labels[key], size=14)
        drawing.text(x, y + 14, str(count(key)), size=13)

    def terminal(x, y, label, number, color=BLUE):
        drawing.box(x, y, 150, 56, fill='#f4f4f4', outline=color,
            rounded=28)
        drawing.text(x, y - 10, label, size=15)
        drawing.text(x, y + 12, number, size=13)

    bw, dw = BOX_W / 2, DIAMOND_W / 2
    dh, bh = DIAMOND_H / 2, BOX_H / 2
    places = {
        'intake': (130, ROW_1), 'review': (390, ROW_1),
        'review_decision': (640, ROW_1), 'stock_decision': (950, ROW_1),
        'release': (1280, ROW_1), 'picking': (1580, ROW_1),
        'packing': (130, ROW_2), 'delivery_decision': (420, ROW_2),
        'shipping': (780, ROW_2), 'signature': (1080, ROW_2),
        'signature_decision': (1340, ROW_2), 'signed': (1580, ROW_2),
        }
    for key in STEP_BOXES:
        step(key, *places[key])
    for key in ['review_decision', 'stock_decision', 'delivery_decision',
            'signature_decision']:
        diamond(key, *places[key])
    x, y = places['signed']
    now = result['signed']['now']
    terminal(x, y, labels['signed'], gettext(
            'sale_flow.msg_flow_chart_orders', orders=count('signed'),
            now=now))

    def between(a, b, width_a, width_b, key=None, color=GREY):
        "The arrow from a to b on their row, with the path's figures"
        (xa, y), (xb, _) = places[a], places[b]
        drawing.arrow([(xa + width_a, y), (xb - width_b, y)], color=color)
        if key:
            middle = (xa + width_a + xb - width_b) / 2
            share = result[key]['share']
            drawing.text(middle, y - 14, labels[key], size=13, color=color)
            drawing.text(middle, y + 14, '%s (%s%%)' % (count(key),
                    '%.0f' % share if share is not None else '–'),
                size=13, color=color)
    between('intake', 'review', bw, bw)
    between('review', 'review_decision', bw, dw)
    between('review_decision', 'stock_decision', dw, dw, 'approved', BLUE)
    between('stock_decision', 'release', dw, bw, 'sufficient', BLUE)
    between('release', 'picking', bw, bw)
    between('packing', 'delivery_decision', bw, dw)
    between('shipping', 'signature', bw, bw)
    between('signature', 'signature_decision', bw, dw)
    between('signature_decision', 'signed', dw, 75, 'accepted', BLUE)
    # from the end of the first row to the start of the second
    turn = (ROW_1 + ROW_2) / 2 + 105
    drawing.arrow([(places['picking'][0], ROW_1 + bh),
            (places['picking'][0], turn), (places['packing'][0], turn),
            (places['packing'][0], ROW_2 - bh)])

    # review: sent back to the intake, rejected out
    rd, y = places['review_decision']
    top = y - bh - 70
    drawing.arrow([(rd, y - dh), (rd, top), (places['intake'][0], top),
            (places['intake'][0], y - bh)])
    drawing.text((rd + places['intake'][0]) / 2, top - 14,
        path_label('sent_back'), size=13, color=GREY)
    bottom = y + 190
    drawing.arrow([(rd, y + dh), (rd, bottom - 28)], color=RED)
    drawing.text(rd + 8, y + dh + 40, path_label('rejected'), size=13,
        color=RED, anchor='start')
    terminal(rd, bottom, labels['rejected'], str(count('rejected')),
        color=RED)
    drawing.text(rd - 75, bottom + 46, path_label('overridden'), size=13,
        color='#b7791f', anchor='start')

    # stock: short to the decision taken with the customer
    sd, y = places['stock_decision']
    release = places['release'][0] + 60
    drawing.arrow([(sd, y + dh), (sd, bottom - bh)], color='#b7791f')
    drawing.text(sd + 8, y + dh + 40, path_label('short'), size=13,
        color='#b7791f', anchor='start')
    step('shortage', sd, bottom)
    drawing.arrow([(sd + bw, bottom), (release, bottom),
            (release, y + bh)], color='#b7791f')
    for i, key in enumerate(BRANCHES['shortage']):
        drawing.text(sd + bw + 12, bottom + 18 + 18 * i, path_label(key),
            size=13, color='#b7791f', anchor='start')

    # delivery: three ways to the shipping step
    dd, y = places['delivery_decision']
    shipping = places['shipping'][0] - bw
    for key, dy, start in [('own_fleet', -30, (dd, y - dh)),
            ('pickup', 30, (dd, y + dh))]:
        level = y + dy * 2.4
        drawing.arrow([start, (start[0], level), (shipping - 30, level),
                (shipping, y + dy)], color=BLUE)
        drawing.text(dd + 10, level + (-14 if dy < 0 else 14),
            path_label(key), size=13, color=BLUE, anchor='start')
    between('delivery_decision', 'shipping', dw, bw, 'courier', BLUE)

    # signature: refused to after-sales
    gd, y = places['signature_decision']
    bottom = y + 190
    drawing.arrow([(gd, y + dh), (gd, bottom - 28)], color=RED)
    drawing.text(gd + 8, y + dh + 40, path_label('refused'), size=13,
        color=RED, anchor='start')
    terminal(gd, bottom, labels['after_sales'], str(count('after_sales')),
        color=RED)
    return drawing


class ChartContext(Context):
    "Flow chart context"
    __name__ = 'sale.flow.chart.context'

    carrier = fields.Many2One('carrier', "Carrier",
        help="Only the orders of this carrier (none: every order, "
        "self-pickup included).")

    @classmethod
    def default_carrier(cls):
        return Transaction().context.get('carrier')


class Chart(ModelSQL, ModelView):
    "Sales flow chart: the flow drawn from the orders of the context"
    __name__ = 'sale.flow.chart'

    company = fields.Many2One('company.company', "Company", readonly=True)
    from_date = fields.Function(fields.Date("From Date"), 'get_context')
    to_date = fields.Function(fields.Date("To Date"), 'get_context')
    carrier = fields.Function(fields.Many2One('carrier', "Carrier"),
        'get_context')
    orders = fields.Function(fields.Integer("Orders",
            help="The orders that finished a step in the period."),
        'get_figures')
    open_orders = fields.Function(fields.Integer("Open Orders",
            help="The open orders in the flow now (the flow board's)."),
        'get_figures')
    late = fields.Function(fields.Integer("Late",
            help="The open orders waiting longer than their stage's service "
            "level (the flow board's)."), 'get_figures')
    bottleneck = fields.Function(fields.Selection(
            [(None, "")] + [s for s in STEP_SELECTION if s[0] in STEP_BOXES],
            "Bottleneck",
            help="The step the orders of the period spent most hours in."),
        'get_figures')
    bottleneck_string = bottleneck.translated('bottleneck')
    image = fields.Function(fields.Binary("Chart", filename='image_name'),
        'get_figures')
    image_name = fields.Function(fields.Char("Image Name"), 'get_figures')
    svg = fields.Function(fields.Binary("Vector Image", filename='svg_name'),
        'get_figures')
    svg_name = fields.Function(fields.Char("Vector Image Name"),
        'get_figures')
    elements = fields.Function(fields.Many2Many(
            'sale.flow.chart.element', None, None, "Steps and Paths"),
        'get_elements')

    @classmethod
    def table_query(cls):
        company = Transaction().context.get('company')
        return Select([Literal(1).as_('id'),
                Cast(Literal(company), 'INTEGER').as_('company')])

    def get_rec_name(self, name):
        return title()

    @classmethod
    def get_context(cls, charts, name):
        value = Transaction().context.get(name)
        return {c.id: value for c in charts}

    @classmethod
    def get_figures(cls, charts, names):
        # one reading of the figures for the numbers and the drawings
        values = {'image_name': 'flow-chart.png', 'svg_name': 'flow-chart.svg'}
        if set(names) - set(values):
            result = figures()
            values.update({
                    'orders': result['orders'],
                    'open_orders': sum(result[s]['now']
                        for s in list(STEP_BOXES) + ['signed']),
                    'late': sum(result[s]['late'] or 0
                        for s in list(STEP_BOXES) + ['signed']),
                    'bottleneck': bottleneck(result),
                    })
            if {'image', 'svg'} & set(names):
                drawing = draw(result)
                if 'image' in names:
                    values['image'] = drawing.png()
                if 'svg' in names:
                    values['svg'] = drawing.svg()
        return {n: {c.id: values[n] for c in charts} for n in names}

    @classmethod
    def get_elements(cls, charts, name):
        ids = list(range(1, len(ELEMENTS) + 1))
        return {c.id: ids for c in charts}


class ChartElement(ModelSQL, ModelView):
    "A box, diamond or arrow of the sales flow chart, with its figures"
    __name__ = 'sale.flow.chart.element'

    company = fields.Many2One('company.company', "Company", readonly=True)
    element = fields.Selection(
        [(k, l) for k, _, l in ELEMENTS], "Element", readonly=True,
        sort=False)
    element_string = element.translated('element')
    kind = fields.Selection(KINDS, "Kind", readonly=True, sort=False)
    kind_string = kind.translated('kind')
    role = fields.Many2One('res.group', "Role", readonly=True,
        help="The role that owns the step.")
    orders = fields.Function(fields.Integer("Orders",
            help="The orders that passed the step or took the path in the "
            "period."), 'get_figures')
    orders_now = fields.Function(fields.Integer("Orders Now",
            help="The open orders waiting at the step now."), 'get_figures')
    share = fields.Function(fields.Float("Share (%)", digits=(16, 1),
            help="Of the orders at the decision, per 100."), 'get_figures')
    median = fields.Function(fields.Float("Median (h)", digits=(16, 2),
            help="Half of the orders took less, in hours."), 'get_figures')
    p90 = fields.Function(fields.Float("90th Percentile (h)",
            digits=(16, 2), help="Nine orders in ten took less, in hours."),
        'get_figures')
    late = fields.Function(fields.Integer("Late",
            help="The orders waiting at the step longer than its service "
            "level."), 'get_figures')
    sales = fields.Function(fields.Many2Many(
            'sale.sale', None, None, "Orders of the Period"), 'get_figures')
    sales_now = fields.Function(fields.Many2Many(
            'sale.sale', None, None, "Orders There Now"), 'get_figures')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'ASC')]

    @classmethod
    def table_query(cls):
        ModelData = Pool().get('ir.model.data')
        company = Transaction().context.get('company')
        rows = []
        for i, (key, kind, _) in enumerate(ELEMENTS):
            role = None
            if key in OWNERS:
                role = ModelData.get_id(*OWNERS[key].split('.'))
            rows.append(Select([
                        Literal(i + 1).as_('id'),
                        Cast(Literal(company), 'INTEGER').as_('company'),
                        Literal(key).as_('element'),
                        Literal(kind).as_('kind'),
                        Cast(Literal(role), 'INTEGER').as_('role'),
                        ]))
        return Union(*rows, all_=True)

    def get_rec_name(self, name):
        return self.element_string or ''

    @classmethod
    def get_figures(cls, elements, names):
        result = figures()

        def hours(seconds):
            return seconds / 3600.0 if seconds is not None else None
        keys = [ELEMENT_KEYS[e.id - 1] for e in elements]
        sales = element_sales(keys) if 'sales' in names else {}
        sales_now = element_sales_now(keys) if 'sales_now' in names else {}
        values = {n: {} for n in names}
        for element in elements:
            figure = result[ELEMENT_KEYS[element.id - 1]]
            now = figure['now']
            row = {
                'orders': figure['orders'],
                'orders_now': now,
                'share': figure['share'],
                'median': hours(figure['median']),
                'p90': hours(figure['p90']),
                'late': figure['late'],
                }
            key = ELEMENT_KEYS[element.id - 1]
            if 'sales' in names:
                row['sales'] = sales[key]
            if 'sales_now' in names:
                row['sales_now'] = sales_now[key]
            for name in names:
                values[name][element.id] = row[name]
        return values


class ChartReport(CompanyReport):
    "The sales flow chart printed on a page, with its steps and paths"
    __name__ = 'sale_flow.flow_chart'

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Element = pool.get('sale.flow.chart.element')
        Chart = pool.get('sale.flow.chart')
        context = super().get_context(records, header, data)
        result = figures()
        context['title'] = records[0].rec_name if records else ''
        context['chart_image'] = (
            draw(result).png(), 'image/png', '26.7cm', '9.07cm')
        slowest = bottleneck(result)
        context['bottleneck'] = dict(Chart.fields_get(['bottleneck'])[
                'bottleneck']['selection']).get(slowest, '')
        context['elements'] = Element.search([])
        return context
