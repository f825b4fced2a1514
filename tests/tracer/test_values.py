"""Foreign Values (micrograd's and microgpt.py's shapes) traced into our schema."""

import itertools
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from microgpt_trace.tracer.exceptions import NotValueLikeError, UnsupportedOpError
from microgpt_trace.tracer.graph import trace
from microgpt_trace.tracer.replay import backward_frames, grads_after
from microgpt_trace.tracer.values import UNNAMED

from ..microgpt.reference import V as GV
from .foreign_values import MG, objects


def bits(x):
    return float(x).hex()


def check_exact(root, G):
    """The graph holds the objects' data and grads, and the replay ends on them."""
    assert sorted((bits(v.data), bits(v.grad)) for v in objects(root)) == sorted(
        (bits(d["data"]), bits(d["grad"])) for _, d in G.nodes(data=True))
    last = list(grads_after(G, backward_frames(G)))[-1]
    assert {n: bits(g) for n, g in last.items()} == {
        n: bits(d) for n, d in G.nodes(data="grad")}


MICROGRAD_CASES = {
    "+": (lambda a, b: a + b, "+"),
    "*": (lambda a, b: a * b, "*"),
    "**2": (lambda a, b: a**2, "**"),
    "**-1 (/)": (lambda a, b: b**-1, "**"),
    "/": (lambda a, b: a / b, "*"),
    "**0.5": (lambda a, b: b**0.5, "**"),
    "ReLU": (lambda a, b: (a * b).relu(), "relu"),
    "ReLU closed": (lambda a, b: (-a * b).relu(), "relu"),
    "tanh": (lambda a, b: (a * b).tanh(), "tanh"),
    "exp": (lambda a, b: (a - b).exp(), "exp"),
    "log": (lambda a, b: (a * b).log(), "log"),
    "a*a": (lambda a, b: a * a, "*"),
    "a+a": (lambda a, b: a + a, "+"),
    "reused": (lambda a, b: (lambda c: c * a + c * c + c)(a * b + a), "+"),
}


@pytest.mark.parametrize("name", list(MICROGRAD_CASES))
def test_micrograd_ops_replay_to_the_bit(name):
    build, op = MICROGRAD_CASES[name]
    a, b = MG(0.7, label="a"), MG(2.3, label="b")
    out = build(a, b)
    out.backward()
    G = trace(out)
    assert G.nodes[G.graph["roots"][0]]["op"] == op
    check_exact(out, G)


def test_micrograd_local_grads_and_repeats():
    a, b = MG(2.0, label="a"), MG(-3.0, label="b")
    prod, square, power = a * b, a * a, b**3
    out = prod + square + power
    out.backward()
    G = trace(out)
    by_label = {d["label"]: n for n, d in G.nodes(data=True)}
    local = {(G.nodes[u]["label"], G.nodes[v]["data"]): d["local_grad"]
             for u, v, d in G.edges(data=True)}
    assert local[("a", -6.0)] == -3.0 and local[("b", -6.0)] == 2.0
    assert G.number_of_edges(by_label["a"], [n for n, d in G.nodes(data=True)
                                             if d["data"] == 4.0][0]) == 2  # a*a: twice
    cube = [n for n, d in G.nodes(data=True) if d["op"] == "**"][0]
    assert G.nodes[cube]["exponent"] == 3.0 and local[("b", -27.0)] == 27.0
    assert a.grad == -3.0 + 4.0 and b.grad == 2.0 + 27.0
    check_exact(out, G)


def test_real_micrograd_mlp():
    nn = pytest.importorskip("micrograd.nn")
    import random

    random.seed(7)
    model = nn.MLP(3, [4, 1])
    loss = (model([1.0, -2.0, 0.5]) - 1.0) ** 2
    loss.backward()
    G = trace(loss)
    check_exact(loss, G)
    assert {"+", "*", "**", "relu"} <= set(nx_ops(G))


def nx_ops(G):
    return [d for _, d in G.nodes(data="op")]


GPT_CASES = {
    "+": (lambda a, b: a + b, "+", None),
    "*": (lambda a, b: a * b, "*", None),
    "**2": (lambda a, b: a**2, "**", 2.0),
    "**3": (lambda a, b: b**3, "**", 3.0),
    "**-1": (lambda a, b: a / b, "*", None),
    "**0.5": (lambda a, b: b**0.5, "**", 0.5),
    "**-0.5": (lambda a, b: (a * b) ** -0.5, "**", -0.5),
    "log": (lambda a, b: b.log(), "log", None),
    "exp": (lambda a, b: a.exp(), "exp", None),
    "relu": (lambda a, b: (a - b).relu(), "relu", None),
    "relu open": (lambda a, b: (b - a).relu(), "relu", None),
    "a*a": (lambda a, b: a * a, "*", None),
}


@pytest.mark.parametrize("name", list(GPT_CASES))
def test_microgpt_ops_named_where_exact(name):
    build, op, exponent = GPT_CASES[name]
    a, b = GV(0.7), GV(2.3)
    out = build(a, b)
    out.backward()
    G = trace(out)
    root = G.nodes[G.graph["roots"][0]]
    assert (root["op"], root.get("exponent")) == (op, exponent)
    check_exact(out, G)


