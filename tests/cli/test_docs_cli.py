"""`docs`: the committed diagrams are current, stale ones are named, and the chapters
link every diagram and quote the command that draws it."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

from microgpt_trace.commands import docs as docs_command
from microgpt_trace.docs_build import DIAGRAMS, IMG_DIR, build_docs, diagram_dot, traced_text

from .runner import invoke

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LANGUAGES = {"en": DOCS, "ja": DOCS / "ja"}  # the chapters of each language
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


@pytest.fixture(scope="module", autouse=True)
def free_model_graphs():
    """diagram_dot keeps the traced model graphs cached; don't hold them all session."""
    yield
    traced_text.cache_clear()


@pytest.fixture
def docs_copy(tmp_path, monkeypatch):
    """A copy of docs/ under tmp_path, which the `docs` command then treats as root."""
    shutil.copytree(DOCS, tmp_path / "docs")
    monkeypatch.setattr(docs_command, "ROOT", tmp_path)
    return tmp_path


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_check_passes_on_the_committed_tree():
    result = invoke("docs", "--check")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout == "docs/img is current\n"


def test_an_altered_dot_is_reported_alone_and_nothing_is_written(docs_copy):
    dot = docs_copy / IMG_DIR / "worked.dot"
    dot.write_text(dot.read_text().replace("grad", "GRAD"))
    before = snapshot(docs_copy)
    assert build_docs(docs_copy, check=True) == ["docs/img/worked.dot"]
    result = invoke("docs", "--check")
    assert result.exit_code == 1
    assert result.stderr == ("Error: out of date: docs/img/worked.dot; "
                             "regenerate with: microgpt-trace docs\n")
    assert snapshot(docs_copy) == before


def test_a_missing_svg_and_a_missing_dot_are_reported(docs_copy):
    (docs_copy / IMG_DIR / "head.svg").unlink()
    (docs_copy / IMG_DIR / "reuse.dot").unlink()
    assert build_docs(docs_copy, check=True) == ["docs/img/reuse.dot", "docs/img/head.svg"]


@pytest.mark.exe
def test_docs_regenerates_what_check_then_accepts(docs_copy):
    shutil.rmtree(docs_copy / IMG_DIR)
    (docs_copy / IMG_DIR).mkdir()
    result = invoke("docs")
    assert result.exit_code == 0, result.output + result.stderr
    written = sorted(p.name for p in (docs_copy / IMG_DIR).iterdir())
    assert written == sorted(f"{d.name}.{ext}" for d in DIAGRAMS for ext in ("dot", "svg"))
    assert build_docs(docs_copy, check=True) == []
    for d in DIAGRAMS:  # the same DOT bytes as the committed ones
        assert (docs_copy / IMG_DIR / f"{d.name}.dot").read_bytes() == \
            (ROOT / IMG_DIR / f"{d.name}.dot").read_bytes()
        assert (docs_copy / IMG_DIR / f"{d.name}.svg").read_bytes().startswith(b"<?xml")


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_linked_image_exists(page):
    for link in IMAGE.findall(page.read_text(encoding="utf-8")):
        assert (page.parent / link).is_file(), f"{page.name} links a missing {link}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_shows_every_diagram_and_its_command(language):
    """Some chapter of the language shows each diagram, with its command row."""
    shown, text = set(), ""
    for chapter in sorted(LANGUAGES[language].glob("*.md")):
        chapter_text = chapter.read_text(encoding="utf-8")
        shown |= {(chapter.parent / link).resolve() for link in IMAGE.findall(chapter_text)}
        text += chapter_text
    for d in DIAGRAMS:
        assert (ROOT / IMG_DIR / f"{d.name}.svg").resolve() in shown, d.name
        assert f"| `docs/img/{d.name}.svg` | `microgpt-trace {d.command}` |" in text, d.name


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda d: d.name)
def test_the_quoted_command_draws_the_same_dot(diagram, tmp_path):
    result = invoke(*shlex.split(diagram.command), "-o", tmp_path / "d.dot")
    assert result.exit_code == 0, result.output + result.stderr
    assert (tmp_path / "d.dot").read_text(encoding="utf-8") == diagram_dot(diagram)
