"""What a scope view teaches, in words and numbers: the same lines under the picture
and in the terminal.

Each note reads the marks microgpt_trace.tracer.scope_view put on the graph (ReLU gates, RMSNorm's
scale, pass-through adds, the logits' (p - y)/n) and says what they mean for the
gradient, with the numbers of this text.
"""

import math

import networkx as nx

from .names import display_label
from .text import number, token_text

__all__ = ["scope_heading", "teaching_notes", "scope_summary"]


def scope_heading(H: nx.MultiDiGraph) -> str:
    """"scope pos3/layer0/mlp · position 3 reads 'n', predicts 'a'".

    >>> H = nx.MultiDiGraph(scope="loss", position=-1, tokens=("BOS", "a", "BOS"))
    >>> scope_heading(H)
    'scope loss · the mean over 2 positions'
    """
    tokens, t = H.graph["tokens"], H.graph["position"]
    if t < 0:
        return f"scope {H.graph['scope']} · the mean over {len(tokens) - 1} positions"
    return (f"scope {H.graph['scope']} · position {t} reads {token_text(tokens[t])}, "
            f"predicts {token_text(tokens[t + 1])}")


def marked(H, mark):
    return [n for n in sorted(H) if H.nodes[n].get("mark") == mark]


def teaching_notes(H: nx.MultiDiGraph) -> list:
    """One line per thing the scope teaches (ReLU gates, the shared scale, the
    pass-through add, the grad reaching the logits, the mean), then where the grads
    come from.

    >>> H = nx.MultiDiGraph(scope="x", position=0, tokens=("BOS", "a"), positions=1,
    ...                     relu_active=0, relu_total=2, roots=())
    >>> teaching_notes(H)[0]  # doctest: +NORMALIZE_WHITESPACE
    'relu: 0/2 active. A closed gate (input ≤ 0) outputs 0 and sends no gradient back:
    nothing reaches what comes before it from here.'
    """
    notes = []
    if "relu_total" in H.graph:
        active, total = H.graph["relu_active"], H.graph["relu_total"]
        notes.append(f"relu: {active}/{total} active. A closed gate (input ≤ 0) outputs 0 and "
                     "sends no gradient back" + (": nothing reaches what comes before it "
                                                 "from here." if not active else "."))
    for n in marked(H, "scale"):
        d = H.nodes[n]
        notes.append(f"rmsnorm: one scale = (mean(x²) + 1e-5)^-0.5 = {number(d['data'])} "
                     f"multiplies every one of the {H.out_degree(n)} outputs; its grad "
                     f"{number(d['grad'])} adds up what all of them send back.")
    adds = marked(H, "passthrough")
    if adds:
        n = adds[0]
        a, b = (display_label(H, H.nodes[u]["label"]) for u in sorted(H.predecessors(n)))
        notes.append(f"+ passes the gradient through unchanged (local ∂ = 1): {a} and {b} "
                     f"both get {H.nodes[n]['label']}.grad = {number(H.nodes[n]['grad'])}, "
                     f"and so on for all {len(adds)} sums.")
    notes += logit_notes(H)
    if H.graph["position"] < 0 and H.graph["scope"] == "loss":
        n = H.graph["positions"]
        notes.append(f"the mean: loss = (1/n) · Σ loss[t], so each loss[t] gets grad "
                     f"1/n = {number(1 / n)} (n = {n} positions).")
    notes.append("outputs: their grads come from the rest of the model (the loss of the whole "
                 "text); inputs: 'grad' is their whole grad, 'from here' what this scope "
                 "sends them.")
    return notes


def logit_notes(H):
    """(p - y)/n at the logits; -1/(n·p) at p[target] for the loss of one position."""
    n = H.graph["positions"]
    tokens = H.graph["tokens"]
    targets = [d for _, d in sorted(H.nodes(data=True)) if d.get("target")]
    notes = []
    for d in targets:
        t = int(d["scope"].split("/")[0][3:])
        notes.append(f"softmax + cross-entropy, mean over n = {n} positions: logit i gets "
                     f"(p_i − y_i)/n, (p − 1)/n = ({number(d['prob'])} − 1)/{n} = "
                     f"{number(d['softmax_grad'])} at the target {token_text(tokens[t + 1])}, "
                     f"p/n elsewhere.")
    for _, d in sorted(H.nodes(data=True)):
        if "prob" in d and "target" not in d and d["label"].startswith("p["):
            notes.append(f"cross-entropy: loss[t] = −log p[target], so p[target] gets "
                         f"−(1/n)/p = −(1/{n})/{number(d['prob'])} = "
                         f"{number(-(1 / n) / d['prob'])}.")
    return notes


def scope_summary(H: nx.MultiDiGraph) -> str:
    """The text the scope command prints: heading, what is in it, outputs, notes."""
    ops = sum(1 for n in H if H.nodes[n]["op"] and H.nodes[n].get("role") != "input")
    inputs = input_tables(H)
    weights = weight_shapes(H)
    outputs = list(H.graph["roots"])
    grads = [H.nodes[n]["grad"] for n in outputs]
    lines = [scope_heading(H),
             f"{ops} ops; inputs: {', '.join(inputs) or 'none'}"
             + (f"; weights: {', '.join(weights)}" if weights else ""),
             f"outputs: {family_list(H, outputs)} (grad norm "
             f"{number(math.sqrt(math.fsum(g * g for g in grads)))})"]
    return "\n".join(lines + teaching_notes(H))


def input_tables(H):
    """["L0.k at pos 0", "L0.k at pos 1", "L0.q", ...]: a name's positions together
    (an embedding row by its token: "wte 'a'")."""
    first = {}
    for n in sorted(H):
        if H.nodes[n].get("role") == "input":
            name, _, t = H.nodes[n]["group"][3:].partition("@pos")
            first.setdefault(name, n)
            first.setdefault((name, t), (first[name], int(t or -1)))
    return [display_label(H, name) + (f" at pos {t}" if t else "")
            for (name, t), _ in sorted(((k, v) for k, v in first.items() if isinstance(k, tuple)),
                                       key=lambda item: item[1])]


def weight_shapes(H):
    """["layer0.mlp_fc1 (64×16)", ...]: the summarised matrices, rows × weights per row."""
    rows = {}
    for _, d in sorted(H.nodes(data=True)):
        if "weights" in d:
            matrix = d["weights"].split("[")[0]
            rows.setdefault(matrix, []).append(d["weights_count"])
    return [f"{m} ({len(c)}×{max(c)})" for m, c in rows.items()]


def family_list(H, nodes):
    """"L0.fc2 (16)" per table of the nodes, in order."""
    counts = {}
    for n in nodes:
        group = H.nodes[n].get("group", H.nodes[n]["op"])
        counts[group] = counts.get(group, 0) + 1
    return ", ".join(f"{g} ({c})" for g, c in counts.items())
