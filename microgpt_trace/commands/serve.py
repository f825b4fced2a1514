import signal
import threading

import click

LOOPBACK_HELP = ("Address to listen on [default: 127.0.0.1, this machine only]; another "
                 "one lets others see the page and use its controls.")


def server_options(command):
    """--port and --host, the same for `serve` and `train --live`."""
    command = click.option("--host", default="127.0.0.1", show_default=False,
                           help=LOOPBACK_HELP)(command)
    return click.option("--port", type=click.IntRange(0, 65535), default=0,
                        help="Port of the page [default: a free one].")(command)


def start_server(log_path, host, port, controls=None):
    """A started LiveServer, with the warning a non-loopback address deserves."""
    from microgpt_trace.live import LOOPBACK, LiveError, LiveServer

    if host not in LOOPBACK:
        click.echo(f"warning: serving on {host}: anyone who can reach this machine can "
                   "see the run" + (" and pause or stop it" if controls else ""), err=True)
    try:
        return LiveServer(log_path, host, port, controls).start()
    except LiveError as e:
        raise click.ClickException(str(e)) from None


@click.command()
@click.option("--log", "log_path", required=True, type=click.Path(dir_okay=False),
              help="Metrics log written by `train --log`: a run going on elsewhere, or a "
              "finished one (it may not exist yet).")
@server_options
def serve(log_path, port, host):
    """Follow a metrics log in the browser: the live training page, without training.

    The page at the printed address draws the loss, learning rate and gradient norms
    of every step, and the snapshot panels of every snapshot, as the lines land in
    the log (within a second). Several tabs may be open; Ctrl-C stops the server.
    `train --live` is `train --log` plus this, with pause, resume and stop.

    \b
      microgpt-trace train --log run.jsonl &
      microgpt-trace serve --log run.jsonl
    """
    server = start_server(log_path, host, port)
    click.echo(server.url)
    click.echo(f"following {log_path}; Ctrl-C to stop", err=True)
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close("server stopped", drain=0.5)
