"""Names for nodes in captions and tables, readable even where the model gave none.

Most op nodes of a model are unnamed partial results (the `*` and `+` inside a dot
product). A caption that says `#28629 *` tells a reader nothing, so an unnamed node
is spelled from what it computes: `L0.h2.w[t=3]*L0.v[11]`, as many levels of unnamed
operands deep (up to three) as fit in a caption line, `…` below that.

Inside a softmax the steps use the words of the head view: the constant added to each
score is `−max` (so `score − max`), the total of the exps is `Σ` and its reciprocal
`1/Σ`. RMSNorm's shared scale, which a scope view marks, is `scale`, as drawn. The
constant a head's scores are multiplied by is `1/√d`.

A value computed at one position of the text (its scope starts `pos3/`) is named with
its position and the character read there where another position holds a value of
the same name: `L0.k[11] @1 'n'` is element 11 of the key computed at position 1, which
reads 'n'. The model's labels number elements, not positions, so a head view holding
the keys of four positions would otherwise show `L0.k[11]` four times.

A vector indexed by the vocabulary names its character, not its id, where the graph
carries the vocabulary (the graph attribute `vocab`, one printable token per id): the
logit `logit[0]` is shown as `logit 'a'` (`logit BOS` for the BOS id), the probability
`p[0]` as `p 'a'`, the embedding row `wte[0]` as `wte 'a'` and its element `wte[0][3]`
as `wte 'a'[3]`, and lm_head's rows likewise (`lm_head 'a'`, `lm_head 'a'[3]`). The
`label` attribute itself stays the model's name, which exports and queries key on.
"""

import re
import weakref

from .text import number, printable, token_text

__all__ = ["node_name", "display_label", "by_character", "power_exponent", "is_reciprocal",
           "is_inverse_sqrt_d", "position_suffix", "label_words"]

INFIX = {"+": (1, " + "), "*": (2, "*")}  # precedence and separator
MAX_LENGTH = 40  # a spelled name goes less deep until it fits, or one level deep
MAX_ARGS = 3  # operands of a function-style op (dot) spelled before "…"


def node_name(G, node) -> str:
    """The node's label; else its value for a constant, its expression for an op.

    Control characters in a label are shown escaped (`a\\nb`), so a caption's lines
    stay one per edge whatever the labels hold.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> for n, (label, op, data) in enumerate([("w", "", 2.0), ("x", "", 3.0),
    ...         ("", "*", 6.0), ("", "", 1.0), ("", "+", 7.0), ("", "exp", 1e3)]):
    ...     G.add_node(n, label=label, op=op, data=data)
    >>> _ = G.add_edges_from([(0, 2, {"arg": 0}), (1, 2, {"arg": 1}), (2, 4, {"arg": 0}),
    ...                       (3, 4, {"arg": 1}), (4, 5, {"arg": 0})])
    >>> [node_name(G, n) for n in (2, 3, 4, 5)]
    ['w*x', '1', 'w*x + 1', 'exp(w*x + 1)']
    """
    for depth in (3, 2, 1):
        name = spelled(G, node, depth)
        if len(name) <= MAX_LENGTH:
            break
    return printable(name)


def spelled(G, node, depth):
    attrs = G.nodes[node]
    if attrs.get("label"):
        return display_label(G, attrs["label"]) + position_suffix(G, node)
    if attrs.get("mark") == "scale":
        return "scale"
    if not attrs["op"]:
        if is_inverse_sqrt_d(G, node):
            return "1/√d"
        return "−max" if is_minus_max(G, node) else number(attrs['data'])
    if depth == 0:
        return "…"
    op, args = attrs["op"], operands(G, node)
    if not args:  # computed from values outside this graph (a selection's input)
        k = power_exponent(G, node)
        return f"…**{k:.4g}" if op == "**" and k is not None else f"{op}(…)"
    if in_softmax(attrs) and op == "**" and is_reciprocal(G, node):
        return "1/Σ"
    if in_softmax(attrs) and op == "+" and any(is_reciprocal(G, n) for n in G.successors(node)):
        return "Σ"
    if in_softmax(attrs) and op == "+" and len(args) == 2 and is_minus_max(G, args[1]):
        score = bracketed(G, args[0], spelled(G, args[0], depth - 1), 1)
        return f"{score} − max"
    if op in INFIX:
        precedence, separator = INFIX[op]
        return separator.join(bracketed(G, child, spelled(G, child, depth - 1), precedence)
                              for child in args)
    if op == "**":
        k = power_exponent(G, node)
        base = bracketed(G, args[0], spelled(G, args[0], depth - 1), 3)
        return f"{base}**{'k' if k is None else f'{k:.4g}'}"
    parts = [spelled(G, child, depth - 1) for child in args[:MAX_ARGS]]
    return f"{op}({', '.join(parts)}{', …' if len(args) > MAX_ARGS else ''})"


VOCAB_INDEXED = ("logit", "p", "wte", "lm_head")  # vectors and matrices with a row per token
BY_ID = re.compile(r"(%s)\[(\d+)\]((?:\[\d+\])?)" % "|".join(VOCAB_INDEXED))


