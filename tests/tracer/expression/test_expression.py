import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgpt_trace.tracer.exceptions import EvaluationError, ExpressionError
from microgpt_trace.tracer.expression.evaluate import (
    DEFAULT_VALUES,
    evaluate,
    node_table,
    parse_assignments,
    trace_expression,
)
from microgpt_trace.tracer.expression.parse import (
    MAX_DEPTH,
    BinOp,
    Call,
    Neg,
    Num,
    Var,
    parse,
    to_text,
    variables,
)


def grads(root):
    """label -> grad of the root's labelled leaves."""
    from microgpt_trace.microgpt.engine import topological_order

    return {v.label: v.grad for v in topological_order(root) if not v._children and v.label}


def test_worked_example():
    d = evaluate("a*b+a")
    assert (d.data, d.label) == (8.0, "a*b + a")
    assert grads(d) == {"a": 4.0, "b": 2.0}
    c, a = d._children
    assert c.label == "a*b" and a.label == "a" and c._children[0] is a


def test_same_variable_is_one_leaf():
    d = evaluate("a*a", {"a": 3.0})
    assert d._children[0] is d._children[1]
    assert d.data == 9.0 and d._children[0].grad == 6.0


@pytest.mark.parametrize("text, canonical, value", [
    ("-a**2", "-a**2", -4.0),  # ** binds tighter than unary minus
    ("(-a)**2", "(-a)**2", 4.0),
    ("2**-1", "2**-1", 0.5),
    ("2**3**2", "2**3**2", 512.0),  # right-associative
    ("(2**3)**2", "(2**3)**2", 64.0),
    ("a-b-c", "a - b - c", 2.0 - 3.0 - 0.5),  # left-associative
    ("a-(b-c)", "a - (b - c)", 2.0 - (3.0 - 0.5)),
    ("a/b/c", "a/b/c", 2.0 / 3.0 / 0.5),
    ("a/(b*c)", "a/(b*c)", 2.0 / 1.5),
    ("a+b*c", "a + b*c", 2.0 + 3.0 * 0.5),
    ("(a+b)*c", "(a + b)*c", 5.0 * 0.5),
    ("-(-a)", "-(-a)", 2.0),
    ("+a - +b", "a - b", -1.0),  # unary plus is a no-op
    ("2*-a", "2*-a", -4.0),
    ("a**-0.5", "a**-0.5", 2.0 ** -0.5),
    ("a**(1/2)", "a**(1/2)", 2.0 ** 0.5),
    ("log(a*b)", "log(a*b)", math.log(6.0)),
    ("relu(c) + tanh(d)", "relu(c) + tanh(d)", 2.0 + math.tanh(3.0)),  # c, d: 1st, 2nd
    (".5e1 + 1e-3 + 2.5E+4", ".5e1 + 1e-3 + 2.5E+4", 5.0 + 0.001 + 25000.0),
])
def test_precedence_and_canonical_text(text, canonical, value):
    root = evaluate(text)
    assert root.label == canonical == to_text(parse(text))
    assert root.data == pytest.approx(value, rel=1e-15)


def test_parse_tree_shapes():
    a, two = Var("a"), Num(2.0, "2")
    assert parse("-a**2") == Neg(BinOp("**", a, two))
    assert parse("2**-1") == BinOp("**", two, Neg(Num(1.0, "1")))
    assert parse("exp(a) - 2") == BinOp("-", Call("exp", a), two)
    assert parse("+a") == a


def test_engine_forms_of_minus_and_divide():
    # a - b is a + (-b) with -b = b * -1; a/b is a * b**-1, exactly the engine contract
    sub = evaluate("a - b")
    assert sub.op == "+" and sub._children[1].op == "*" and sub._children[1].label == "-b"
    assert sub._children[1]._children[1].data == -1
    div = evaluate("a/(b + c)")
    assert div.op == "*" and div._children[1].op == "**"
    assert div._children[1].label == "(b + c)**-1"
    assert div.data == 2.0 * (3.0 + 0.5) ** -1


def test_literals_are_unlabelled_constants():
    root = evaluate("2*a")
    const, a = root._children
    assert (const.label, const.data, a.label) == ("", 2.0, "a")


