"""Which English text each Japanese chapter follows, and which fell behind.

The first line of docs/ja/NAME.md records the English chapter it translates, as the
sha256 of docs/NAME.md's bytes when the translation was last brought up to date
(the first 12 hex digits):

    <!-- follows: docs/adam.md sha256:0123456789ab -->

An HTML comment, so neither GitHub nor a site shows it. When the English chapter
changes, its hash no longer matches and `docs --check` names the Japanese chapter;
after updating the translation, `docs --mark-translated docs/ja/NAME.md` records the
English chapter's hash as it is now.
"""

import hashlib
import re
from pathlib import Path

__all__ = ["FOLLOWS", "english_digest", "follows_line", "stale_translations",
           "mark_translated", "TranslationError"]

FOLLOWS = re.compile(r"<!-- follows: (\S+) sha256:([0-9a-f]{12}) -->")
DIGITS = 12  # hex digits of the sha256 kept: a one-line comment, no collision in practice
JAPANESE_ONLY = ("terms.md",)  # the translation's own style guide translates nothing


class TranslationError(ValueError):
    """The path is not a Japanese chapter with an English one to follow."""


def english_digest(path: Path) -> str:
    """The first 12 hex digits of the sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGITS]


def follows_line(root: Path, name: str) -> str:
    """The first line docs/ja/`name` carries when it follows docs/`name` as it is now."""
    return f"<!-- follows: docs/{name} sha256:{english_digest(root / 'docs' / name)} -->"


def stale_translations(root) -> list:
    """One line per Japanese chapter that does not follow its English chapter as it is
    now (changed since, no record, no English chapter), by file name; [] when all do."""
    root = Path(root)
    found = []
    for japanese in sorted((root / "docs" / "ja").glob("*.md")):
        if japanese.name in JAPANESE_ONLY:
            continue
        name = f"docs/ja/{japanese.name}"
        english = root / "docs" / japanese.name
        first = japanese.read_text(encoding="utf-8").split("\n", 1)[0]
        recorded = FOLLOWS.fullmatch(first)
        if not english.is_file():
            found.append(f"{name} has no English chapter docs/{japanese.name}")
        elif recorded is None:
            found.append(f"{name} does not record the English text it follows (after "
                         f"checking it: microgpt-trace docs --mark-translated {name})")
        elif recorded[1] != f"docs/{japanese.name}":
            found.append(f"{name} says it follows {recorded[1]}, not docs/{japanese.name}")
        elif recorded[2] != english_digest(english):
            found.append(f"{name} follows an older docs/{japanese.name} (changed since)")
    return found


def mark_translated(root, paths) -> list:
    """Record in each Japanese chapter of `paths` (docs/ja/NAME.md, from root, or
    absolute) that it follows docs/NAME.md as it is now: its first line, added or
    replaced. Every path is checked before any file is written.

    Returns:
        The lines written, one per path.

    Raises:
        TranslationError: a path is not a file docs/ja/NAME.md with a docs/NAME.md.
    """
    root = Path(root).resolve()
    chapters = [japanese_chapter(root, path) for path in paths]
    lines = []
    for japanese in chapters:
        text = japanese.read_text(encoding="utf-8")
        first, _, rest = text.partition("\n")
        line = follows_line(root, japanese.name)
        japanese.write_text(f"{line}\n{rest if FOLLOWS.fullmatch(first) else text}",
                            encoding="utf-8")
        lines.append(line)
    return lines


def japanese_chapter(root, path):
    japanese = Path(path)
    japanese = (japanese if japanese.is_absolute() else root / japanese).resolve()
    if japanese.parent != root / "docs" / "ja" or japanese.suffix != ".md" \
            or not japanese.is_file():
        raise TranslationError(f"{str(path)!r} is not a Japanese chapter: give "
                               "docs/ja/NAME.md (a file of the checkout's docs/ja)")
    if not (root / "docs" / japanese.name).is_file():
        raise TranslationError(f"{str(path)!r} has no English chapter "
                               f"docs/{japanese.name} to follow")
    return japanese
