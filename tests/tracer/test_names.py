"""node_name: labels as they are (a vocabulary index as its character), unnamed nodes
spelled from their operands."""

import networkx as nx
import pytest

from microgpt_trace.microgpt.engine import Value, dot
from microgpt_trace.tracer.graph import trace
from microgpt_trace.tracer.names import (
    MAX_LENGTH,
    display_label,
    is_reciprocal,
    node_name,
    power_exponent,
)


def test_brackets_follow_precedence():
    a, b, c = Value(2.0, label="a"), Value(3.0, label="b"), Value(5.0, label="c")
    assert node_name(*last((a + b) * c)) == "(a + b)*c"
    assert node_name(*last(a * b + c)) == "a*b + c"
    assert node_name(*last((a + b) ** 2)) == "(a + b)**2"
    assert node_name(*last((a * b) ** -1)) == "(a*b)**-1"


def test_functions_and_fused_dot():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    assert node_name(*last((a * b).exp().log())) == "log(exp(a*b))"
    ws = [Value(1.0, label=f"w{i}") for i in range(4)]
    xs = [Value(1.0, label=f"x{i}") for i in range(4)]
    assert node_name(*last(dot(ws, xs))) == "dot(w0, x0, w1, …)"


def test_deep_names_shrink_to_fit_a_caption_line():
    xs = [Value(float(i), label=f"input_number_{i}") for i in range(6)]
    total = xs[0]
    for x in xs[1:]:
        total = total * 1.0 + x
    G, root = last(total)
    name = node_name(G, root)
    assert name == "(… + input_number_4)*1 + input_number_5"  # three levels are too long
    assert all(len(node_name(G, n)) <= MAX_LENGTH for n in G)


def test_control_characters_are_escaped():
    a = Value(1.0, label="a\nb")
    assert node_name(*last(a * 2.0)) == "a\\nb*2"


def last(root):
    G = trace(root)
    return G, max(G)


def test_softmax_steps_use_the_words_of_the_head_view():
    """The caption says `score − max`, `Σ` and `1/Σ`, as the head diagram labels them."""
    from microgpt_trace.microgpt.engine import scope
    from microgpt_trace.microgpt.model import softmax
    scores = [Value(0.5, label="s0"), Value(-0.25, label="s1")]
    with scope("head0"), scope("softmax"):
        weights = softmax(scores)
    G = trace(weights[0] + weights[1])
    names = {node_name(G, n) for n in G}
    assert {"1/Σ", "Σ"} <= names
    assert {"exp(s0 − max)", "exp(s1 − max)", "−max"} <= names
    assert not any("**-1" in name or "-0.5" in name for name in names)


def test_a_reciprocal_outside_a_softmax_stays_a_power():
    a = Value(2.0, label="a")
    from microgpt_trace.microgpt.engine import scope
    with scope("mlp"):
        G, root = last((a + 1.0) ** -1)
    assert node_name(G, root) == "(a + 1)**-1"


def test_the_exponent_is_the_one_the_engine_kept():
    """Read back from the numbers (local grad * base / data), k of 3**(1/3) comes out
    0.33333333333333326, of 7**-0.5 -0.49999999999999994, of 0**2 0/0; and -1.00001
    prints as -1. None of that may change what a node says it computes."""
    from microgpt_trace.microgpt.engine import scope
    G, root = last(Value(3.0, label="a") ** (1 / 3))
    assert power_exponent(G, root) == 1 / 3 and node_name(G, root) == "a**0.3333"
    G, root = last(Value(7.0, label="b") ** -0.5)
    assert power_exponent(G, root) == -0.5
    G, root = last(Value(0.0, label="z") ** 2)
    assert power_exponent(G, root) == 2.0 and node_name(G, root) == "z**2"
    with scope("softmax"):
        G, root = last((Value(2.0, label="t") + Value(1.0, label="u")) ** -1.00001)
    assert not is_reciprocal(G, root) and node_name(G, root) == "(t + u)**-1"
    assert "Σ" not in {node_name(G, n) for n in G}


# Vectors with a row per token are named by character (logit 'a', wte 'n'[3]).

def shipped_text_graph(dataset):
    """A tiny untrained model of a shipped dataset's vocabulary, traced on one name."""
    import random

    from microgpt_trace.microgpt.data import Tokenizer, load_docs
    from microgpt_trace.microgpt.model import GPT, Config
    from microgpt_trace.tracer.model_trace import trace_text

    docs = load_docs(dataset)
    tokenizer = Tokenizer.from_docs(docs)
    model = GPT.init(Config(tokenizer.vocab_size, n_embd=4, n_head=2, block_size=16),
                     random.Random(0))
    return trace_text(model, tokenizer, docs[0]), tokenizer


@pytest.mark.parametrize("dataset", ["names", "names-ja"])
def test_every_vocab_id_is_named_by_its_character(dataset):
    G, tokenizer = shipped_text_graph(dataset)
    chars = tokenizer.chars
    assert G.graph["vocab"] == tuple(chars) + ("BOS",)
    assert not set(chars) & set("'\"\\")  # so the quoted form below is the whole oracle
    for i, ch in enumerate(chars):
        assert display_label(G, f"logit[{i}]") == f"logit '{ch}'"
        assert display_label(G, f"p[{i}]") == f"p '{ch}'"
        assert display_label(G, f"wte[{i}]") == f"wte '{ch}'"
        assert display_label(G, f"wte[{i}][3]") == f"wte '{ch}'[3]"
        assert display_label(G, f"lm_head[{i}][0]") == f"lm_head '{ch}'[0]"
    bos = tokenizer.bos
    assert [display_label(G, f"{s}[{bos}]") for s in ("logit", "wte", "lm_head")] == [
        "logit BOS", "wte BOS", "lm_head BOS"]
    names = {display_label(G, f"logit[{i}]") for i in range(tokenizer.vocab_size)}
    assert len(names) == tokenizer.vocab_size


def test_the_node_label_stays_the_model_s_name():
    G, tokenizer = shipped_text_graph("names")
    logits = {d["label"]: n for n, d in G.nodes(data=True)
              if d["label"].startswith("logit[") and d["scope"] == "pos1/lm_head"}
    assert sorted(logits) == sorted(f"logit[{i}]" for i in range(tokenizer.vocab_size))
    assert node_name(G, logits["logit[0]"]) == "logit 'a' @1 " + repr(G.graph["tokens"][1])
    assert node_name(G, logits[f"logit[{tokenizer.bos}]"]).startswith("logit BOS @1 ")


def test_other_labels_and_graphs_without_a_vocabulary_keep_their_index():
    G = nx.MultiDiGraph(vocab=("a", "BOS"))
    assert [display_label(G, s) for s in ("wpe[1][0]", "L0.fc1[0]", "x[1]", "logit[2]",
                                          "logits[0]", "logit[0][1][2]")] == [
        "wpe[1][0]", "L0.fc1[0]", "x[1]", "logit[2]", "logits[0]", "logit[0][1][2]"]
    assert display_label(nx.MultiDiGraph(), "logit[0]") == "logit[0]"
