"""The click group; each command lives in its own module under commands/.

Commands are imported lazily so `--help` and `expr` start fast, and every error a
user can cause surfaces as one line on stderr with a non-zero exit, no traceback.
"""

import errno
import importlib
import os
import signal
import sys
import traceback

import click

from . import __version__

__all__ = ["cli", "COMMANDS"]

# command name -> (module under microgpt_trace.commands, one-line help)
COMMANDS = {
    "expr": ("expr", "Trace an expression, print its nodes, draw it."),
    "head": ("head", "Draw one attention head at one position."),
    "model": ("model_blocks", "Draw the whole model on a text, collapsed into blocks."),
    "scope": ("scope", "Draw any scope of the model (an MLP, an RMSNorm, ...) at op level."),
    "explore": ("explore", "Explore a traced model or expression in one offline page."),
    "export": ("export", "Write a traced graph as GraphML, GEXF or JSON."),
    "train": ("train", "Train the scalar GPT and write a checkpoint."),
    "sample": ("sample", "Generate names from a checkpoint."),
    "adam": ("adam", "Show one weight's next Adam update, number by number."),
    "step": ("step", "Step through backward one node at a time in the terminal."),
    "backward": ("backward", "Animate backward: SVG frames, a GIF or an HTML stepper."),
    "report": ("report", "Draw the training panels and an HTML report from a metrics log."),
    "serve": ("serve", "Follow a metrics log live in the browser."),
    "docs": ("docs", "Regenerate the diagrams in docs/img, or --check they are current."),
}


def user_errors():
    """Exception types whose message is meant for the user, not a traceback."""
    from microgpt_trace.microgpt.exceptions import MicrogptError
    from microgpt_trace.renderers.exceptions import RenderError
    from microgpt_trace.tracer.exceptions import TracerError

    return (MicrogptError, TracerError, RenderError)


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"microgpt_trace.commands.{COMMANDS[name][0]}")
        return getattr(module, name)

    def parse_args(self, ctx, args):
        if not args:  # asking for nothing is asking for help, not a usage error
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def format_commands(self, ctx, formatter):
        # Short help from the table above, so listing commands imports none of them.
        rows = [(name, short) for name, (_, short) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise  # --help, --version: no need to import the error types below
        except click.UsageError as e:
            raise OneLineUsageError(e) from None
        except user_errors() as e:
            raise click.ClickException(one_line(e)) from None
        except OSError as e:
            # stdout closed (`| head`) or full: later writes, even at exit, go nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            if e.errno == errno.EPIPE:
                ctx.exit(128 + signal.SIGPIPE)  # quietly, as `yes | head` does
            raise click.ClickException(os_error_line(e)) from None


def os_error_line(error):
    """An OSError no library caught: in click.echo, standard output failed (full)."""
    frames = traceback.extract_tb(error.__traceback__)
    if any(f.name == "echo" and f.filename.endswith(os.path.join("click", "utils.py"))
           for f in frames):
        return f"cannot write to standard output: {error.strerror or error}"
    return one_line(f"{error.strerror or error}" + (f": {error.filename!r}"
                                                      if error.filename else ""))


def one_line(error):
    """The error's message with control, bidi and line-break characters escaped, so
    it stays one line and cannot drive the terminal; an expression error keeps the
    text-and-caret lines its str() adds (already escaped)."""
    from microgpt_trace.tracer.exceptions import ExpressionError
    from microgpt_trace.tracer.text import printable

    message = str(error)
    if isinstance(error, ExpressionError):
        return message
    return printable(message)


class OneLineUsageError(click.ClickException):
    """A bad option as one line naming the command's --help, keeping exit code 2."""

    exit_code = 2

    def __init__(self, error):
        where = error.ctx.command_path if error.ctx else "microgpt-trace"
        from microgpt_trace.tracer.text import printable

        super().__init__(printable(f"{error.format_message()} (see '{where} --help')"))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="microgpt-trace")
def cli():
    """Make backpropagation visible: trace, draw and animate a scalar GPT.

    \b
    Start here:
      microgpt-trace expr "a*b + a" -o graph.svg
      microgpt-trace backward "a*b + a" -o backward.html
      microgpt-trace head --text anna --pos 3 --head 2 -o head.svg
      microgpt-trace sample
    """
