# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The scenario_*.rst doctests, for unittest and for pytest.

unittest honours ``load_tests``; pytest does not, so each scenario file is
also exposed as a test method of ``ScenarioTestCase`` that runs the same
doctest suite and fails with the doctest report.
"""

import glob
import io
import os
import unittest

from trytond.tests.test_tryton import load_doc_tests

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = sorted(
    os.path.basename(p)
    for p in glob.glob(os.path.join(HERE, 'scenario_*.rst')))


def load_tests(*args, **kwargs):
    return load_doc_tests(__name__, __file__, *args, **kwargs)


def _scenario_suite(filename):
    loader = unittest.TestLoader()
    loader.testNamePatterns = [filename]
    return load_doc_tests(
        __name__, __file__, loader, unittest.TestSuite(), None)


class ScenarioTestCase(unittest.TestCase):
    "The scenarios, one test each"


def _make_test(filename):
    def test(self):
        suite = _scenario_suite(filename)
        self.assertEqual(suite.countTestCases(), 1, filename)
        stream = io.StringIO()
        result = unittest.TextTestRunner(
            stream=stream, verbosity=0).run(suite)
        if not result.wasSuccessful():
            self.fail(stream.getvalue())
    test.__name__ = 'test_' + filename[:-len('.rst')]
    test.__doc__ = filename
    return test


for _filename in SCENARIOS:
    _test = _make_test(_filename)
    setattr(ScenarioTestCase, _test.__name__, _test)
