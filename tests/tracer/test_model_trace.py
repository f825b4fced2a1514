import random

import networkx as nx
import pytest

from microgpt_trace.microgpt.engine import topological_order
from microgpt_trace.microgpt.exceptions import DataError
from microgpt_trace.microgpt.model import GPT, Config, document_loss
from microgpt_trace.tracer.exceptions import SelectionError
from microgpt_trace.tracer.model_trace import trace_head, trace_text
from microgpt_trace.tracer.queries import head_view

from .tiny_models import TOKENIZER, snapshot, tiny_graph, tiny_model


@pytest.mark.parametrize("engine", ["fused", "atomic"])
def test_graph_is_the_document_loss_with_gradients(engine):
    model = tiny_model(engine)
    g = trace_text(model, TOKENIZER, "abca")
    tokens = [3, 0, 1, 2, 0, 3]
    loss = document_loss(tiny_model(engine), tokens)
    loss.backward()
    order = topological_order(loss)
    assert len(g) == len(order)
    assert g.number_of_edges() == sum(len(v._children) for v in order)
    assert [(d["op"], d["data"], d["grad"], d["label"], d["scope"])
            for _, d in g.nodes(data=True)] == [(v.op, v.data, v.grad, v.label, v.scope)
                                                for v in order]
    root = g.graph["roots"][0]
    assert (g.nodes[root]["label"], g.nodes[root]["data"]) == ("loss", loss.data)


def test_graph_attributes():
    g = tiny_graph("fused", "abca")
    assert g.graph == {"roots": (len(g) - 1,), "source": "text 'abca'", "view": "model",
                       "text": "abca", "tokens": ("BOS", "a", "b", "c", "a", "BOS"),
                       "vocab": ("a", "b", "c", "BOS"), "n_layer": 1, "n_head": 2, "head_dim": 4}
    given = trace_text(tiny_model(), TOKENIZER, "ab", source="checkpoint x.json, text 'ab'")
    assert given.graph["source"] == "checkpoint x.json, text 'ab'"


def test_model_names_and_scopes_are_in_the_graph():
    g = tiny_graph("fused", "abca")
    where = {d["label"]: d["scope"] for _, d in g.nodes(data=True) if d["label"]}
    assert where["wte[3][5]"] == "params"
    assert where["L0.h1.score[t=1]"].endswith("layer0/attn/head1/scores")
    assert where["loss"] == "loss"
    kinds = {d["kind"] for _, d in g.nodes(data=True)}
    assert kinds == {"param", "const", "op"}


def test_both_engines_give_the_same_numbers():
    fused, atomic = tiny_graph("fused"), tiny_graph("atomic")
    assert len(atomic) > len(fused)

    def named(g):
        return {(d["scope"], d["label"]): (d["data"], d["grad"])
                for _, d in g.nodes(data=True) if d["label"]}
    assert named(fused) == named(atomic)  # bit for bit: the engine contract


def test_tracing_is_deterministic_and_resets_parameter_grads():
    model = tiny_model("atomic")
    first = trace_text(model, TOKENIZER, "cab")
    second = trace_text(model, TOKENIZER, "cab")  # grads would double without a reset
    assert snapshot(first) == snapshot(second)


def test_without_backward_all_grads_are_zero():
    g = trace_text(tiny_model(), TOKENIZER, "ab", backward=False)
    assert {d["grad"] for _, d in g.nodes(data=True)} == {0.0}
    assert {c for *_, c in g.edges(data="contribution")} == {0.0}


@pytest.mark.parametrize("text, message", [
    ("", "the text is empty"),
    ("abz", r"characters not in the vocabulary: 'z' \(the vocabulary is 'abc'\)"),
    ("zazy", r"'yz'"),
    ("abcabcab", r"has 8 characters; the model's block_size 8 allows at most 7"),
])
def test_bad_texts(text, message):
    with pytest.raises(DataError, match=message):
        trace_text(tiny_model(), TOKENIZER, text)


def test_longest_text_uses_every_position():
    g = trace_text(tiny_model(), TOKENIZER, "abcabca")
    assert {d["scope"].split("/")[0] for _, d in g.nodes(data=True)} \
        == {f"pos{t}" for t in range(8)} | {"params", "loss"}


def test_default_config_atomic_engine_traces_about_60k_nodes():
    from microgpt_trace.microgpt.data import Tokenizer

    tok = Tokenizer("abcdefghijklmnopqrstuvwxyz")
    model = GPT.init(Config(tok.vocab_size), random.Random(42), "atomic")
    g = trace_text(model, tok, "emily")  # 7 tokens
    assert 45_000 < len(g) < 65_000
    assert g.graph["tokens"] == ("BOS", "e", "m", "i", "l", "y", "BOS")


def everything(G):
    """Nodes, edges and graph attrs in iteration order, and each node's in-edge order."""
    return (list(G.nodes(data=True)), list(G.edges(keys=True, data=True)),
            list(G.graph.items()), [list(G.pred[n]) for n in G])


@pytest.mark.parametrize("engine", ["fused", "atomic"])
@pytest.mark.parametrize("text, n_layer, pos, layer, head", [
    ("abca", 2, 0, 0, 0), ("abca", 2, 3, 1, 1), ("abca", 2, 4, 0, 1),
    ("c", 1, 1, 0, 0), ("abcabca", 1, 5, 0, 1),
])
def test_trace_head_equals_head_view_of_the_whole_trace(engine, text, n_layer, pos, layer,
                                                        head):
    whole = head_view(trace_text(tiny_model(engine, n_layer), TOKENIZER, text, source="s"),
                      pos, layer, head)
    part = trace_head(tiny_model(engine, n_layer), TOKENIZER, text, pos, layer, head,
                      source="s")
    assert nx.utils.graphs_equal(part, whole)
    assert everything(part) == everything(whole)


def test_trace_head_without_backward_and_default_source():
    whole = head_view(trace_text(tiny_model(), TOKENIZER, "ab", backward=False), 2, 0, 1)
    part = trace_head(tiny_model(), TOKENIZER, "ab", 2, 0, 1, backward=False)
    assert everything(part) == everything(whole)
    assert part.graph["source"] == "text 'ab'"
    assert {d["grad"] for _, d in part.nodes(data=True)} == {0.0}


@pytest.mark.parametrize("text, pos, layer, head, message", [
    ("", 0, 0, 0, "the text is empty"),
    ("abz", 9, 0, 0, "characters not in the vocabulary"),
    ("abca", 5, 0, 0, r"^--pos 5: the text 'abca' has positions 0\.\.4$"),
    ("abca", 0, 1, 0, r"^--layer 1: the model has layers 0\.\.0$"),
    ("abca", 0, 0, 7, r"^--head 7: the model has heads 0\.\.1$"),
])
def test_trace_head_refuses_what_head_view_refuses(text, pos, layer, head, message):
    with pytest.raises((SelectionError, DataError), match=message):
        trace_head(tiny_model(), TOKENIZER, text, pos, layer, head)
