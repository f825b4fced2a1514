"""Small arithmetic expressions -> Value graphs, parsed by hand and never executed.

The grammar lives in .parse. The graph is built with microgpt's own operators,
so `a/b` is `a * b**-1` and `a-b` is `a + (-b)` exactly as in the model; every op
node is labelled with its sub-expression in canonical spacing (`a*b + a`), every
variable leaf with its name. The exponent of `**` must be a constant, because the
engine only has constant powers.
"""

import keyword
import math
from typing import Iterable

import networkx as nx

from microgpt_trace.microgpt.engine import Value, topological_order

from ..exceptions import EvaluationError, ExpressionError
from ..graph import trace
from .parse import ATOM, FUNCTIONS, UNARY, Num, Var, fold, op_of, parse, render, variables

__all__ = ["DEFAULT_VALUES", "parse", "variables", "parse_assignments", "evaluate",
           "trace_expression", "node_table"]

# The i-th distinct variable (in order of first appearance) without a --set value
# gets DEFAULT_VALUES[i % 8]: small, distinct, both signs, so gradients differ. The
# first three are positive, so log, / and ** of a, b or c are defined by default.
DEFAULT_VALUES = (2.0, 3.0, 0.5, -1.5, 4.0, -2.0, 1.5, -0.5)
MAX_LABEL = 60  # characters of its sub-expression a node label spells


def format_number(x):
    """Short like %g when that is exact, else repr: 2.0 -> '2', 0.1 -> '0.1'."""
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def parse_assignments(items: Iterable[str]) -> dict:
    """Variable values from repeated `--set name=value` options.

    Args:
        items: strings like "a=2" or "b=-0.5".

    Returns:
        name -> float, in the given order.

    Raises:
        ExpressionError: no '=', a name that is not a variable, a value that is not a
            finite number, or a name set twice.

    >>> parse_assignments(["a=2", "b = -0.5"])
    {'a': 2.0, 'b': -0.5}
    """
    values = {}
    for item in items:
        name, eq, number = (part.strip() for part in item.partition("="))
        if not eq:
            raise ExpressionError(f"--set {item!r}: expected name=value, e.g. a=2")
        if not is_variable_name(name):
            raise ExpressionError(f"--set {item!r}: {name!r} is not a variable name")
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(f"--set {item!r}: {number!r} is not a number") from None
        if not math.isfinite(value):
            raise ExpressionError(f"--set {item!r}: {number!r} is not a finite number")
        if name in values:
            raise ExpressionError(f"--set {item!r}: {name} is already set")
        values[name] = value
    return values


def is_variable_name(name):
    return (name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
            and name not in FUNCTIONS)


def leaf_values(names, values):
    """Each variable's float: its given value, else its DEFAULT_VALUES slot."""
    for name, value in values.items():
        if name not in names:
            raise ExpressionError(f"--set {name}={format_number(value)}: "
                                  f"{name} is not in the expression")
        if not math.isfinite(value):
            raise ExpressionError(f"--set {name}={value!r}: not a finite number")
    return {name: float(values.get(name, DEFAULT_VALUES[i % len(DEFAULT_VALUES)]))
            for i, name in enumerate(names)}


def domain_error(op, args):
    """Why op cannot be applied to these operands, or None."""
    x = args[0].data
    k = args[-1].data
    if op == "log" and x <= 0:
        return f"log of {x!r}"
    if op == "/" and k == 0:
        return "division by zero"
    if op == "**" and x == 0 and k < 0:
        return "division by zero (0 to a negative power)"
    if op == "**" and x == 0 and k < 1:
        return f"x**{format_number(k)} has no finite gradient at x = 0"
    if op == "**" and x < 0 and not float(k).is_integer():
        return f"negative base {x!r} to the fractional power {k!r}"
    return None


def apply(op, args, kids):
    """The engine's own op on Values; the hidden nodes of - and / get labels too."""
    if op == "neg":
        return -args[0]
    if op in FUNCTIONS:
        return getattr(args[0], op)()
    left, right = args
    if op == "+":
        return left + right
    if op == "*":
        return left * right
    if op == "**":
        return left ** right.data
    out = left - right if op == "-" else left / right
    inner = ("neg", [kids[1]]) if op == "-" else ("**", [kids[1], ("-1", UNARY)])
    out._children[1].label = short(render(*inner)[0])  # -b, or b**-1
    return out


