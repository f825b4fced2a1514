"""Backward replay as plain data: the frames that steppers, animations and tests read.

Value.backward processes nodes in descending node id (reverse topological order; a
graph of foreign Values may carry another order, see processing_order), and
each node sends `local_grad * grad` along its in-edges in argument order. The replay
computes every gradient as exactly that running sum; a granularity only groups the
processing steps into frames. Partial sums are always taken in that canonical order
over the contributions shown so far, so no float depends on the granularity and the
last frame's grads equal Value.backward's bit for bit at every granularity.

Backward normally starts from the first root with grad 1. A selection such as one
attention head starts instead from `seeds`: the grads its outputs received from the
rest of the model, so its inner nodes end with exactly the grads the model gave them.
"""

import bisect
import re
from dataclasses import dataclass
from itertools import groupby

import networkx as nx

from .exceptions import SelectionError
from .names import node_name
from .text import number

__all__ = ["Flow", "Frame", "GRANULARITIES", "backward_frames", "grouped_frames", "grads_after",
           "flow_line"]

GRANULARITIES = ("node", "scope", "level")
CAPTION_EDGES = 6  # edges a caption spells out before "… and N more"
SIMPLE_NAME = re.compile(r"[^\W\d][\w.\[\]=]*")  # a, x1, wte[3][5], L0.h2.w[t=0]


@dataclass(frozen=True)
class Flow:
    """One edge of the chain rule: child.grad += local_grad * upstream."""

    parent: int
    child: int
    arg: int
    local_grad: float
    upstream: float  # the parent's grad, already final when it is sent
    contribution: float  # local_grad * upstream
    before: float  # the child's grad just before this edge
    after: float  # ... and just after it


@dataclass(frozen=True)
class Frame:
    """One step of the replay; frame 0 is the seed and processes no node."""

    index: int
    nodes: tuple  # node ids processed (sending their grad) in this frame
    flows: tuple  # Flows in processing order
    grads: tuple  # (node, grad) pairs set in this frame, the seed included
    final: tuple  # nodes whose grad became final: all their parents are processed
    caption: str  # plain text with the chain-rule arithmetic; renderers escape it


class RunningSum:
    """A child's grad: the canonical-order sum of the contributions included so far.

    Node and scope frames include contributions in canonical order, so this is a plain
    running sum; level frames may include a later one first, which waits in `pending`
    until the gap before it is filled.
    """

    def __init__(self):
        self.values = []  # contributions in canonical order
        self.done = 0  # values[:done] are all included
        self.total = 0.0  # their sum, left to right from 0.0 as Value.backward adds
        self.pending = []  # sorted indices >= done that are included
        self.current = 0.0  # the sum over everything included

    def include(self, j):
        bisect.insort(self.pending, j)
        while self.pending and self.pending[0] == self.done:
            self.total += self.values[self.pending.pop(0)]
            self.done += 1
        self.current = self.total
        for i in self.pending:
            self.current += self.values[i]
        return self.current


def backward_frames(G, granularity="node", scope_key=None, seeds=None):
    """Replay backward from the first root of `G` (or from `seeds`) as a list of frames.

    Args:
        G: a graph following the schema of microgpt_trace.tracer.graph.
        granularity: "node" (one frame per op node, in Value.backward's order),
            "scope" (one frame per run of consecutive nodes with the same scope key)
            or "level" (one frame per longest-path distance from the seeds).
        scope_key: maps a node's `scope` to its group for "scope" frames, e.g. to
            collapse to a depth; default: the scope itself.
        seeds: {node: grad} to start from, e.g. the grads a head's outputs receive
            from the rest of the model; default {first root: 1.0}, as Value.backward.

    Returns:
        Frames; frame 0 sets the seeds (all other grads 0.0), the last frame leaves
        every grad as Value.backward computes it.

    Raises:
        SelectionError: an unknown granularity, a graph without roots, or a seed
            that is not a node of G.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> from microgpt_trace.tracer.graph import trace
    >>> a = Value(3.0, label="a"); b = a * a; b.label = "b"; b.backward()
    >>> frames = backward_frames(trace(b))
    >>> print(frames[1].caption)
    backward through b (*), grad 1:
      a.grad += 3 × 1 → 3
      a.grad += 3 × 1 → 6
    >>> frames[-1].grads, a.grad
    (((0, 6.0),), 6.0)
    """
    if granularity not in GRANULARITIES:
        raise SelectionError(f"granularity must be one of {', '.join(GRANULARITIES)}, "
                             f"got {granularity!r}")
    seeds = checked_seeds(G, seeds)
    order = processing_order(G, seeds)
    ops = [n for n in order if G.in_degree(n)]
    return replay(G, seeds, order, group_nodes(G, ops, granularity, scope_key))


