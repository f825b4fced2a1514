"""The live page's server: it follows a metrics log and pushes each new record to the page.

The metrics log is the one channel. Every open page gets its own stream (Server-Sent
Events, GET /events) from a thread that reads the file from where that page left off
and sends each complete new line as one event whose id is the byte offset after it; a
page that reconnects (EventSource does so by itself) sends that id back as
Last-Event-ID and continues from there. Training only writes the file: no queue, no
lock and no socket sits between the trainer and a reader, so a slow or closed tab can
only slow its own thread. A file that shrinks (a resumed run drops the steps after its
checkpoint, a new run starts over) sends `reset`, then the file from its start.

What the report computes over all of a run's snapshots, the server computes over the
snapshots the page has received, with the report's own functions (renderers/panels/live.py
live_view): after each batch of lines that brings a snapshot, a `view` event carries the
colour scales and the embeddings on the principal directions of the newest snapshot.
For a finished log that is the report's view exactly; while a run goes on, the axes are
re-based when a new snapshot lands. Everything else the page draws from the records as
written.

A training run in this process (`train --live`) hands over its Controls: the page's
POSTs to /pause, /resume and /stop set them and the run checks them between steps
(stop is the Ctrl-C path: the signal list train_run already reads). While paused,
GET /explore traces the snapshot text at the current weights and returns its explorer
page (what `microgpt-trace explore` draws: blocks down to ops, every view laid out). Without a run
(`serve --log`), the controls answer 409 and the page hides them.

The server is the standard library's ThreadingHTTPServer in a daemon thread: one
thread per connection, nothing to install, nothing to configure.
"""

