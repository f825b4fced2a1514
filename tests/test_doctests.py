"""The examples in the package's docstrings run as written."""

import doctest

import pytest

from .doctests import DOCTESTS_NEEDING_DOT, package_doctests

TESTS = dict(package_doctests())


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.exe) if name in DOCTESTS_NEEDING_DOT else name
    for name in TESTS])
def test_doctest(name):
    out = []
    runner = doctest.DocTestRunner()
    result = runner.run(TESTS[name], out=out.append)
    assert result.failed == 0, "".join(out)
