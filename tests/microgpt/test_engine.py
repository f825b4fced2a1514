import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgpt_trace.microgpt.engine import Value, dot, scope, topological_order


def test_worked_example():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    d = c + a
    d.backward()
    assert (d.data, a.grad, b.grad, c.grad) == (8.0, 4.0, 2.0, 1.0)
    assert (c.op, d.op, a.op) == ("*", "+", "")
    assert d._children == (c, a)


def test_same_child_twice_accumulates():
    a = Value(3.0)
    b = a * a
    assert b._children == (a, a)
    b.backward()
    assert a.grad == 6.0


def test_reused_intermediate_accumulates():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c * c + c  # dd/dc = 2c + 1 = -11
    d.backward()
    assert c.grad == -11.0
    assert a.grad == -11.0 * -3.0 and b.grad == -11.0 * 2.0


@pytest.mark.slow
def test_million_deep_chain():
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert y.data == 1_000_001.0 and x.grad == 1.0


def recursive_topo(root):
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for child in v._children:
                build(child)
            topo.append(v)

    build(root)
    return topo


def test_topological_order_matches_recursive_post_order():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    e = (a * b + c) * (b + a * c) + a.exp() * b.relu()
    assert topological_order(e) == recursive_topo(e)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.sampled_from("+*")),
                min_size=1, max_size=40))
def test_topological_order_random_dags(ops):
    nodes = [Value(float(i)) for i in range(4)]
    for i, j, op in ops:
        x, y = nodes[i % len(nodes)], nodes[j % len(nodes)]
        nodes.append(x + y if op == "+" else x * y)
    assert topological_order(nodes[-1]) == recursive_topo(nodes[-1])


def central_difference(f, xs, i, h=1e-6):
    up = [x + (h if k == i else 0) for k, x in enumerate(xs)]
    down = [x - (h if k == i else 0) for k, x in enumerate(xs)]
    return (f(*up).data - f(*down).data) / (2 * h)


OPS = {
    "add": (lambda a, b: a + b, [(1.5, -2.0)]),
    "radd": (lambda a, b: 2.0 + a, [(1.5, 0.0)]),
    "sub": (lambda a, b: a - b, [(1.5, -2.0)]),
    "rsub": (lambda a, b: 2.0 - a, [(1.5, 0.0)]),
    "mul": (lambda a, b: a * b, [(1.5, -2.0)]),
    "rmul": (lambda a, b: 3.0 * a, [(1.5, 0.0)]),
    "div": (lambda a, b: a / b, [(1.5, -2.0)]),
    "rdiv": (lambda a, b: 2.0 / a, [(1.5, 0.0)]),
    "neg": (lambda a, b: -a, [(1.5, 0.0)]),
    "pow": (lambda a, b: a**3, [(1.5, 0.0), (-0.7, 0.0)]),
    "pow_neg": (lambda a, b: a**-2, [(1.5, 0.0)]),
    "pow_neg_frac": (lambda a, b: a**-0.5, [(1.7, 0.0)]),
    "log": (lambda a, b: a.log(), [(1.5, 0.0)]),
    "exp": (lambda a, b: a.exp(), [(0.3, 0.0)]),
    "relu": (lambda a, b: a.relu(), [(1.5, 0.0), (-1.5, 0.0)]),
    "tanh": (lambda a, b: a.tanh(), [(0.4, 0.0)]),
    "dot": (lambda a, b: dot([a, b, a], [b, b, Value(0.5)]), [(1.5, -2.0)]),
    "composite": (lambda a, b: (a * b + a.exp()) / (b * b + 1.0), [(0.5, -1.2)]),
}


@pytest.mark.parametrize("name", OPS)
def test_gradients_match_finite_differences(name):
    f, points = OPS[name]
    for point in points:
        a, b = Value(point[0]), Value(point[1])
        f(a, b).backward()
        for i, v in enumerate((a, b)):
            expected = central_difference(lambda x, y: f(Value(x), Value(y)), point, i)
            assert v.grad == pytest.approx(expected, rel=1e-6, abs=1e-8), (name, i)


def test_relu_at_zero_has_zero_gradient():
    a = Value(0.0)
    out = a.relu()
    out.backward()
    assert (out.data, a.grad, out.op) == (0.0, 0.0, "relu")


def test_exact_forms_of_derived_ops():
    a, b = Value(0.1), Value(0.3)
    assert (a / b).data == 0.1 * 0.3**-1
    assert (a - b).data == 0.1 + -0.3
    assert (a / 3).data == 0.1 * 3**-1
    assert (-a).op == "*" and (-a)._children[1].data == -1
    assert (a**-0.5)._local_grads == (-0.5 * 0.1**-1.5,)


def test_dot_is_bit_identical_to_sum_of_products():
    import random

    rng = random.Random(1)
    ws = [Value(rng.gauss(0, 1)) for _ in range(17)]
    xs = [Value(rng.gauss(0, 1)) for _ in range(17)]
    chain = sum(w * x for w, x in zip(ws, xs))
    fused = dot(ws, xs)
    assert fused.data == chain.data and fused.op == "dot"
    (fused * 1.7).backward()
    fused_grads = [v.grad for v in ws + xs]
    for v in ws + xs:
        v.grad = 0.0
    (chain * 1.7).backward()
    assert fused_grads == [v.grad for v in ws + xs]


def test_scopes_nest_and_restore():
    with scope("pos3"):
        with scope("layer0"):
            inner = Value(1.0) + 1.0
        outer = Value(1.0)
    assert inner.scope == "pos3/layer0" and outer.scope == "pos3"
    assert Value(0.0).scope == ""


def test_scope_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with scope("x"):
            Value(0.0) ** -1
    assert Value(1.0).scope == ""


def test_the_scope_belongs_to_a_context():
    """A context variable, as the recorder's: a fresh context builds outside any scope."""
    import contextvars
    with scope("pos3"):
        elsewhere = contextvars.Context().run(Value, 1.0)
        here = contextvars.copy_context().run(Value, 1.0)
    assert (elsewhere.scope, here.scope) == ("", "pos3")


def test_a_power_keeps_its_exponent():
    a, b = Value(3.0), Value(2.0)
    assert (a ** (1 / 3)).exponent == 1 / 3 and (a ** -0.5).exponent == -0.5
    quotient = a / b  # a * b**-1
    assert quotient._children[1].op == "**" and quotient._children[1].exponent == -1


def test_gradients_accumulate_across_backward_calls():
    a = Value(2.0)
    b = a * 3.0
    b.backward()
    b.backward()
    assert a.grad == 6.0
    assert not math.isnan(a.grad)


def test_unnamed_skips_scopes_and_labels_but_not_the_numbers():
    from microgpt_trace.microgpt.engine import scope, unnamed
    from microgpt_trace.microgpt.model import named

    with unnamed():
        with scope("layer0"):
            x = named([Value(2.0) * 3], "x[{}]")[0]
    with scope("layer0"):
        y = named([Value(2.0) * 3], "x[{}]")[0]
    assert (x.scope, x.label) == ("", "") and (y.scope, y.label) == ("layer0", "x[0]")
    assert x.data == y.data
