"""How fast tracing and layout are: prints markdown tables, asserts nothing about time.

Part 1 traces one whole training step (atomic engine, default config, the name
"abigail") and compares microgpt_trace.tracer.graph.trace with the bare minimum any exporter pays:
building the same MultiDiGraph from ready-made node and edge lists. Target: <= 2x.

Part 2 times Graphviz's `dot` (svg) on real model graphs of growing size (prefixes
of the traced step in topological order, each closed under "depends on"), drawn by
microgpt_trace.renderers.diagrams.source.dot_source; it sets
microgpt_trace.renderers.diagrams.render.DEFAULT_MAX_NODES.

    .venv/bin/python benchmarks/bench_trace.py [--sizes 100,500,1000,2000]
"""

import argparse
import gc
import time
import tracemalloc

import networkx as nx

from microgpt_trace.microgpt.data import DEFAULT_DATA, load_docs
from microgpt_trace.microgpt.model import document_loss
from microgpt_trace.microgpt.train import TrainConfig, start
from microgpt_trace.renderers.diagrams.render import DEFAULT_MAX_NODES, render
from microgpt_trace.renderers.diagrams.source import dot_source
from microgpt_trace.tracer.graph import trace

NAME = "abigail"


def training_step_loss():
    """The loss of one default training step on NAME, after backward."""
    state = start(load_docs(DEFAULT_DATA), TrainConfig(steps=1), engine="atomic")
    tok = state.tokenizer
    loss = document_loss(state.model, [tok.bos] + tok.encode(NAME) + [tok.bos])
    loss.backward()
    return loss


def best_of(n, fn):
    """Smallest wall time of n calls, with the garbage collector out of the way."""
    times = []
    for _ in range(n):
        gc.collect()
        gc.disable()
        start_time = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start_time)
        gc.enable()
    return min(times)


def retained_bytes(fn):
    """Bytes still allocated after fn() returns, its result kept alive."""
    gc.collect()
    tracemalloc.start()
    result = fn()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del result
    return size


def bench_trace():
    loss = training_step_loss()
    G = trace(loss)
    nodes = list(G.nodes(data=True))
    edges = list(G.edges(keys=True, data=True))

    def bare():
        H = nx.MultiDiGraph()
        H.add_nodes_from(nodes)
        H.add_edges_from(edges)
        return H

    n = G.number_of_nodes()
    rows = []
    for what, fn in (("microgpt_trace.tracer.graph.trace(loss)", lambda: trace(loss)),
                     ("bare MultiDiGraph from lists", bare)):
        seconds = best_of(3, fn)
        rows.append((what, seconds, n / seconds, retained_bytes(fn) / n))
    print(f"## trace: one training step, atomic engine, {NAME!r}: "
          f"{n} nodes, {G.number_of_edges()} edges\n")
    print("| what | best of 3 (s) | nodes/s | bytes/node |")
    print("|---|---:|---:|---:|")
    for what, seconds, rate, per_node in rows:
        print(f"| {what} | {seconds:.3f} | {rate:,.0f} | {per_node:,.0f} |")
    print(f"\nratio trace / bare: {rows[0][1] / rows[1][1]:.2f}x (target <= 2x)\n")
    return G


def bench_dot(G, sizes):
    print("## dot layout (svg) of model-graph prefixes\n")
    print("| nodes | edges | view | dot_source (s) | dot -Tsvg (s) |")
    print("|---:|---:|---|---:|---:|")
    for size in sizes:
        H = G.subgraph(range(size)).copy()
        for view in ("expression", "model"):
            H.graph.update(view=view, source=f"first {size} nodes", roots=(size - 1,))
            start_time = time.perf_counter()
            text = dot_source(H)
            middle = time.perf_counter()
            render(text, "svg")
            end = time.perf_counter()
            print(f"| {size} | {H.number_of_edges()} | {view} | {middle - start_time:.3f} "
                  f"| {end - middle:.2f} |", flush=True)
    print(f"\nrenderers.diagrams.render.DEFAULT_MAX_NODES = {DEFAULT_MAX_NODES}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,1000,2000",
                        help="comma-separated node counts for the dot timings")
    args = parser.parse_args()
    G = bench_trace()
    bench_dot(G, [int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
