"""Any Value-like object -> the schema of microgpt_trace.tracer.graph.

People who want to see backprop are mostly writing their own micrograd or editing
microgpt.py, so the tracer reads their objects as well as ours. Three shapes:

    ours         data, grad, _children, _local_grads, op (and label, scope, exponent):
                 read as they are (tracer.graph.trace's own fast path).
    microgpt.py  data, grad, _children (a tuple in argument order), _local_grads,
                 no op names.
    micrograd    data, grad, _prev (a set: operand order and repeats are lost), _op
                 (a string: '+', '*', '**2', 'ReLU', 'tanh', 'exp', 'log'), optional label.

Any class with one of these shapes works. The rules:

- Local gradients. microgpt.py records them and they are used as recorded. micrograd
  keeps them in closures, so they are derived from the op and the data, as micrograd
  computes them: '+' (1, 1); '*' (b.data, a.data); '**k' k*x**(k-1), k read back
  exactly from the op string; 'ReLU' float(out.data > 0); 'tanh' 1 - out.data**2;
  'exp' out.data; 'log' 1/x. A '+' or '*' with one child in its set used that child
  twice (a*a): it becomes two edges, as in our engine. A '+' of three or more children
  (a user's one-node sum) takes each once. Any other op, or an op with
  the wrong number of children, is an UnsupportedOpError naming it: a guessed number
  would be worse than none.
- Op names. Where an object does not name its ops (microgpt.py), a node is named '+',
  '*', 'exp', 'log', 'relu', 'tanh' or '**' (exponent k) only when exactly one of them
  reproduces both its data and its local gradients bit for bit from its children;
  otherwise its op is UNNAMED ("?") and the drawing shows its local gradients.
  `x**1` is not a candidate: it is indistinguishable from the relu of a positive x,
  which is far more common.
- Order. Node ids are the post-order of a depth-first walk from the roots, visiting
  children in argument order (Value.backward's order, so ours and microgpt.py's
  replay exactly). A set has no argument order, and its iteration order changes
  between runs, so a micrograd node's children are sorted by a structural key: first
  bottom-up, what the child computes (height, op, label, exponent, data, grad, and its
  children's keys), then top-down, where it is used (its parents' keys). Children
  with equal keys compute the same thing in the same places, and either order draws
  the same. The same program thus gives the same ids and the same bytes in every run.
- Replay. tracer.replay sums the contributions into a grad in descending node id. A
  grad fed by two contributions is the same in any order; with three or more, float
  addition can depend on the order. After tracing, the grads the replay would give
  are compared bit for bit with the objects' own; where they differ, the graph gets
  `backward_order`: the order the micrograd backward of this process used (its
  build_topo over `_prev` in set iteration order, fixed while the sets are), so the
  stepper still ends on the user's grads exactly. If even that does not reproduce
  them (the user's engine walks in another order, or backward started elsewhere),
  the graph gets `replay_exact = False`.
- Before backward. When the first root's grad is 0 (no backward has seeded it), the
  graph gets `grads = "not computed"`: diagrams draw the forward pass with a note,
  animations refuse with one line.
"""

import math
from fractions import Fraction

import networkx as nx

from .exceptions import GradsNotComputedError, NotValueLikeError, UnsupportedOpError
from .replay import chain_rule

__all__ = ["trace_values", "UNNAMED", "NOT_COMPUTED", "MICROGRAD_OPS", "grads_computed",
           "check_grads_computed"]

UNNAMED = "?"  # the op of a computed node whose op could not be named exactly
NOT_COMPUTED = "not computed"  # graph attribute `grads` before any backward()
MICROGRAD_OPS = ("+", "*", "**k", "ReLU", "tanh", "exp", "log")
EXPECTED = ("data and grad, and either _children and _local_grads (microgpt.py, ours) "
            "or _prev and _op (micrograd)")


class Node:
    """One object as read: ordered children, local grads, op name and exponent."""

    __slots__ = ("obj", "children", "local_grads", "op", "exponent", "label", "scope",
                 "unordered")

    def __init__(self, obj):
        self.obj = obj
        self.label = text_attr(obj, "label")
        self.scope = text_attr(obj, "scope")
        self.exponent = None
        if hasattr(obj, "_children") and hasattr(obj, "_local_grads"):
            self.children = tuple(obj._children)
            self.local_grads = tuple(obj._local_grads)
            self.unordered = False
            op = getattr(obj, "op", None)
            if isinstance(op, str):
                self.op = op
                self.exponent = getattr(obj, "exponent", None) if op == "**" else None
            else:
                self.op, self.exponent = named_op(obj.data, self.children, self.local_grads)
        else:
            self.children = tuple(obj._prev)  # ordered later (canonical_children)
            self.local_grads = None
            self.unordered = True
            self.op, self.exponent = micrograd_op(obj._op, len(self.children))