import errno
import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["LiveServer", "Controls", "LiveError", "free_port", "LOOPBACK", "POLL"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
POLL = 0.1  # seconds between looks at the log's size: a new line shows within 0.2 s
HEARTBEAT = 10.0  # seconds between comment lines: a closed tab is noticed, its thread ends
CHUNK = 1 << 22  # bytes read per look: a long finished log streams in pieces
SEND_TIMEOUT = 60  # seconds a tab may stall a write before its stream is dropped
DRAIN = 1.5  # seconds close() gives the open pages to receive the last lines


class LiveError(Exception):
    """The server cannot start: the port is taken, the address is not ours, ..."""


def free_port(host="127.0.0.1"):
    """A port nobody listens on now (the system picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Controls:
    """Pause, resume and stop for a training run in this process, set from the page.

    `between_steps` is train_run's on_step: it returns at once unless the page paused
    the run, then waits (no step runs) until resume or stop. Stop appends SIGINT to
    the run's `stop` list, exactly what the Ctrl-C handler does.
    """

    def __init__(self, stop, state=None, snapshot_text=None):
        self.stop = stop
        self.state = state  # the TrainState, read by explore while the run is paused
        self.snapshot_text = snapshot_text
        self.running = threading.Event()
        self.running.set()
        self.model = threading.Lock()  # held by explore; the run waits for it to resume
        self.paused_at = None  # the step the run is waiting after, while paused
        self.changed = threading.Condition()
        self.version = 0

    def _bump(self):
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def pause(self):
        self.running.clear()
        self._bump()

    def resume(self):
        self.running.set()
        self._bump()

    def request_stop(self):
        if not self.stop:
            self.stop.append(signal.SIGINT)
        self.running.set()
        self._bump()

    def between_steps(self, metrics=None):
        """Wait while paused (Ctrl-C still ends the wait); then run on."""
        if self.running.is_set():
            return
        self.paused_at = self.state.step if self.state else getattr(metrics, "step", None)
        self._bump()
        while not self.running.wait(0.1) and not self.stop:
            pass
        with self.model:  # an explore in progress finishes first
            self.paused_at = None
        self._bump()

    def status(self):
        if self.stop:
            return {"state": "stopping"}
        if self.paused_at is not None:
            return {"state": "paused", "step": self.paused_at}
        return {"state": "pausing" if not self.running.is_set() else "training"}

    def explore(self):
        """The snapshot text's explorer page at the paused run's weights, as HTML bytes."""
        with self.model:
            if self.paused_at is None:
                raise LookupError("pause the run first: the weights change at every step")
            return explore_page(self.state, self.snapshot_text, self.paused_at)


def traced(state, text):
    """The snapshot text's graph at the current weights; the weights' grads back at 0."""
    from microgpt_trace.tracer.model_trace import trace_text

    try:
        return trace_text(state.model, state.tokenizer, text)
    finally:
        for p in state.model.parameters():
            p.grad = 0.0  # a Value step accumulates into p.grad: leave it as Adam did


def explore_page(state, text, step):
    from microgpt_trace.renderers.explorer.page import explorer_page

    title = f"{text!r} at the weights after step {step}"
    return explorer_page(traced(state, text), title=title).encode("utf-8")


class LiveServer:
    """Serve the live page of one metrics log at http://HOST:PORT/ from a daemon thread.

    Args:
        log_path: the metrics log to follow (it may not exist yet).
        host: the address to bind [default: loopback only].
        port: 0 picks a free one.
        controls: a Controls of a run in this process, or None (the page hides them).

    Raises:
        LiveError: the port is in use (naming a free one) or the address cannot be bound.
    """

    def __init__(self, log_path, host="127.0.0.1", port=0, controls=None):
        self.log_path = Path(log_path)
        self.controls = controls
        self.closing = threading.Event()
        self.final = None  # how the run ended, for pages that are still open
        self.streams = 0
        self.lock = threading.Lock()
        server_class = ThreadingHTTPServer
        if ":" in host:
            server_class = type("V6Server", (ThreadingHTTPServer,),
                                {"address_family": socket.AF_INET6})
        try:
            self.httpd = server_class((host, port), Handler)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise LiveError(f"port {port} on {host} is in use; try --port "
                                f"{free_port(host)}") from None
            raise LiveError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
        self.httpd.daemon_threads = True
        self.httpd.live = self
        self.host, self.port = host, self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.2}, daemon=True,
                                       name="microgpt-trace live")

    @property
    def url(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self):
        self.thread.start()
        return self

    def status(self):
        status = {"log": self.log_path.name, "controls": self.controls is not None}
        if self.final:
            status.update(state=self.final)
        elif self.controls:
            status.update(self.controls.status())
        else:
            status.update(state="following")
        return status

    def close(self, final="finished", drain=DRAIN):
        """Tell the open pages how the run ended, let them read the log to its end
        (at most `drain` seconds), then stop serving."""
        self.final = final
        self.closing.set()
        deadline = time.monotonic() + drain
        while self.streams and time.monotonic() < deadline:
            time.sleep(0.02)
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if not self.closing.is_set():
            self.close("server stopped", drain=0.5)


def new_lines(path, offset):
    """(complete lines after byte `offset` with the offset after each, the new offset,
    whether the file shrank below `offset` and is read again from 0)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return [], 0, offset > 0
    reset = size < offset
    offset = 0 if reset else offset
    if size == offset:
        return [], offset, reset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(min(size - offset, CHUNK))
    lines, start = [], 0
    while (end := data.find(b"\n", start)) >= 0:
        lines.append((data[start:end], offset + end + 1))
        start = end + 1
    return lines, offset + start, reset


def event_data(line):
    """(the JSON text a record's event carries, the record parsed), or (None, None) for
    a line that is not a record; a step record is passed on unparsed (record None)."""
    if line.startswith(b'{"type": "step", '):
        return line.decode("utf-8"), None  # as MetricsLog wrote it
    try:
        record = json.loads(line)
    except ValueError:
        return None, None
    if not isinstance(record, dict):
        return None, None
    return line.decode("utf-8"), record


def received_before(path, offset):
    """The snapshots among the log's lines before byte `offset`: a page that reconnects
    has them already, and the view it gets next is computed over them too."""
    from microgpt_trace.renderers.panels.live import ReceivedSnapshots

    received = ReceivedSnapshots()
    if offset > 0:
        try:
            with open(path, "rb") as f:
                head = f.read(offset)
        except OSError:
            return received
        for line in head.split(b"\n"):
            if line.startswith(b'{"type": "snapshot"'):
                received.add(event_data(line)[1])
    return received


class Handler(BaseHTTPRequestHandler):
    timeout = SEND_TIMEOUT
    server_version = "microgpt-trace-live"

    @property
    def live(self):
        return self.server.live

    def log_message(self, format, *args):
        pass  # the terminal shows the training, not a request log

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/":
            from microgpt_trace.renderers.panels.live import live_page

            self.reply(200, live_page(self.live.log_path.name), "text/html; charset=utf-8")
        elif url.path == "/events":
            self.stream()
        elif url.path == "/status":
            self.reply(200, json.dumps(self.live.status()), "application/json")
        elif url.path == "/favicon.ico":
            self.reply(204, b"", "image/x-icon")
        elif url.path == "/explore":
            self.explore()
        else:
            self.reply(404, "not found", "text/plain; charset=utf-8")

    def do_POST(self):
        controls, action = self.live.controls, urlparse(self.path).path.strip("/")
        if action not in ("pause", "resume", "stop"):
            return self.reply(404, "not found", "text/plain; charset=utf-8")
        # a custom header: a form on another site cannot send it without asking first
        if self.headers.get("X-Microgpt-Trace") != "live":
            return self.reply(403, "missing header X-Microgpt-Trace: live", "text/plain")
        if controls is None or self.live.final:
            return self.reply(409, "no training run to control here", "text/plain")
        {"pause": controls.pause, "resume": controls.resume,
         "stop": controls.request_stop}[action]()
        self.reply(200, json.dumps(self.live.status()), "application/json")

    def explore(self):
        controls = self.live.controls
        if controls is None or self.live.final:
            return self.reply(409, "no training run here: explore a checkpoint with "
                              "`microgpt-trace explore`", "text/plain; charset=utf-8")
        try:
            body = controls.explore()
        except LookupError as e:  # not paused
            return self.reply(409, str(e).strip("'\""), "text/plain; charset=utf-8")
        except Exception as e:  # dot missing or failing: say which
            return self.reply(400, str(e), "text/plain; charset=utf-8")
        self.reply(200, body, "text/html; charset=utf-8")

    def reply(self, code, body, kind):
        body = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def stream(self):
        """Server-Sent Events: status, then every record after Last-Event-ID, then new
        ones as they land; `end` once the server closes and the log is read out."""
        try:
            offset = max(0, int(self.headers.get("Last-Event-ID", "0")))
        except ValueError:
            offset = 0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        live = self.live
        with live.lock:
            live.streams += 1
        try:
            self.follow(live, offset)
        except (OSError, ValueError):
            pass  # the tab went away or stalled: only this stream ends
        finally:
            with live.lock:
                live.streams -= 1

    def follow(self, live, offset):
        sent_status, beat = None, time.monotonic()
        received = received_before(live.log_path, offset)
        self.send_event("retry", "", "2000")
        while True:
            closing = live.closing.is_set()  # read before the file: the last lines count
            lines, offset, reset = new_lines(live.log_path, offset)
            if reset:
                received = received_before(live.log_path, 0)
                self.send_event("reset", "", "{}", event_id="0")
            new_snapshot = False
            for line, end in lines:
                data, record = event_data(line)
                if data is not None:
                    self.send_event("record", data, event_id=str(end))
                    new_snapshot |= received.add(record)
            status = live.status()
            if status != sent_status:
                self.send_event("status", json.dumps(status))
                sent_status = status
            if new_snapshot and (view := received.view()) is not None:
                self.send_event("view", json.dumps(view, ensure_ascii=False))
            if lines:
                beat = time.monotonic()
                continue  # more may be waiting beyond this chunk
            if closing:
                self.send_event("end", json.dumps(status))
                return
            if time.monotonic() - beat > HEARTBEAT:
                self.wfile.write(b": still here\n\n")
                self.wfile.flush()
                beat = time.monotonic()
            time.sleep(POLL)

    def send_event(self, kind, data, raw=None, event_id=None):
        text = f"event: {kind}\n" if kind != "retry" else ""
        if kind == "retry":
            text += f"retry: {raw}\n\n"
        else:
            if event_id is not None:
                text += f"id: {event_id}\n"
            text += f"data: {raw if raw is not None else data}\n\n"
        self.wfile.write(text.encode("utf-8"))
        self.wfile.flush()