def display_label(G, label: str) -> str:
    """A label as a reader sees it: a vocabulary index as its character (see the
    module docstring); every other label, or any label of a graph without `vocab`, as
    it is. Also takes a row's name without its element (`wte[0]`).

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(vocab=("a", "b", "BOS"))
    >>> print(*(display_label(G, s) for s in ("logit[0]", "logit[2]", "wte[1]", "wte[1][3]",
    ...                                       "lm_head[0][15]", "p[1]", "wpe[1][3]", "L0.q[0]")),
    ...       sep=", ")
    logit 'a', logit BOS, wte 'b', wte 'b'[3], lm_head 'a'[15], p 'b', wpe[1][3], L0.q[0]
    """
    vocab = G.graph.get("vocab", ())
    match = BY_ID.fullmatch(label)
    if not match or int(match.group(2)) >= len(vocab):
        return label
    return f"{match.group(1)} {token_text(vocab[int(match.group(2))])}{match.group(3)}"


def by_character(G, family: str) -> bool:
    """Whether a vector's rows are named by character in G (`logit`, `lm_head`, ...)."""
    return family in VOCAB_INDEXED and bool(G.graph.get("vocab"))


def in_softmax(attrs) -> bool:
    return attrs.get("scope", "").rsplit("/", 1)[-1] == "softmax"


def is_inverse_sqrt_d(G, node) -> bool:
    """The constant 1/√d a head's scores are multiplied by (0.5 for d = 4); not the 0
    an atomic dot product starts from."""
    attrs = G.nodes[node]
    return (not attrs["op"] and not attrs.get("label")
            and attrs.get("scope", "").rsplit("/", 1)[-1] == "scores"
            and all(G.nodes[p]["op"] == "*" for p in G.successors(node)))


def is_reciprocal(G, node) -> bool:
    """x**-1 (the `/` of a softmax's `e / total` is `e * total**-1`)."""
    return power_exponent(G, node) == -1


def is_minus_max(G, node) -> bool:
    """The constant a softmax adds to every score: minus the largest (zero stays 0)."""
    attrs = G.nodes[node]
    return not attrs["op"] and not attrs.get("label") and attrs["data"] != 0 and in_softmax(attrs)


def bracketed(G, child, part, precedence):
    """A nested infix operand in brackets when it binds less tightly; `…` stays bare."""
    attrs = G.nodes[child]
    if attrs.get("label") and POSITIONED.search(part):
        return f"({part})"
    if attrs.get("label") or not attrs["op"] or part == "…" or attrs["op"] not in INFIX:
        return part
    if set(part.replace(" ", "")) <= set("…+*"):
        return "…"
    return f"({part})" if INFIX[attrs["op"]][0] < precedence else part


POSITION = re.compile(r"pos(\d+)(?:/|$)")
POSITIONED = re.compile(r" @\d+ ")
STEM = re.compile(r"(\[[^\[\]]*\])+$")
SHARED = weakref.WeakKeyDictionary()  # graph -> (its size, stems at several positions)


def position_suffix(G, node) -> str:
    """` @3 'a'` for a value computed at position 3 (reading 'a') whose name is shared
    with a value at another position; "" for the rest (weights, expressions, a view of
    one position, a label such as `loss[t=3]` that says its position itself).

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(tokens=("BOS", "a", "b"))
    >>> for n, (label, scope) in enumerate([("L0.k[0]", "pos0/layer0/attn/qkv"),
    ...         ("L0.k[0]", "pos1/layer0/attn/qkv"), ("L0.q[0]", "pos1/layer0/attn/qkv"),
    ...         ("loss[t=0]", "pos0/loss"), ("loss[t=1]", "pos1/loss")]):
    ...     G.add_node(n, label=label, scope=scope, op="+", data=0.0)
    >>> [position_suffix(G, n) for n in G]
    [' @0 BOS', " @1 'a'", '', '', '']
    """
    label = G.nodes[node].get("label")
    t = position_of(G.nodes[node])
    if not label or t < 0 or stem(label) not in shared_stems(G):
        return ""
    tokens = G.graph.get("tokens", ())
    return f" @{t} {token_text(tokens[t])}" if t < len(tokens) else f" @{t}"


def position_of(attrs) -> int:
    match = POSITION.match(attrs.get("scope", ""))
    return int(match.group(1)) if match else -1


def stem(label):
    return STEM.sub("", label)


def shared_stems(G) -> frozenset:
    """The stems of labels found at more than one position, except those whose every
    label names its own position (`loss[t=3]` at position 3); cached per graph (by its
    node count, an O(1) check: stems depend on nodes only, and counting a multigraph's
    edges walks every node, which per name made a whole model's captions quadratic)."""
    size = len(G)
    cached = SHARED.get(G)
    if cached and cached[0] == size:
        return cached[1]
    positions, self_named = {}, {}
    for _, attrs in G.nodes(data=True):
        label, t = attrs.get("label"), position_of(attrs)
        if label and t >= 0:
            s = stem(label)
            positions.setdefault(s, set()).add(t)
            self_named[s] = self_named.get(s, True) and label == f"{s}[t={t}]"
    stems = frozenset(s for s, ts in positions.items() if len(ts) > 1 and not self_named[s])
    SHARED[G] = (size, stems)
    return stems


