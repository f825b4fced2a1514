"""The explorer's views, what they open and what their inspector says, checked against
the traced graph and against the replays the `backward` command writes."""

import pytest

from microgpt_trace.renderers.diagrams.render import layout_size
from microgpt_trace.tracer.explorer_views import (
    explorer_views,
    node_facts,
    search_index,
)
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.queries import collapse
from microgpt_trace.tracer.replay_views import replay_scope
from microgpt_trace.tracer.scope_view import scope_names, scope_view

from .tiny_models import save_tiny_checkpoint, snapshot, tiny_graph

CAP = 120  # the tiny model's positions and layers are over it, its MLP (94) is not


@pytest.fixture(scope="module")
def graph():
    return tiny_graph("fused", "abca")


@pytest.fixture(scope="module")
def views(graph):
    return {v.scope: v for v in explorer_views(graph, CAP, layout_size)}


def test_a_view_per_scope_the_root_first(graph, views):
    assert list(views) == [""] + scope_names(graph)
    assert views[""].kind == "blocks"
    assert views[""].graph.graph["depth"] == 3  # the deepest block view under the cap


def test_a_scope_over_the_cap_opens_as_its_child_scopes(graph, views):
    for scope, v in views.items():
        if v.kind == "scope":
            assert layout_size(v.graph) <= CAP or not any(
                d.get("cluster") for _, d in v.graph.nodes(data=True)), scope
    pos3 = views["pos3"]
    assert pos3.kind == "blocks" and layout_size(scope_view(graph, "pos3")) > CAP
    opened = set(pos3.opens.values())
    assert {"pos3/embed", "pos3/layer0", "pos3/lm_head", "pos3/softmax", "pos3/loss"} <= opened
    assert views["pos3/layer0/mlp"].kind == "scope"


def test_every_view_is_reachable_from_the_root(views):
    """Blocks open scopes, clusters open sub-scopes: nothing is refused or unreachable."""
    seen, todo = {""}, [""]
    while todo:
        v = views[todo.pop()]
        below = set(v.opens.values()) | {f"{v.scope}/{d['cluster']}" for _, d in
                                         v.graph.nodes(data=True) if d.get("cluster")}
        below |= {"/".join(v.scope.split("/")[:-1])} if v.scope else set()
        for scope in below & set(views) - seen:
            seen.add(scope)
            todo.append(scope)
    assert seen == set(views)


def test_nothing_is_refused_however_small_the_cap(graph):
    """Scopes open as blocks down to one named value each, drawn whatever its size."""
    views = {v.scope: v for v in explorer_views(graph, 10, layout_size)}
    assert views["pos3/layer0/mlp"].kind == "blocks"
    assert views["pos3/layer0/mlp/fc1"].kind == "blocks"
    assert views["pos3/layer0/mlp/fc1/L0.fc1[0]"].kind == "scope"
    assert any(layout_size(v.graph) > 10 for v in views.values() if v.kind == "scope")


def test_the_views_do_not_touch_the_graph(graph):
    before = snapshot(graph)
    explorer_views(graph, CAP, layout_size)
    assert snapshot(graph) == before


def test_a_scope_views_stepper_is_the_backward_commands(tmp_path):
    """The same frames and captions as `backward --text abca --scope S`."""
    from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text

    path = save_tiny_checkpoint(tmp_path / "tiny.json")
    G = trace_checkpoint_text(text="abca", checkpoint=path, engine="fused")
    views = {v.scope: v for v in explorer_views(G, CAP, layout_size)}
    for scope in ("pos3/layer0/mlp", "pos2/layer0/attn/head1", "loss"):
        _, frames = replay_scope(text="abca", scope=scope, checkpoint=path)
        assert views[scope].frames == frames


def test_the_root_steps_block_by_block_ending_on_the_block_norms(graph, views):
    root = views[""]
    last = dict(root.frames[-1].grads)
    blocks = collapse(graph, 3)
    for b, norm in last.items():
        assert norm == pytest.approx(blocks.nodes[b]["grad_norm"], rel=1e-12)


