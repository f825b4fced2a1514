"""Every ```python block in README.md and docs/ (both languages) is code that runs today.

A block either runs, or names the function it is an excerpt of:

- An excerpt has `<!-- excerpt: microgpt_trace.module.function -->` as the last line
  before its fence. Its code lines, without comments (a translation may translate them)
  and without indentation, must appear in that order in the function's source
  (`inspect.getsource`); a `...` line stands for lines left out.
- Any other block runs as a program of its own, with this Python, in an empty folder
  (with an `out` folder in it, for the blocks that write there). Its shown output is
  checked: a `print(...)  # shown` line must print what its comment starts with (the
  comment may go on after a space or a sign, not a letter, digit or point), and a one-line paragraph followed by an
  indented block right after the fence ("prints") is the program's whole output.
"""

import inspect
import io
import os
import re
import subprocess
import sys
import tokenize
from dataclasses import dataclass
from importlib import import_module

import pytest

from .transcripts import fenced_blocks, pages, place

EXCERPT = re.compile(r"<!--\s*excerpt:\s*([\w.]+)\s*-->")
MARK = "#docs-test-mark:"  # a line the runner prints after each print whose output is shown
NEEDS_DOT = ("mt.draw(", "mt.animate(", "write_diagram(")  # they run Graphviz's dot


@dataclass(frozen=True)
class Block:
    where: str  # file:line of the opening fence
    code: str
    excerpt: str | None  # the dotted name it is an excerpt of
    output: tuple | None  # the output shown after it, one line each


def python_blocks(page):
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    for start, tag, body in fenced_blocks("\n".join(lines)):
        if tag != "python":
            continue
        before = [line for line in lines[:start - 1] if line.strip()]
        named = EXCERPT.fullmatch(before[-1].strip()) if before else None
        found.append(Block(place(page, start), "\n".join(body) + "\n",
                           named[1] if named else None,
                           shown_output(lines[start + len(body) + 1:])))
    return found


def shown_output(after):
    """The indented block after a one-line paragraph right after the fence, or None."""
    rest = list(after)
    while rest and not rest[0].strip():
        rest.pop(0)
    if len(rest) < 3 or rest[0].startswith(" ") or rest[1].strip() or \
            not rest[2].startswith("    "):
        return None
    output = []
    for line in rest[2:]:
        if line.strip() and not line.startswith("    "):
            break
        output.append(line[4:])
    while output and not output[-1].strip():
        output.pop()
    return tuple(output)


def all_blocks():
    return [block for page in pages() for block in python_blocks(page)]


def code_lines(text):
    """The lines of `text` without comments, indentation and blank lines; `...` kept."""
    out = []
    for line in text.splitlines():
        code = without_comment(line).strip()
        if code:
            out.append(code)
    return out


def without_comment(line):
    """The line up to a `#` that is not inside a string."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def source_of(dotted):
    """inspect.getsource of microgpt_trace.a.b.name (or a method: ...Class.name)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return inspect.getsource(obj)
    raise ImportError(dotted)


def in_order(wanted, source):
    """The first of `wanted` not found in `source` after the ones before it, or None."""
    at = 0
    for line in wanted:
        if line == "...":
            continue
        try:
            at = source.index(line, at) + 1
        except ValueError:
            return line
    return None


def with_marks(code):
    """The program, a mark printed after each `print(...)  # shown` line; and what each
    mark's print must show, by mark number."""
    comments, ends = {}, set()
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
        elif tok.type == tokenize.NEWLINE:
            ends.add(tok.start[0])
    lines, expected = [], {}
    for number, line in enumerate(code.splitlines(), 1):
        lines.append(line)
        if line.lstrip().startswith("print(") and number in comments and number in ends:
            indent = line[:len(line) - len(line.lstrip())]
            expected[len(expected)] = comments[number]
            lines.append(f"{indent}print({MARK!r} + {str(len(expected) - 1)!r})")
    return "\n".join(lines) + "\n", expected


def run(code, folder):
    (folder / "out").mkdir()
    result = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                            text=True, encoding="utf-8", timeout=300,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split("\n")[:-1]  # (splitlines splits at \x1c-\x1e too)


def marks(block):
    return [pytest.mark.exe] if any(name in block.code for name in NEEDS_DOT) else []


BLOCKS = all_blocks()
EXCERPTS = [b for b in BLOCKS if b.excerpt]
PROGRAMS = [b for b in BLOCKS if not b.excerpt]


def test_the_output_shown_after_a_block():
    assert shown_output(["", "prints", "", "    1 2", "    3", "", "Then"]) == ("1 2", "3")
    assert shown_output(["", "A paragraph", "that goes on.", "", "    1"]) is None
    assert shown_output(["", "Then a paragraph."]) is None


def test_every_page_is_read():
    assert len(EXCERPTS) >= 12 and len(PROGRAMS) >= 9
    assert {b.where.split(":")[0] for b in BLOCKS} >= {"README.md", "docs/code.md",
                                                       "docs/ja/code.md"}


@pytest.mark.parametrize("block", EXCERPTS, ids=lambda b: b.where)
def test_an_excerpt_is_the_named_functions_code(block):
    source = code_lines(source_of(block.excerpt))
    missing = in_order(code_lines(block.code), source)
    assert missing is None, (f"{block.where}: {missing!r} is not in {block.excerpt} "
                             "(in this order)")


@pytest.mark.parametrize("block", [pytest.param(b, marks=marks(b)) for b in PROGRAMS],
                         ids=lambda b: b.where)
def test_a_block_runs_and_prints_what_it_shows(block, tmp_path):
    code, expected = with_marks(block.code)
    lines = run(code, tmp_path)
    printed = [line for line in lines if not line.startswith(MARK)]
    assert sum(line.startswith(MARK) for line in lines) == len(expected)
    for i, line in enumerate(lines):
        if line.startswith(MARK):
            shown, out = expected[int(line[len(MARK):])], lines[i - 1]
            assert re.match(re.escape(out) + r"(?![\w.])", shown), \
                f"{block.where}: printed {out!r}, the comment shows {shown!r}"
    if block.output is not None:
        assert tuple(printed) == block.output, f"{block.where}: the output shown differs"
