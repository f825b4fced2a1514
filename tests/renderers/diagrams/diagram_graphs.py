"""Small graphs for the diagram tests, built from Values so their numbers are real.

Labels are set by hand (as microgpt_trace.tracer.expression.evaluate would set them)
so these graphs, and the golden DOT files drawn from them, depend only on the engine
and microgpt_trace.tracer.graph.trace.
"""

import re

import networkx as nx

from microgpt_trace.microgpt.engine import Value, dot, scope
from microgpt_trace.microgpt.model import named, softmax
from microgpt_trace.tracer.graph import trace
from microgpt_trace.tracer.queries import sent_from


def labelled(value, label):
    value.label = label
    return value


def expression(root, source):
    root.backward()
    G = trace(root, source=source)
    G.graph["view"] = "expression"
    return G


def a_times_b_plus_a():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    return expression(labelled(labelled(a * b, "a*b") + a, "a*b + a"), "a*b+a")


def a_times_a():
    a = Value(3.0, label="a")
    return expression(labelled(a * a, "a*a"), "a*a")


def ten_ops():
    """tanh(a*b + c) * exp(-a) / (b + 2): tanh, exp, a power and three constants."""
    a, b, c = Value(0.5, label="a"), Value(-1.5, label="b"), Value(0.25, label="c")
    t = labelled(labelled(labelled(a * b, "a*b") + c, "a*b + c").tanh(), "tanh(a*b + c)")
    e = labelled(labelled(-a, "-a").exp(), "exp(-a)")
    inv = labelled(labelled(b + 2, "b + 2") ** -1, "(b + 2)**-1")
    top = labelled(t * e, "tanh(a*b + c)*exp(-a)")
    return expression(labelled(top * inv, "tanh(a*b + c)*exp(-a)/(b + 2)"),
                      "tanh(a*b + c) * exp(-a) / (b + 2)")


def leaf(data, label, where):
    with scope(where):
        return Value(data, label=label)


ROLES = ((".q[", "q"), (".k[", "k"), (".v[", "v"), (".score[", "score"), (".w[", "weight"),
         (".out[", "out"))


def tiny_head():
    """Head 1 of layer 0 at position 1, head_dim 2, annotated as tracer's head view is."""
    qkv = "pos{}/layer0/attn/qkv"
    q = [leaf(0.5, "L0.q[2]", qkv.format(1)), leaf(-1.0, "L0.q[3]", qkv.format(1))]
    k = [[leaf(0.25 * (t + j + 1), f"L0.k[{j + 2}]", qkv.format(t)) for j in range(2)]
         for t in range(2)]
    v = [[leaf(1.0 - t - j, f"L0.v[{j + 2}]", qkv.format(t)) for j in range(2)]
         for t in range(2)]
    with scope("pos1/layer0/attn/head1"):
        with scope("scores"):
            scores = named([dot(q, k_t) / 2**0.5 for k_t in k], "L0.h1.score[t={}]")
        with scope("softmax"):
            weights = named(softmax(scores), "L0.h1.w[t={}]")
        with scope("out"):
            out = named([dot(weights, [v_t[j] for v_t in v]) for j in range(2)], "L0.h1.out[{}]")
    (out[0] * 2 + out[1]).backward()  # grads as if a loss used both outputs
    G = trace(*out, source="tiny head")
    for _, d in G.nodes(data=True):
        d["role"] = next((role for mark, role in ROLES if mark in d["label"]), "internal")
        d["position"] = int(re.match(r"pos(\d+)", d["scope"]).group(1))
    for n, d in G.nodes(data=True):
        if d["role"] in ("q", "k", "v"):
            d["from_here"] = sent_from(G, n, lambda v: True)
    G.graph.update(view="head", pos=1, layer=0, head=1, tokens=("BOS", "a", "b", "BOS"))
    return G


def tiny_blocks():
    """A collapsed two-position model, shaped like microgpt_trace.tracer.queries.collapse's
    output."""
    B = nx.DiGraph(view="blocks", depth=1, roots=(5,), source="tiny blocks",
                   tokens=("BOS", "a", "BOS"))
    blocks = [("params/wte", "wte", -1, "param", 48, "", 1.25),
              ("pos0/embed", "embed", 0, "block", 38, "*:17 +:17 dot:1", 4.5),
              ("pos0/layer0", "layer0", 0, "block", 340, "dot:166 *:42 +:42", 0.15),
              ("pos1/embed", "embed", 1, "block", 38, "*:17 +:17 dot:1", 2.0),
              ("pos1/layer0", "layer0", 1, "block", 376, "dot:170 *:50 +:50", 0.125),
              ("loss", "loss", -1, "block", 8, "+:5 *:1", 9.0)]
    for i, (key, label, position, kind, n, ops, norm) in enumerate(blocks):
        B.add_node(i, scope=key, label=label, position=position, kind=kind, n_nodes=n,
                   op_counts=ops, grad_norm=norm, data_norm=norm / 2)
    for u, v, count, flow in [(0, 1, 16, 4.0), (0, 3, 16, 2.0), (1, 2, 16, 4.5), (2, 4, 32, 0.5),
                              (3, 4, 16, 2.0), (2, 5, 1, 1.0), (4, 5, 1, 1.0)]:
        B.add_edge(u, v, count=count, contribution_norm=flow)
    return B


def tiny_model():
    """A few nodes in nested scopes, with a weight: the clustered "model" view."""
    with scope("params"):
        w, p = Value(0.5, label="wte[0][0]"), Value(-0.25, label="wpe[0][0]")
    with scope("pos0"):
        with scope("embed"):
            e = labelled(w + p, "emb[0]")
        with scope("layer0"), scope("mlp"):
            r = labelled((e * 3).relu(), "L0.relu[0]")
    with scope("loss"):
        loss = labelled(r * r, "loss")
    loss.backward()
    G = trace(loss, source="tiny model")
    G.graph["view"] = "model"
    return G