def grouped_frames(G, groups, seeds=None):
    """Frames for a grouping of the op nodes chosen by the caller (one frame per group).

    Contributions are summed in Value.backward's order whatever the grouping, so the
    last frame is exact; microgpt_trace.tracer.block_frames uses this for whole blocks of a model.

    Args:
        G: a graph following the schema of microgpt_trace.tracer.graph.
        groups: (heading, nodes) pairs; together they hold every op node the seeds
            depend on, once, each after all of its parents.
        seeds: as for backward_frames.

    Returns:
        Frames as from backward_frames; each caption starts with its heading.

    Raises:
        SelectionError: a graph without roots or a seed not in G.
        ValueError: the groups miss a node, repeat one, or process one too early.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> G = trace_expression("(a*b)*b")  # nodes a, b, a*b, (a*b)*b
    >>> [f.nodes for f in grouped_frames(G, [("all", [3, 2])])]
    [(), (3, 2)]
    """
    seeds = checked_seeds(G, seeds)
    order = processing_order(G, seeds)
    check_groups(G, order, [nodes for _, nodes in groups])
    return replay(G, seeds, order, [(heading, list(nodes)) for heading, nodes in groups])


def replay(G, seeds, order, groups):
    """The frames: the seed, then one per group of processed nodes."""
    sends, sums, _ = chain_rule(G, seeds, order)
    remaining = {n: len(s.values) - s.done for n, s in sums.items()}
    needed = set(order)
    seed_final = ([n for n in seeds if not remaining[n]]
                  + sorted(n for n in G if n not in needed))
    frames = [Frame(0, (), (), tuple(seeds.items()), tuple(seed_final),
                    seed_caption(G, seeds))]
    for heading, group in groups:
        flows, grads, final = [], {}, []
        for parent in group:
            for child, arg, local_grad, upstream, contribution, j in sends[parent]:
                before = sums[child].current
                after = grads[child] = sums[child].include(j)
                flows.append(Flow(parent, child, arg, local_grad, upstream, contribution,
                                  before, after))
                remaining[child] -= 1
                if not remaining[child]:
                    final.append(child)
        text = caption(G, heading, group, flows)
        frames.append(Frame(len(frames), tuple(group), tuple(flows), tuple(grads.items()),
                            tuple(final), text))
    return frames


def checked_seeds(G, seeds):
    """{node: float grad} in node order; default: the first root at 1.0."""
    if seeds is None:
        return {root_of(G): 1.0}
    missing = [n for n in seeds if n not in G]
    if missing or not seeds:
        raise SelectionError(f"seeds must be nodes of the graph, got {sorted(seeds)!r}")
    return {n: float(seeds[n]) for n in sorted(seeds)}


def processing_order(G, seeds):
    """The seeds and everything they depend on, in descending node id, or in the
    graph's `backward_order` where the tracer recorded the order a foreign engine used
    (tracer.values: the one order that reproduces its grads)."""
    needed = set(seeds)
    for seed in seeds:
        needed |= nx.ancestors(G, seed)
    given = G.graph.get("backward_order")
    if given:
        return [n for n in given if n in needed]
    return sorted(needed, reverse=True)


def check_groups(G, order, groups):
    """Each op node once, and never before a parent that sends it a grad."""
    needed = set(order)
    listed = [n for nodes in groups for n in nodes]
    ops = [n for n in order if G.in_degree(n)]
    if sorted(listed) != sorted(ops):
        raise ValueError(f"groups must hold each of the {len(ops)} op nodes once, got "
                         f"{len(listed)} entries for {len(set(listed))} nodes")
    done = set()
    for node in listed:
        if any(p in needed and p not in done for p in G.successors(node)):
            raise ValueError(f"node {node!r} is processed before one of its parents")
        done.add(node)


def root_of(G):
    roots = G.graph.get("roots") or ()
    if not roots or roots[0] not in G:
        raise SelectionError(f"the graph has no root to seed backward from (roots={roots!r})")
    return roots[0]


def chain_rule(G, seeds, order):
    """Every edge's contribution, computed exactly as Value.backward does.

    Returns per node the edges it sends (child, arg, local_grad, upstream,
    contribution, position in the child's canonical sum), per child its RunningSum
    holding the contributions in canonical order (a seed's own grad comes first in
    its sum and is already included), and every grad as summed in `order`.
    """
    grad = dict(seeds)
    sends, sums = {}, {}
    for node, g in seeds.items():
        sums[node] = RunningSum()
        sums[node].values.append(g)
        sums[node].include(0)
    for node in order:
        g = grad.get(node, 0.0)
        edges = sorted(G.in_edges(node, data=True), key=lambda e: e[2]["arg"])
        sends[node] = []
        for child, _, attrs in edges:
            contribution = attrs["local_grad"] * g
            grad[child] = grad.get(child, 0.0) + contribution
            values = sums.setdefault(child, RunningSum()).values
            sends[node].append((child, attrs["arg"], attrs["local_grad"], g, contribution,
                                len(values)))
            values.append(contribution)
    return sends, sums, grad


