# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Sphinx configuration of the module's documentation.

Build it with ``scripts/lint --docs`` (or ``sphinx-build doc var/doc``):
no theme or extension that needs the network, the version from
tryton.cfg."""

import configparser
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def get_info():
    config = configparser.ConfigParser()
    with open(os.path.join(os.path.dirname(HERE), 'tryton.cfg')) as fp:
        config.read_file(fp)
    info = dict(config.items('tryton'))
    major, minor, _ = info['version'].split('.', 2)
    info['series'] = '%s.%s' % (major, minor)
    return info


info = get_info()

project = 'Tryton Sale Flow Module'
copyright = 'the sale_flow developers, see COPYRIGHT'
release = info['version']
version = info['series']
master_doc = 'index'
language = 'en'
default_role = 'ref'
highlight_language = 'none'
exclude_patterns = ['**/*.inc.rst']
html_title = "Sale Flow (%s)" % version
html_static_path = []

del get_info, info
