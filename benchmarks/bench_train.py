"""Seconds per training step: the reference's `*` and `+` nodes against the fused dot.

Both engines train the reference model (defaults of microgpt.py) from the same seed
on the same documents, one engine after the other in one process. Not interleaved
step by step: with both models alive, each engine's garbage collections would also
walk the other's objects, and the cyclic collector is a large share of a step.
Node counts and peak memory are measured on a separate first step, outside the
timed region. The losses must come out identical; the script exits 1 if they do not.

    python benchmarks/bench_train.py [--steps 20] [--data FILE]
"""

import argparse
import gc
import platform
import sys
import time
import tracemalloc
from pathlib import Path

from microgpt.data import DEFAULT_DATA, load_docs
from microgpt.engine import topological_order
from microgpt.model import ENGINES, document_loss
from microgpt.train import TrainConfig, start, train_steps

__all__ = ["MAKEMORE", "measure_step", "timed_steps", "main"]

# Karpathy's makemore names (32k lines), the dataset microgpt.py downloads; not shipped
MAKEMORE = Path(__file__).resolve().parents[2] / "shared" / "names-makemore.txt"
TARGET = 10.0  # the fused engine must be at least this many times faster per step


def measure_step(docs, engine, steps):
    """(nodes in step 1's graph, tracemalloc peak bytes of step 1) on a fresh state."""
    state = start(docs, TrainConfig(steps=steps), engine)
    tok = state.tokenizer
    tokens = [tok.bos] + tok.encode(state.docs[0]) + [tok.bos]
    nodes = len(topological_order(document_loss(state.model, tokens)))
    tracemalloc.start()
    next(train_steps(state))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return nodes, peak


def timed_steps(docs, engine, steps):
    """Seconds and loss of each step of one engine's run, and the seconds spent in GC.

    Value graphs hold no reference cycles, so the cyclic collector frees nothing here;
    its share says how much of a step is bookkeeping for the number of nodes.
    """
    run = train_steps(start(docs, TrainConfig(steps=steps), engine))
    gc.collect()  # start from the same clean heap for both engines
    seconds, losses, in_gc, started = [], [], [0.0], [0.0]

    def gc_timer(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            in_gc[0] += time.perf_counter() - started[0]

    gc.callbacks.append(gc_timer)
    try:
        for _ in range(steps):
            t0 = time.perf_counter()
            metrics = next(run)
            seconds.append(time.perf_counter() - t0)
            losses.append(metrics.loss)
    finally:
        gc.callbacks.remove(gc_timer)
    return seconds, losses, in_gc[0]


def table(runs, measured):
    """Markdown: per engine, time per step (and its GC share), nodes, memory, speed-up."""
    atomic = sum(runs["atomic"][0])
    rows = ["| engine | s/step | of which GC | nodes in step 1 | peak MiB, step 1 | speed-up |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for engine in ENGINES:
        seconds, _, in_gc = runs[engine]
        nodes, peak = measured[engine]
        rows.append(f"| {engine} | {sum(seconds) / len(seconds):.4f} | "
                    f"{in_gc / sum(seconds):.0%} | {nodes:,} | {peak / 2**20:.1f} | "
                    f"{atomic / sum(seconds):.1f}x |")
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per engine")
    parser.add_argument("--data", type=Path,
                        default=MAKEMORE if MAKEMORE.exists() else DEFAULT_DATA,
                        help="one document per line [default: makemore names when "
                             "present, else data/names.txt]")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps!r}")
    docs = load_docs(args.data)
    measured = {e: measure_step(docs, e, args.steps) for e in ENGINES}
    runs = {e: timed_steps(docs, e, args.steps) for e in ENGINES}

    print(f"{args.steps} training steps per engine on {args.data.name} ({len(docs):,} "
          f"documents), reference model; Python {platform.python_version()}\n")
    print(table(runs, measured))
    ratio = sum(runs["atomic"][0]) / sum(runs["fused"][0])
    same = runs["atomic"][1] == runs["fused"][1]
    print(f"\nlosses identical over {args.steps} steps: {'yes' if same else 'NO'} "
          f"(last {runs['fused'][1][-1]:.4f})")
    print(f"target fused >= {TARGET:g}x atomic: {'met' if ratio >= TARGET else 'NOT met'} "
          f"({ratio:.1f}x)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