def text_attr(obj, name):
    value = getattr(obj, name, "")
    return value if isinstance(value, str) else str(value)


def check_value_like(obj):
    """NotValueLikeError unless obj has one of the shapes in the module docstring."""
    if hasattr(obj, "data") and hasattr(obj, "grad") and (
            (hasattr(obj, "_children") and hasattr(obj, "_local_grads"))
            or (hasattr(obj, "_prev") and hasattr(obj, "_op"))):
        return
    raise NotValueLikeError(f"cannot trace {type(obj).__name__} object {obj!r:.60}: "
                            f"expected a Value-like object with {EXPECTED}")


def micrograd_op(op, n_children):
    """(our op name, exponent) for micrograd's `_op`, or UnsupportedOpError."""
    if not isinstance(op, str):
        raise UnsupportedOpError(f"cannot trace op {op!r}: _op should be a string")
    name, exponent = op.lower() if op in ("ReLU", "relu") else op, None
    if op.startswith("**"):
        name, exponent = "**", parse_exponent(op)
    if name == "" and n_children == 0:
        return name, None
    if name == "+" and n_children > 2:
        return name, None  # a sum of several (one node for sum(xs)): each used once
    arity = {"+": (1, 2), "*": (1, 2), "**": (1,), "relu": (1,), "tanh": (1,), "exp": (1,),
             "log": (1,)}
    if name not in arity:
        why = (" (its operands come in an order that micrograd's _prev set does not keep;"
               " define it from + and * as micrograd does)" if op in ("-", "/") else "")
        raise UnsupportedOpError(f"cannot derive the local gradients of op {op!r}{why}: "
                                 f"known ops are {', '.join(MICROGRAD_OPS)}")
    if n_children not in arity[name]:
        raise UnsupportedOpError(f"op {op!r} with {n_children} children: expected "
                                 f"{' or '.join(map(str, arity[name]))}")
    return name, exponent


def parse_exponent(op):
    """k of '**k', exactly: micrograd writes str(k) of an int or a float."""
    text = op[2:]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise UnsupportedOpError(f"cannot read the exponent of op {op!r}") from None


def derived_local_grads(node):
    """micrograd's local gradients, from the op and the (ordered) children's data."""
    out, xs = node.obj.data, [c.data for c in node.children]
    op = node.op
    if not xs:
        return ()
    if op == "+":
        return (1.0,) * max(2, len(xs))
    if op == "*":
        return (xs[1], xs[0])
    if op == "**":
        k = node.exponent
        return (k * xs[0] ** (k - 1),)
    if op == "relu":
        return (float(out > 0),)
    if op == "tanh":
        return (1 - out**2,)
    if op == "exp":
        return (out,)
    return (1 / xs[0],)  # log


def named_op(data, children, local_grads):
    """The one op that reproduces data and local grads exactly, else (UNNAMED, None)."""
    if not children:
        return "", None
    xs = [c.data for c in children]
    fits = []
    for op, exponent, out, grads in candidates(xs, local_grads, data):
        try:
            if out() == data and tuple(grads()) == tuple(local_grads):
                fits.append((op, exponent))
        except (ArithmeticError, ValueError, TypeError):
            pass
    return fits[0] if len(fits) == 1 else (UNNAMED, None)


def candidates(xs, local_grads, data):
    """(op, exponent, forward, local grads) to try on a node with these children."""
    if len(xs) == 2:
        a, b = xs
        yield "+", None, lambda: a + b, lambda: (1, 1)
        yield "*", None, lambda: a * b, lambda: (b, a)
    if len(xs) != 1 or len(local_grads) != 1:
        return
    x = xs[0]
    yield "exp", None, lambda: math.exp(x), lambda: (math.exp(x),)
    yield "log", None, lambda: math.log(x), lambda: (1 / x,)
    yield "relu", None, lambda: max(0, x), lambda: (float(x > 0),)
    yield "tanh", None, lambda: math.tanh(x), lambda: (1 - math.tanh(x) ** 2,)
    for k in exponents(x, local_grads[0], data):
        yield "**", k, lambda k=k: x**k, lambda k=k: (k * x ** (k - 1),)


