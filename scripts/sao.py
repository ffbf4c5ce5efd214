# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What the browser tests (smoke.py, walk.py, scan_burst.py) share: how
Debian's Chromium is started and how a user logs into the sao web client."""

from playwright.sync_api import Error as PlaywrightError

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync']


def login(page, url, user, password, timeout):
    """Log into sao at url as user: the login, then the password dialog
    (timeout in ms); returns when the password is sent"""
    page.goto(url)
    page.fill('#login', user)
    password_input = page.locator('input[type=password]:visible')
    for attempt in range(3):
        # the client may not listen yet right after the page loads
        page.locator('#login').press('Enter')
        try:
            password_input.wait_for(timeout=timeout / 3)
            break
        except PlaywrightError:
            if attempt == 2:
                raise
    password_input.fill(password)
    page.keyboard.press('Enter')
