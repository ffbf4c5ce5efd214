#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Packaging of the sale_flow module (distribution trytond_sale_flow)."""

import io
import os
import re
from configparser import ConfigParser

from setuptools import find_packages, setup

MODULE = 'sale_flow'
PREFIX = 'trytond'
HERE = os.path.dirname(os.path.abspath(__file__))


def read(fname):
    with io.open(os.path.join(HERE, fname), encoding='utf-8') as fp:
        return fp.read()


def get_require_version(name):
    """Pin a Tryton package to the series of this module (8.0 LTS)."""
    return '%s >= %s.%s, < %s.%s' % (
        name, major_version, minor_version,
        major_version, minor_version + 1)


config = ConfigParser()
config.read_file(io.StringIO(read('tryton.cfg')))
info = dict(config.items('tryton'))
for key in ('depends', 'extras_depend', 'xml'):
    if key in info:
        info[key] = info[key].strip().splitlines()
version = info.get('version', '0.0.1')
major_version, minor_version, _ = version.split('.', 2)
major_version = int(major_version)
minor_version = int(minor_version)

requires = []
for dep in info.get('depends', []):
    if not re.match(r'(ir|res)(\W|$)', dep):
        requires.append(get_require_version('%s_%s' % (PREFIX, dep)))
# python-barcode draws the barcodes of the picking list; Pillow (its
# images extra) reads the signatures and draws the report pictures
requires.append(get_require_version('trytond[barcode]'))
# imported by the module itself (trytond requires them too)
requires.extend(['python-sql >= 1.8', 'polib', 'werkzeug'])

extras_require = {
    'test': [
        get_require_version('proteus'),
        'pytest',
        ] + [get_require_version('%s_%s' % (PREFIX, dep))
        for dep in info.get('extras_depend', [])],
    'postgresql': [get_require_version('trytond[postgresql]')],
    }
for dep in info.get('extras_depend', []):
    extras_require.setdefault('extras', []).append(
        get_require_version('%s_%s' % (PREFIX, dep)))

setup(
    name='%s_%s' % (PREFIX, MODULE),
    version=version,
    description="Sales flow for trading companies: intake, review, stock "
    "check, outbound with scanning, shipping, proof of delivery, statistics",
    long_description=read('README.md'),
    long_description_content_type='text/markdown',
    author='The sale_flow developers',
    license='GPL-3.0-or-later',
    keywords='tryton sale stock shipment review barcode signature',
    package_dir={'trytond.modules.%s' % MODULE: '.'},
    packages=(
        ['trytond.modules.%s' % MODULE]
        + ['trytond.modules.%s.%s' % (MODULE, p)
            for p in find_packages(exclude=['bench*', 'scripts*', 'doc*'])]
        ),
    package_data={
        'trytond.modules.%s' % MODULE: (info.get('xml', [])
            + ['tryton.cfg', 'view/*.xml', 'locale/*.po',
                'locale/override/*.po', 'report/*.fodt', 'report/*.html',
                'report/*.fods', 'report/*.odt', 'icons/*.svg', 'web/*.html',
                'web/*.js',
                'tests/*.rst', 'tests/*.json']),
        },
    classifiers=[
        'Development Status :: 4 - Beta',
        'Environment :: Plugins',
        'Framework :: Tryton',
        'Intended Audience :: Manufacturing',
        'Natural Language :: Chinese (Simplified)',
        'Natural Language :: English',
        'Operating System :: OS Independent',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
        'Programming Language :: Python :: Implementation :: CPython',
        'Topic :: Office/Business',
        ],
    python_requires='>=3.10',
    install_requires=requires,
    extras_require=extras_require,
    zip_safe=False,
    entry_points="""
    [trytond.modules]
    %s = trytond.modules.%s
    """ % (MODULE, MODULE),
    )
