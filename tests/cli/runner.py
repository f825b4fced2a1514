"""One way to invoke the CLI in tests, with stderr kept apart from stdout."""

from click.testing import CliRunner

from microgpt_trace.cli import cli


def invoke(*args, **kwargs):
    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2: stderr is always separate
    return runner.invoke(cli, [str(a) for a in args], **kwargs)