def test_default_values_follow_first_appearance():
    assert variables("z + y*z + x") == ("z", "y", "x")
    root = evaluate("p0+p1+p2+p3+p4+p5+p6+p7+p8", backward=False)
    assert root.data == sum(DEFAULT_VALUES) + DEFAULT_VALUES[0]
    # a set value does not shift the others
    assert evaluate("a*b", {"a": 5}).data == 15.0


def test_values_must_be_in_the_expression():
    with pytest.raises(ExpressionError, match=r"^--set c=1: c is not in the expression$"):
        evaluate("a*b", {"c": 1.0})


def test_backward_false_leaves_grads_zero():
    root = evaluate("a*b", backward=False)
    assert root.grad == 0.0 and grads(root) == {"a": 0.0, "b": 0.0}


def central_difference(text, values, name, h=1e-6):
    up = evaluate(text, {**values, name: values[name] + h}, backward=False).data
    down = evaluate(text, {**values, name: values[name] - h}, backward=False).data
    return (up - down) / (2 * h)


@pytest.mark.parametrize("text", [
    "a*b + a", "log(a*b)/c", "exp(-a**2)*b", "tanh(a - b)**3", "relu(a) + relu(-b)*c",
    "(a + b)**-0.5 * a", "a/b/c - 2**-1*a",
])
def test_gradients_match_central_differences(text):
    values = {"a": 0.7, "b": 1.3, "c": 2.1}
    values = {k: v for k, v in values.items() if k in variables(text)}
    root = evaluate(text, values)
    for name, grad in grads(root).items():
        assert grad == pytest.approx(central_difference(text, values, name), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("text, message, column", [
    ("", "empty expression", 0),
    ("   ", "empty expression", 0),
    ("a +", "ends where a value is expected", 3),
    ("(a + b", r"'\(' is never closed", 0),
    ("a + b)", r"unmatched '\)'", 5),
    ("a b", "expected an operator, got 'b'", 2),
    ("2(3)", r"only exp, log, relu, tanh can be called", 1),
    ("(a)(b)", r"only exp, log, relu, tanh can be called", 3),
    ("foo(a)", "unknown function 'foo'", 0),
    ("exp", "'exp' is a function", 0),
    ("exp()", "exactly one argument", 4),
    ("exp(a, b)", "exactly one argument", 5),
    ("a**b", "exponent of '\\*\\*' must be a constant, not the variable 'b'", 3),
    ("a**(2*b)", "not the variable 'b'", 6),
    ("a^2", r"use \*\* for powers", 1),
    ("a // b", "expected a number, a variable or '\\(', got '/'", 3),
    ("2x", "invalid number '2x'", 0),
    ("1e", "invalid number '1e'", 0),
    ("1.2.3", "invalid number '1.2.3'", 0),
    ("1e999", "too large", 0),
    ("a = 1", "assignments and keyword arguments", 2),
    ("é", "unexpected character 'é'", 0),
    ("a\nb", "unexpected character", 1),
    ("None", "keyword", 0),
])
def test_syntax_errors_name_the_column(text, message, column):
    with pytest.raises(ExpressionError, match=message) as info:
        parse(text)
    assert info.value.column == column and info.value.text == text


def test_error_shows_a_caret_under_the_column():
    with pytest.raises(ExpressionError) as info:
        parse("a + foo(b)")
    assert str(info.value).splitlines() == [
        "unknown function 'foo' (known: exp, log, relu, tanh) at column 5",
        "  a + foo(b)",
        "      ^",
    ]


@pytest.mark.parametrize("text", [
    "__import__('os').system('x')", "a.__class__", "lambda: 1", "'s'", '"s"', "[1]",
    "a if b else c", "a[0]", "exp(x=1)", "f(a)", "a; b", "a, b", "{}", "`a`", "a @ b",
    "exp.__globals__", "(lambda: 0)()", "not a", "a and b", "a < b", "a % b", "~a",
])
def test_injection_attempts_are_rejected(text):
    with pytest.raises(ExpressionError):
        parse(text)


def test_nesting_limit():
    assert parse("(" * (MAX_DEPTH - 1) + "a" + ")" * (MAX_DEPTH - 1)) == Var("a")
    for text in ("(" * 200 + "a" + ")" * 200, "-" * 200 + "a", "exp(" * 200 + "a" + ")" * 200,
                 "2**" * 200 + "2"):
        with pytest.raises(ExpressionError, match=f"deeper than {MAX_DEPTH}"):
            parse(text)


def test_long_flat_chains_need_no_recursion():
    text = "+".join(["a"] * 5000)
    root = evaluate(text)
    assert root.data == 10000.0 and grads(root) == {"a": 5000.0}
    assert to_text(parse(text)) == " + ".join(["a"] * 5000)


@pytest.mark.parametrize("text, values, message", [
    ("log(a - a)", {}, r"^log\(a - a\): log of 0\.0$"),
    ("log(a - b)", {}, r"^log\(a - b\): log of -1\.0$"),
    ("x/0", {}, r"^x/0: division by zero$"),
    ("a/(b - b)", {}, r"^a/\(b - b\): division by zero$"),
    ("0**-1", {}, r"^0\*\*-1: division by zero"),
    ("exp(1000)", {}, r"^exp\(1000\): overflow"),
    ("a*a", {"a": 1e200}, r"^a\*a: overflow"),
    ("a + a", {"a": 1e308}, r"^a \+ a: overflow"),
    ("(a - b)**0.5", {}, r"^\(a - b\)\*\*0\.5: negative base -1\.0 to the fractional power 0\.5$"),
    ("a**0.5", {"a": 0.0}, r"no finite gradient at x = 0"),
    ("log(a)", {"a": 5e-324}, r"^log\(a\): its local gradient overflows$"),
    ("a*(a*b)", {"a": 1e200, "b": 1e-300}, r"^the gradient of b overflows"),
])
def test_evaluation_errors_name_the_subexpression(text, values, message):
    with pytest.raises(EvaluationError, match=message):
        evaluate(text, values)


def test_parse_assignments():
    assert parse_assignments(["a=2", " b = -0.5 ", "c=1e-3"]) == {"a": 2.0, "b": -0.5, "c": 0.001}
    for item, message in [("a", "expected name=value"), ("2a=1", "not a variable name"),
                          ("exp=1", "not a variable name"), ("if=1", "not a variable name"),
                          ("a=abc", "'abc' is not a number"), ("a=", "'' is not a number"),
                          ("a=nan", "not a finite number"), ("a=inf", "not a finite number")]:
        with pytest.raises(ExpressionError, match=message):
            parse_assignments([item])
    with pytest.raises(ExpressionError, match="a is already set"):
        parse_assignments(["a=1", "a=2"])


def test_trace_expression_and_node_table():
    g = trace_expression("a*b + a*2", {"b": -1})
    assert g.graph == {"roots": (5,), "source": "a*b + a*2", "view": "expression"}
    assert node_table(g) == [
        ("a", "", 2.0, 1.0), ("b", "", -1.0, 2.0), ("a*b", "*", -2.0, 1.0),
        ("2", "", 2.0, 2.0), ("a*2", "*", 4.0, 1.0), ("a*b + a*2", "+", 2.0, 1.0),
    ]


def test_node_table_constants_use_short_exact_numbers():
    table = node_table(trace_expression("a*0.1 + a/3"))
    assert [label for label, op, *_ in table if not op and label != "a"] == ["0.1", "3"]
    assert [label for label, op, *_ in table if op == "**"] == ["3**-1"]


TOKENS = ["a", "b", "x1", "_", "2", "0.5", ".5", "1e-3", "+", "-", "*", "/", "**", "(", ")",
          "exp(", "log(", "relu(", "tanh(", ",", " ", ".", "'", "lambda", "__import__", "e"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)))
def test_parse_returns_a_node_or_raises_expression_error(text):
    try:
        node = parse(text)
    except ExpressionError as e:
        assert e.text == text and (e.column is None or 0 <= e.column <= len(text))
        return
    assert parse(to_text(node)) == node  # the canonical text means the same tree


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["(", "-", "+", "exp(", "2**", "a*", "log((", ")"]), max_size=400)
       .map("".join), st.sampled_from(["a", "2", "", ")"]))
def test_deep_inputs_never_escape_as_other_errors(prefix, tail):
    try:
        parse(prefix + tail)
    except ExpressionError:
        pass
