import json
import os

import networkx as nx
import pytest

from microgpt_trace.tracer.exceptions import ExportError
from microgpt_trace.tracer.export import FORMATS, read_graph, write_graph
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.queries import collapse, head_view

from .tiny_models import tiny_graph


def graphs():
    """An expression with awkward floats and a repeated operand, and model views."""
    expression = trace_expression("a*a + b/a - log(c)*2",
                                  {"a": 0.1 + 0.2, "b": 5e-324, "c": 1e-300})
    model = tiny_graph("fused", "abc")
    return {"expression": expression, "model": model, "head": head_view(model, 2, 0, 1)}


GRAPHS = graphs()


def dump(G):
    """Every node, edge (with key) and graph attribute, in a comparable form."""
    nodes = sorted(G.nodes(data=True))
    edges = sorted((u, v, k, sorted(d.items())) for u, v, k, d in G.edges(keys=True, data=True))
    return nodes, edges, G.graph


def with_floats(G):
    """The schema floats as floats: -1 of a negation is written as -1.0 (equal)."""
    H = G.copy()
    for _, d in H.nodes(data=True):
        d.update(data=float(d["data"]), grad=float(d["grad"]))
    for *_, d in H.edges(data=True):
        d.update(local_grad=float(d["local_grad"]))
    return H


def assert_same_types(G, H):
    for n, d in G.nodes(data=True):
        assert {k: type(v) for k, v in H.nodes[n].items()} == {k: type(v) for k, v in d.items()}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(GRAPHS))
def test_read_graph_restores_everything(tmp_path, fmt, name):
    G = GRAPHS[name]
    path = tmp_path / f"g.{fmt}"
    write_graph(G, path)
    H = read_graph(path)
    assert isinstance(H, nx.MultiDiGraph)
    assert dump(H) == dump(G)  # == on floats is bit equality here
    assert_same_types(with_floats(G), H)
    assert list(H) == list(G)


def plain_read(path, fmt):
    """The file read with networkx alone, and the graph attributes decoded by hand."""
    if fmt == "graphml":
        G = nx.read_graphml(path, node_type=int, force_multigraph=True)
        del G.graph["node_default"], G.graph["edge_default"]  # the reader adds these
        for name in json.loads(G.graph.pop("json_attrs", "[]")):
            G.graph[name] = tuple(json.loads(G.graph[name]))
    elif fmt == "gexf":
        G = nx.read_gexf(path, node_type=int)
        G.graph = {k: tuple(v) if isinstance(v, list) else v
                   for k, v in json.loads(G.graph["name"]).items()}
        for *_, d in G.edges(data=True):
            del d["id"]  # GEXF's own edge id
        if not G.is_multigraph():  # no repeated operand: the key is the arg attribute
            G = nx.MultiDiGraph([(u, v, d["arg"], d) for u, v, d in G.edges(data=True)],
                                **G.graph)
            G.add_nodes_from(nx.read_gexf(path, node_type=int).nodes(data=True))
    else:
        G = nx.node_link_graph(json.loads(path.read_text(encoding="utf-8")), edges="edges")
        G.graph = {k: tuple(v) if isinstance(v, list) else v for k, v in G.graph.items()}
    return G


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(GRAPHS))
def test_plain_networkx_reads_the_files(tmp_path, fmt, name):
    G = GRAPHS[name]
    path = tmp_path / f"g.{fmt}"
    write_graph(G, path)
    assert dump(plain_read(path, fmt)) == dump(G)


@pytest.mark.parametrize("fmt", FORMATS)
def test_block_view_round_trips_as_a_multigraph(tmp_path, fmt):
    B = collapse(tiny_graph("fused", "abc"), 2)
    path = tmp_path / f"b.{fmt}"
    write_graph(B, path)
    H = read_graph(path)
    assert dump(H) == dump(nx.MultiDiGraph(B))


@pytest.mark.parametrize("fmt", FORMATS)
def test_simple_graph_files_key_edges_by_arg(tmp_path, fmt):
    G = trace_expression("a*b")  # no repeated operand: GEXF readers see a simple graph
    write_graph(G, tmp_path / f"g.{fmt}")
    assert sorted(read_graph(tmp_path / f"g.{fmt}").edges(keys=True)) == [(0, 2, 0), (1, 2, 1)]


def test_format_argument_overrides_the_extension(tmp_path):
    G = GRAPHS["expression"]
    write_graph(G, tmp_path / "graph.xml", fmt="GraphML")
    assert dump(read_graph(tmp_path / "graph.xml", fmt="graphml")) == dump(G)


@pytest.mark.parametrize("fmt", ["graphml", "json"])
def test_output_is_deterministic(tmp_path, fmt):
    write_graph(GRAPHS["model"], tmp_path / f"1.{fmt}")
    write_graph(tiny_graph("fused", "abc").copy(), tmp_path / f"2.{fmt}")
    assert (tmp_path / f"1.{fmt}").read_bytes() == (tmp_path / f"2.{fmt}").read_bytes()


def test_unsupported_format(tmp_path):
    with pytest.raises(ExportError, match=r"unsupported graph extension '\.dot' of '.*g\.dot': "
                                          r"use graphml, gexf, json"):
        write_graph(GRAPHS["expression"], tmp_path / "g.dot")
    with pytest.raises(ExportError, match=r"unsupported graph format 'svg'"):
        write_graph(GRAPHS["expression"], tmp_path / "g.json", fmt="svg")
    with pytest.raises(ExportError, match=r"extension ''"):
        read_graph(tmp_path / "graph")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_write_leaves_no_file(tmp_path, fmt):
    path = tmp_path / f"g.{fmt}"
    path.write_text("old")
    G = GRAPHS["expression"].copy()
    G.nodes[0]["bad"] = object()  # no format can hold this
    with pytest.raises(ExportError, match=f"cannot write this graph as {fmt}"):
        write_graph(G, path)
    assert os.listdir(tmp_path) == [path.name] and path.read_text() == "old"


def test_unwritable_and_unreadable_paths(tmp_path):
    with pytest.raises(ExportError, match=r"cannot write '.*missing/g\.json': "
                       r"the folder '.*missing' does not exist"):
        write_graph(GRAPHS["expression"], tmp_path / "missing" / "g.json")
    with pytest.raises(ExportError, match=r"graph file not found: '.*nope\.gexf'"):
        read_graph(tmp_path / "nope.gexf")
    for fmt in FORMATS:
        (tmp_path / f"bad.{fmt}").write_text("<graphml><oops")
        with pytest.raises(ExportError, match=f"is not a readable {fmt} graph"):
            read_graph(tmp_path / f"bad.{fmt}")
