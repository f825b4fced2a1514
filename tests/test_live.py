"""The live server (microgpt_trace.live): it streams the metrics log as it grows, and
pause, stop and explore act on a training run between its steps.

Every server binds 127.0.0.1 and is closed by the test that starts it; every wait is
bounded in time.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from microgpt_trace.live import LiveError, LiveServer, new_lines, received_before
from microgpt_trace.microgpt.runs.metrics import read_log
from microgpt_trace.microgpt.runs.train_run import train_run
from microgpt_trace.microgpt.train import TrainConfig, docs_digest, start
from microgpt_trace.renderers.panels.live import live_view

EXECUTABLE = Path(sys.executable).parent / "microgpt-trace"
TINY = ["--embd", "8", "--heads", "2", "--block-size", "8"]


@pytest.fixture
def tiny_data(tmp_path, tiny_docs):
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(tiny_docs) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny_log(tmp_path, tiny_docs):
    """A finished 6-step log with snapshots at steps 1, 4 and 6."""
    state = start(tiny_docs, TrainConfig(steps=6), n_embd=8, n_head=2, block_size=8)
    path = tmp_path / "run.jsonl"
    train_run(state, docs_digest(state.docs), log_path=path, probe_every=3)
    return path


@contextmanager
def serving(log_path, **kwargs):
    server = LiveServer(log_path, "127.0.0.1", 0, **kwargs).start()
    try:
        yield server
    finally:
        if not server.closing.is_set():
            server.close("server stopped", drain=0)


def events(server, count, last_id=None, timeout=10):
    """The first `count` events of /events as (kind, id, data)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    conn.request("GET", "/events", headers={"Last-Event-ID": last_id} if last_id else {})
    response = conn.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    found, fields, deadline = [], {}, time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            line = response.fp.readline().decode("utf-8").rstrip("\n")
            if not line and "data" in fields:  # (a `retry:` alone is no event)
                found.append((fields.get("event"), fields.get("id"), fields.get("data")))
                fields = {}
            if not line:
                fields = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value
    finally:
        conn.close()
    return found


def records(found):
    return [json.loads(data) for kind, _, data in found if kind == "record"]


def test_new_lines_reads_whole_lines_and_starts_over_when_the_file_shrinks(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c"')
    lines, offset, reset = new_lines(path, 0)
    assert [line for line, _ in lines] == [b'{"a": 1}', b'{"b": 2}'] and not reset
    assert offset == lines[-1][1] == 18
    assert new_lines(path, offset) == ([], 18, False)  # the cut line waits for its newline
    path.write_bytes(b'{"z": 0}\n')
    assert new_lines(path, offset) == ([(b'{"z": 0}', 9)], 9, True)
    assert new_lines(tmp_path / "missing", 5) == ([], 0, True)


def test_the_stream_sends_every_record_then_what_lands_later(tiny_log):
    lines = tiny_log.read_text(encoding="utf-8").splitlines()
    with serving(tiny_log) as server:
        found = events(server, len(lines) + 2)
        got = records(found)
        assert [r["type"] for r in got] == [json.loads(line)["type"] for line in lines]
        assert got[0]["format"] == "microgpt-trace-metrics"
        assert [r["step"] for r in got if r["type"] == "snapshot"] == [1, 4, 6]
        # after the lines, the report's whole-run numbers over the snapshots they hold
        views = [json.loads(d) for kind, _, d in found if kind == "view"]
        assert views == [json.loads(json.dumps(live_view(read_log(tiny_log).snapshots)))]
        status = [json.loads(d) for kind, _, d in found if kind == "status"]
        assert status == [{"log": "run.jsonl", "controls": False, "state": "following"}]
        # a page that reconnects sends the last id it saw and gets only what follows
        last_id = [i for kind, i, _ in found if kind == "record"][-1]
        with tiny_log.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"type": "step", "step": 7, "loss": 1.0, "lr": 0.0,
                                "grad_norm": {}}) + "\n")
        again = records(events(server, 2, last_id=last_id))
        assert [r["step"] for r in again] == [7]


def test_a_reconnecting_page_gets_the_view_of_every_snapshot_before_it(tiny_log):
    """The view covers the snapshots before Last-Event-ID too; a repeated step (a
    resumed run) replaces the snapshots from it on, as read_log does."""
    snapshots = read_log(tiny_log).snapshots
    received = received_before(tiny_log, tiny_log.stat().st_size)
    assert received.view() == live_view(snapshots)
    assert received.add({"type": "step", "step": 7}) is False
    assert received.add({**snapshots[1], "step": 4}) is True
    assert [s["step"] for s in received.snapshots] == [1, 4]
    assert received_before(tiny_log, 0).snapshots == []


