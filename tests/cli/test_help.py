"""Every command has help, the group lists them all, and the entry points work.

Commands are read from COMMANDS at collection time, so new ones are covered as
soon as they are registered.
"""

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from microgpt_trace.cli import COMMANDS, cli
from microgpt_trace.microgpt import __version__

HEAVY = ("matplotlib", "numpy", "PIL", "playwright", "imageio")


def flat(text):
    return " ".join(text.split())


def test_group_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    for name, (_, short) in COMMANDS.items():
        assert f"{name} {short}" in flat(result.output), name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_help_mentions_its_options(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {name} ")
    command = cli.get_command(None, name)
    assert command.help, f"{name} has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert any(opt in result.output for opt in param.opts), (name, param.opts)
        elif isinstance(param, click.Argument):
            assert param.human_readable_name in result.output, (name, param.name)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_short_help_option(name):
    assert CliRunner().invoke(cli, [name, "-h"]).output == CliRunner().invoke(
        cli, [name, "--help"]).output


def test_version_is_the_package_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"microgpt-trace, version {__version__}\n"
    assert __version__ == importlib.metadata.version("microgpt-trace")


def test_unknown_command_is_one_line():
    result = CliRunner().invoke(cli, ["bogus"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: No such command 'bogus'. (see 'cli --help')"]


def test_python_dash_m():
    result = subprocess.run([sys.executable, "-m", "microgpt_trace", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: microgpt-trace [OPTIONS] COMMAND")
    assert result.stderr == ""


def test_console_script():
    script = Path(sys.executable).parent / "microgpt-trace"
    if not script.exists():
        pytest.skip(f"package not installed in {sys.prefix} (pip install -e .)")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"microgpt-trace, version {__version__}\n")


HEAVY_IMPORTS = """
import json, sys
from microgpt_trace.cli import COMMANDS, cli

def loaded():
    return sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))

def run(args):
    try:
        cli(args, prog_name="microgpt-trace")
    except SystemExit:
        pass
    return loaded()

seen = {"--help": run(["--help"]),
        "commands": sorted(m for m in sys.modules if m.startswith("microgpt_trace.commands."))}
seen.update({name: run([name, "--help"]) for name in COMMANDS})
sys.stderr.write(json.dumps(seen))
"""


def test_help_imports_no_heavy_dependency():
    """`--help` must start fast: heavy packages are imported inside the code that draws."""
    code = f"HEAVY = {HEAVY!r}\n{HEAVY_IMPORTS}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stderr)
    assert seen.pop("commands") == []  # the group lists commands without importing them
    assert seen == {key: [] for key in seen}