def group_nodes(G, ops, granularity, scope_key):
    """The op nodes (in processing order) grouped into frames, each with a heading."""
    if granularity == "node":
        return [(None, [n]) for n in ops]
    if granularity == "scope":
        key = scope_key or (lambda scope: scope)
        runs = groupby(ops, key=lambda n: key(G.nodes[n]["scope"]))
        return [(f"scope {name or '(top level)'}", list(run)) for name, run in runs]
    depth = {}
    for node in ops:  # parents first, so a node's depth is final when it is read
        d = depth.setdefault(node, 0) + 1
        for child, _ in G.in_edges(node):
            depth[child] = max(depth.get(child, 0), d)
    levels = groupby(sorted(ops, key=lambda n: (depth[n], -n)), key=depth.get)
    return [(f"level {d}", list(run)) for d, run in levels]


def grad_of(G, node):
    """`name.grad`, bracketing a name like `a*b + a` so the `.grad` binds to all of it."""
    name = node_name(G, node)
    return f"{name}.grad" if SIMPLE_NAME.fullmatch(name) else f"({name}).grad"


def described(G, node):
    attrs = G.nodes[node]
    name = node_name(G, node)
    return f"{name} ({attrs['op']})" if attrs["label"] else name


def seed_caption(G, seeds):
    """`d.grad = 1`, or one line per seed when backward starts from several."""
    if len(seeds) == 1:
        (node, g), = seeds.items()
        return f"seed: {grad_of(G, node)} = {number(g)}"
    lines = [f"seed: {len(seeds)} grads flowing in from the rest of the graph:"]
    lines += [f"  {grad_of(G, n)} = {number(g)}" for n, g in list(seeds.items())[:CAPTION_EDGES]]
    if len(seeds) > CAPTION_EDGES:
        lines.append(f"  … and {len(seeds) - CAPTION_EDGES} more")
    return "\n".join(lines)


def caption(G, heading, group, flows):
    """The chain-rule arithmetic of a frame, one line per edge (the first few)."""
    if len(group) == 1:
        node = group[0]
        first = f"backward through {described(G, node)}, grad {number(sent_grad(flows, node))}:"
    else:
        first = f"backward through {len(group)} nodes, {len(flows)} edges:"
    lines = [f"{heading}: {first}" if heading else first]
    lines += [f"  {flow_line(G, f)}" for f in flows[:CAPTION_EDGES]]
    if len(flows) > CAPTION_EDGES:
        lines.append(f"  … and {len(flows) - CAPTION_EDGES} more")
    return "\n".join(lines)


def flow_line(G, flow) -> str:
    """One term of the chain rule as every caption spells it: `a.grad += 3 × 1 → 4`."""
    return (f"{grad_of(G, flow.child)} += {local_grad(G, flow)} × {number(flow.upstream)}"
            f" → {number(flow.after)}")


def local_grad(G, flow):
    """The local grad's number, with what it is where the name alone does not say:
    `(−1/Σ² = -0.118)` through a softmax's 1/Σ, `(1/√d = 0.5)` through a score's scaling."""
    text = number(flow.local_grad)
    parent = node_name(G, flow.parent)
    if parent == "1/Σ":
        return f"(−1/Σ² = {text})"
    others = [c for c in G.predecessors(flow.parent) if c != flow.child]
    if G.nodes[flow.parent]["op"] == "*" and any(node_name(G, c) == "1/√d" for c in others):
        return f"(1/√d = {text})"
    return text


def sent_grad(flows, node):
    """The grad `node` sends: the upstream of its first flow (a processed node has one)."""
    return next(f.upstream for f in flows if f.parent == node)


def grads_after(G, frames):
    """Each frame's full grad state, for renderers that colour every node.

    Args:
        G: the graph the frames were replayed on.
        frames: the list returned by backward_frames.

    Returns:
        An iterator of {node: grad} dicts, a fresh one per frame; frame 0 has the
        root at 1.0 and every other node at 0.0.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> from microgpt_trace.tracer.graph import trace
    >>> a = Value(2.0, label="a"); b = a * 3.0; b.backward()
    >>> g = trace(b)
    >>> list(grads_after(g, backward_frames(g)))
    [{0: 0.0, 1: 0.0, 2: 1.0}, {0: 3.0, 1: 2.0, 2: 1.0}]
    """
    state = dict.fromkeys(G, 0.0)
    for frame in frames:
        state.update(frame.grads)
        yield dict(state)
