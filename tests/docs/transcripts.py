"""The pages the docs tests read, and the ```console transcripts in them.

A transcript is a fenced block tagged `console`: a line starting with `$ ` is a
command, the lines after it (up to the next `$ ` line or the closing fence) are
its output. Blocks tagged anything else are never run.
"""

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "$ "


def pages() -> list:
    """README.md and every Markdown file under docs/ (both languages)."""
    return [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))


def place(page: Path, line: int) -> str:
    """file:line, the id a failing test names (the file relative to the repository)."""
    name = page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name
    return f"{name}:{line}"


@dataclass(frozen=True)
class Command:
    line: str  # what follows the prompt
    output: tuple  # the lines shown after it


@dataclass(frozen=True)
class Transcript:
    where: str  # file:line of the opening fence
    commands: tuple


def fenced_blocks(text: str):
    """(line number of the opening fence, its tag, the lines inside) per fenced block;
    a block indented in a list item loses the fence's indentation."""
    fence, start, tag, indent, body = None, 0, "", "", []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            if stripped.startswith(("```", "~~~")):
                fence, indent = stripped[:3], line[:len(line) - len(line.lstrip())]
                start, tag, body = number, stripped[3:].strip(), []
        elif stripped.startswith(fence) and not stripped.strip(fence[0]):
            yield start, tag, body
            fence = None
        else:
            body.append(line[len(indent):] if line.startswith(indent) else line)


def transcripts(page: Path) -> list:
    """The console blocks of one page. Output before the first `$ ` line becomes a
    command with an empty line, which the test then refuses by its place."""
    found = []
    for start, tag, body in fenced_blocks(page.read_text(encoding="utf-8")):
        if tag != "console":
            continue
        commands = []
        for line in body:
            if line.startswith(PROMPT):
                commands.append((line[len(PROMPT):], []))
            elif commands:
                commands[-1][1].append(line)
            else:
                commands.append(("", [line]))
        found.append(Transcript(place(page, start),
                                tuple(Command(c, tuple(out)) for c, out in commands)))
    return found
