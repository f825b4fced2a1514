"""Links between the docs land: every relative Markdown link names a file that exists
and, with a #fragment, a heading of that page (anchors made as GitHub makes them),
so moving a section between chapters cannot leave a link behind."""

import re
from pathlib import Path

import pytest

from .transcripts import ROOT, fenced_blocks, pages, place

LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def prose(text: str) -> str:
    """The page without its fenced blocks, whose brackets are code, not links."""
    lines = text.splitlines()
    for start, _, body in fenced_blocks(text):
        for i in range(start - 1, start + len(body) + 1):
            lines[i] = ""
    return "\n".join(lines)


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation (ASCII or full-width)
    dropped, spaces to hyphens; letters of any script stay."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set:
    return {anchor(m.group(1)) for line in prose(page.read_text(encoding="utf-8")).splitlines()
            if (m := HEADING.match(line))}


def links():
    for page in pages():
        for number, line in enumerate(prose(page.read_text(encoding="utf-8")).splitlines(), 1):
            for target in LINK.findall(line):
                if not re.match(r"[a-z]+:", target):
                    yield pytest.param(page, target, id=f"{place(page, number)} {target}")


def test_anchor_follows_github():
    assert anchor("4.1 The whole picture") == "41-the-whole-picture"
    assert anchor("4.2 埋め込み：使われた行だけが学ぶ") == "42-埋め込み使われた行だけが学ぶ"
    assert anchor("The worked example: `a*b + a`") == "the-worked-example-ab--a"


@pytest.mark.parametrize("page, target", list(links()))
def test_a_link_lands(page, target):
    path, _, fragment = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    assert linked.exists(), f"{target}: no such file"
    assert linked.is_relative_to(ROOT), f"{target}: outside the repository"
    if fragment and linked.suffix == ".md":
        assert fragment in anchors(linked), f"{target}: no such heading in {linked.name}"