def test_a_closing_server_ends_each_stream_with_the_runs_end(tiny_log):
    with serving(tiny_log) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/events")
        response = conn.getresponse()
        response.fp.readline()
        server.close("finished", drain=5)
        body = response.read().decode("utf-8")  # the server ends the stream: no hang
        conn.close()
    assert body.rstrip().endswith('event: end\ndata: {"log": "run.jsonl", "controls": false, '
                                  '"state": "finished"}')


def test_the_page_and_the_controls_without_a_run(tiny_log):
    with serving(tiny_log) as server:
        page = urlopen(server.url, timeout=10).read().decode("utf-8")
        assert "<title>run.jsonl · microgpt-trace live</title>" in page
        assert 'new EventSource("/events")' in page
        for path, headers, code in [("/pause", {"X-Microgpt-Trace": "live"}, 409),
                                    ("/stop", {}, 403), ("/nothing", {}, 404)]:
            with pytest.raises(HTTPError) as e:
                urlopen(Request(server.url + path.lstrip("/"), method="POST", headers=headers),
                        timeout=10)
            assert e.value.code == code
        with pytest.raises(HTTPError) as e:
            urlopen(server.url + "explore", timeout=10)
        assert e.value.code == 409


def test_a_port_in_use_names_a_free_one(tiny_log):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LiveError, match=rf"^port {port} on 127.0.0.1 is in use; "
                                            r"try --port \d+$") as e:
            LiveServer(tiny_log, "127.0.0.1", port)
        free = int(str(e.value).rsplit(" ", 1)[1])
        LiveServer(tiny_log, "127.0.0.1", free).httpd.server_close()  # it was free


@contextmanager
def live_training(tmp_path, data, *args):
    """`train --live` in a process of its own: (process, the page's address)."""
    process = subprocess.Popen([EXECUTABLE, "train", "--data", data, *TINY, "--live", *args],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


def post(url, action):
    request = Request(url + action, method="POST", headers={"X-Microgpt-Trace": "live"})
    return urlopen(request, timeout=10).read()


def wait_for(predicate, timeout=20, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s: {predicate}")


def explorer_data(page):
    """The data an explorer page embeds (its views, by scope)."""
    return json.loads(re.search(r'<script id="explorer-data" type="application/json">(.*?)'
                                r'</script>', page, re.S).group(1))


def status(url):
    return json.loads(urlopen(url + "status", timeout=10).read())


@pytest.mark.slow
@pytest.mark.exe
def test_pause_explore_stop_resume_to_the_same_bits(tmp_path, tiny_data):
    if not EXECUTABLE.exists():
        pytest.skip("package not installed (pip install -e .)")
    steps = ["--steps", "1500", "--snapshot-every", "300"]
    with live_training(tmp_path, tiny_data, *steps, "--log", "run.jsonl", "-o", "ck.json") \
            as (process, url):
        post(url, "pause")
        paused = wait_for(lambda: (s := status(url))["state"] == "paused" and s)
        size = os.path.getsize(tmp_path / "run.jsonl")
        time.sleep(1.0)
        assert os.path.getsize(tmp_path / "run.jsonl") == size  # no step runs while paused
        page = urlopen(url + "explore", timeout=120).read().decode("utf-8")
        assert f"at the weights after step {paused['step']}" in page
        views = explorer_data(page)["views"]
        assert any(view["scope"] == "pos0/layer0/mlp" for view in views)
        post(url, "resume")
        wait_for(lambda: os.path.getsize(tmp_path / "run.jsonl") > size)
        post(url, "stop")
        assert process.wait(timeout=30) == 128 + signal.SIGINT  # what Ctrl-C exits with
        stderr = process.stderr.read()
    assert "continue with --resume ck.json" in stderr, stderr
    stopped_at = json.loads((tmp_path / "ck.json").read_text())["step"]
    assert paused["step"] < stopped_at < 1500
    subprocess.run([EXECUTABLE, "train", "--data", tiny_data, "--resume", "ck.json",
                    "-o", "ck.json"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    subprocess.run([EXECUTABLE, "train", "--data", tiny_data, *TINY, *steps[:2],
                    "-o", "whole.json"], cwd=tmp_path, check=True, capture_output=True,
                   timeout=120)
    resumed = json.loads((tmp_path / "ck.json").read_text())
    whole = json.loads((tmp_path / "whole.json").read_text())
    assert resumed["step"] == whole["step"] == 1500
    assert resumed["weights"] == whole["weights"]  # explore and pause changed no bit
