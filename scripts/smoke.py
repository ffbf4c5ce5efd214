#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Real-client smoke test: log into the demo through the sao web client in
headless Chromium, open the Sales Flow menu and its lists, and save
screenshots.  Exits non-zero, with a screenshot of the failure, when a step
does not happen.

    scripts/smoke.py --url http://127.0.0.1:8000/ --out var/smoke
    scripts/smoke.py --login reviewer --password sale_flow --language zh_CN

Without --login it logs in as the administrator (English), who opens
every list of the menu, and as every demo role user (Chinese), who opens
the orders (scripts/walk.py goes through their screens).

The browser is Debian's chromium (no browser download), driven by
playwright with executable_path.
"""

import argparse
import os
import sys

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from trytond.modules.sale_flow.tests.tools import DEMO_PASSWORD, ROLE_USERS

import sao  # scripts/sao.py, beside this script

CHROMIUM_ARGS = sao.CHROMIUM_ARGS
# The menu and its entries as each language shows them
MENU = {
    'en': ("Sales Flow", ["Orders", "Review Queue", "Review Findings",
            "Shipments to Pack", "Scans", "Statistics ‣ Sales per Customer",
            "Flow Board",
            "Statistics ‣ Process Evaluation ‣ Bottlenecks per Period"]),
    'zh_CN': ("销售流程", ["订单", "审核队列", "审核发现", "待包装发货单",
            "扫描记录", "统计 ‣ 按客户销售", "流程看板",
            "统计 ‣ 流程评估 ‣ 各期间瓶颈"]),
    }
# The entries each user opens (index in MENU's list): the administrator
# every one; the role users only log in and see the orders, since the
# browser walk (scripts/walk.py) works through their screens
ENTRIES = {'admin': [0, 1, 2, 3, 4, 5, 6, 7]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='http://127.0.0.1:8000/')
    parser.add_argument('--login')
    parser.add_argument('--password', default=DEMO_PASSWORD)
    parser.add_argument('--language', default='zh_CN', choices=MENU)
    parser.add_argument('--out', default='var/smoke')
    parser.add_argument('--chromium', default=sao.CHROMIUM)
    parser.add_argument('--timeout', type=float, default=30)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not os.access(args.chromium, os.X_OK):
        print(f"smoke test: no browser at {args.chromium}: install Debian's "
            "chromium (apt-get install chromium) or pass --chromium PATH",
            file=sys.stderr)
        return 2
    if args.login:
        users = [(args.login, args.password, args.language)]
    else:
        users = [('admin', 'admin', 'en')] + [
            (login, DEMO_PASSWORD, 'zh_CN') for login, _, _ in ROLE_USERS]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            failed = [u[0] for u in users if not smoke(browser, args, *u)]
        finally:
            browser.close()
    if failed:
        print(f"smoke test failed for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def smoke(browser, args, login, password, language):
    "Log in as the user, open the Sales Flow lists; True when it worked"
    menu_name, entries = MENU[language]
    entries = [entries[i] for i in ENTRIES.get(login, [0])]
    timeout = args.timeout * 1000

    def shot(page, name):
        path = os.path.join(args.out, f'{login}-{name}.png')
        try:
            page.screenshot(path=path)
        except PlaywrightError:
            return
        print(f"screenshot: {path}")

    context = browser.new_context(
        viewport={'width': 1280, 'height': 720}, locale='en-US')
    errors = []
    try:
        page = context.new_page()
        page.set_default_timeout(timeout)
        page.on('pageerror', lambda e: errors.append(str(e)))
        step = "open the login page"
        try:
            sao.login(page, args.url, login, password, timeout)
            step = f"find the menu {menu_name!r}"
            menu = page.get_by_text(menu_name, exact=True)
            menu.wait_for()
            shot(page, '1-menu')
            menu.click()
            for i, entry_name in enumerate(entries, 2):
                step = f"open {entry_name!r}"
                *parents, entry_name = entry_name.split(' ‣ ')
                for parent, child in zip(parents, parents[1:] + [
                            entry_name]):
                    # a folder of the menu: open it unless it is open
                    if page.locator('#menu').get_by_text(
                            child, exact=True).first.is_visible():
                        continue
                    folder = page.locator('#menu').get_by_text(
                        parent, exact=True).first
                    folder.wait_for()
                    folder.click()
                entry = page.locator('#menu').get_by_text(
                    entry_name, exact=True).first
                entry.wait_for()
                entry.dblclick()
                step = f"see the list {entry_name!r}"
                # the list of the tab just opened, not the menu (a list
                # too): the active tab has the entry's name and a list
                page.locator('#tablist li.active').get_by_text(
                    entry_name, exact=True).first.wait_for()
                page.locator('#tabcontent > .tab-pane.active'
                    ' .treeview table thead').first.wait_for()
                page.wait_for_timeout(800)
                shot(page, f'{i}-{entry_name}')
                if errors:
                    raise PlaywrightError(
                        "error in the web client: " + errors[0])
        except PlaywrightError as exception:
            shot(page, 'failed')
            print(f"smoke test failed: {login} could not {step}: "
                f"{str(exception).splitlines()[0]}", file=sys.stderr)
            return False
    finally:
        context.close()
    print(f"smoke test passed: {login} opened {menu_name} > "
        f"{', '.join(entries)}")
    return True


if __name__ == '__main__':
    sys.exit(main())
