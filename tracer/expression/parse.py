"""The expression grammar: tokens, a tiny immutable AST, the parser, canonical text.

Python's grammar for `+ - * / **`, unary minus and plus, parentheses, numbers,
variables and the calls exp, log, relu and tanh (one argument each). `**` binds
tighter than unary minus and groups to the right (`-a**2` is `-(a**2)`). Anything
else is an ExpressionError with the column of the offending character: nothing is
evaluated by Python, so `__import__('os')` is just an unknown function.
"""

import keyword
import math
import re
from dataclasses import dataclass, field
from typing import Union

from ..exceptions import ExpressionError

__all__ = ["Num", "Var", "Neg", "BinOp", "Call", "Node", "FUNCTIONS", "MAX_DEPTH", "parse",
           "variables", "to_text", "preorder", "fold", "variable_columns", "op_of", "render",
           "ATOM", "UNARY", "MAX_LENGTH"]

FUNCTIONS = ("exp", "log", "relu", "tanh")
MAX_DEPTH = 100  # nesting levels: parentheses, calls, unary minus, exponents
MAX_LENGTH = 10_000  # characters; far beyond a drawable graph, short of a memory problem

ADD, MUL, UNARY, POW, ATOM = range(5)  # binding strength, for canonical parentheses


@dataclass(frozen=True)
class Num:
    value: float
    text: str  # as written, e.g. ".5" or "1e-3"
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Var:
    name: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Neg:
    operand: "Node"
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * / **
    left: "Node"
    right: "Node"
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    func: str  # one of FUNCTIONS
    arg: "Node"
    column: int = field(default=0, compare=False)


Node = Union[Num, Var, Neg, BinOp, Call]

HINTS = {"^": "use ** for powers", "'": "strings are not allowed",
         '"': "strings are not allowed", "[": "subscripts and lists are not allowed",
         "=": "assignments and keyword arguments are not allowed",
         ".": "attribute access is not allowed"}


NUMBER = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
TOKEN = re.compile(rf"(?P<num>{NUMBER})|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                   r"|(?P<op>\*\*|[-+*/(),])|(?P<space>[ \t]+)")
NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]+")  # what may not follow a number: 2x, 1e, 1.2.3


def tokenize(text):
    """Yield (kind, text, column), kind in num/name/op/end; ASCII only.

    A generator, so the parser reports the first fault in reading order.
    """
    i = 0
    while i < len(text):
        match = TOKEN.match(text, i)
        if not match:
            hint = HINTS.get(text[i])
            raise ExpressionError(f"unexpected character {text[i]!r}"
                                  + (f" ({hint})" if hint else ""), text, i)
        kind, token = match.lastgroup, match.group()
        if kind == "num":
            tail = NUMBER_TAIL.match(text, match.end())
            if tail:
                raise ExpressionError(f"invalid number {text[i:tail.end()]!r}", text, i)
            if math.isinf(float(token)):
                raise ExpressionError(f"number {token!r} is too large", text, i)
        if kind != "space":
            yield kind, token, i
        i = match.end()
    yield "end", "", len(text)


