"""The float engine: microgpt.py's forward and a hand-written backward on plain floats.

No Value nodes: one document's loss and the gradient of every weight come from lists
of Python floats, bit-identical to `document_loss(...).backward()` with either Value
engine (and so to microgpt.py). Training uses it; tracing keeps the Value graph.

Weights and gradients are dicts name -> rows (lists of floats), in state-dict order
(`model.param_shapes`). Shapes in comments: (n,) is n_embd floats, T positions so far.

Bit-identical means the same float operations in the same order, so these rules hold:

1. Forward forms are the Value graph's: sums start at the integer 0 and add left to
   right (`reduce(add, ..., 0)`, never the builtin `sum`, compensated on floats since
   Python 3.12); dot products multiply weight by input; `e / total` is
   `e * total ** -1`; `x - m` is `x + -m`; rmsnorm is `x * (dot(x, x) * n ** -1 +
   1e-5) ** -0.5`; the attention scale is `* (head_dim ** 0.5) ** -1`; the loss is
   `log(p) * -1`, averaged as `(1 / n) * sum`.
2. Local gradients are the Value ops' own: `k * x ** (k - 1)` for `x ** k`, `1 / p`
   for log, `e` for exp, `float(a > 0)` for relu. Each contribution is
   `local * upstream`, and a node's gradient is 0 plus its contributions, in order.
3. That order is the reverse of a depth-first post-order (children in argument
   order): the walk finishes sibling subgraphs in the order it enters them (row 0,
   position 0 first), so backward meets the last of them first. Addition is
   commutative, so a node with two contributions is safe; a node with three or more
   must receive them exactly as `Value.backward` delivers them:
   - positions last to first: a weight, a key and a value get one contribution per
     position, the last position's first;
   - the final residual x: the lm_head rows from last to first, except the target
     token's row, which comes last (the loss reaches the logits through it first);
   - the input of a linear layer (wo, fc1, fc2): its rows from last to first;
   - the input of q, k, v: head by head, last head first; within a head the v rows
     (last first), then the k rows, then the q rows. (At position 0 the graph
     alternates k and q rows, as the scores meet q and the new key together, but
     there every q term is exactly 0: a softmax over one key has weight 1.0 and
     gradient inv * g + (-1 * 1.0**-2) * g = 0, so the order cannot show.)
   - a query: keys from last to first; a softmax total: one contribution per weight
     (each weight has its own `total ** -1`), last first; an attention weight: head
     outputs from last to first; an rmsnorm scale: its outputs from last to first;
   - an rmsnorm input x: the residual branch first (if x has one), then `x * scale`,
     then `dot(x, x)` twice (x is both of that product's operands).
   A zero contribution may be skipped (dead ReLU units): adding ±0.0 to a sum that
   started at 0 never changes it.
"""

import math
from functools import reduce
from itertools import repeat
from operator import add, mul

from .model import GELU_C

__all__ = ["weights_of", "loss_and_grads", "new_cache", "forward", "softmax"]


def weights_of(params):
    """name -> rows of Values (a model's params) as name -> rows of floats."""
    return {name: [[p.data for p in row] for row in rows] for name, rows in params.items()}


def new_cache(config):
    """Per layer, the keys and values (n,) of the positions seen so far."""
    return [([], []) for _ in range(config.n_layer)]


def linear(x, w):
    # (nin,) x (nout, nin) -> (nout,): one dot product per row, summed from 0
    return [reduce(add, map(mul, row, x), 0) for row in w]


def rmsnorm(x):
    """(n,) -> (n,), plus s = mean(x*x) + 1e-5 and scale = s ** -0.5 for backward."""
    s = reduce(add, map(mul, x, x), 0) * len(x) ** -1 + 1e-5
    scale = s ** -0.5
    return [xi * scale for xi in x], s, scale


def softmax(logits):
    """Probabilities, plus the exps and the total for backward."""
    max_val = max(logits)  # a float: no gradient flows through it
    exps = [math.exp(v + -max_val) for v in logits]
    total = reduce(add, exps, 0)
    inv = total ** -1
    return [e * inv for e in exps], exps, total


def forward(config, w, token, pos, cache, tape=None):
    """Logits (vocab,) for one token; appends k, v to `cache`, activations to `tape`."""
    x = [a + b for a, b in zip(w["wte"][token], w["wpe"][pos])]  # (n,) embedding
    emb = x
    x, s, scale = rmsnorm(x)
    layers = []
    for li in range(config.n_layer):
        x, record = block(config, w, li, x, cache[li])
        layers.append(record)
    logits = linear(x, w["lm_head"])
    if tape is not None:
        tape.append((emb, s, scale, layers, x))
    return logits


