"""The `exe` marker on doctests is honest: the doctests marked are exactly those that
fail when `dot` is not on PATH (and they fail because of that)."""

import doctest
import io

from .doctests import DOCTESTS_NEEDING_DOT, package_doctests


def test_the_doctests_marked_exe_are_exactly_those_that_need_dot(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no dot
    failed = {}
    for _, test in package_doctests():
        out = io.StringIO()
        if doctest.DocTestRunner(verbose=False).run(test, out=out.write).failed:
            failed[test.name] = out.getvalue()
    assert set(failed) == DOCTESTS_NEEDING_DOT
    for name, report in failed.items():
        assert "DotNotFoundError" in report, f"{name} failed for another reason:\n{report}"

