"""How fast `report` draws: each stage of microgpt_trace.renderers.panels.report on one metrics log.

Times, in CPU seconds (this process), reading the log, the whole-run panels (PNG and
SVG), the per-snapshot panels (built once, one PNG frame per snapshot), the optional
SVG of every snapshot panel, and report.html; then prints a markdown table with
the seconds, the share of each stage and seconds per snapshot.

The side-by-side against the code before the report was reworked (one figure per
panel per snapshot, PNG and SVG each, all redrawn) was measured once on the
1000-step log of `make checkpoint` (21 snapshots, one text) and is kept here, not re-run.
CPU seconds (user + sys) of the whole `microgpt-trace report` command, two runs each,
on a busy 2-core machine: old 54.0 and 50.2, new 7.8 and 6.9; about 7x.

    .venv/bin/microgpt-trace train --data data/names.txt --log /tmp/ck.jsonl -o /tmp/ck.json
    .venv/bin/python benchmarks/bench_report.py /tmp/ck.jsonl [--svg]
"""

import argparse
import time

from microgpt_trace.microgpt.runs.metrics import read_log
from microgpt_trace.renderers.panels.charts import figure_bytes
from microgpt_trace.renderers.panels.data import scales
from microgpt_trace.renderers.panels.frames import frame_pngs, frame_svg
from microgpt_trace.renderers.panels.report import report_html, run_figures, step_panels


def cpu(fn):
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="a metrics log written by train --log")
    parser.add_argument("--svg", action="store_true", help="also time an SVG per snapshot panel")
    args = parser.parse_args()
    rows = []
    seconds, log = cpu(lambda: read_log(args.log))
    rows.append(("read the log", seconds))
    vocab, snapshots = log.vocab, log.snapshots
    seconds, run_pngs = cpu(lambda: {name: figure_bytes(f)["png"]
                                     for name, f in run_figures(log.steps, snapshots, vocab)})
    rows.append(("whole-run panels (PNG + SVG)", seconds))
    frames, panels = {}, {}
    for name, panel in step_panels(snapshots, vocab, 10, True, None, scales(snapshots)):
        seconds, frames[name] = cpu(lambda panel=panel: frame_pngs(panel, snapshots))
        panels[name] = panel
        rows.append((f"{name}: {len(snapshots)} PNG frames", seconds))
    if args.svg:
        for name, panel in panels.items():
            seconds, _ = cpu(lambda panel=panel: [frame_svg(panel, s) for s in snapshots])
            rows.append((f"{name}: {len(snapshots)} SVG frames", seconds))
    per_step = [(s, {name: frames[name][i] for name in frames}) for i, s in enumerate(snapshots)]
    seconds, _ = cpu(lambda: report_html(run_pngs, per_step, log.steps, {}))
    rows.append(("report.html", seconds))
    total = sum(s for _, s in rows)
    print(f"{len(log.steps)} steps, {len(snapshots)} snapshots: {args.log}\n")
    print("| stage | CPU s | share | per snapshot |")
    print("|---|---:|---:|---:|")
    for stage, seconds in rows:
        each = f"{seconds / len(snapshots):.3f}" if "frames" in stage and snapshots else ""
        print(f"| {stage} | {seconds:.2f} | {seconds / total:.0%} | {each} |")
    print(f"| total | {total:.2f} | 100% | |")


if __name__ == "__main__":
    main()
