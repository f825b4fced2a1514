"""Backward replay as plain data: the frames that steppers, animations and tests read.

Value.backward processes nodes in descending node id (reverse topological order), and
each node sends `local_grad * grad` along its in-edges in argument order. The replay
computes every gradient as exactly that running sum; a granularity only groups the
processing steps into frames. Partial sums are always taken in that canonical order
over the contributions shown so far, so no float depends on the granularity and the
last frame's grads equal Value.backward's bit for bit at every granularity.
"""

import bisect
import re
import unicodedata
from dataclasses import dataclass
from itertools import groupby

import networkx as nx

from .exceptions import SelectionError

__all__ = ["Flow", "Frame", "GRANULARITIES", "backward_frames", "grads_after"]

GRANULARITIES = ("node", "scope", "level")
CAPTION_EDGES = 6  # edges a caption spells out before "… and N more"
INVISIBLE = ("Cc", "Cf", "Cs", "Zl", "Zp")  # control, format, surrogate, line breaks
SIMPLE_NAME = re.compile(r"[\w.\[\]=]+")  # a, x1, wte[3][5], L0.h2.w[t=0]


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


def backward_frames(G, granularity="node", scope_key=None):
    """Replay backward from the first root of `G` as a list of frames.

    Args:
        G: a graph following the schema of tracer.graph.
        granularity: "node" (one frame per op node, in Value.backward's order),
            "scope" (one frame per run of consecutive nodes with the same scope key)
            or "level" (one frame per longest-path distance from the root).
        scope_key: maps a node's `scope` to its group for "scope" frames, e.g. to
            collapse to a depth; default: the scope itself.

    Returns:
        Frames; frame 0 seeds the root's grad with 1.0 (all others 0.0), the last
        frame leaves every grad as Value.backward computes it.

    Raises:
        SelectionError: an unknown granularity, or a graph without roots.

    >>> from microgpt.engine import Value
    >>> from tracer.graph import trace
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
    root = root_of(G)
    order = sorted(nx.ancestors(G, root) | {root}, reverse=True)  # processing order
    sends, sums = chain_rule(G, root, order)
    groups = group_nodes(G, [n for n in order if sends[n]], granularity, scope_key)
    remaining = {n: len(s.values) for n, s in sums.items()}
    seed_final = [root] + sorted(set(G) - set(order))
    frames = [Frame(0, (), (), ((root, 1.0),), tuple(seed_final),
                    f"seed: {grad_of(G, root)} = 1")]
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


def root_of(G):
    roots = G.graph.get("roots") or ()
    if not roots or roots[0] not in G:
        raise SelectionError(f"the graph has no root to seed backward from (roots={roots!r})")
    return roots[0]


def chain_rule(G, root, order):
    """Every edge's contribution, computed exactly as Value.backward does.

    Returns per node the edges it sends (child, arg, local_grad, upstream,
    contribution, position in the child's canonical sum), and per child its
    RunningSum holding the contributions in canonical order.
    """
    grad = {root: 1.0}
    sends, sums = {}, {}
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
    return sends, sums


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


def node_name(G, node):
    """The node's label, else `#<id> <op>` (or its kind for an unnamed leaf).

    Control characters in a label are shown escaped (`a\\nb`), so a caption's lines
    stay one per edge whatever the labels hold.
    """
    attrs = G.nodes[node]
    name = attrs["label"] or f"#{node} {attrs['op'] or attrs['kind']}"
    return "".join(c.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(c) in INVISIBLE else c for c in name)


def grad_of(G, node):
    """`name.grad`, bracketing a name like `a*b + a` so the `.grad` binds to all of it."""
    name = node_name(G, node)
    return f"{name}.grad" if SIMPLE_NAME.fullmatch(name) else f"({name}).grad"


def described(G, node):
    attrs = G.nodes[node]
    return f"{attrs['label']} ({attrs['op']})" if attrs["label"] else node_name(G, node)


def num(x):
    return f"{x:.4g}"


def caption(G, heading, group, flows):
    """The chain-rule arithmetic of a frame, one line per edge (the first few)."""
    if len(group) == 1:
        node = group[0]
        first = f"backward through {described(G, node)}, grad {num(sent_grad(flows, node))}:"
    else:
        first = f"backward through {len(group)} nodes, {len(flows)} edges:"
    lines = [f"{heading}: {first}" if heading else first]
    lines += [f"  {grad_of(G, f.child)} += {num(f.local_grad)} × {num(f.upstream)}"
              f" → {num(f.after)}" for f in flows[:CAPTION_EDGES]]
    if len(flows) > CAPTION_EDGES:
        lines.append(f"  … and {len(flows) - CAPTION_EDGES} more")
    return "\n".join(lines)


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

    >>> from microgpt.engine import Value
    >>> from tracer.graph import trace
    >>> a = Value(2.0, label="a"); b = a * 3.0; b.backward()
    >>> g = trace(b)
    >>> list(grads_after(g, backward_frames(g)))
    [{0: 0.0, 1: 0.0, 2: 1.0}, {0: 3.0, 1: 2.0, 2: 1.0}]
    """
    state = dict.fromkeys(G, 0.0)
    for frame in frames:
        state.update(frame.grads)
        yield dict(state)
