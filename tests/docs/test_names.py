"""Every file and function README.md and docs/ name exists today.

A name is a backticked span in the prose (fenced code blocks are code, not names):
- a repository path: a span without spaces whose first folder is one of the
  repository's (`microgpt/model.py`, `data/checkpoint.json`, `docs/img/head.svg`,
  `tests/` for a folder) must exist;
- a dotted name starting with a package of this project
  (`microgpt_trace.microgpt.model.GPT.forward`, `microgpt_trace.tracer.queries.select_scope`,
  a trailing `()` allowed) must resolve: import the longest module prefix, then getattr
  the rest.

Not checked: paths under `out/` (what the docs' own commands write), and
placeholders: a span holding `*`, `<`, `{`, `...` or a word in capitals of two
letters or more (`docs/img/NAME.svg`, `out/<name>.json`). `microgpt.py` is
Karpathy's script, a file name rather than a module.
"""

import importlib
import re

import pytest

from .transcripts import ROOT, fenced_blocks, pages, place

FOLDERS = ("microgpt", "tracer", "renderers", "microgpt_trace", "data", "docs", "tests",
           "benchmarks", "scripts", ".ci")
PACKAGES = ("microgpt", "tracer", "renderers", "microgpt_trace")
SPAN = re.compile(r"`([^`\n]+)`")
PATH = re.compile(rf"(?:{'|'.join(re.escape(f) for f in FOLDERS)})(?:/[\w.\-]*)+")
DOTTED = re.compile(rf"(?:{'|'.join(PACKAGES)})(?:\.\w+)+(?:\(\))?")
PLACEHOLDER = re.compile(r"[*<{]|\.\.\.|\b[A-Z]{2,}\b")


def spans(page):
    """(line number, backticked text) for the prose of a page."""
    text = page.read_text(encoding="utf-8")
    inside = {start + i for start, _, body in fenced_blocks(text) for i in range(len(body) + 2)}
    for number, line in enumerate(text.splitlines(), 1):
        if number not in inside:
            yield from ((number, m.group(1).strip()) for m in SPAN.finditer(line))


def repo_paths(page):
    for number, span in spans(page):
        if PATH.fullmatch(span) and not PLACEHOLDER.search(span):
            yield number, span


def dotted_names(page):
    for number, span in spans(page):
        if DOTTED.fullmatch(span) and not span.endswith(".py"):
            yield number, span.removesuffix("()")


def resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


PAGES = pages()
IDS = [p.relative_to(ROOT).as_posix() for p in PAGES]


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_named_file_exists(page):
    missing = [f"{place(page, n)}: `{path}`" for n, path in repo_paths(page)
               if not (ROOT / path).exists() or (path.endswith("/") and not (ROOT / path).is_dir())]
    assert not missing, "named but missing:\n" + "\n".join(missing)


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_named_function_resolves(page):
    broken = [f"{place(page, n)}: `{name}`" for n, name in dotted_names(page)
              if not resolves(name)]
    assert not broken, "named but not importable:\n" + "\n".join(broken)


def test_the_rules_pick_what_they_should(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("`microgpt/model.py` `docs/img/NAME.svg` `out/x.json` `img/a.svg`\n"
                    "`microgpt_trace.microgpt.model.GPT.forward` `microgpt.py` "
                    "`microgpt_trace.tracer.graph.trace()`\n"
                    "```sh\n`microgpt/nothing.py`\n```\n`a b/c`\n", encoding="utf-8")
    assert list(repo_paths(page)) == [(1, "microgpt/model.py")]
    assert list(dotted_names(page)) == [(2, "microgpt_trace.microgpt.model.GPT.forward"),
                                        (2, "microgpt_trace.tracer.graph.trace")]
    assert resolves("microgpt_trace.microgpt.model.GPT.forward")
    assert resolves("microgpt_trace.tracer.graph.trace")
    assert not resolves("microgpt_trace.microgpt.model.GPT.nothing")
    assert not resolves("nothing.at.all")