class Parser:
    """Recursive descent; each grammar rule is one method, depth is bounded."""

    def __init__(self, text):
        self.text, self.tokens, self.depth = text, tokenize(text), 0
        self.current = next(self.tokens)

    def peek(self):
        return self.current

    def at(self, *ops):
        return self.current[0] == "op" and self.current[1] in ops

    def take(self):
        token = self.current
        if token[0] != "end":
            self.current = next(self.tokens)
        return token

    def error(self, message, column):
        return ExpressionError(message, self.text, column)

    def parse(self):
        kind, tok, col = self.peek()
        if kind == "end":
            raise self.error("empty expression", 0)
        node = self.expr()
        kind, tok, col = self.peek()
        if kind != "end":
            raise self.error(self.trailing(tok), col)
        return node

    @staticmethod
    def trailing(tok):
        if tok == ")":
            return "unmatched ')'"
        if tok == "(":
            return f"unexpected '(': only {', '.join(FUNCTIONS)} can be called"
        return f"expected an operator, got {tok!r}"

    def expr(self):
        node = self.term()
        while self.at("+", "-"):
            _, op, col = self.take()
            node = BinOp(op, node, self.term(), col)
        return node

    def term(self):
        node = self.unary()
        while self.at("*", "/"):
            _, op, col = self.take()
            node = BinOp(op, node, self.unary(), col)
        return node

    def unary(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", self.peek()[2])
        if self.at("+", "-"):
            _, tok, col = self.take()
            operand = self.unary()
            node = Neg(operand, col) if tok == "-" else operand  # unary plus is a no-op
        else:
            node = self.power()
        self.depth -= 1
        return node

    def power(self):
        base = self.atom()
        if not self.at("**"):
            return base
        _, _, col = self.take()
        exponent = self.unary()
        names = variable_columns(exponent)
        if names:
            raise self.error(f"the exponent of '**' must be a constant, not the variable "
                             f"{names[0][0]!r} (the engine only has constant powers)",
                             names[0][1])
        return BinOp("**", base, exponent, col)

    def atom(self):
        kind, tok, col = self.take()
        if kind == "num":
            return Num(float(tok), tok, col)
        if kind == "name":
            return self.name(tok, col)
        if tok == "(":
            node = self.expr()
            self.close(col)
            return node
        if kind == "end":
            raise self.error("the expression ends where a value is expected", col)
        raise self.error(f"expected a number, a variable or '(', got {tok!r}", col)

    def name(self, tok, col):
        if keyword.iskeyword(tok):
            raise self.error(f"{tok!r} is a Python keyword, not allowed here", col)
        calling = self.at("(")
        if calling and tok not in FUNCTIONS:
            raise self.error(f"unknown function {tok!r} (known: {', '.join(FUNCTIONS)})", col)
        if not calling:
            if tok in FUNCTIONS:
                raise self.error(f"{tok!r} is a function: call it as {tok}(x)", col)
            return Var(tok, col)
        open_col = self.take()[2]
        if self.at(")"):
            raise self.error(f"{tok}() takes exactly one argument", self.peek()[2])
        arg = self.expr()
        if self.at(","):
            raise self.error(f"{tok}() takes exactly one argument", self.peek()[2])
        self.close(open_col)
        return Call(tok, arg, col)

    def close(self, open_col):
        kind, tok, col = self.take()
        if kind == "end":
            raise self.error("'(' is never closed", open_col)
        if tok != ")":
            raise self.error(f"expected ')', got {tok!r}", col)


def parse(text: str) -> Node:
    """Parse an expression into a tree of Num, Var, Neg, BinOp and Call nodes.

    Args:
        text: the expression, e.g. "a*b + log(c)".

    Returns:
        The root node (frozen dataclasses; `column` is 0-based and ignored by ==).

    Raises:
        ExpressionError: anything outside the grammar, with the column of the fault.

    >>> parse("-a**2") == Neg(BinOp("**", Var("a"), Num(2.0, "2")))
    True
    """
    if len(text) > MAX_LENGTH:  # refused before any work whose size grows with it
        raise ExpressionError(f"the expression is {len(text):,} characters long; the "
                              f"limit is {MAX_LENGTH:,}")
    return Parser(text).parse()


def children(node):
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, Call):
        return (node.arg,)
    return ()


def preorder(node):
    """Nodes left to right, parents first, without recursion (chains can be long)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def fold(node, combine):
    """combine(node, results of its children) bottom-up, without recursion."""
    stack, results = [(node, False)], []
    while stack:
        n, expanded = stack.pop()
        kids = children(n)
        if expanded or not kids:
            args = results[len(results) - len(kids):]
            del results[len(results) - len(kids):]
            results.append(combine(n, args))
        else:
            stack.append((n, True))
            stack.extend((kid, False) for kid in reversed(kids))
    return results[0]


def variable_columns(node):
    return [(n.name, n.column) for n in preorder(node) if isinstance(n, Var)]


def variables(text_or_node: Union[str, Node]) -> tuple:
    """Distinct variable names in order of first appearance.

    Args:
        text_or_node: an expression text or a parsed Node.

    Returns:
        A tuple of names.

    Raises:
        ExpressionError: when given a text that does not parse.

    >>> variables("b*a + b")
    ('b', 'a')
    """
    node = parse(text_or_node) if isinstance(text_or_node, str) else text_or_node
    return tuple(dict.fromkeys(name for name, _ in variable_columns(node)))


def op_of(node):
    if isinstance(node, BinOp):
        return node.op
    return "neg" if isinstance(node, Neg) else node.func


def render(op, kids):
    """(text, strength) of op applied to kids' (text, strength): minimal parentheses."""
    def wrap(kid, needs):
        return f"({kid[0]})" if needs else kid[0]
    if op in ("+", "-"):
        return f"{wrap(kids[0], False)} {op} {wrap(kids[1], kids[1][1] <= ADD)}", ADD
    if op in ("*", "/"):
        return f"{wrap(kids[0], kids[0][1] < MUL)}{op}{wrap(kids[1], kids[1][1] <= MUL)}", MUL
    if op == "**":  # right-associative; a unary minus may follow it: a**-1
        return f"{wrap(kids[0], kids[0][1] <= POW)}**{wrap(kids[1], kids[1][1] < UNARY)}", POW
    if op == "neg":
        return f"-{wrap(kids[0], kids[0][1] <= UNARY)}", UNARY
    return f"{op}({kids[0][0]})", ATOM


def leaf_text(node):
    return (node.text if isinstance(node, Num) else node.name), ATOM


def to_text(node: Node) -> str:
    """The canonical spelling: spaces around + and -, none elsewhere, few parentheses.

    Args:
        node: a parsed expression.

    Returns:
        Text that parses back to an equal Node.

    >>> to_text(parse("( a*b )+(a)"))
    'a*b + a'
    """
    return fold(node, lambda n, kids: render(op_of(n), kids) if kids else leaf_text(n))[0]


