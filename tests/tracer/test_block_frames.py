import math
from collections import Counter
from itertools import chain, groupby

import pytest

from microgpt_trace.tracer.block_frames import block_frames
from microgpt_trace.tracer.exceptions import SelectionError
from microgpt_trace.tracer.queries import block_keys, collapse

from .tiny_models import snapshot, tiny_graph


def norms_after(frames):
    state = {}
    for frame in frames:
        state.update(frame.grads)
    return state


@pytest.mark.parametrize("engine", ["fused", "atomic"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_last_norms_are_collapse_grad_norms_exactly(engine, depth):
    G = tiny_graph(engine)
    before = snapshot(G)
    B, frames = block_frames(G, depth)
    assert snapshot(G) == before
    expected = collapse(G, depth)
    assert list(B.nodes(data=True)) == list(expected.nodes(data=True))
    state = norms_after(frames)
    assert {b: state.get(b, 0.0) for b in B} == {b: d["grad_norm"] for b, d in B.nodes(data=True)}


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_one_block_per_frame_and_every_edge_crossed_once(depth):
    G = tiny_graph("fused")
    B, frames = block_frames(G, depth)
    assert frames[0].nodes == () and frames[0].caption == "seed: loss.grad = 1"
    assert [f.index for f in frames] == list(range(len(frames)))
    assert all(len(f.nodes) == 1 for f in frames[1:])
    crossed = Counter()
    squares = Counter()
    for frame in frames:
        for flow in frame.flows:
            assert B.has_edge(flow.child, flow.parent) and flow.parent in frame.nodes
            crossed[flow.child, flow.parent] += flow.count
            squares[flow.child, flow.parent] += flow.contribution ** 2
    assert dict(crossed) == {(u, v): d["count"] for u, v, d in B.edges(data=True)}
    for (u, v), total in squares.items():
        assert math.sqrt(total) == pytest.approx(B.edges[u, v]["contribution_norm"], rel=1e-12)


def test_blocks_are_final_once_and_then_keep_their_norm():
    G = tiny_graph("fused")
    B, frames = block_frames(G, 2)
    finals = list(chain.from_iterable(f.final for f in frames))
    assert sorted(finals) == sorted(B)
    final_at = {b: f.index for f in frames for b in f.final}
    for frame in frames:
        for b, _ in frame.grads:
            assert frame.index <= final_at[b]


def test_ready_blocks_need_far_fewer_frames_than_runs_of_scopes():
    G = tiny_graph("fused")
    _, frames = block_frames(G, 1)
    keys = block_keys(G, 1)
    ops = [n for n in sorted(G, reverse=True) if G.in_degree(n)]
    runs = len(list(groupby(ops, key=keys.get)))
    blocks_with_ops = len({keys[n] for n in ops})
    assert len(frames) - 1 < runs
    assert len(frames) - 1 >= blocks_with_ops


def test_captions_name_the_block_and_where_its_grads_go():
    G = tiny_graph("fused")
    B, frames = block_frames(G, 1)
    first = frames[1]
    lines = first.caption.splitlines()
    assert lines[0].startswith(f"backward through {B.nodes[first.nodes[0]]['scope']}: ")
    assert len(lines) == 1 + min(len(first.flows), 6) + (len(first.flows) > 6)
    flow = first.flows[0]
    assert lines[1].startswith(f"  → {B.nodes[flow.child]['scope']}: {flow.count} edge")


def test_bad_depth():
    with pytest.raises(SelectionError, match="--depth 0"):
        block_frames(tiny_graph("fused"), 0)