def block(config, w, li, x, cache):
    """One transformer block: attention then MLP, each with rmsnorm and residual.

    Config's experiments skip a part (attention, mlp) or its residual; what a skipped
    part would have recorded is None.
    """
    L = f"layer{li}."
    keys, values = cache
    x_in = r1 = x
    xn = s1 = scale1 = q = heads = x_attn = None
    if config.attention:
        xn, s1, scale1 = rmsnorm(x)
        q = linear(xn, w[L + "attn_wq"])
        keys.append(linear(xn, w[L + "attn_wk"]))
        values.append(linear(xn, w[L + "attn_wv"]))
        x_attn, heads = [], []
        for h in range(config.n_head):
            out, head_record = head(config, q, keys, values, h)
            x_attn.extend(out)
            heads.append(head_record)
        r1 = linear(x_attn, w[L + "attn_wo"])
        if config.residual:
            r1 = [a + b for a, b in zip(r1, x_in)]
    x = r1
    xn2 = s2 = scale2 = h1 = act = None
    if config.mlp:
        xn2, s2, scale2 = rmsnorm(r1)
        h1 = linear(xn2, w[L + "mlp_fc1"])  # (4n,) before the activation
        act = activate(config.activation, h1)
        x = linear(act, w[L + "mlp_fc2"])
        if config.residual:
            x = [a + b for a, b in zip(x, r1)]
    return x, (x_in, xn, s1, scale1, q, heads, x_attn, r1, xn2, s2, scale2, h1, act)


def activate(activation, h):
    if activation == "relu":
        return [a if a > 0 else 0.0 for a in h]
    if activation == "tanh":
        return [math.tanh(a) for a in h]
    return [gelu(a)[0] for a in h]


def gelu(x):
    """model.gelu's nodes, in its order: (0.5 * x) * (tanh(GELU_C * (x + x**3 * 0.044715)) + 1).

    Returns the output and what the backward needs: h = x * 0.5, t, d = t + 1.
    """
    u = x + x ** 3 * 0.044715
    t = math.tanh(u * GELU_C)
    h, d = x * 0.5, t + 1
    return h * d, h, t, d


def activation_backward(activation, h1, g):
    """Gradient of the activation's input from that of its output."""
    if activation == "relu":
        return [g if a > 0 else 0.0 for a, g in zip(h1, g)]  # relu: float(a > 0) * g
    if activation == "tanh":
        return [(1 - t * t) * g for t, g in zip(map(math.tanh, h1), g)]
    return [gelu_backward(a, g) for a, g in zip(h1, g)]


def gelu_backward(x, g):
    """d gelu(x) * g, as Value.backward delivers it: out, d = t + 1, t, s = u * GELU_C,
    u = x + m, m = p * 0.044715, p = x ** 3, then h = x * 0.5. x gets three terms, in
    that order: from u, from p, from h."""
    _, h, t, d = gelu(x)
    g_h, g_d = d * g, h * g
    g_u = GELU_C * ((1 - t * t) * (1 * g_d))  # through tanh, then * GELU_C
    g_p = 0.044715 * (1 * g_u)
    return ((0.0 + 1 * g_u) + (3 * x ** 2) * g_p) + 0.5 * g_h


def head(config, q, keys, values, h):
    """One head over positions 0..T-1: scores, softmax, weighted sum of values."""
    hd = config.head_dim
    hs, scale = h * hd, (hd ** 0.5) ** -1  # `/ hd**0.5` is `* (hd**0.5)**-1`
    q_h = q[hs:hs + hd]
    scores = [reduce(add, map(mul, q_h, k[hs:hs + hd]), 0) * scale for k in keys]  # (T,)
    weights, exps, total = softmax(scores)
    v_h = [v[hs:hs + hd] for v in values]  # T x (hd,)
    out = [reduce(add, map(mul, weights, col), 0) for col in zip(*v_h)]  # (hd,)
    return out, (exps, total, weights)


