"""Each Japanese chapter records the English chapter it follows (a sha256 on its first
line), and the check names the ones whose English chapter changed since."""

import shutil
from pathlib import Path

import pytest

from microgpt_trace.docs_translations import (
    FOLLOWS,
    JAPANESE_ONLY,
    TranslationError,
    english_digest,
    mark_translated,
    stale_translations,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def docs_copy(tmp_path):
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("img"))
    return tmp_path


def test_every_japanese_chapter_follows_its_english_chapter_as_committed():
    japanese = sorted(p for p in (ROOT / "docs" / "ja").glob("*.md")
                      if p.name not in JAPANESE_ONLY)
    assert len(japanese) >= 11
    for chapter in japanese:
        first = chapter.read_text(encoding="utf-8").split("\n", 1)[0]
        assert FOLLOWS.fullmatch(first), f"{chapter.name}: {first!r}"
    assert stale_translations(ROOT) == []


def test_a_japanese_only_page_follows_nothing():
    assert all((ROOT / "docs" / "ja" / name).is_file() for name in JAPANESE_ONLY)
    assert not any((ROOT / "docs" / name).exists() for name in JAPANESE_ONLY)


def test_a_changed_english_chapter_names_its_translation(docs_copy):
    english = docs_copy / "docs" / "gpt.md"
    english.write_bytes(english.read_bytes().replace(b"the", b"teh", 1))
    assert stale_translations(docs_copy) == [
        "docs/ja/gpt.md follows an older docs/gpt.md (changed since)"]


def test_marking_records_the_english_chapter_as_it_is_now(docs_copy):
    english, japanese = docs_copy / "docs" / "adam.md", docs_copy / "docs" / "ja" / "adam.md"
    english.write_text("# Adam\n\nNew.\n", encoding="utf-8")
    body = japanese.read_text(encoding="utf-8").split("\n", 1)[1]
    line, = mark_translated(docs_copy, ["docs/ja/adam.md"])
    assert line == f"<!-- follows: docs/adam.md sha256:{english_digest(english)} -->"
    assert japanese.read_text(encoding="utf-8") == f"{line}\n{body}"  # the rest untouched
    assert stale_translations(docs_copy) == []
    assert mark_translated(docs_copy, [japanese]) == [line]  # again: the same line, once
    assert japanese.read_text(encoding="utf-8") == f"{line}\n{body}"


def test_a_chapter_without_the_line_gets_it_added(docs_copy):
    japanese = docs_copy / "docs" / "ja" / "summary.md"
    body = japanese.read_text(encoding="utf-8").split("\n", 1)[1]
    japanese.write_text(body, encoding="utf-8")
    assert stale_translations(docs_copy) == [
        "docs/ja/summary.md does not record the English text it follows (after checking "
        "it: microgpt-trace docs --mark-translated docs/ja/summary.md)"]
    mark_translated(docs_copy, ["docs/ja/summary.md"])
    assert japanese.read_text(encoding="utf-8").split("\n", 1)[1] == body
    assert stale_translations(docs_copy) == []


def test_a_chapter_with_no_english_one_is_named_and_not_marked(docs_copy):
    extra = docs_copy / "docs" / "ja" / "extra.md"
    extra.write_text("# 余分\n", encoding="utf-8")
    assert stale_translations(docs_copy) == [
        "docs/ja/extra.md has no English chapter docs/extra.md"]
    before = (docs_copy / "docs" / "ja" / "adam.md").read_bytes()
    with pytest.raises(TranslationError, match="no English chapter docs/extra.md"):
        mark_translated(docs_copy, ["docs/ja/adam.md", "docs/ja/extra.md"])
    assert (docs_copy / "docs" / "ja" / "adam.md").read_bytes() == before  # nothing written
    with pytest.raises(TranslationError, match="'docs/adam.md' is not a Japanese chapter"):
        mark_translated(docs_copy, ["docs/adam.md"])
