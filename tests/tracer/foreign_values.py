"""Value classes of the two foreign shapes, written here (not copied) for the tests.

MG follows micrograd (Karpathy's lecture version: label, tanh, exp): closures for
backward, children in a set. The microgpt.py shape (ordered children and local
gradients as data, no op names, __slots__) is the test oracle's own Value, V in
tests/microgpt/reference.py.
"""

import math


class MG:
    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __add__(self, other):
        other = other if isinstance(other, MG) else MG(other)
        out = MG(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, MG) else MG(other)
        out = MG(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = MG(self.data**k, (self,), f"**{k}")

        def _backward():
            self.grad += (k * self.data ** (k - 1)) * out.grad
        out._backward = _backward
        return out

    def _unary(self, data, op, local):
        out = MG(data, (self,), op)

        def _backward():
            self.grad += local(out) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        return self._unary(0 if self.data < 0 else self.data, "ReLU", lambda o: o.data > 0)

    def tanh(self):
        return self._unary(math.tanh(self.data), "tanh", lambda o: 1 - o.data**2)

    def exp(self):
        return self._unary(math.exp(self.data), "exp", lambda o: o.data)

    def log(self):
        return self._unary(math.log(self.data), "log", lambda o: 1 / self.data)

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()


def objects(root):
    """Every object under root, each once."""
    seen, stack = {}, [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen[id(v)] = v
            stack.extend(v._prev if hasattr(v, "_prev") else v._children)
    return list(seen.values())