def loss_and_grads(config, w, tokens):
    """Mean next-token loss of one document and d(loss)/d(weight) for every weight.

    `w` is name -> rows of floats in state-dict order; the gradients come back in the
    same shape and order. Equal to document_loss(...).backward(), bit for bit.
    """
    n = min(config.block_size, len(tokens) - 1)
    cache, tape, losses = new_cache(config), [], []
    for pos in range(n):
        logits = forward(config, w, tokens[pos], pos, cache, tape)
        probs, exps, total = softmax(logits)
        p = probs[tokens[pos + 1]]
        losses.append(math.log(p) * -1)  # -log(p) is log(p) * -1
        tape[-1] += (exps, total, p)  # what the loss's backward needs
    loss = (1 / n) * reduce(add, losses, 0)

    grads = {name: [[0.0] * len(row) for row in rows] for name, rows in w.items()}
    cols = columns(config, w)
    # per layer, the gradients of each position's key and value (n,): a key gets one
    # contribution from every later position's scores, the last position's first
    gk = [[[0.0] * config.n_embd for _ in range(n)] for _ in range(config.n_layer)]
    gv = [[[0.0] * config.n_embd for _ in range(n)] for _ in range(config.n_layer)]
    g_loss_t = -1 * ((1 / n) * 1.0)  # through (1/n) * sum, then log(p) * -1
    for pos in reversed(range(n)):  # Value.backward meets the last position first
        emb, s, scale, layers, x, exps, total, p = tape[pos]
        g = lm_head_backward(w, cols, grads, x, exps, total, p, tokens[pos + 1], g_loss_t)
        for li in reversed(range(config.n_layer)):
            g = block_backward(config, cols[li], grads, li, layers[li], g, gk[li], gv[li],
                               cache[li], pos)
        g_emb = rmsnorm_backward(emb, s, scale, g)
        accumulate(grads["wte"][tokens[pos]], g_emb)  # emb = wte + wpe: local grads 1
        accumulate(grads["wpe"][pos], g_emb)
    return loss, grads


def columns(config, w):
    """Per layer and for lm_head, the weight columns in the order backward reads them.

    The gradient of a linear layer's input x[k] is the sum over rows of w[i][k] * g[i]
    in the order Value.backward visits the rows: a column of the reordered matrix.
    """
    n, hd = config.n_embd, config.head_dim
    per_layer = []
    for li in range(config.n_layer):
        L = f"layer{li}."
        qkv = w[L + "attn_wq"] + w[L + "attn_wk"] + w[L + "attn_wv"]  # (3n, n): q, k, v rows
        order = []  # last head first; in a head the v rows, k rows, q rows, each last first
        for hs in reversed(range(0, n, hd)):
            rows = list(reversed(range(hs, hs + hd)))
            order += [2 * n + i for i in rows] + [n + i for i in rows] + rows
        per_layer.append({
            "qkv": list(zip(*[qkv[i] for i in order])), "qkv_order": order,
            "wo": list(zip(*w[L + "attn_wo"][::-1])),
            "fc1": list(zip(*w[L + "mlp_fc1"][::-1])),
            "fc2": list(zip(*w[L + "mlp_fc2"][::-1])),
        })
    return per_layer + [{"lm_head": list(zip(*w["lm_head"][::-1])), "rows": w["lm_head"]}]


def accumulate(acc, contributions):
    # acc[k] += contributions[k], in place (the gradient of one weight row)
    acc[:] = map(add, acc, contributions)


def outer_accumulate(rows, x, g):
    """rows[i][k] += x[k] * g[i]: a linear layer's weight gradients from one position."""
    for row, gi in zip(rows, g):
        if gi:  # a dead ReLU unit adds only zeros
            row[:] = map(add, row, map(mul, x, repeat(gi)))


def input_grad(cols, g_reversed):
    # x[k] of y = linear(x, w): sum over rows, last row first, of w[i][k] * g[i]
    return [reduce(add, map(mul, col, g_reversed), 0) for col in cols]


def lm_head_backward(w, cols, grads, x, exps, total, p, target, g_loss_t):
    """Gradient of the final residual x (n,) from the loss at one position."""
    g_p = (1 / p) * g_loss_t  # log's local gradient is 1/p
    inv = total ** -1
    # only probs[target] is in the graph: total gets one contribution, through it
    g_total = (-1 * total ** -2) * (exps[target] * g_p)
    g_logits = [e * g_total for e in exps]  # exp's local gradient is e
    g_logits[target] = exps[target] * (inv * g_p + g_total)
    outer_accumulate(grads["lm_head"], x, g_logits)
    # the rows from last to first, but the target's last: it was visited first
    g_rev = g_logits[::-1]
    g_rev[len(g_rev) - 1 - target] = 0.0  # adds nothing; its real term comes below
    target_row, g_target = cols[-1]["rows"][target], g_logits[target]
    return [reduce(add, map(mul, col, g_rev), 0) + wk * g_target
            for col, wk in zip(cols[-1]["lm_head"], target_row)]


