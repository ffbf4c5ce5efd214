# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Make sure pytest really ran the scenarios: a run that selected the
scenario tests but ran fewer than there are scenario files fails."""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_ran = set()


def pytest_runtest_logreport(report):
    if report.when == 'call' and '::test_scenario_' in report.nodeid:
        if report.passed or report.failed:
            _ran.add(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    expected = len(glob.glob(os.path.join(HERE, 'scenario_*.rst')))
    selected = [i for i in session.items if '::test_scenario_' in i.nodeid]
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    access = sys.modules.get((__package__ or '') + '.test_access')
    for summary in getattr(access, 'SUMMARY', []):
        if reporter:
            reporter.write_line(summary)
    if not selected:
        return
    line = f"scenarios run: {len(_ran)} of {expected}"
    if reporter:
        reporter.write_line(line)
    if session.config.getoption('deselect') or session.config.getoption(
            'keyword') or len(selected) < expected:
        return
    if len(_ran) < expected and session.exitstatus == 0:
        if reporter:
            reporter.write_line(
                "FAILED: fewer scenarios ran than there are files", red=True)
        session.exitstatus = 1
