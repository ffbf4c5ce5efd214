#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Browser walk: one order through the whole flow in the sao web client, as
the operators do it, by clicking and typing only.

    scripts/walk.py --url http://127.0.0.1:8000/ --out var/walk

The clerk enters the order and submits it, the reviewer records the
contact with the customer and approves it from the review queue, the
warehouse operator assigns its shipment from the queue of shipments to
assign, scans it and picks and packs it on the scan screen, the shipping
clerk finds the courier's waybill number (the SF Express mock's), ships and
makes the signing link,
the customer signs on a 390 px phone page, and the manager opens the
flow board, the flow chart, the statistics per period and the order's
timeline.  Each step is done logged in as the role that owns it (the
demo's role users, in Chinese) and leaves a screenshot NN-role-step.png
in --out.

It fails (exit 1, with a screenshot FAIL-NN-role-step.png) on an error
dialog of the client, a JavaScript error, a failed request, a field or
button the step needs that is not on the screen, and on every visible
label, button, tab, column header or dialog text of three latin letters or
more that is not Chinese (untranslated), unless it is a code, a unit or
the name of a demo record (ALLOWED_WORDS, demo_names()).  The walk reads
over JSON-RPC only to check what a step saved (the contact, the
shipment's state after Pick and Pack, the end of the flow) and to know
what the customer knows (the last digits of the customer's phone).

Run it against the demo (scripts/demo --background --port P): each run
adds one order.  The browser is Debian's chromium driven by playwright.
"""

import argparse
import base64
import datetime as dt
import json
import os
import re
import sys
import time
import urllib.request

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from trytond.modules.sale_flow.tests import tools
from trytond.modules.sale_flow.tests.tools import DEMO_PASSWORD, ROLE_USERS

import sao  # scripts/sao.py, beside this script

CHROMIUM_ARGS = sao.CHROMIUM_ARGS

# The menus and tabs the walk clicks, as the zh_CN operators see them
MENUS = {
    'orders': "销售流程 ‣ 订单",
    'review_queue': "销售流程 ‣ 审核队列",
    'to_assign': "销售流程 ‣ 待分配库存发货单",
    'scan': "销售流程 ‣ 扫描",
    'to_pick': "销售流程 ‣ 待拣货发货单",
    'to_pack': "销售流程 ‣ 待包装发货单",
    'to_ship': "销售流程 ‣ 待发运发货单",
    'to_sign': "销售流程 ‣ 待签收发货单",  # the signing link is made there
    'board': "销售流程 ‣ 流程看板",
    'parcel_watch': "销售流程 ‣ 待关注包裹",
    'statistics': "销售流程 ‣ 统计 ‣ 按期间销售",
    'flow_chart': "销售流程 ‣ 销售流程图",
    }
TABS = {
    'orders_released': "已放行",    # the tab of Orders with released orders
    'order_review': "审核",         # the order form's notebook pages
    'order_timeline': "时间线",
    'shipment_delivery': "配送",    # the shipment form's notebook pages
    'shipment_signature': "签名",
    'shipment_logistics': "物流信息",
    }
TEXTS = {
    'picked': "已拣货",             # the counts of the scan screen
    'packed': "已包装",
    'pick': "拣货",                 # the scan screen's buttons
    'pack': "包装",
    'lines': "订单明细",            # the title of the order's lines
    'contacts': "客户联系记录",     # the title of the order's contacts
    'add': "添加",                  # the button of the line dialog
    'close': "关闭",                # wizard button
    'new': "新建",                  # toolbar title
    'number': "单号",               # the number column of shipments
    'signed': "已签收",             # the stage of the timeline
    }

# The walk's data: the customer and product (typed as a clerk would), the
# signer on the phone; the tracking number is made per run.
CUSTOMER = "广州华东贸易有限公司"
PRODUCT = "订书机"
QUANTITY = 3
SIGNER = "李明"
# the reviewer's call to the customer: whom, how (电话: by phone)
CONTACT = "王经理"
CONTACT_METHOD = ('phone', "电话")
CONTACT_ANSWER = "确认订单数量和送货地址"

# Latin words allowed on a Chinese screen: codes, units, brand names
ALLOWED_WORDS = {
    'Tryton', 'CNY', 'EAN', 'SKU', 'PDF', 'ODT', 'URL', 'kg', 'cm',
    'ID', 'OK',
    }
# A token with a digit is a code or a number: SF00007, 1.0, 2026-12-02
CODE = re.compile(r'[A-Za-z]*\d[\w.\-/:]*')
WORD = re.compile(r'[A-Za-z]{3,}')
URL_OR_MAIL = re.compile(r'(https?://\S+|\S+@\S+)')


def demo_names():
    """The names of the demo records, which stay as the demo made them
    (English or bilingual names are data, not labels)"""
    names = {name for _, name, _ in ROLE_USERS}
    names |= {c[0] for c in tools.CARRIERS}
    names |= {c[1] for c in tools.CARRIERS}
    for _, en_pre in tools._CUSTOMER_PREFIXES:
        for _, en_suf in tools._CUSTOMER_SUFFIXES:
            names.add(f"{en_pre} {en_suf}")
    names |= {en for _, en, _ in tools._CITIES}
    names |= {en for _, en in tools._STREETS}
    for en, _, _, _ in tools._PRODUCTS:
        for en_var, _ in tools._VARIANTS:
            names.add(en + en_var)
    names |= {
        "演示贸易有限公司 Demo Trading Co., Ltd.", "Demo Trading Co., Ltd.",
        "Shanghai", "Shanghai Warehouse", "Own Fleet",
        "Delivery by our fleet", "Express delivery", "Freight",
        "Chinese Yuan",
        }
    # longest first: "Huadong Trading Co., Ltd." before "Huadong"
    return sorted(names, key=len, reverse=True)


# What the walk reads on the screen: the texts a translation gives
COLLECT_JS = r"""
() => {
    const visible = e => e && e.getClientRects().length > 0
        && getComputedStyle(e).visibility !== 'hidden';
    const texts = [];
    const add = (kind, text) => {
        text = (text || '').replace(/\s+/g, ' ').trim();
        if (text) { texts.push([kind, text]); }
    };
    const selectors = [
        ['label', 'label'],
        ['button', 'button, a.btn'],
        ['tab', '.nav-tabs > li > a, #tablist > li a'],
        ['header', 'th'],
        ['title', '.modal-title, .panel-heading .title, .form-separator'],
        ['menu', '#menu .column-char'],
        ['message', '.alert, .modal-body .alert, .notification'],
        ['selection', 'td .column-selection'],
        ['graph', '.bb-legend-item text, .bb-axis-x-label, .bb-axis-y-label'],
        ['dropdown', '.dropdown-menu:not(.dropdown-completion) li a'],
        ];
    for (const [kind, selector] of selectors) {
        for (const e of document.querySelectorAll(selector)) {
            if (!visible(e)) { continue; }
            add(kind, e.innerText !== undefined ? e.innerText
                : e.textContent);
        }
    }
    for (const e of document.querySelectorAll('select')) {
        if (visible(e) && e.selectedOptions.length) {
            add('selection', e.selectedOptions[0].text);
        }
    }
    for (const e of document.querySelectorAll(
            'input[placeholder], textarea[placeholder]')) {
        if (visible(e)) { add('placeholder', e.placeholder); }
    }
    // the messages the module's wizards show in their fields
    for (const e of document.querySelectorAll(
            '[name=message], [name=result]')) {
        if (visible(e) && e.tagName !== 'SELECT') { add('message', e.value); }
    }
    return texts;
}
"""

# the page's width, the table headers on several lines (the
# lines of a text are the distinct tops of its rectangles)
FITS_JS = r"""
() => [document.documentElement.scrollWidth,
    Array.from(document.querySelectorAll('th')).filter(t => {
        const range = document.createRange();
        range.selectNodeContents(t);
        const tops = new Set(Array.from(range.getClientRects())
            .map(r => Math.round(r.top)));
        return tops.size > 1;
    }).map(t => t.innerText)]
"""

PANE = '#tabcontent > .tab-pane.active'
DIALOG = '.modal.in'


class WalkFailed(Exception):
    pass


class Walk:

    def __init__(self, browser, args):
        self.browser = browser
        self.args = args
        self.timeout = args.timeout * 1000
        self.number = 0
        self.role = None
        self.step = None
        self.errors = []
        self.untranslated = []
        self.names = demo_names()
        self.context = None
        self.page = None
        self.timings = []
        self.started = time.monotonic()

    # --- sessions -----------------------------------------------------
    def new_page(self, viewport=None, **options):
        if self.context:
            self.context.close()
        self.context = self.browser.new_context(
            viewport=viewport or {'width': 1280, 'height': 900},
            locale='zh-CN', **options)
        page = self.context.new_page()
        page.set_default_timeout(self.timeout)
        page.on('pageerror', lambda e: self.errors.append(
                f"page error: {e}"))
        page.on('console', self._console)
        page.on('response', self._response)
        self.inflight = 0
        page.on('request', self._request)
        page.on('requestfinished', self._request_done)
        page.on('requestfailed', self._request_done)
        self.page = page
        return page

    def _console(self, message):
        # a failed request is reported by _response, with its address
        if (message.type == 'error'
                and not message.text.startswith('Failed to load resource')):
            self.errors.append(f"console error: {message.text}")

    def _request(self, request):
        self.inflight += 1

    def _request_done(self, request):
        self.inflight -= 1

    def _response(self, response):
        if response.status < 400:
            return
        # sao asks for the translation of the browser's language and its
        # parents (zh-CN, zh) and takes the first it finds: not an error
        if re.search(r'/locale/[\w-]+\.json$', response.url):
            return
        self.errors.append(
            f"HTTP {response.status} {response.request.method} "
            f"{response.url}")

    def login(self, role):
        self.role = role
        page = self.new_page()
        sao.login(page, self.args.url, role, DEMO_PASSWORD, self.timeout)
        page.locator('#menu .column-char').first.wait_for()

    # --- steps ----------------------------------------------------------
    def begin(self, step):
        "Start a step of the current role"
        self.number += 1
        self.step = step
        self.step_started = time.monotonic()
        print(f"{self.number:02d} {self.role}: {step}", flush=True)

    def done(self, page_text=False):
        "End the step: no error, the texts translated, a screenshot"
        page = self.page
        self.check_errors()
        self.check_texts(page_text)
        name = f'{self.number:02d}-{self.role}-{self.step}.png'
        page.screenshot(path=os.path.join(self.args.out, name))
        self.timings.append((name, time.monotonic() - self.step_started))

    def check_errors(self):
        page = self.page
        for kind in ['error-dialog', 'warning-dialog',
                'user-warning-dialog', 'concurrency-dialog']:
            dialog = page.locator(f'.{kind}.in')
            if dialog.count():
                raise WalkFailed(
                    f"{kind}: {dialog.first.inner_text().strip()}")
        if self.errors:
            raise WalkFailed('; '.join(self.errors))

    def check_texts(self, page_text=False):
        offenders = []
        seen = set()
        texts = self.page.evaluate(COLLECT_JS)
        if page_text:
            # a page of the module's own (the phone's): all of its text
            texts += [('page', line) for line in self.page.evaluate(
                    "() => document.body.innerText").splitlines()]
        for kind, text in texts:
            if (kind, text) in seen:
                continue
            seen.add((kind, text))
            words = untranslated(text, self.names)
            if words:
                offenders.append((kind, text, words))
        for kind, text, words in offenders:
            print(f"  untranslated at {self.number:02d}-{self.role}-"
                f"{self.step}: {kind} {text!r} ({', '.join(words)})",
                flush=True)
            self.untranslated.append(
                (f'{self.number:02d}-{self.role}-{self.step}', kind, text))

    # --- what an operator does ------------------------------------------
    def open_menu(self, path):
        "Open a menu entry: its folders first, then the entry (one click)"
        page = self.page
        menu = page.locator('#menu')
        parts = path.split(' ‣ ')
        for parent, child in zip(parts, parts[1:]):
            entry = menu.locator('.column-char', has_text=re.compile(
                    '^%s$' % re.escape(child)))
            if entry.first.is_visible():
                continue
            folder = menu.locator('.column-char', has_text=re.compile(
                    '^%s$' % re.escape(parent))).first
            self.need(folder, f"the menu {parent!r}")
            folder.click()
        entry = menu.locator('.column-char', has_text=re.compile(
                '^%s$' % re.escape(parts[-1]))).first
        self.need(entry, f"the menu entry {path!r}")
        entry.click()

    def need(self, locator, what, timeout=None):
        "Wait for what the step needs on the screen; fail when it is not"
        try:
            locator.wait_for(timeout=timeout or self.timeout)
        except PlaywrightError:
            self.check_errors()
            raise WalkFailed(f"not on the screen: {what}")
        return locator

    def wait_js(self, expression, what, arg=None, timeout=None):
        "Wait for a condition of the page; fail with what it is about"
        try:
            self.page.wait_for_function(expression, arg=arg,
                timeout=timeout or self.timeout)
        except PlaywrightError:
            self.check_errors()
            raise WalkFailed(f"not on the screen: {what}")

    def saved(self):
        "Wait for the record of the tab to be saved (Save disabled)"
        self.wait_js(
            "() => document.querySelector('#tabcontent > .tab-pane.active"
            " nav.toolbar button#save').disabled", "the record saved")
        self.idle()

    def pane(self):
        return self.page.locator(PANE)

    def dialog(self):
        return self.page.locator(DIALOG).last

    def field(self, name, scope=None):
        scope = scope or self.pane()
        return self.need(scope.locator(f'[name="{name}"]:visible').first,
            f"the field {name!r}")

    def wait_list(self, title):
        """Wait for the list of the opened tab (not the menu, which is a
        list too): its tab title, then its rows or its empty body"""
        page = self.page
        self.need(page.locator('#tablist li.active', has_text=title),
            f"the tab {title!r}")
        self.need(self.pane().locator('.treeview table thead').first,
            f"the list of {title!r}")
        self.idle()

    def open_list(self, key, rows=None):
        "Open the list of the menu entry; wait for its rows if it needs"
        self.open_menu(MENUS[key])
        self.wait_list(MENUS[key].split(' ‣ ')[-1])
        if rows:
            self.need(self.pane().locator('.treeview tbody tr td').first,
                rows)

    def idle(self, quiet=0.3):
        "Wait until the client has had no request running for a moment"
        deadline = time.monotonic() + self.timeout / 1000
        calm = None
        url = self.page.url
        while time.monotonic() < deadline:
            # sao keeps the tab in the address (#...); a change of it that
            # is still pending when the next click comes opens a new tab
            if self.inflight or self.page.url != url:
                url = self.page.url
                calm = None
            elif calm is None:
                calm = time.monotonic()
            elif time.monotonic() - calm >= quiet:
                return
            self.page.wait_for_timeout(50)
        raise WalkFailed("the client is still waiting for the server")

    def type_into(self, locator, text, enter=False):
        locator.click()
        locator.press('Control+a')
        self.page.keyboard.type(str(text), delay=20)
        if enter:
            self.page.keyboard.press('Enter')

    def choose(self, name, text, pick, scope=None):
        "Type into a many2one field and pick the completion"
        entry = self.field(name, scope)
        self.type_into(entry, text)
        item = self.page.locator(
            '.dropdown-completion li.completion:visible', has_text=pick)
        self.need(item.first, f"{pick!r} in the completion of {name!r}")
        item.first.click()
        self.wait_js(
            "([s, n, t]) => { const e = document.querySelector("
            "s + ' input[name=' + n + ']');"
            " return e && e.value.includes(t); }",
            f"{pick!r} in {name!r}",
            arg=[DIALOG if scope is not None else PANE, name, pick])

    def value(self, name, scope=None):
        element = self.field(name, scope)
        return element.input_value()

    def wait_value(self, name, expected, scope=PANE, timeout=None):
        "Wait for a field to show the value (a select: its JSON key)"
        self.wait_js(
            "([s, n, v]) => { const e = document.querySelector("
            "s + ' [name=' + n + ']'); return e && e.value == v; }",
            f"{name} = {expected}", arg=[scope, name, expected],
            timeout=timeout)

    def button(self, name, scope=None):
        scope = scope or self.pane()
        button = scope.locator(f'button[name="{name}"]:visible').first
        self.need(button, f"the button {name!r}")
        try:
            self.page.wait_for_function(
                "b => !b.disabled", arg=button.element_handle())
        except PlaywrightError:
            raise WalkFailed(f"the button {name!r} stays disabled")
        return button

    def click_button(self, name, scope=None):
        button = self.button(name, scope)
        button.scroll_into_view_if_needed()
        button.click()

    def toolbar(self, id_):
        button = self.pane().locator(f'nav.toolbar button#{id_}')
        self.need(button, f"the toolbar button {id_!r}")
        return button

    def notebook(self, label):
        tab = self.pane().locator('.nav-tabs a:visible', has_text=re.compile(
                r'^\s*%s(\s+\d*)?\s*$' % re.escape(label))).first
        self.need(tab, f"the tab {label!r}")
        tab.click()

    def open_row(self, text, scope=None, column=None):
        """Open the record of the list whose cell (of the column, by its
        title) shows the text"""
        scope = scope or self.pane()
        cells = '.treeview tbody tr td'
        if column:
            # a shipment's number can be another shipment's order number
            cells += f'[data-title^="{column}"]'
        cell = scope.locator(cells).get_by_text(text, exact=True).first
        self.need(cell, f"the row {text!r}")
        cell.dblclick()

    def confirm(self):
        "Answer yes to the client's confirmation (sao's sur dialog)"
        dialog = self.page.locator('.confirmation-dialog.in')
        self.need(dialog, "the confirmation")
        self.check_texts()
        dialog.locator('.modal-footer button.btn-primary').click()

    # --- the flow -------------------------------------------------------
    def order_form(self, number):
        """Open the order from Sales Flow ‣ Orders, tab Released.  Not by
        the search field: a double click on a row of a searched list
        opens, now and then, a second tab (sao reopens the address of
        the searched list when it changes with the click)"""
        self.open_list('orders')
        self.notebook(TABS['orders_released'])
        self.wait_js(
            "(n) => Array.from(document.querySelectorAll("
            "'#tabcontent > .tab-pane.active .treeview tbody td'))"
            ".some(c => c.getClientRects().length"
            " && c.innerText.trim() == n)",
            f"the order {number} in the list", arg=number)
        self.idle()
        self.open_row(number)
        self.wait_value('number', number)

    def open_shipment(self, queue, shipment):
        "Open the shipment from its queue"
        self.open_list(queue)
        self.open_row(shipment, column=TEXTS['number'])
        self.wait_value('number', shipment)
        self.idle()

    def clerk(self):
        self.login('clerk')
        self.begin('orders')
        self.open_list('orders')
        self.done()

        self.begin('new-order')
        self.toolbar('new_').click()
        self.field('party')
        # the new order's defaults are there (the channel, the warehouse)
        self.wait_value('channel', '"phone"')
        self.choose('party', CUSTOMER[-8:], CUSTOMER)
        # the customer's purchase order number.  Without one, a second
        # phone order of the customer typed in sao is refused as a
        # duplicate: sao saves the empty reference as '' and the unique
        # constraint on (channel, customer, reference) skips NULL only
        self.type_into(self.field('intake_reference'),
            'PO-%d' % (time.time() * 10))
        self.page.keyboard.press('Tab')
        self.idle()
        self.done()

        self.begin('line')
        lines = self.pane().locator('.form-one2many', has_text=TEXTS['lines'])
        self.need(lines.first, "the order's lines")
        lines.first.locator(f'button[title="{TEXTS["new"]}"]').first.click()
        dialog = self.dialog()
        self.field('product', dialog)
        self.choose('product', PRODUCT, PRODUCT, scope=dialog)
        self.wait_js(
            "() => document.querySelector('.modal.in input[name=unit]')"
            ".value != ''", "the product's unit")
        self.type_into(self.field('quantity', dialog), QUANTITY)
        self.page.keyboard.press('Tab')
        self.wait_js(
            "() => { const e = document.querySelector("
            "'.modal.in input[name=amount]'); return e && e.value"
            " && parseFloat(e.value) > 0; }", "the line's amount")
        self.done()
        self.product_code = re.search(
            r'\[(\w+)\]', self.value('product', dialog)).group(1)
        dialog.locator('.modal-footer button', has_text=re.compile(
                '^%s$' % TEXTS['add'])).click()
        self.page.locator(DIALOG).wait_for(state='detached')

        self.begin('saved')
        self.toolbar('save').click()
        self.saved()
        self.done()

        self.begin('quote')
        self.click_button('quote')
        self.wait_js(
            "() => { const e = document.querySelector('#tabcontent >"
            " .tab-pane.active input[name=number]'); return e && e.value; }",
            "the order's number")
        self.wait_value('state', '"quotation"')
        self.order = self.value('number')
        self.notebook(TABS['order_review'])
        self.idle()
        self.done()
        print(f"   order {self.order}", flush=True)

    def reviewer(self):
        self.login('reviewer')
        self.begin('review-queue')
        self.open_list('review_queue')
        self.need(self.pane().locator('.treeview tbody tr td').get_by_text(
                self.order, exact=True), f"the order {self.order} in the "
            "review queue")
        self.done()

        self.begin('review')
        self.open_row(self.order)
        self.wait_value('number', self.order)
        self.notebook(TABS['order_review'])
        self.button('review_approve')
        self.idle()
        self.done()

        self.begin('contact')
        # the call to the customer, recorded in the contact dialog: the
        # method chosen, then the answer typed and Add clicked at once
        # (sao/custom.js keeps the method shown; without it the dialog
        # saved the first option of the list, 当面 in person)
        contacts = self.pane().locator(
            '.form-one2many', has_text=TEXTS['contacts'])
        self.need(contacts.first, "the order's customer contacts")
        contacts.first.locator(
            f'button[title="{TEXTS["new"]}"]').first.click()
        dialog = self.dialog()
        # the dialog's defaults (the reviewer, the time of the call) come
        # from the server: typed into before they were shown, the contact
        # lost all but its first character (seen under load in CI)
        self.wait_js(
            "() => { const e = document.querySelector("
            "'.modal.in input[name=user]'); return e && e.value; }",
            "the contact's defaults")
        name = self.field('contact_name', dialog)
        for attempt in range(3):
            self.type_into(name, CONTACT)
            if name.input_value() == CONTACT:
                break
            # the client took the focus away while it was typed into
            print(f"   contact typed as {name.input_value()!r}, again",
                flush=True)
        else:
            raise WalkFailed("the contact's name could not be typed")
        self.field('method', dialog).select_option(label=CONTACT_METHOD[1])
        self.type_into(self.field('answer', dialog), CONTACT_ANSWER)
        self.check_errors()
        self.check_texts()
        dialog.locator('.modal-footer button', has_text=re.compile(
                '^%s$' % TEXTS['add'])).click()
        self.page.locator(DIALOG).wait_for(state='detached')
        self.toolbar('save').click()
        # the order stays modified in sao after the save (its review
        # fields are read again): the contact is waited for in the server
        self.check_contact()
        self.idle()
        self.done()

        self.begin('approved')
        self.click_button('review_approve')
        # Confirm on Approval: the order is confirmed and processed
        self.wait_value('review_state', '"approved"')
        self.wait_value('state', '"processing"', timeout=2 * self.timeout)
        self.idle()
        self.done()

    def warehouse(self):
        self.login('warehouse')
        # the released order's shipment waits in the queue of shipments
        # to assign: its row shows the order
        self.begin('to-assign')
        self.open_list('to_assign', rows="the shipments to assign")
        row = self.pane().locator('.treeview tbody tr:not(.more-row)',
            has=self.page.locator('td').get_by_text(self.order, exact=True))
        self.need(row.first, f"the shipment of {self.order} in the queue")
        if row.count() != 1:
            raise WalkFailed(f"the order has {row.count()} shipments")
        self.shipment = row.first.locator(
            f'td[data-title^="{TEXTS["number"]}"]').inner_text().strip()
        print(f"   shipment {self.shipment}", flush=True)
        self.done()

        self.begin('shipment')
        self.open_row(self.shipment, column=TEXTS['number'])
        self.wait_value('number', self.shipment)
        self.wait_value('state', '"waiting"')
        self.done()

        self.begin('assigned')
        self.click_button('assign_wizard')
        self.wait_value('state', '"assigned"', timeout=2 * self.timeout)
        self.done()

        self.begin('scan-shipment')
        self.open_menu(MENUS['scan'])
        dialog = self.dialog()
        self.need(dialog, "the scan screen")
        self.type_into(self.field('code', dialog), self.shipment, enter=True)
        self.wait_value('shipment', self.shipment, scope=DIALOG)
        self.wait_value('step', '"pick"', scope=DIALOG)
        self.done()

        picked = f'{TEXTS["picked"]} {QUANTITY} / {QUANTITY}'
        self.begin('scan-products')
        for count in range(1, QUANTITY + 1):
            self.scan(self.product_code,
                f'{TEXTS["picked"]} {count} / {QUANTITY}')
        self.done()

        # the scan screen's own Pick: the shipment is picked and the
        # screen counts the packing scans, the picked count in sight
        self.begin('picked')
        self.wizard_button(TEXTS['pick'])
        self.wait_value('step', '"pack"', scope=DIALOG)
        self.wait_progress(f'{picked} · {TEXTS["packed"]} 0 / {QUANTITY}')
        self.check_state('picked')
        self.done()

        self.begin('scan-packing')
        for count in range(1, QUANTITY + 1):
            self.scan(self.product_code,
                f'{picked} · {TEXTS["packed"]} {count} / {QUANTITY}')
        self.done()

        # the scan screen's own Pack: packed, the screen asks for the next
        # shipment and says this one is packed
        self.begin('packed')
        self.wizard_button(TEXTS['pack'])
        self.wait_js(
            "(n) => { const e = document.querySelector("
            "'.modal.in input[name=message]'); return e"
            " && e.value.includes(n) && !document.querySelector("
            "'.modal.in input[name=progress]'); }",
            "the scan screen's message that the shipment is packed",
            arg=self.shipment)
        self.check_state('packed')
        self.done()
        self.dialog().locator('.modal-footer button',
            has_text=TEXTS['close']).click()
        self.page.locator(DIALOG).wait_for(state='detached')

    def wizard_button(self, text):
        "Click the button of the open wizard's dialog labelled text"
        button = self.dialog().locator('.modal-footer button:visible',
            has_text=re.compile(r'^\s*%s\s*$' % re.escape(text))).first
        self.need(button, f"the button {text!r} of the dialog")
        button.click()

    def wait_progress(self, progress):
        "Wait for the scan screen's progress to read progress"
        try:
            self.page.wait_for_function(
                "(p) => { const g = document.querySelector("
                "'.modal.in input[name=progress]'); return g"
                " && g.value == p; }", arg=progress, timeout=self.timeout)
        except PlaywrightError:
            self.check_errors()
            raise WalkFailed(f"progress {progress!r} not shown: "
                f"{self.value('progress', self.dialog())!r}")

    def check_state(self, state):
        "The shipment is in the state (read over JSON-RPC)"
        shipments = self.rpc('model.stock.shipment.out.search_read',
            [('number', '=', self.shipment)], 0, 1, None, ['state'], {})
        if [s['state'] for s in shipments] != [state]:
            raise WalkFailed(
                f"the shipment {self.shipment} is not {state}: {shipments}")

    def scan(self, code, progress):
        "Scan a code (typed + Enter), wait for the screen to count it"
        dialog = self.dialog()
        before = self.value('message', dialog)
        self.type_into(self.field('code', dialog), code, enter=True)
        try:
            # the screen is drawn again: the new message and the progress
            self.page.wait_for_function(
                "([b, p]) => { const m = document.querySelector("
                "'.modal.in input[name=message]'); const g ="
                " document.querySelector('.modal.in input[name=progress]');"
                " return m && g && m.value && m.value != b"
                " && g.value == p; }", arg=[before, progress],
                timeout=self.timeout)
        except PlaywrightError:
            self.check_errors()
            raise WalkFailed(
                f"scan of {code} not counted: progress "
                f"{self.value('progress', dialog)!r}, message "
                f"{self.value('message', dialog)!r}")

    def shipping(self):
        self.login('shipping')
        self.begin('shipment')
        self.open_shipment('to_ship', self.shipment)
        self.wait_value('state', '"packed"')
        self.done()

        self.begin('waybill')
        # the demo's SF Express gives the electronic waybill (its mock on
        # 127.0.0.1) when the warehouse packs: the clerk types nothing,
        # the number is the courier's and read-only
        self.wait_value('waybill_state', '"created"')
        self.tracking = self.value('shipping_reference')
        if not re.fullmatch(r'SF\d{12,13}', self.tracking):
            raise WalkFailed(
                f"the waybill number {self.tracking!r} is not SF Express's")
        if self.field('shipping_reference').is_editable():
            raise WalkFailed("the courier's waybill number can be typed over")
        self.notebook(TABS['shipment_delivery'])
        self.done()

        self.begin('shipped')
        self.click_button('ship')
        self.confirm()
        self.wait_value('state', '"shipped"')
        self.idle()
        self.done()

        self.begin('logistics')
        # the parcel's events, its state and the numbers' subscriptions
        self.notebook(TABS['shipment_logistics'])
        self.field("parcel_watch")
        self.need(self.pane().locator(
                '.tab-pane.active .treeview table thead').first,
            "the logistics events of the shipment")
        self.idle()
        self.done()

        self.begin('parcels-to-watch')
        self.open_list('parcel_watch')
        self.done()

        self.begin('signing-link')
        # the shipped shipment waits for its signature in its queue
        self.open_shipment('to_sign', self.shipment)
        self.notebook(TABS['shipment_signature'])
        self.click_button('sign_link')
        dialog = self.dialog()
        url = self.field('url', dialog)
        self.wait_js(
            "() => { const e = document.querySelector("
            "'.modal.in input[name=url]'); return e && e.value; }",
            "the signing link")
        self.sign_url = url.input_value()
        self.done()
        dialog.locator('.modal-footer button',
            has_text=TEXTS['close']).click()

    def customer(self):
        self.role = 'customer'
        page = self.new_page(viewport={'width': 390, 'height': 844},
            device_scale_factor=3, is_mobile=True, has_touch=True)
        self.begin('sign-page')
        page.goto(self.sign_url)
        canvas = self.need(page.locator('canvas#pad'), "the signature pad")
        self.need(page.locator('input[name=signer]'), "the signer's name")
        self.check_fits()
        self.done(page_text=True)

        self.begin('signature')
        box = canvas.bounding_box()
        x, y = box['x'], box['y'] + box['height'] / 2
        page.mouse.move(x + 20, y)
        page.mouse.down()
        for i in range(1, 25):
            page.mouse.move(x + 20 + i * 12, y + (20 if i % 2 else -20),
                steps=3)
        page.mouse.up()
        self.type_into(page.locator('input[name=signer]'), SIGNER)
        self.type_into(page.locator('input[name=identity]'),
            self.phone_digits())
        self.done(page_text=True)

        self.begin('signed')
        page.locator('form#form button[type=submit]').click()
        self.need(page.locator('input[name=rating]').first,
            "the thanks and the rating after signing")
        self.done(page_text=True)

    def check_fits(self):
        """The phone page fits its screen: no side scrolling, each header
        of the quantities table on one line"""
        width, wrapped = self.page.evaluate(FITS_JS)
        # the screen's width (a phone's browser widens its window to the
        # page's)
        viewport = self.page.viewport_size['width']
        if width > viewport:
            raise WalkFailed(f"the phone page is {width} px wide on a "
                f"{viewport} px screen")
        if wrapped:
            raise WalkFailed(f"headers on more than one line: {wrapped}")

    def manager(self):
        self.login('manager')
        self.begin('board')
        self.open_list('board', rows="the stages of the board")
        self.done()

        self.begin('flow-chart')
        self.open_list('flow_chart', rows="the row of the flow chart")
        # the chart of one carrier: the context's Carrier, then search
        self.choose('carrier', "Own", "Own Fleet")
        self.pane().locator(
            '.filter-box button[type="submit"]:visible').first.click()
        self.need(self.pane().locator('.treeview tbody tr td',
                has_text="Own Fleet").first,
            "the chart of the own fleet's orders")
        self.idle()
        # a date's cell (the company's is a link to the company)
        self.pane().locator('.treeview tbody tr td').filter(
            has_text=re.compile(r'^\s*\d{4}-\d{2}-\d{2}\s*$')).first.dblclick()
        self.wait_js("() => Array.from(document.querySelectorAll("
            "'.form img')).some(i => i.complete && i.naturalWidth > 600)",
            "the drawn flow chart")
        self.need(self.pane().locator('.treeview tbody tr td').first,
            "the steps and paths beside the chart")
        self.idle()
        self.done()

        self.begin('statistics')
        self.open_list('statistics', rows="the periods of the statistics")
        self.done()

        self.begin('statistics-graph')
        self.toolbar('switch_').click()
        self.need(self.pane().locator('.graph svg, svg.bb').first,
            "the graph of the statistics")
        self.idle()
        self.done()

        self.begin('timeline')
        self.order_form(self.order)
        self.notebook(TABS['order_timeline'])
        timeline = self.pane().locator('.tab-pane.active .treeview tbody tr')
        self.need(timeline.first, "the order's timeline")
        self.need(timeline.get_by_text(TEXTS['signed'], exact=True).first,
            "the signature in the order's timeline")
        self.idle()
        self.done()

    # --- what the customer knows, what is checked afterwards --------------
    def rpc(self, method, *params):
        if not getattr(self, '_session', None):
            self._session = self._login_rpc()
        request = urllib.request.Request(
            self.database_url + '/rpc/', data=json.dumps({
                    'id': 1, 'method': method, 'params': list(params),
                    }).encode(), headers={
                'Content-Type': 'application/json',
                'Authorization': 'Session ' + self._session,
                })
        with urllib.request.urlopen(request) as answer:
            result = json.loads(answer.read())
        if result.get('error'):
            raise WalkFailed(f"RPC {method}: {result['error']}")
        return result['result']

    def _login_rpc(self):
        self.database_url = self.args.url.rstrip('/') + '/' + (
            self.args.database)
        request = urllib.request.Request(
            self.database_url + '/rpc/', data=json.dumps({
                    'id': 1, 'method': 'common.db.login',
                    'params': ['manager', {'password': DEMO_PASSWORD}],
                    }).encode(), headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request) as answer:
            user_id, key = json.loads(answer.read())['result'][:2]
        return base64.b64encode(
            f'manager:{user_id}:{key}'.encode()).decode()

    def phone_digits(self):
        "The last four digits of the customer's phone, which they know"
        party_ids = self.rpc('model.party.party.search',
            [('name', '=', CUSTOMER)], 0, 1, None, {})
        mechanisms = self.rpc('model.party.contact_mechanism.search_read',
            [('party', 'in', party_ids), ('type', 'in', ['mobile', 'phone'])],
            0, None, None, ['value'], {})
        digits = re.sub(r'\D', '', mechanisms[0]['value'])
        return digits[-4:]

    def check_contact(self):
        """The contact saved is the one typed: by phone, at the time the
        dialog was opened"""
        deadline = time.monotonic() + self.timeout / 1000
        while True:
            contacts = self.rpc(
                'model.sale.flow.review.contact.search_read',
                [('sale.number', '=', self.order)], 0, None, None,
                ['contact_name', 'method', 'answer', 'contacted_at'], {})
            if contacts or time.monotonic() > deadline:
                break
            self.page.wait_for_timeout(200)
        print(f"   contacts {contacts}", flush=True)
        if [(c['contact_name'], c['method'], c['answer'])
                for c in contacts] != [
                    (CONTACT, CONTACT_METHOD[0], CONTACT_ANSWER)]:
            raise WalkFailed(f"the contact saved is not the one typed "
                f"(method {CONTACT_METHOD[0]}): {contacts}")
        at = contacts[0]['contacted_at']
        at = dt.datetime(*(at[k] for k in [
                    'year', 'month', 'day', 'hour', 'minute', 'second']))
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        if abs(now - at) > dt.timedelta(minutes=5):
            raise WalkFailed(f"the contact's default time {at} is not the "
                f"time the dialog was opened (now {now} UTC)")

    def check_result(self):
        "Read back what the walk did: the order signed and the shipment done"
        sales = self.rpc('model.sale.sale.search_read',
            [('number', '=', self.order)], 0, 1, None,
            ['state', 'review_state', 'shipment_state'], {})
        shipments = self.rpc('model.stock.shipment.out.search_read',
            [('number', '=', self.shipment)], 0, 1, None,
            ['state', 'shipping_reference'], {})
        signatures = self.rpc('model.sale.flow.signature.search_read',
            [('shipment.number', '=', self.shipment)], 0, None, None,
            ['signer', 'channel'], {})
        print(f"check: order {self.order} {sales}, shipment "
            f"{self.shipment} {shipments}, signatures {signatures}")
        problems = []
        if not sales or sales[0]['review_state'] != 'approved':
            problems.append("the order is not approved")
        if not shipments or shipments[0]['state'] != 'done':
            problems.append("the shipment is not done")
        elif shipments[0]['shipping_reference'] != self.tracking:
            problems.append("the tracking number is not the courier's")
        if [(s['signer'], s['channel']) for s in signatures] != [
                (SIGNER, 'phone')]:
            problems.append("no signature of the phone by the signer")
        if problems:
            raise WalkFailed('; '.join(problems))


def untranslated(text, names):
    "The latin words of the text that a Chinese screen should not show"
    for name in names:
        if name in text:
            text = text.replace(name, ' ')
    text = URL_OR_MAIL.sub(' ', text)
    text = CODE.sub(' ', text)
    return [w for w in WORD.findall(text) if w not in ALLOWED_WORDS]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='http://127.0.0.1:8000/')
    parser.add_argument('--database', default='sale_flow_demo')
    parser.add_argument('--out', default='var/walk')
    parser.add_argument('--chromium', default=sao.CHROMIUM)
    parser.add_argument('--timeout', type=float, default=30)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.endswith('.png'):
            os.remove(os.path.join(args.out, name))
    if not os.access(args.chromium, os.X_OK):
        print(f"walk: no browser at {args.chromium}: install Debian's "
            "chromium (apt-get install chromium) or pass --chromium PATH",
            file=sys.stderr)
        return 2
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium, args=CHROMIUM_ARGS)
        walk = Walk(browser, args)
        try:
            for role in [walk.clerk, walk.reviewer, walk.warehouse,
                    walk.shipping, walk.customer, walk.manager]:
                role()
            walk.check_result()
        except (WalkFailed, PlaywrightError) as exception:
            name = f'FAIL-{walk.number:02d}-{walk.role}-{walk.step}.png'
            try:
                walk.page.screenshot(path=os.path.join(args.out, name))
                print(f"screenshot: {os.path.join(args.out, name)}")
            except PlaywrightError:
                pass
            print(f"walk failed at {walk.number:02d} {walk.role} "
                f"{walk.step}: {str(exception).splitlines()[0]}",
                file=sys.stderr)
            for line in str(exception).splitlines()[1:8]:
                print(f"  {line}", file=sys.stderr)
            return 1
        finally:
            browser.close()
    elapsed = time.monotonic() - walk.started
    if walk.untranslated:
        print(f"walk failed: {len(walk.untranslated)} untranslated texts "
            "on the path (listed above)", file=sys.stderr)
        return 1
    print(f"walk passed: order {walk.order}, shipment {walk.shipment}, "
        f"{walk.number} steps in {elapsed:.0f} s; screenshots in "
        f"{args.out}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
