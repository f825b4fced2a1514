"""The `exe` marker on doctests is honest: the doctests marked are exactly those that
fail when `dot` is not on PATH (and they fail because of that)."""

import doctest
import importlib
import io
import pkgutil

from conftest import DOCTESTS_NEEDING_DOT

PACKAGES = ("microgpt", "tracer", "renderers")  # the doctest paths in pyproject.toml


def doctests():
    finder = doctest.DocTestFinder()
    for package in PACKAGES:
        names = [package] + [m.name for m in pkgutil.walk_packages(
            importlib.import_module(package).__path__, package + ".")]
        for name in names:
            yield from (t for t in finder.find(importlib.import_module(name)) if t.examples)


def test_the_doctests_marked_exe_are_exactly_those_that_need_dot(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no dot
    failed = {}
    for test in doctests():
        out = io.StringIO()
        if doctest.DocTestRunner(verbose=False).run(test, out=out.write).failed:
            failed[test.name] = out.getvalue()
    assert set(failed) == DOCTESTS_NEEDING_DOT
    for name, report in failed.items():
        assert "DotNotFoundError" in report, f"{name} failed for another reason:\n{report}"

