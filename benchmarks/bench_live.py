"""Does an open live page slow training? Steps per CPU second, with and without.

Side by side in one process, alternating, `--repeats` times each: a training run of
`--steps` steps writing its metrics log (snapshots every 25 steps), once alone and
once with a LiveServer on the log and pages open on it, in another process as a
browser would be: one page that reads every event as it comes, and one stalled tab
that connects and never reads (its stream blocks on a full socket, as a frozen tab's
would). CPU time is this process's (time.process_time: the trainer, the server and its
stream threads), so the numbers hold on a busy machine; the table shows the median of
each and their ratio.

    .venv/bin/python benchmarks/bench_live.py [--steps 300] [--repeats 5]
"""

import argparse
import http.client
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

from microgpt_trace.live import LiveServer
from microgpt_trace.microgpt.data import load_docs
from microgpt_trace.microgpt.runs.train_run import train_run
from microgpt_trace.microgpt.train import TrainConfig, docs_digest, start


def pages(port, stop):
    """Two tabs in a process of their own: one reads everything, one never reads."""
    tabs = []
    for _ in range(2):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/events")
        tabs.append((conn, conn.getresponse()))
    reading = tabs[0][1]
    while not stop.is_set() and reading.fp.readline():
        pass
    for conn, _ in tabs:
        conn.close()


def one_run(docs, steps, folder, with_page):
    log = Path(folder) / f"run-{with_page}.jsonl"
    log.unlink(missing_ok=True)
    state = start(docs, TrainConfig(steps=steps))
    server, stop, browser = None, multiprocessing.Event(), None
    if with_page:
        log.touch()
        server = LiveServer(log).start()
        browser = multiprocessing.Process(target=pages, args=(server.port, stop), daemon=True)
        browser.start()
        while server.streams < 2:
            time.sleep(0.01)
    begin = time.process_time()
    train_run(state, docs_digest(state.docs), log_path=log, probe_every=25)
    seconds = time.process_time() - begin
    if server:
        stop.set()
        server.close("finished", drain=0)
        browser.join(timeout=10)
    return steps / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    docs = load_docs("names")
    rates = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for with_page in (False, True):
                rates[with_page].append(one_run(docs, args.steps, folder, with_page))
    alone, watched = statistics.median(rates[False]), statistics.median(rates[True])
    print("| run | steps per CPU second (median of %d) |" % args.repeats)
    print("|---|---|")
    print(f"| no page | {alone:.1f} |")
    print(f"| two pages (one reading, one stalled) | {watched:.1f} |")
    print(f"| ratio with / without | {watched / alone:.3f} |")


if __name__ == "__main__":
    main()
