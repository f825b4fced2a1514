"""CPU seconds per training step: atomic, fused and float engines, and microgpt.py itself.

Every engine trains the reference model (defaults of microgpt.py) from the same seed
on the same documents: atomic builds the reference's own `*` and `+` nodes, garbage
collector on, fused one node per dot product, float no graph at all
(microgpt_trace.microgpt.floats). microgpt.py is timed too, as tests/microgpt/reference.py
transcribes it: it builds the same nodes as atomic but keeps each step's graph alive
while it builds the next one, which costs it more garbage collection. Each engine runs
`--repeats` times from a fresh state, in rounds (atomic, fused, float, atomic, ...) so
that a change in the machine's load hits every engine alike, but never two runs at once
(one engine's garbage collections would also walk the other's live objects). The table
gives the median over the repeats of CPU time per step (time.process_time, not wall
clock), so a busy machine counts less than on a wall clock, though not nothing. Peak
memory is measured by tracemalloc on a separate first step, outside the timed region.
The losses must come out identical across engines; the script exits 1 if they do not.

    python benchmarks/bench_train.py [--steps 20] [--repeats 3] [--data FILE]
"""

import argparse
import gc
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from microgpt_trace.microgpt.data import DEFAULT_DATA, load_docs
from microgpt_trace.microgpt.engine import topological_order
from microgpt_trace.microgpt.model import document_loss
from microgpt_trace.microgpt.train import TRAIN_ENGINES, TrainConfig, start, train_steps

__all__ = ["MAKEMORE", "TARGETS", "measure_step", "timed_run", "main"]

ROOT = Path(__file__).resolve().parents[1]
# Karpathy's makemore names (32k lines), the dataset microgpt.py downloads; not shipped
MAKEMORE = ROOT.parent / "shared" / "names-makemore.txt"
ENGINES = ("atomic", "fused", "float")  # table order: the baseline first
TARGETS = {"fused": 10.0, "float": 25.0}  # minimum speed-up per step over atomic and microgpt.py
assert set(ENGINES) == set(TRAIN_ENGINES)


def measure_step(docs, engine, steps):
    """(Value nodes in step 1's graph or None, tracemalloc peak bytes of step 1)."""
    state = start(docs, TrainConfig(steps=steps), engine)
    nodes = None
    if engine != "float":
        tok = state.tokenizer
        tokens = [tok.bos] + tok.encode(state.docs[0]) + [tok.bos]
        nodes = len(topological_order(document_loss(state.model, tokens)))
    tracemalloc.start()
    next(train_steps(state))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return nodes, peak


def timed_run(docs, engine, steps):
    """CPU seconds per step of one fresh run, the share spent in GC, and the losses."""
    run = train_steps(start(docs, TrainConfig(steps=steps), engine))
    gc.collect()  # every run starts from the same clean heap
    in_gc, started = [0.0], [0.0]

    def gc_timer(phase, info):
        if phase == "start":
            started[0] = time.process_time()
        else:
            in_gc[0] += time.process_time() - started[0]

    gc.callbacks.append(gc_timer)
    try:
        t0 = time.process_time()
        losses = [metrics.loss for metrics in run]
        seconds = time.process_time() - t0
    finally:
        gc.callbacks.remove(gc_timer)
    return seconds / steps, in_gc[0] / seconds, losses


def reference_run(docs, steps):
    """microgpt.py's algorithm as the tests transcribe it (tests/microgpt/reference.py).

    Timed as a whole, its weight initialisation included (a few milliseconds).
    """
    sys.path.insert(0, str(ROOT))
    from tests.microgpt import reference

    gc.collect()
    t0 = time.process_time()
    losses, _, _ = reference.run(docs, steps)
    return (time.process_time() - t0) / steps, losses


def table(per_step, gc_share, measured, reference):
    """Markdown: per engine, median CPU s/step, GC share, nodes, memory, speed-ups."""
    atomic = per_step["atomic"]
    rows = ["| engine | CPU s/step | of which GC | nodes in step 1 | peak MiB, step 1 | "
            "vs atomic | vs microgpt.py |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for engine in ENGINES:
        nodes, peak = measured[engine]
        versus = f"{reference / per_step[engine]:.1f}x" if reference else ""
        rows.append(f"| {engine} | {per_step[engine]:.4f} | {gc_share[engine]:.0%} | "
                    f"{'-' if nodes is None else f'{nodes:,}'} | {peak / 2**20:.2f} | "
                    f"{atomic / per_step[engine]:.1f}x | {versus} |")
    if reference:
        rows.append(f"| microgpt.py | {reference:.4f} | | | | {atomic / reference:.1f}x | 1.0x |")
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine (median)")
    parser.add_argument("--data", type=Path,
                        default=MAKEMORE if MAKEMORE.exists() else DEFAULT_DATA,
                        help="one document per line [default: makemore names when "
                             "present, else data/names.txt]")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip timing the transcription of microgpt.py")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be at least 1")
    docs = load_docs(args.data)
    measured = {e: measure_step(docs, e, args.steps) for e in ENGINES}
    rounds = []
    for _ in range(args.repeats):
        round_ = {e: timed_run(docs, e, args.steps) for e in ENGINES}
        if not args.no_reference:
            round_["microgpt.py"] = reference_run(docs, args.steps)
        rounds.append(round_)
    per_step, gc_share, losses = {}, {}, {}
    for name in rounds[0]:
        runs = [round_[name] for round_ in rounds]
        per_step[name] = statistics.median(r[0] for r in runs)
        gc_share[name] = statistics.median(r[1] for r in runs) if len(runs[0]) == 3 else None
        losses[name] = runs[0][-1]
        if any(r[-1] != losses[name] for r in runs):
            losses[name] = None  # not even reproducible from one run to the next
    reference = per_step.get("microgpt.py")

    print(f"{args.steps} training steps per run, median of {args.repeats} runs per engine, "
          f"on {args.data.name} ({len(docs):,} documents), reference model; "
          f"Python {platform.python_version()}\n")
    print(table(per_step, gc_share, measured, reference))
    same = losses["atomic"] is not None and all(
        run == losses["atomic"] for run in losses.values())
    last = f" (last {losses['atomic'][-1]:.4f})" if same else ""
    print(f"\nlosses identical over {args.steps} steps ({', '.join(losses)}): "
          f"{'yes' if same else 'NO'}{last}")
    baselines = {"atomic": per_step["atomic"], "microgpt.py": reference}
    for engine, target in TARGETS.items():
        for name, baseline in baselines.items():
            if baseline:
                ratio = baseline / per_step[engine]
                print(f"target {engine} >= {target:g}x {name}: "
                      f"{'met' if ratio >= target else 'NOT met'} ({ratio:.1f}x)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
