"""Scalar autograd: every op stores its children and local gradients as data.

Unlike a closure-based engine, a node here *is* the chain rule's input: the tracer
and the backward replay read `_children` and `_local_grads` directly. The exact form
of each op follows microgpt.py so that numbers agree to the last bit.
"""

import math
from contextlib import contextmanager
from contextvars import ContextVar
from functools import reduce
from itertools import chain
from operator import add, mul

__all__ = ["Value", "dot", "scope", "current_scope", "topological_order", "unnamed",
           "naming"]

# Context variables, not globals, like the recorder's: two threads (or two generators)
# each build in their own scope, and leaving a block always restores the outer one.
_scope = ContextVar("scope", default="")  # where new nodes go, e.g. "pos3/layer0/attn"
_naming = ContextVar("naming", default=True)  # off for steps that nothing will trace


@contextmanager
def scope(name):
    """Group the nodes created inside the block under `name` (nested with '/')."""
    if not _naming.get():
        yield
        return
    outer = _scope.get()
    token = _scope.set(f"{outer}/{name}" if outer else name)
    try:
        yield
    finally:
        _scope.reset(token)


def current_scope():
    return _scope.get()


def naming():
    return _naming.get()


@contextmanager
def unnamed():
    """Skip labels and scopes inside: a training step that nothing traces needs neither."""
    token = _naming.set(False)
    try:
        yield
    finally:
        _naming.reset(token)


class Value:
    # `exponent`: k of a**k, set on `**` nodes only, so nobody reads it back from floats
    __slots__ = ("data", "grad", "_children", "_local_grads", "op", "label", "scope",
                 "exponent")

    def __init__(self, data, children=(), local_grads=(), op="", label=""):
        self.data = data
        self.grad = 0.0
        self._children = children  # in argument order; a child may repeat (a*a)
        self._local_grads = local_grads  # d(self)/d(child), one per child
        self.op = op
        self.label = label
        self.scope = _scope.get()

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad}, op={self.op!r}, label={self.label!r})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1, 1), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, k):
        assert isinstance(k, (int, float)), "only constant exponents"
        out = Value(self.data**k, (self,), (k * self.data ** (k - 1),), "**")
        out.exponent = k
        return out

    def log(self):
        return Value(math.log(self.data), (self,), (1 / self.data,), "log")

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")

    def relu(self):
        return Value(max(0.0, self.data), (self,), (float(self.data > 0),), "relu")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t * t,), "tanh")

    # The derived ops are spelled exactly as in microgpt.py: their float rounding is
    # part of the contract (a/b is a * b**-1, a-b is a + (-b), -a is a * -1).
    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self):
        """Accumulate d(self)/d(node) into every node's grad (callers reset grads)."""
        self.grad = 1.0
        for node in reversed(topological_order(self)):
            g = node.grad
            for child, local_grad in zip(node._children, node._local_grads):
                child.grad += local_grad * g


def dot(ws, xs):
    """One node for sum(w_i * x_i), bit-identical to the chain of `*` and `+` nodes.

    The sum starts at 0 and adds left to right like Python's sum over Values; the
    children interleave (w0, x0, w1, x1, ...) so a depth-first walk meets them in
    the same order as it meets the operands of the equivalent `*` nodes.
    """
    wd = [w.data for w in ws]
    xd = [x.data for x in xs]
    data = reduce(add, map(mul, wd, xd), 0)
    children = tuple(chain.from_iterable(zip(ws, xs)))
    local_grads = tuple(chain.from_iterable(zip(xd, wd)))
    return Value(data, children, local_grads, "dot")


def topological_order(root):
    """Post-order of a depth-first walk visiting children in argument order.

    The same order as the recursive build_topo of micrograd/microgpt, but iterative
    so that a chain a million nodes deep needs no recursion.
    """
    topo = []
    visited = {root}
    stack = [(root, iter(root._children))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in visited:
                visited.add(child)
                if child._children:
                    stack.append((child, iter(child._children)))
                    break
                topo.append(child)  # a leaf: its post-order slot is right now
        else:
            stack.pop()
            topo.append(node)
    return topo