def test_a_scope_in_blocks_steps_from_the_grads_its_outputs_receive(graph, views):
    v = views["pos3/layer0"]
    H = scope_view(graph, "pos3/layer0")
    inside = collapse(H, 2)
    final = {}
    for frame in v.frames:
        final.update(frame.grads)
    for b, d in v.graph.nodes(data=True):
        if d["scope"].startswith("pos3/layer0/"):
            assert final[b] == pytest.approx(inside.nodes[b]["grad_norm"], rel=1e-12), d["scope"]


def test_the_inspector_facts_are_the_graphs_numbers(graph, views):
    v = views["pos3/layer0/mlp"]
    facts = node_facts(v)
    assert set(facts) == set(v.graph)
    for n, fact in facts.items():
        d = graph.nodes[n]
        assert (fact["data"], fact["grad"]) == (d["data"], d["grad"])
        if v.graph.nodes[n]["role"] == "input":
            assert fact["here"] == v.graph.nodes[n]["from_here"]
        else:
            assert fact["here"] == fact["grad"] or v.graph.nodes[n]["role"] == "output"
        by_arg = sorted(v.graph.in_edges(n, data="arg"), key=lambda e: e[2])
        assert [u for u, *_ in fact["inputs"]] == [u for u, _, _ in by_arg]  # x*x: x twice
    relu = next(n for n, d in v.graph.nodes(data=True) if d["label"] == "L0.relu[0]")
    assert facts[relu]["words"] == ["ReLU", "layer 0", "position 3 'c'", "element 0"]
    [(fc1, name, data, local)] = facts[relu]["inputs"]
    assert name == "L0.fc1[0]" and local == (1.0 if data > 0 else 0.0)


def test_a_grad_term_by_term_ends_on_the_grad():
    """The chain-rule sum of `a` in a*b + a, as the captions spell each edge."""
    [view] = explorer_views(trace_expression("a*b + a", {"a": 2, "b": 3}), CAP, layout_size)
    facts = node_facts(view)
    assert facts[0]["terms"] == ["a.grad += 1 × 1 → 1", "a.grad += 3 × 1 → 4"]
    assert facts[0]["words"] == ["a"] and facts[0]["here"] == facts[0]["grad"] == 4.0


def test_search_finds_scopes_and_values_in_their_own_scope(views):
    index = search_index(list(views.values()))
    scopes = [scope for text, scope, node in index if node is None]
    assert "pos3/layer0/mlp" in scopes and "pos0/lm_head" in scopes
    weights = [(text, scope) for text, scope, node in index if text.startswith("L0.h1.w[")]
    assert ("L0.h1.w[t=0] (pos2)", "pos2/layer0/attn/head1/softmax") in weights
    nodes = [node for _, _, node in index if node is not None]
    assert len(nodes) == len(set(nodes))


def test_an_atomic_leaf_too_big_opens_one_view_per_named_value():
    """The atomic engine's fc1 (each row 2 x 8 ops) is over the cap and has no scope
    below it: it opens as one block per row, each row a view of its own."""
    graph = tiny_graph("atomic", "ab")
    views = {v.scope: v for v in explorer_views(graph, CAP, layout_size)}
    fc1 = views["pos1/layer0/mlp/fc1"]
    rows = {s for s in fc1.opens.values() if s.startswith("pos1/layer0/mlp/fc1/")}
    assert rows == {f"pos1/layer0/mlp/fc1/L0.fc1[{i}]" for i in range(32)}
    row = views["pos1/layer0/mlp/fc1/L0.fc1[5]"]
    assert row.kind == "scope" and layout_size(row.graph) <= CAP
    final = {}
    for frame in row.frames:
        final.update(frame.grads)
    assert all(final[n] == graph.nodes[n]["grad"] for n in row.graph
               if row.graph.nodes[n]["role"] != "input")
    assert {d["scope"] for _, d in graph.nodes(data=True)} >= {"pos1/layer0/mlp/fc1"}  # untouched