def short(text):
    """A label spells at most MAX_LABEL characters of its sub-expression: labels of a
    long chain would otherwise hold the whole expression once per node.

    >>> short("a + " * 20 + "a")
    'a + a + a + a + a + a + a + a + a + a + a + a + a + a + a +…'
    """
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def build(node, kids, leaves):
    """The fold step of evaluate: (text, strength, Value) of this sub-expression."""
    if isinstance(node, Var):
        return node.name, ATOM, leaves[node.name]
    if isinstance(node, Num):
        return node.text, ATOM, Value(node.value)
    op = op_of(node)
    text, strength = render(op, [kid[:2] for kid in kids])
    args = [kid[2] for kid in kids]
    problem = domain_error(op, args)
    if problem:
        raise EvaluationError(f"{text}: {problem}")
    try:
        out = apply(op, args, [kid[:2] for kid in kids])
    except OverflowError:
        raise EvaluationError(f"{text}: overflow") from None
    if not math.isfinite(out.data):
        raise EvaluationError(f"{text}: overflow ({out.data!r})")
    if not all(map(math.isfinite, out._local_grads)):
        raise EvaluationError(f"{text}: its local gradient overflows")
    out.label = short(text)
    return text, strength, out


def evaluate(text: str, values: dict = None, backward: bool = True) -> Value:
    """Build the expression's Value graph and, by default, run backward on it.

    Args:
        text: the expression.
        values: variable -> number; the others get DEFAULT_VALUES (see there).
        backward: run root.backward() so every node holds its gradient.

    Returns:
        The root Value; the same variable is the same leaf Value wherever it occurs.

    Raises:
        ExpressionError: the text does not parse, or `values` names a variable that
            is not in the expression.
        EvaluationError: a sub-expression is undefined (log of 0, division by zero,
            overflow), naming that sub-expression.

    >>> d = evaluate("a*b + a"); d.data, d.label, [c.grad for c in d._children]
    (8.0, 'a*b + a', [1.0, 4.0])
    """
    node = parse(text)
    names = variables(node)
    leaves = {name: Value(x, label=name) for name, x in leaf_values(names, values or {}).items()}
    root = fold(node, lambda n, kids: build(n, kids, leaves))[2]
    if backward:
        root.backward()
        for v in topological_order(root):
            if not math.isfinite(v.grad):
                name = v.label or format_number(v.data)
                raise EvaluationError(f"the gradient of {name} overflows ({v.grad!r})")
    return root


def trace_expression(text: str, values: dict = None, backward: bool = True) -> nx.MultiDiGraph:
    """evaluate() then trace(): the expression's graph with graph attr view="expression".

    Args:
        text, values, backward: as for evaluate().

    Returns:
        A MultiDiGraph in the microgpt_trace.tracer.graph schema; `source` is the text.

    Raises:
        ExpressionError, EvaluationError: as for evaluate().

    >>> g = trace_expression("a*a"); g.graph["view"], g.nodes[0]["grad"]
    ('expression', 4.0)
    """
    graph = trace(evaluate(text, values, backward), source=text)
    graph.graph["view"] = "expression"
    return graph


def node_table(graph: nx.MultiDiGraph) -> list:
    """(label, op, data, grad) per node in id order; constants are labelled by value.

    Args:
        graph: a traced graph.

    Returns:
        A list of 4-tuples; leaves have op "".

    >>> node_table(trace_expression("2*a"))
    [('2', '', 2.0, 2.0), ('a', '', 2.0, 2.0), ('2*a', '*', 4.0, 1.0)]
    """
    rows = []
    for _, attrs in sorted(graph.nodes(data=True)):
        label = attrs["label"]
        if attrs["kind"] == "const" and not label:
            label = format_number(attrs["data"])
        rows.append((label, attrs["op"], attrs["data"], attrs["grad"]))
    return rows
