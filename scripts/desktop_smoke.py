#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Desktop-client smoke test: run the Tryton 8.0 desktop client under Xvfb
against the demo server, log in as the manager, open the Flow Board, the
flow chart (its drawing and its steps and paths), the Orders list, an
order that went through the flow (every tab of its form)
and its shipment (every tab: Delivery, Signature, Scans...), and save a
screenshot of each screen.  Exits non-zero, with a screenshot of the
failure, when a step does not happen or the client shows an error.

    scripts/desktop --smoke --port 8000 --out var/desktop

(scripts/desktop installs the client in its own environment and runs this
file with that environment's Python.)

The client runs in this process: the script starts Tryton's own main()
and drives it from GLib timers with the client's own API (the menu's
action as a click on the menu runs it, tryton:// URLs as a link opens
them), then reads the widgets of each screen: the tab labels of the forms
in the user's language (from locale/zh_CN.po) and the fields and buttons
the module's views add.
"""

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB = 'sale_flow_demo'

# What each form must show: tab labels (po context, English) and the
# fields and buttons of the module's view extensions.
ORDER_TABS = [
    ('view:sale.sale:', "Review"),
    ('view:sale.sale:', "Stock"),
    ('view:sale.sale:', "Delivery"),
    ('field:sale.sale,timeline:', "Timeline"),
    ]
ORDER_FIELDS = [
    'channel', 'review_state', 'review_findings', 'stock_status',
    'stock_lines', 'delivery_method', 'pickup_code', 'shipments', 'tracking',
    'tracking_events', 'customer_stage', 'timeline']
# one2many fields that must show rows for an order that went the whole way
ORDER_ROWS = ['shipments', 'timeline']
SHIPMENT_TABS = [
    ('view:stock.shipment.out:', "Delivery"),
    ('field:stock.shipment.out,signatures:', "Signature"),
    ('field:stock.shipment.out,scans:', "Scans"),
    ]
SHIPMENT_FIELDS = [
    'scan_progress', 'delivery_method', 'delivery_status',
    'tracking_numbers', 'tracking_url', 'tracking_links', 'collected_by',
    'handed_over_by', 'shipped_by', 'trackings',
    'signatures', 'sign_token_expire', 'signature_required', 'scans',
    'tracking_state', 'parcel_watch', 'tracking_events',
    'tracking_subscriptions']
SHIPMENT_BUTTONS = ['hand_over', 'sign_link', 'sign', 'scan']
SHIPMENT_ROWS = ['signatures', 'scans']


def demo_users():
    "DEMO_PASSWORD and the logins of tests/tools.py, read without importing"
    with open(os.path.join(ROOT, 'tests', 'tools.py'), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    values = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in {'DEMO_PASSWORD', 'ROLE_USERS'}):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values['DEMO_PASSWORD'], [u[0] for u in values['ROLE_USERS']]


def read_po(path):
    "{(msgctxt, msgid): msgstr} of a po file"
    entries, current, key = {}, {}, None

    def flush():
        if current.get('msgid') and current.get('msgstr'):
            entries[current.get('msgctxt', ''), current['msgid']] = (
                current['msgstr'])
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('"'):
                if key:
                    current[key] += ast.literal_eval(line)
                continue
            word, _, rest = line.partition(' ')
            if word == 'msgctxt' or (word == 'msgid' and 'msgid' in current):
                flush()
                current = {}
            key = word
            current[key] = ast.literal_eval(rest)
    flush()
    return entries


def start_xvfb(size, log):
    "Xvfb on a display it picks itself; returns (process, display)"
    read, write = os.pipe()
    with open(log, 'w') as output:
        process = subprocess.Popen(
            ['Xvfb', '-displayfd', str(write), '-screen', '0', size + 'x24',
                '-nolisten', 'tcp', '-noreset'],
            pass_fds=[write], stdout=output, stderr=subprocess.STDOUT)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        with open(log) as f:
            raise SystemExit(
                "desktop smoke test: Xvfb did not start: " + f.read()[-2000:])
    return process, ':' + number


class Smoke:
    "The steps, run from a GLib timer inside the client's main loop"

    def __init__(self, args, labels, out):
        self.args = args
        self.labels = labels
        self.out = out
        self.shots = 0
        self.failed = None
        self.password_sent = None
        self.steps = self.run()
        self.waiting = None
        self.notes = []

    # -- helpers --------------------------------------------------------
    def label(self, context, english):
        "What the user's language shows for a string of the module"
        if self.args.language != 'zh_CN':
            return english
        if (context, english) not in self.labels:
            raise AssertionError(
                f"locale/zh_CN.po has no {context} {english!r}")
        return self.labels[context, english]

    def shot(self, name):
        from gi.repository import Gdk
        root = Gdk.get_default_root_window()
        width, height = root.get_width(), root.get_height()
        pixbuf = Gdk.pixbuf_get_from_window(root, 0, 0, width, height)
        self.shots += 1
        path = os.path.join(self.out, '%02d-%s.png' % (self.shots, name))
        pixbuf.savev(path, 'png', [], [])
        print(f"  screenshot {path}", flush=True)
        return path

    def fail(self, message):
        print(f"desktop smoke test FAILED: {message}", file=sys.stderr,
            flush=True)
        try:
            self.shot('failure')
        except Exception:
            traceback.print_exc()
        self.finish(1)

    def finish(self, code):
        self.failed = code != 0
        stop(code)

    def toplevels(self):
        from gi.repository import Gtk
        return [w for w in Gtk.Window.list_toplevels() if w.get_visible()]

    def dialogs(self):
        from gi.repository import Gtk
        return [w for w in self.toplevels()
            if isinstance(w, Gtk.MessageDialog)]

    @staticmethod
    def walk(widget):
        from gi.repository import Gtk
        yield widget
        if isinstance(widget, Gtk.Container):
            for child in widget.get_children():
                yield from Smoke.walk(child)

    @staticmethod
    def dialog_text(dialog):
        texts = [dialog.props.text or '', dialog.props.secondary_text or '']
        from gi.repository import Gtk
        for widget in Smoke.walk(dialog):
            if isinstance(widget, Gtk.TextView):
                buf = widget.get_buffer()
                texts.append(buf.get_text(
                        buf.get_start_iter(), buf.get_end_iter(), False))
        return '\n'.join(t for t in texts if t)

    def password_dialog(self):
        from gi.repository import Gtk
        for dialog in self.dialogs():
            for widget in self.walk(dialog):
                if (isinstance(widget, Gtk.Entry)
                        and not widget.get_visibility()):
                    return dialog, widget
        return None

    def main(self):
        from tryton.gui import Main
        return Main()

    def page(self, model, view_type=None, res_id=None, rows=True):
        "The client's tab showing model (and record), once it is loaded"
        main = self.main()
        if not main.window or not getattr(main, 'pages', None):
            return None
        current = main.get_page()
        if current is None or getattr(current, 'model', None) != model:
            return None
        screen = current.screen
        view = screen.current_view
        if view is None or (view_type and view.view_type != view_type):
            return None
        if res_id is not None:
            record = screen.current_record
            if record is None or record.id != res_id:
                return None
        elif rows and not len(screen.group):
            return None
        return current

    def wait(self, what, predicate, timeout=None):
        "Used as: value = yield self.wait(...)"
        return (what, predicate, time.monotonic() + (
                timeout or self.args.timeout))

    def settle(self, seconds=1.0):
        "Let the client draw (and load what a tab shows) before a screenshot"
        until = time.monotonic() + seconds
        return self.wait('the screen to settle',
            lambda: time.monotonic() >= until or None, seconds + 5)

    def open_menu(self, parent, context, english):
        """Run the action of the menu entry named english (translated with
        the po's context) under the entry parent, as a click on it does"""
        from gi.repository import GLib
        from tryton.action import Action
        name = self.label(context, english)
        found = self.search('ir.ui.menu', [
                ('parent', '=', parent), ('name', '=', name)])
        if not found:
            raise AssertionError(f"the menu has no entry {name}")
        menu_id, = found
        print(f"  menu entry {name}", flush=True)

        def run():
            Action.exec_keyword('tree_open', {
                    'model': 'ir.ui.menu', 'id': menu_id}, warning=False)
            return False
        GLib.idle_add(run)

    def open_url(self, path):
        url = 'tryton://%s/%s/%s' % (self.args.host, DB, path)
        print(f"  opening {url}", flush=True)
        self.main().open_url(url)

    def search(self, model, domain, order=None):
        from tryton import rpc
        return rpc.execute('model', model, 'search', domain, 0, 1, order,
            rpc.CONTEXT)

    def tab_label(self, notebook, child):
        from gi.repository import Gtk
        tab = notebook.get_tab_label(child)
        return ' '.join(w.get_text() for w in self.walk(tab)
            if isinstance(w, Gtk.Label)).strip()

    def check_form(self, page, tabs, fields, buttons, rows, name):
        "Every tab of the form shown and captured; what it must show"
        view = page.screen.current_view
        missing = [f for f in fields if f not in view.widgets]
        if missing:
            raise AssertionError(
                f"{name}: the form has no field {', '.join(missing)}")
        names = {getattr(w, 'attrs', {}).get('name')
            for w in view.state_widgets}
        missing = [b for b in buttons if b not in names]
        if missing:
            raise AssertionError(
                f"{name}: the form has no button {', '.join(missing)}")
        if not view.notebooks:
            raise AssertionError(f"{name}: the form has no tabs")
        notebook = view.notebooks[0]
        pages = [notebook.get_nth_page(i)
            for i in range(notebook.get_n_pages())]
        shown = [(i, self.tab_label(notebook, p)) for i, p in enumerate(pages)
            if p.get_visible()]
        labels = [label for _, label in shown]
        print(f"  {name} tabs: {' | '.join(labels)}", flush=True)
        wanted = [self.label(c, e) for c, e in tabs]
        missing = [w for w in wanted if w not in labels]
        if missing:
            raise AssertionError(
                f"{name}: no tab {', '.join(missing)} (tabs: {labels})")
        # every tab from left to right, as a click on each does; the files
        # are named by the English of the module's tabs
        english = {w: e.lower() for w, (_, e) in zip(wanted, tabs)}
        for index, label in shown:
            notebook.set_current_page(index)
            yield self.settle(1.5 if label in english else 0.8)
            self.shot('%s-%s' % (
                    name, english.get(label) or 'tab%d' % (index + 1)))
        # the buttons under the tabs: scrolled to, if the form is taller
        # than the screen
        adjustment = view.scroll.get_vadjustment()
        hidden = adjustment.get_upper() - adjustment.get_page_size()
        if hidden > 0:
            self.notes.append(f"{name}: the form is {hidden:.0f} px taller "
                "than its place on the screen (scrolled for the buttons)")
            notebook.set_current_page(shown[0][0])
            adjustment.set_value(hidden)
            yield self.settle(0.8)
            self.shot(f'{name}-buttons')
        for field in rows:
            widget = view.widgets[field][0]
            screen = getattr(widget, 'screen', None)
            count = len(screen.group) if screen is not None else 0
            if not count:
                raise AssertionError(
                    f"{name}: the field {field} shows no row")
            self.notes.append(f"{name}: {field} shows {count} row(s)")

    def chart_drawn(self):
        """The chart's form with its image (PNG bytes) and its steps and
        paths listed: (the image, the rows), once both are loaded"""
        page = self.page('sale.flow.chart', 'form')
        if page is None:
            return None
        record = page.screen.current_record
        view = page.screen.current_view
        if record is None or 'image' not in view.widgets:
            return None
        image = record.group.fields['image'].get_data(record)
        elements = getattr(view.widgets['elements'][0], 'screen', None)
        if not image or elements is None or not len(elements.group):
            return None
        if not image.startswith(b'\x89PNG'):
            raise AssertionError("the flow chart's image is not a PNG")
        return image, len(elements.group)

    def logged_errors(self):
        "What the client logged at ERROR level or above (tracebacks too)"
        path = os.path.join(self.out, 'client.log')
        if not os.path.exists(path):
            return ''
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        if 'Traceback' in text or 'ERROR:' in text or 'CRITICAL:' in text:
            return text
        return ''

    # -- the steps ------------------------------------------------------
    def run(self):
        args = self.args
        found = yield self.wait('the password dialog', self.password_dialog)
        dialog, entry = found
        yield self.settle(0.5)
        self.shot('login')
        entry.set_text(args.password)
        self.password_sent = dialog
        dialog.response(-5)  # Gtk.ResponseType.OK

        main = self.main()
        yield self.wait('the main window with the menu', lambda: (
                main.window is not None
                and getattr(main, 'menu_screen', None) is not None
                and len(main.menu_screen.group) > 0
                and not self.password_dialog()))
        # no window manager here to maximize the window as the client asks
        from gi.repository import Gdk
        root = Gdk.get_default_root_window()
        main.window.move(0, 0)
        main.window.resize(root.get_width(), root.get_height())
        yield self.settle(0.5)
        # the size asked leaves out the header bar (client-side decoration)
        extra = main.window.get_window().get_height() - root.get_height()
        if extra > 0:
            main.window.resize(root.get_width(), root.get_height() - extra)
        from tryton import rpc
        if rpc._LOGIN != args.login:
            raise AssertionError(
                f"logged in as {rpc._LOGIN}, not {args.login}")
        language = rpc.CONTEXT.get('language') or ''
        if language != args.language:
            raise AssertionError(
                f"the client shows {language!r}, not {args.language!r}")
        menus = [r.id for r in main.menu_screen.group]
        flow = self.search('ir.ui.menu', [('parent', '=', None),
                ('name', '=', self.label(
                        'model:ir.ui.menu,name:menu_sale_flow',
                        "Sales Flow"))])
        if not flow or flow[0] not in menus:
            raise AssertionError("the menu has no Sales Flow entry")
        flow, = flow
        # unfold Sales Flow in the menu, as a click on its arrow does
        from gi.repository import Gtk
        main.menu_screen.current_view.treeview.expand_row(
            Gtk.TreePath.new_from_indices([menus.index(flow)]), False)
        yield self.settle(1.5)
        self.shot('menu')
        # the window says who is connected where
        title = main.header.get_title() or ''
        subtitle = main.header.get_subtitle() or ''
        if subtitle != f'{args.login}@{args.host}/{DB}':
            raise AssertionError(f"the window's subtitle is {subtitle!r}")
        self.notes.append(f"window: {title} — {subtitle}")

        # the Flow Board, from its menu entry
        self.open_menu(flow, 'model:ir.ui.menu,name:menu_board',
            "Flow Board")
        board = yield self.wait('the Flow Board',
            lambda: self.page('sale.flow.board', 'tree'))
        name = self.label('model:ir.action,name:act_board', "Flow Board")
        if board.name.split(' / ')[-1] != name:
            raise AssertionError(f"the board's tab is {board.name!r}")
        yield self.settle(1.5)
        self.notes.append(f"board: {len(board.screen.group)} stage rows")
        self.shot('board')

        # the Parcels to Watch, from its menu entry beside the board
        self.open_menu(flow, 'model:ir.ui.menu,name:menu_parcel_watch',
            "Parcels to Watch")
        parcels = yield self.wait('the Parcels to Watch',
            lambda: self.page('stock.shipment.out', 'tree', rows=False))
        yield self.settle(1.5)
        self.notes.append(
            f"parcels to watch: {len(parcels.screen.group)} rows")
        self.shot('parcels-to-watch')

        # the Flow Chart, from its menu entry: its row opens the drawing
        self.open_menu(flow, 'model:ir.ui.menu,name:menu_flow_chart',
            "Flow Chart")
        charts = yield self.wait('the Flow Chart list',
            lambda: self.page('sale.flow.chart', 'tree'))
        # the row opened, as a double click on it does
        charts.screen.current_record = charts.screen.group[0]
        charts.screen.switch_view('form')
        chart = yield self.wait('the drawn flow chart', self.chart_drawn)
        yield self.settle(2)
        self.notes.append(f"flow chart: a {len(chart[0]):,} byte PNG, "
            f"{chart[1]} steps and paths")
        self.shot('flow-chart')

        # the Orders list, from its menu entry
        self.open_menu(flow, 'model:ir.ui.menu,name:menu_order_form',
            "Orders")
        orders = yield self.wait('the Orders list',
            lambda: self.page('sale.sale', 'tree', rows=False))
        # its tab All, as a click on the tab does
        tabs = orders.screen.screen_container.notebook
        wanted = self.label(
            'model:ir.action.act_window.domain,name:act_order_form_domain_all',
            "All")
        labels = [self.tab_label(tabs, tabs.get_nth_page(i))
            for i in range(tabs.get_n_pages())]
        every = [i for i, l in enumerate(labels) if l.startswith(wanted)]
        if not every:
            raise AssertionError(
                f"the Orders list has no tab {wanted}: {labels}")
        print(f"  list tabs: {' | '.join(labels)}", flush=True)
        tabs.set_current_page(every[0])
        yield self.wait('the orders of the tab All',
            lambda: self.page('sale.sale', 'tree'))
        yield self.settle(1.5)
        self.notes.append(f"orders list: {len(orders.screen.group)} rows")
        self.shot('orders')

        # an order that went the whole way, and its shipment
        shipment = self.search('stock.shipment.out', [
                ('state', '=', 'done'), ('signatures', '!=', None),
                ('shipping_reference', '!=', None)], [('id', 'ASC')])
        if not shipment:
            shipment = self.search('stock.shipment.out', [
                    ('state', '=', 'done'), ('signatures', '!=', None)],
                [('id', 'ASC')])
        if not shipment:
            raise AssertionError("the demo has no signed shipment")
        shipment, = shipment
        order = self.search('sale.sale', [('shipments', '=', shipment)])
        if not order:
            raise AssertionError(f"no order for the shipment {shipment}")
        order, = order
        self.notes.append(f"order id {order}, shipment id {shipment}")

        self.open_url(f'model/sale.sale/{order}')
        page = yield self.wait('the order form',
            lambda: self.page('sale.sale', 'form', order))
        yield self.settle(1.5)
        yield from self.check_form(page, ORDER_TABS, ORDER_FIELDS, [],
            ORDER_ROWS, 'order')

        self.open_url(f'model/stock.shipment.out/{shipment}')
        page = yield self.wait('the shipment form',
            lambda: self.page('stock.shipment.out', 'form', shipment))
        yield self.settle(1.5)
        yield from self.check_form(page, SHIPMENT_TABS, SHIPMENT_FIELDS,
            SHIPMENT_BUTTONS, SHIPMENT_ROWS, 'shipment')

    def tick(self):
        "Called every 100 ms by GLib, also inside the client's nested loops"
        if self.failed is not None:
            return False
        try:
            # any message the client shows, other than the password, is an
            # error of the client, the server or the module
            asked = self.password_dialog()
            if (asked and self.password_sent is not None
                    and asked[0] is not self.password_sent):
                self.fail("the server refused the password: the client "
                    "asks for it again")
                return False
            for dialog in self.dialogs():
                if asked and dialog is asked[0]:
                    continue
                self.fail("the client shows a message: "
                    + self.dialog_text(dialog)[-3000:])
                return False
            if self.waiting is None:
                self.waiting = next(self.steps)
            what, predicate, deadline = self.waiting
            value = predicate()
            if value:
                self.waiting = self.steps.send(value)
                if self.waiting[0] != 'the screen to settle':
                    print(f"waiting for {self.waiting[0]}", flush=True)
            elif time.monotonic() > deadline:
                self.fail(f"timed out waiting for {what}")
                return False
        except StopIteration:
            for note in self.notes:
                print(f"  {note}", flush=True)
            errors = self.logged_errors()
            if errors:
                self.fail("the client logged errors:\n" + errors[-3000:])
                return False
            print(f"desktop smoke test: all screens shown, {self.shots} "
                "screenshots", flush=True)
            self.finish(0)
            return False
        except Exception as exception:
            traceback.print_exc()
            self.fail(str(exception) or repr(exception))
            return False
        return True


_cleanup = []


def stop(code):
    "End at once: the client's bus thread and nested loops do not return"
    for func in _cleanup:
        try:
            func()
        except Exception:
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main():
    password, logins = demo_users()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1:8000',
        help="the demo server, host:port")
    parser.add_argument('--login', default='manager', choices=logins)
    parser.add_argument('--password', default=password)
    parser.add_argument('--language', default='zh_CN',
        help="the language the user sees (the demo's roles: zh_CN)")
    parser.add_argument('--out', default=os.path.join(ROOT, 'var', 'desktop'))
    parser.add_argument('--timeout', type=float, default=60,
        help="seconds for each step")
    parser.add_argument('--size', default='1600x1200')
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith('.png') or name.endswith('.log'):
            os.remove(os.path.join(out, name))
    labels = read_po(os.path.join(ROOT, 'locale', 'zh_CN.po'))

    xvfb, display = start_xvfb(args.size, os.path.join(out, 'xvfb.log'))
    _cleanup.append(xvfb.kill)
    home = tempfile.mkdtemp(prefix='sale_flow-desktop-')
    os.environ.update({
            'DISPLAY': display,
            # a fresh client configuration, not the user's
            'XDG_CONFIG_HOME': os.path.join(home, 'config'),
            'XDG_CACHE_HOME': os.path.join(home, 'cache'),
            # no session bus: the client must not hand the URL to another
            # running Tryton of the same server
            'DBUS_SESSION_BUS_ADDRESS': 'disabled:',
            'NO_AT_BRIDGE': '1',
            'GTK_THEME': 'Adwaita',
            })
    _cleanup.append(lambda: shutil.rmtree(home, ignore_errors=True))
    conf = os.path.join(home, 'tryton.conf')
    with open(conf, 'w') as f:
        f.write(f"""[login]
profile =
host = {args.host}
db = {DB}
login = {args.login}
expanded = True

[client]
check_version = False
lang = {args.language}
""")
    print(f"desktop smoke test: Tryton client on {display} against "
        f"{args.host}/{DB} as {args.login}", flush=True)

    # a step that hangs inside the client (a blocking call) still ends
    def watchdog():
        time.sleep(args.timeout * 10)
        print("desktop smoke test FAILED: the whole run took too long",
            file=sys.stderr, flush=True)
        stop(2)
    threading.Thread(target=watchdog, daemon=True).start()

    import tryton
    from gi.repository import GLib
    from tryton import client
    smoke = Smoke(args, labels, out)
    GLib.timeout_add(100, smoke.tick)
    log = os.path.join(out, 'client.log')
    sys.argv = ['tryton', '-c', conf, '-l', 'WARNING', '-o', log,
        f'tryton://{args.host}/{DB}']
    print(f"  tryton {tryton.__version__}", flush=True)
    client.main()
    # the client's loop ended before the steps did
    print("desktop smoke test FAILED: the client quit", file=sys.stderr)
    stop(1)


if __name__ == '__main__':
    main()