def rmsnorm_backward(x, s, scale, g_y, g_residual=None):
    """Gradient of x (n,) from y = x * scale; g_residual: x's other use, visited first."""
    g_scale = reduce(add, map(mul, x[::-1], g_y[::-1]), 0)  # outputs last to first
    g_dot = len(x) ** -1 * (-0.5 * s ** -1.5 * g_scale)  # through s ** -0.5, then * n**-1
    first = repeat(0) if g_residual is None else g_residual
    # x gets: its residual branch, x * scale, then x * x in dot(x, x): twice
    return [((r + scale * gy) + xi * g_dot) + xi * g_dot
            for r, gy, xi in zip(first, g_y, x)]


def block_backward(config, cols, grads, li, record, g_x, gk, gv, cache, pos):
    """Gradient of the block's input (n,) from that of its output, g_x."""
    x_in, xn, s1, scale1, q, heads, x_attn, r1, xn2, s2, scale2, h1, act = record
    G = {name: grads[f"layer{li}.{name}"] for name in
         ("attn_wq", "attn_wk", "attn_wv", "attn_wo", "mlp_fc1", "mlp_fc2")}
    g_r1 = g_x
    if config.mlp:  # x = fc2(act(fc1(rmsnorm(r1)))) + r1
        outer_accumulate(G["mlp_fc2"], act, g_x)
        g_act = input_grad(cols["fc2"], g_x[::-1])
        g_h1 = activation_backward(config.activation, h1, g_act)
        outer_accumulate(G["mlp_fc1"], xn2, g_h1)
        g_xn2 = input_grad(cols["fc1"], g_h1[::-1])
        g_r1 = rmsnorm_backward(r1, s2, scale2, g_xn2, g_x if config.residual else None)
    if not config.attention:
        return g_r1
    # attention: r1 = wo(heads(q, keys, values)) + x_in
    outer_accumulate(G["attn_wo"], x_attn, g_r1)
    g_attn = input_grad(cols["wo"], g_r1[::-1])
    hd = config.head_dim
    g_q = []
    for h, record_h in enumerate(heads):
        g_q += head_backward(config, q, cache, h, record_h, g_attn[h * hd:(h + 1) * hd],
                             gk, gv, pos)
    outer_accumulate(G["attn_wq"], xn, g_q)
    outer_accumulate(G["attn_wk"], xn, gk[pos])  # complete: later positions came first
    outer_accumulate(G["attn_wv"], xn, gv[pos])
    g_qkv = g_q + gk[pos] + gv[pos]
    g_xn = input_grad(cols["qkv"], [g_qkv[i] for i in cols["qkv_order"]])
    return rmsnorm_backward(x_in, s1, scale1, g_xn, g_r1 if config.residual else None)


def head_backward(config, q, cache, h, record, g_out, gk, gv, pos):
    """Gradient of the head's query slice (hd,); adds into the keys' and values'."""
    exps, total, weights = record
    keys, values = cache
    hd = config.head_dim
    hs, scale = h * hd, (hd ** 0.5) ** -1
    T = pos + 1
    g_out_rev = g_out[::-1]
    g_w = []
    for t in range(T):
        v_h = values[t][hs:hs + hd]
        g_w.append(reduce(add, map(mul, v_h[::-1], g_out_rev), 0))  # outputs last first
        gv_t, w_t = gv[t], weights[t]
        for j in range(hd):
            gv_t[hs + j] += w_t * g_out[j]
    inv, local = total ** -1, -1 * total ** -2  # each weight has its own total ** -1
    g_total = reduce(add, [local * (e * g) for e, g in zip(exps[::-1], g_w[::-1])], 0)
    # e gets inv * g_w and g_total (two terms: order free); then exp, then the scale
    g_a = [scale * (e * (inv * g + g_total)) for e, g in zip(exps, g_w)]  # (T,)
    g_a_rev = g_a[::-1]
    g_q = []
    for j in range(hs, hs + hd):
        g_q.append(reduce(add, map(mul, [keys[t][j] for t in reversed(range(T))], g_a_rev), 0))
        qj = q[j]
        for t in range(T):
            gk[t][j] += qj * g_a[t]
    return g_q
