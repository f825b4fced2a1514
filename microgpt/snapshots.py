"""Snapshot records: what the model did on one training step's document, as plain data.

A snapshot turns the probes of one step (train_steps(..., probe_every=N)) into the
matrices the training panels draw: every attention map, the next-token distribution
at the last position, the token embeddings, the residual stream, the head outputs,
the MLP activations and the gradient norms. It holds only lists, floats, ints and
strings, so it goes into the JSON-lines metrics log as one record.

Timing: activations, probabilities and gradient norms come from the step's forward
and backward pass (the weights *before* its Adam update); `wte` is read when the
step has finished, i.e. *after* its update (the weights the next step starts from).
"""

import math

__all__ = ["DEFAULT_SNAPSHOT_EVERY", "snapshot_record", "lower_triangular", "residual_stream"]

# 1000 steps (the reference schedule) give 21 snapshots (steps 1, 51, ..., 951, 1000):
# enough for a slider to show attention sharpening, about 60 kB of log each.
DEFAULT_SNAPSHOT_EVERY = 50


def snapshot_record(state, metrics):
    """The snapshot of the step `metrics` reports; `metrics.probes` must be set.

    Shapes, with n the document's positions (at most block_size), L layers, H heads:
        tokens: n + 1 printable tokens ("BOS" for BOS): the n inputs, then the last target.
        attn: [L][H] n x n, row = query position, column = key position, zeros above
            the diagonal (a query sees keys 0..itself).
        probs: vocab floats, the softmax at the last position; target: its target id.
        wte: vocab x n_embd token embeddings (row i is token i, BOS last).
        residual: see residual_stream().
        head_out: [L][H] n x head_dim; mlp: [L] n x 4*n_embd (after ReLU).
        grad_norm: parameter group -> L2 norm of its gradient.
    """
    tokenizer, config = state.tokenizer, state.model.config
    probes = metrics.probes
    n = len(probes)
    doc = state.docs[(metrics.step - 1) % len(state.docs)]  # the document this step trained on
    tokens = [tokenizer.bos] + tokenizer.encode(doc) + [tokenizer.bos]
    layers, heads = range(config.n_layer), range(config.n_head)
    return {
        "type": "snapshot",
        "step": metrics.step,
        "doc": doc,
        "tokens": [tokenizer.token_text(t) for t in tokens[:n + 1]],
        "attn": [[lower_triangular([p["attn"][li][h] for p in probes]) for h in heads]
                 for li in layers],
        "probs": probes[-1]["probs"],
        "target": tokens[n],
        "wte": [[v.data for v in row] for row in state.model.params["wte"]],
        "residual": residual_stream([p["residual"] for p in probes]),
        "head_out": [[[p["head_out"][li][h] for p in probes] for h in heads] for li in layers],
        "mlp": [[p["mlp"][li] for p in probes] for li in layers],
        "grad_norm": metrics.grad_norm,
    }


def lower_triangular(rows):
    """Square matrix from rows of growing length (row t has t+1 entries), zero-padded.

    >>> lower_triangular([[1.0], [0.25, 0.75]])
    [[1.0, 0.0], [0.25, 0.75]]
    """
    n = len(rows)
    return [list(row) + [0.0] * (n - len(row)) for row in rows]


def residual_stream(stages_per_position):
    """L2 norm of each stage and cosine between consecutive stages, per position.

    Args:
        stages_per_position: per position, the model's residual probe: stage name
            (embed, L0_attn, L0_mlp, ...) -> n_embd floats, in forward order.

    Returns:
        {"stages": names, "norm": n x stages, "cosine": n x (stages - 1)}; the panels
        summarise over positions, the log keeps every position.

    >>> residual_stream([{"embed": [3.0, 4.0], "L0_attn": [4.0, 3.0]}])
    {'stages': ['embed', 'L0_attn'], 'norm': [[5.0, 5.0]], 'cosine': [[0.96]]}
    """
    stages = list(stages_per_position[0])
    norms, cosines = [], []
    for residual in stages_per_position:
        vectors = [residual[name] for name in stages]
        norms.append([l2_norm(v) for v in vectors])
        cosines.append([cosine(a, b) for a, b in zip(vectors, vectors[1:])])
    return {"stages": stages, "norm": norms, "cosine": cosines}


def l2_norm(vector):
    return math.sqrt(sum(x * x for x in vector))


def cosine(a, b):
    """Cosine similarity; 0 when either vector is zero (no direction to compare)."""
    denominator = l2_norm(a) * l2_norm(b)
    return sum(x * y for x, y in zip(a, b)) / denominator if denominator else 0.0
