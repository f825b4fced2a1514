"""Every ```console transcript in README.md and docs/ (both languages) is what the
tool prints today.

Each block runs in a scratch folder of its own where the repository's `data/` and
`docs/` are visible (symlinks) and an empty `out/` exists for the files commands
write; its commands run in order there, through the installed `microgpt-trace` of
this interpreter, stdout and stderr merged as a terminal shows them (Python
unbuffered, so they interleave as they would). The output must equal the lines of
the transcript exactly, except for trailing whitespace on a line. The exit status is
not checked: a transcript may show an error on purpose.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .transcripts import ROOT, pages, transcripts

PROGRAM = "microgpt-trace"
EXECUTABLE = Path(sys.executable).parent / PROGRAM
VISIBLE = ("data", "docs")  # what a scratch folder shows of the repository
TIMEOUT = 120  # seconds per command; the docs ask for under ~10
# A transcript holding one of these commands takes over 5 s (measured alone, serially);
# the others take 0.1 to 3.5 s. By command, not by place, so an edit above it keeps it.
SLOW_COMMANDS = frozenset({
    "microgpt-trace docs --check",
    'microgpt-trace adam "layer0.mlp_fc1[3][5]"',
    "microgpt-trace train --steps 200 --snapshot-every 200 --log out/train-healthy.jsonl",
    "microgpt-trace train --steps 100 --layers 3 -o out/with.json",
})


def all_transcripts():
    return [t for page in pages() for t in transcripts(page)]


def marked(transcript):
    """Every transcript runs processes and some draw with dot (exe); a few are slow."""
    slow = any(command.line in SLOW_COMMANDS for command in transcript.commands)
    return pytest.param(transcript, marks=[pytest.mark.exe] + [pytest.mark.slow] * slow,
                        id=transcript.where)


def scratch(folder: Path) -> Path:
    for name in VISIBLE:
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    (folder / "out").mkdir()
    return folder


def run(command: str, folder: Path) -> list:
    """The lines `microgpt-trace ...` prints, stdout and stderr merged."""
    argv = shlex.split(command)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8",
           "COLUMNS": "80", "NO_COLOR": "1"}
    done = subprocess.run([str(EXECUTABLE), *argv[1:]], cwd=folder, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    return [line.rstrip() for line in done.stdout.decode("utf-8").splitlines()]


def test_the_docs_hold_transcripts():
    assert all_transcripts(), "no ```console block found in README.md or docs/"


def test_every_slow_command_is_in_a_transcript():
    shown = {command.line for t in all_transcripts() for command in t.commands}
    assert SLOW_COMMANDS <= shown, f"not in any transcript: {sorted(SLOW_COMMANDS - shown)}"


@pytest.mark.parametrize("transcript", [marked(t) for t in all_transcripts()])
def test_transcript(transcript, tmp_path):
    folder = scratch(tmp_path)
    for command in transcript.commands:
        words = shlex.split(command.line)
        assert words and words[0] == PROGRAM, (
            f"{transcript.where}: `$ {command.line}` is not a {PROGRAM} command; "
            "shell commands not to be run go in a block tagged sh, without `$ `")
        expected = [line.rstrip() for line in command.output]
        assert run(command.line, folder) == expected, f"{transcript.where}: $ {command.line}"
