#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Bring locale/zh_CN.po up to date with the module's strings.

Exports the module's strings from the demo database (built by scripts/demo
with the optional modules, so every string is there), keeps the existing
translations, and lists the strings still to translate (empty or fuzzy):

    scripts/demo --no-serve
    .venv/bin/python scripts/translations.py

Fill them in locale/zh_CN.po; tests/test_module.py fails on any missing,
fuzzy or stale one.
"""

import os
import subprocess
import sys

import polib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PO = os.path.join(ROOT, 'locale', 'zh_CN.po')


def main():
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    conf = os.path.join(ROOT, 'var', 'trytond.conf')
    subprocess.run([admin, '-c', conf, '-d', 'sale_flow_demo', '-u',
            'sale_flow', '-l', 'zh_CN', '--export-translations'],
        check=True, cwd=ROOT)
    todo = [e for e in polib.pofile(PO)
        if not e.msgstr or 'fuzzy' in e.flags]
    for entry in todo:
        print(f"{entry.msgctxt}\t{entry.msgid!r}\t{entry.msgstr!r}")
    print(f"{len(todo)} to translate in {os.path.relpath(PO, ROOT)}",
        file=sys.stderr)
    return 1 if todo else 0


if __name__ == '__main__':
    sys.exit(main())