def exponents(x, local_grad, data):
    """Candidate k for data = x**k: local*x/data, its nearest integer, a small fraction."""
    try:
        k = local_grad * x / data
    except (ArithmeticError, TypeError):
        return []
    if not math.isfinite(k):
        return []
    ks = {k, round(k), float(Fraction(k).limit_denominator(16))}
    return sorted(int(c) if float(c).is_integer() else c for c in ks if c != 1)


def walk(roots):
    """Every reachable object read once (id -> Node), children before parents."""
    nodes, order = {}, []
    for root in roots:
        if id(root) in nodes:
            continue
        check_value_like(root)
        nodes[id(root)] = Node(root)
        stack = [(nodes[id(root)], iter(nodes[id(root)].children))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if id(child) not in nodes:
                    check_value_like(child)
                    nodes[id(child)] = Node(child)
                    stack.append((nodes[id(child)], iter(nodes[id(child)].children)))
                    break
            else:
                stack.pop()
                order.append(node)
    return nodes, order


def float_key(x):
    """A total order on numbers, NaN included, the same in every run."""
    x = float(x)
    return (1, 0.0) if math.isnan(x) else (0, x)


def canonical_children(nodes, order, roots):
    """Sort each set's children by the structural key of the module docstring."""
    up, height = {}, {}
    for node in order:  # children first
        height[id(node.obj)] = 1 + max((height[id(c)] for c in node.children), default=-1)
    by_height = {}
    for node in order:
        by_height.setdefault(height[id(node.obj)], []).append(node)
    for h in sorted(by_height):
        keys = {}
        for node in by_height[h]:
            kids = [up[id(c)] for c in node.children]
            keys[id(node.obj)] = (node.op, node.label, float_key(node.exponent or 0),
                                  float_key(node.obj.data), float_key(node.obj.grad),
                                  tuple(sorted(kids) if node.unordered else kids))
        intern(keys, h, up)
    down, depth = {}, {}
    parents = {id(n.obj): [] for n in order}
    for node in order:
        for arg, child in enumerate(node.children):
            parents[id(child)].append((node, None if node.unordered else arg))
    for node in reversed(order):  # parents first
        depth[id(node.obj)] = 1 + max((depth[id(p.obj)] for p, _ in parents[id(node.obj)]),
                                      default=-1)
    by_depth = {}
    for node in reversed(order):
        by_depth.setdefault(depth[id(node.obj)], []).append(node)
    root_index = {}
    for i, root in enumerate(roots):
        root_index.setdefault(id(root), i)
    for d in sorted(by_depth):
        keys = {id(n.obj): (up[id(n.obj)], root_index.get(id(n.obj), -1),
                            tuple(sorted((down[id(p.obj)], -1 if a is None else a)
                                         for p, a in parents[id(n.obj)])))
                for n in by_depth[d]}
        intern(keys, d, down)
    for node in order:
        if node.unordered:
            kids = sorted(node.children, key=lambda c: down[id(c)])
            if node.op in ("+", "*") and len(kids) == 1:
                kids = kids * 2  # a*a: micrograd's set keeps the operand once
            node.children = tuple(kids)
            node.local_grads = derived_local_grads(node)


def intern(keys, level, classes):
    """Class (level, rank of its key among this level's distinct keys), for every key."""
    ranks = {key: i for i, key in enumerate(sorted(set(keys.values())))}
    for ident, key in keys.items():
        classes[ident] = (level, ranks[key])


def post_order(roots, nodes):
    """Depth-first post-order from the roots, children in their (now fixed) order."""
    seen, topo = set(), []
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(nodes[id(root)], iter(nodes[id(root)].children))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((nodes[id(child)], iter(nodes[id(child)].children)))
                    break
            else:
                stack.pop()
                topo.append(node)
    return topo


def trace_values(*roots, source: str = "") -> nx.MultiDiGraph:
    """Trace Value-like objects of any shape (see the module docstring).

    Args:
        *roots: one or more Value-like objects.
        source: what was traced, stored as the graph attribute `source`.

    Returns:
        A new MultiDiGraph in tracer.graph's schema.

    Raises:
        NotValueLikeError: an object of none of the shapes.
        UnsupportedOpError: a micrograd op whose local gradients cannot be derived.

    >>> class V:  # micrograd's shape
    ...     def __init__(self, data, children=(), op=""):
    ...         self.data, self.grad, self._prev, self._op = data, 0, set(children), op
    >>> a = V(3.0); b = V(a.data * a.data, (a, a), "*")
    >>> g = trace_values(b)
    >>> [(u, v, d["local_grad"]) for u, v, d in g.edges(data=True)], g.graph["grads"]
    ([(0, 1, 3.0), (0, 1, 3.0)], 'not computed')
    """
    if not roots:
        raise ValueError("trace() needs at least one root")
    nodes, order = walk(roots)
    if any(n.unordered for n in order):
        canonical_children(nodes, order, roots)
    topo = post_order(roots, nodes)
    index = {id(n.obj): i for i, n in enumerate(topo)}
    graph = nx.MultiDiGraph(roots=tuple(index[id(r)] for r in roots), source=source)
    for i, node in enumerate(topo):
        graph.add_node(i, **node_attrs(node))
    for i, node in enumerate(topo):
        g = float(node.obj.grad)
        for arg, (child, local) in enumerate(zip(node.children, node.local_grads)):
            local = float(local)
            graph.add_edge(index[id(child)], i, arg, arg=arg, local_grad=local,
                           contribution=local * g)
    if not grads_computed(graph):
        graph.graph["grads"] = NOT_COMPUTED
    else:
        check_replay(graph, topo, index)
    return graph


def node_attrs(node):
    obj = node.obj
    kind = "op" if node.children else ("input" if node.label else "const")
    attrs = {"op": node.op, "data": float(obj.data), "grad": float(obj.grad),
             "label": node.label, "scope": node.scope, "kind": kind}
    if node.op == "**" and node.exponent is not None:
        attrs["exponent"] = float(node.exponent)
    return attrs


def grads_computed(graph) -> bool:
    """False when the first root's grad is 0: no backward() has seeded it."""
    roots = graph.graph.get("roots") or ()
    return bool(roots) and graph.nodes[roots[0]]["grad"] != 0


def check_grads_computed(graph, what: str = "animate backward") -> None:
    """GradsNotComputedError for a graph traced before backward(), or whose grads no
    replay from its root reproduces (a stepper would end on other numbers than yours)."""
    if graph.graph.get("grads") == NOT_COMPUTED:
        raise GradsNotComputedError(f"cannot {what}: grads not computed yet, call "
                                    "backward() on the root first")
    if graph.graph.get("replay_exact") is False:
        raise GradsNotComputedError(
            f"cannot {what}: these grads are not what one backward() from this value "
            "gives (it ran from another node, or grads added up over several calls); "
            "set every grad to 0 and call backward() on this value")


def replayed_grads(graph, order):
    """The grads the replay's chain rule gives, processing nodes in `order` (parents first)."""
    root = graph.graph["roots"][0]
    needed = nx.ancestors(graph, root) | {root}
    *_, grad = chain_rule(graph, {root: 1.0}, [n for n in order if n in needed])
    return {n: grad.get(n, 0.0) for n in needed}


def same_bits(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def matches(graph, grads):
    return all(same_bits(graph.nodes[n]["grad"], g) for n, g in grads.items())


def check_replay(graph, topo, index):
    """Record the order that makes the replay end on the objects' own grads."""
    if graph.nodes[graph.graph["roots"][0]]["grad"] != 1:
        graph.graph["replay_exact"] = False  # backward was seeded from somewhere else
        return
    if matches(graph, replayed_grads(graph, range(len(topo) - 1, -1, -1))):
        return
    root = topo[graph.graph["roots"][0]].obj
    theirs = [index[id(obj)] for obj in reversed(their_topo(root))]
    if matches(graph, replayed_grads(graph, theirs)):
        graph.graph["backward_order"] = tuple(theirs)
    else:
        graph.graph["replay_exact"] = False


def their_topo(root):
    """micrograd's build_topo: post-order over `_prev` (or `_children`) as it iterates."""
    def kids(obj):
        return obj._prev if hasattr(obj, "_prev") else obj._children

    topo, visited = [], {id(root)}
    stack = [(root, iter(kids(root)))]
    while stack:
        obj, children = stack[-1]
        for child in children:
            if id(child) not in visited:
                visited.add(id(child))
                stack.append((child, iter(kids(child))))
                break
        else:
            stack.pop()
            topo.append(obj)
    return topo
