"""The commands the docs list without running them (```sh blocks) still parse: every
`microgpt-trace ...` line there names a command and options that exist, with values
of the right type. Running is for ```console transcripts (test_transcripts.py); this
only parses, so a renamed or dropped flag cannot linger in a list of examples."""

import shlex

import click
import pytest

from microgpt_trace.cli import cli

from .transcripts import fenced_blocks, pages, place

SHELL_TAGS = ("sh", "bash", "shell")
PROGRAM = "microgpt-trace"


def listed_commands():
    for page in pages():
        for start, tag, body in fenced_blocks(page.read_text(encoding="utf-8")):
            if tag not in SHELL_TAGS:
                continue
            for offset, line in enumerate(body, 1):
                words = shlex.split(line, comments=True)
                if words and words[0] == PROGRAM:
                    yield pytest.param(words[1:], id=place(page, start + offset))


def parse(args):
    """Parse like the CLI would, without invoking the command. The parent context
    carries the group's settings (-h), which click caches on the command."""
    name, *rest = args
    parent = click.Context(cli, **cli.context_settings)
    command = cli.get_command(parent, name)
    if command is None:
        raise click.UsageError(f"no such command {name!r}")
    command.make_context(name, rest, parent=parent).close()


@pytest.mark.parametrize("args", list(listed_commands()))
def test_a_listed_command_parses(args):
    try:
        parse(args)
    except click.ClickException as e:
        pytest.fail(f"`{PROGRAM} {shlex.join(args)}`: {e.format_message()}")


def test_a_wrong_flag_is_caught():
    parse(["expr", "a*b", "--edge-labels"])
    with pytest.raises(click.UsageError):
        parse(["expr", "a*b", "--no-such-flag"])
    with pytest.raises(click.UsageError):
        parse(["exprs", "a*b"])
