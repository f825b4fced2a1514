import doctest

import pytest

from tracer import export, expr, model_trace, queries


@pytest.mark.parametrize("module", [expr, model_trace, queries, export])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
