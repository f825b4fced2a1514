"""One way to invoke the CLI in tests, with stderr kept apart from stdout."""

from click.testing import CliRunner

from microgpt_trace.cli import cli


def invoke(*args, **kwargs):
    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2: stderr is always separate
    return runner.invoke(cli, [str(a) for a in args], **kwargs)


def assert_one_line_error(result, *fragments, code=None):
    """One line, except that an expression error adds the text with a caret under it."""
    assert result.exit_code != 0 if code is None else result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("Error:"), result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert len(lines) == 1 or lines[-1].strip() == "^", result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
