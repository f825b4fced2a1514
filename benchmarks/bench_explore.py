"""What the explorer of a text costs: CPU seconds to build it (ours and dot's) and bytes.

Builds microgpt_trace.renderers.explorer.page.explorer_page for a text of the shipped
checkpoint, as `microgpt-trace explore --text anna -o explore.html` does, and prints a
markdown table: the views by kind, the CPU time of this process and of the `dot`
processes it ran (user + sys), the wall time, and the page's size, raw and per view.
The target (issue 20) is at most 60 s of CPU for 'anna' on 2 cores. Nothing is
asserted.

    .venv/bin/python benchmarks/bench_explore.py [--text anna] [--max-nodes 400]
"""

import argparse
import resource
import time
from collections import Counter

from microgpt_trace.renderers.diagrams.render import layout_size
from microgpt_trace.renderers.explorer.page import EXPLORE_MAX_NODES, explorer_page
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text
from microgpt_trace.tracer.explorer_views import explorer_views


def cpu():
    """(this process, its waited-for children): user + sys seconds."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default="anna")
    parser.add_argument("--max-nodes", type=int, default=EXPLORE_MAX_NODES)
    args = parser.parse_args()
    start, wall = cpu(), time.perf_counter()
    graph = trace_checkpoint_text(text=args.text, checkpoint=None, engine="fused")
    page = explorer_page(graph, max_nodes=args.max_nodes)
    end, wall = cpu(), time.perf_counter() - wall
    kinds = Counter(v.kind for v in explorer_views(graph, args.max_nodes, layout_size))
    size = len(page.encode("utf-8"))
    print(f"explorer of {args.text!r} (--max-nodes {args.max_nodes}): "
          + ", ".join(f"{n} {kind} views" for kind, n in sorted(kinds.items())))
    print()
    print("| python CPU s | dot CPU s | total CPU s | wall s | size MB | kB per view |")
    print("|---:|---:|---:|---:|---:|---:|")
    own, kids = end[0] - start[0], end[1] - start[1]
    print(f"| {own:.1f} | {kids:.1f} | {own + kids:.1f} | {wall:.1f} | {size / 1e6:.2f} "
          f"| {size / 1e3 / sum(kinds.values()):.0f} |")


if __name__ == "__main__":
    main()