def test_microgpt_reuse_keeps_argument_order():
    a, b = GV(3.0), GV(5.0)
    c = a * b
    out = c * a + c
    out.backward()
    G = trace(out)
    c_node = [n for n, d in G.nodes(data=True) if d["data"] == 15.0][0]
    assert [G.nodes[u]["data"] for u, _, _ in sorted(G.in_edges(c_node, keys=True),
                                                     key=lambda e: e[2])] == [3.0, 5.0]
    assert G.nodes[c_node]["op"] == "*" and G.out_degree(c_node) == 2
    check_exact(out, G)


def test_an_op_no_candidate_explains_is_unnamed_and_drawn_with_its_local_grads():
    from microgpt_trace import draw

    x = GV(0.5)
    s = 1 / (1 + math.exp(-x.data))
    out = GV(s, (x,), (s * (1 - s),)) * 2.0  # a sigmoid written by hand
    out.backward()
    G = trace(out)
    assert [d["op"] for _, d in G.nodes(data=True)] == ["", UNNAMED, "", "*"]
    source = draw(out).source
    assert "local ∂ = 0.235<" in source and 'label="?"' in source
    check_exact(out, G)


def test_before_backward_grads_are_not_computed():
    from microgpt_trace import animate, draw, step
    from microgpt_trace.tracer.exceptions import GradsNotComputedError

    for Value in (MG, GV):
        out = Value(2.0) * Value(3.0)
        assert trace(out).graph["grads"] == "not computed"
        source = draw(out).source
        assert "grads not computed yet: call backward()" in source
        assert ">grad<" not in source
        for show in (animate, step):
            with pytest.raises(GradsNotComputedError, match="call backward"):
                show(out)
        out.backward()
        assert "grads" not in trace(out).graph and ">grad<" in draw(out).source


def test_unknown_and_unordered_ops_are_one_clear_error():
    a, b = MG(1.0), MG(2.0)
    with pytest.raises(UnsupportedOpError, match=r"'sigmoid'.*known ops are \+, \*, \*\*k"):
        trace(MG(0.5, (a,), "sigmoid"))
    with pytest.raises(UnsupportedOpError, match="'-'.*order"):
        trace(MG(-1.0, (a, b), "-"))
    with pytest.raises(UnsupportedOpError, match="'exp' with 2 children"):
        trace(MG(1.0, (a, b), "exp"))


def test_something_not_value_like_is_one_line():
    with pytest.raises(NotValueLikeError, match="cannot trace float object 3.0: expected a "
                       "Value-like object with data and grad, and either _children"):
        trace(3.0)
    with pytest.raises(NotValueLikeError, match="got|cannot trace str"):
        trace(MG(1.0, ("x",), "exp"))


class Hashed(MG):
    """A micrograd Value whose set position we choose, to force a backward order."""

    def __init__(self, data, _children=(), _op="", h=0):
        self.h = h
        super().__init__(data, _children, _op)

    def __hash__(self):
        return self.h

    def __eq__(self, other):
        return self is other


def three_uses(order):
    """x used by three ops whose contributions (1e16, -1e16, 1) sum by order."""
    x = Hashed(1.0, h=100)
    h = dict(zip("pqr", order))
    ys = [Hashed(c, (x, Hashed(c, h=50 + h[k])), "*", h=h[k])
          for k, c in zip("pqr", (1e16, -1e16, 1.0))]
    return Hashed(sum(y.data for y in ys), tuple(ys), "+", h=0), x


def test_a_sum_whose_order_matters_replays_in_the_users_order():
    # '+' with three children is not micrograd's, but its local grads are the same;
    # the set's iteration order (by hash) decides micrograd's topological order.
    recorded = 0
    for order in itertools.permutations((1, 2, 3)):
        out, x = three_uses(order)
        for y in out._prev:
            y._backward = None
        out.backward = None
        user_backward(out)
        G = trace(out)
        recorded += "backward_order" in G.graph
        assert G.graph.get("replay_exact", True)
        check_exact(out, G)
    assert recorded, "no order made the float sum differ: the test proves nothing"


def user_backward(root):
    """micrograd's backward on any children (a 3-operand '+' included)."""
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for c in v._prev:
                build(c)
            topo.append(v)
    build(root)
    root.grad = 1
    for v in reversed(topo):
        kids = list(v._prev)
        for c in kids:
            if v._op == "+":
                c.grad += v.grad
            elif v._op == "*":
                other = [k for k in kids if k is not c][0]
                c.grad += other.data * v.grad


SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from tracer.foreign_values import MG
    from microgpt_trace import draw

    class Named(MG):  # str hashing follows PYTHONHASHSEED, so set order does too
        def __hash__(self):
            return hash(self.label)

    xs = [Named(float(i % 3), label=f"x{{i}}") for i in range(6)]
    ws = [Named(0.5, label=f"w{{i}}") for i in range(6)]
    out = sum((w * x for w, x in zip(ws, xs)), Named(0.0, label="b")).tanh()
    out = out * out + xs[0]
    out.backward()
    # the order each w*x node's set gives its two labelled children
    print([[v.label for v in (w * x)._prev] for w, x in zip(ws, xs)], file=sys.stderr)
    sys.stdout.write(draw(out).source)
""")


def test_set_ordered_graphs_give_the_same_bytes_in_every_process():
    tests = str(Path(__file__).resolve().parents[1])
    runs, orders = [], set()
    for seed in ("0", "1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests)], env=env,
                              capture_output=True, text=True, check=True)
        runs.append(done.stdout)
        orders.add(done.stderr)
    assert len(orders) > 1, "the hash seeds did not change any set order"
    assert all(run == runs[0] for run in runs) and "x5" in runs[0]