def operands(G, node):
    return [child for child, _, _ in sorted(G.in_edges(node, data="arg"), key=lambda e: e[2])]


def power_exponent(G, node):
    """k of a**k as the engine kept it (the node attribute `exponent`); None for other
    nodes, or for a graph built without it."""
    return G.nodes[node].get("exponent")


# What a model label's stem names, in words (microgpt_trace.microgpt.model.SCOPES).
STEM_WORDS = {
    "emb": "embedding (token + position)", "x": "embedding after RMSNorm",
    "xn": "RMSNorm before attention", "q": "query", "k": "key", "v": "value",
    "score": "attention score", "w": "attention weight", "out": "head output",
    "attn": "attention output (after wo)", "res1": "residual after attention",
    "xn2": "RMSNorm before the MLP", "fc1": "MLP hidden (fc1)", "relu": "ReLU",
    "tanh": "tanh", "gelu": "GELU", "fc2": "MLP output (fc2)",
    "res2": "residual after the MLP", "logit": "logit", "p": "probability",
    "loss": "loss", "wte": "token embedding weight", "wpe": "position embedding weight",
    "lm_head": "output weight (lm_head)", "attn_wq": "query weight", "attn_wk": "key weight",
    "attn_wv": "value weight", "attn_wo": "attention output weight",
    "mlp_fc1": "MLP fc1 weight", "mlp_fc2": "MLP fc2 weight",
}
PARTS = re.compile(r"^(?:L(\d+)\.|layer(\d+)\.)?(?:h(\d+)\.)?(\w+?)((?:\[[^\[\]]*\])*)$")
HEADED = ("q", "k", "v")  # a head reads head_dim elements of these


def label_words(G, node) -> list:
    """A model label decoded into words, for an inspector: what the value is, its
    layer, head, position (with the character read there) and element.

    Unnamed values are spelled as node_name spells them; an expression's labels
    are their own words.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(tokens=("BOS", "a", "n"), head_dim=4)
    >>> G.add_node(0, label="L0.k[11]", scope="pos1/layer0/attn/qkv", op="dot", data=0.0)
    >>> G.add_node(1, label="L0.h2.w[t=0]", scope="pos2/layer0/attn/head2/softmax",
    ...            op="*", data=0.0)
    >>> label_words(G, 0)
    ['key', 'layer 0', 'head 2', "position 1 'a'", 'element 3']
    >>> label_words(G, 1)
    ['attention weight', 'layer 0', 'head 2', "position 2 'n'", 'key position 0 BOS']
    >>> G.graph["vocab"] = ("a", "n", "BOS")
    >>> G.add_node(2, label="logit[1]", scope="pos2/lm_head", op="dot", data=0.0)
    >>> G.add_node(3, label="wte[2][5]", scope="", op="", kind="param", data=0.0)
    >>> label_words(G, 2), label_words(G, 3)
    (['logit', "position 2 'n'", "token 'n'"], ['token embedding weight', 'row 2 BOS', 'column 5'])
    """
    attrs = G.nodes[node]
    match = PARTS.match(attrs.get("label") or "")
    if not match or match.group(4) not in STEM_WORDS:
        return [node_name(G, node)]
    layer = match.group(1) or match.group(2)
    head, stem = match.group(3), match.group(4)
    index = re.findall(r"\[([^\[\]]*)\]", match.group(5))
    tokens = G.graph.get("tokens", ())
    words = [STEM_WORDS[stem]] + ([f"layer {layer}"] if layer is not None else [])
    head_dim = G.graph.get("head_dim")
    if stem in HEADED and head_dim and index and index[0].isdigit():
        head, index = str(int(index[0]) // head_dim), [str(int(index[0]) % head_dim)]
    words += [f"head {head}"] if head is not None else []
    t = position_of(attrs)
    if t >= 0:
        words.append(f"position {t}" + (f" {token_text(tokens[t])}" if t < len(tokens) else ""))
    vocab = G.graph.get("vocab", ()) if by_character(G, stem) else ()
    if attrs.get("kind") == "param" and len(index) == 2:
        row = int(index[0])
        char = f" {token_text(vocab[row])}" if row < len(vocab) else ""
        return words + [f"row {row}{char}", f"column {index[1]}"]
    if vocab and index and index[0].isdigit() and int(index[0]) < len(vocab):
        return words + [f"token {token_text(vocab[int(index[0])])}"]
    for i in index:
        if i.startswith("t="):
            k = int(i[2:])
            read = f" {token_text(tokens[k])}" if k < len(tokens) else ""
            words.append(f"key position {k}{read}" if stem in ("score", "w")
                         else f"position {k}{read}" if t < 0 else "")
        elif i.isdigit():
            words.append(f"element {i}")
    return [w for w in words if w]
