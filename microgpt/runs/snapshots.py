"""Snapshot records: what the model does with one fixed text, as plain data.

Every snapshot of a run shows the same text (`train --snapshot-text`, by default
the first document in training order), so the report's slider shows one example
being learned: its attention sharpening, the probability of each true next
character rising. The training document changes every step; a picture of it would
change for that reason alone.

How a snapshot is taken (microgpt_trace.microgpt.train.probe_text): on a probed step, before the
step trains, a separate forward and backward pass of the snapshot text runs on the
Value graph with the weights the step starts from. It records the activations at
every position, the text's loss and the gradient norms of *that text's* loss: the
gradient norms of the training documents are in every step record, as curves over
the whole run. The extra pass reads the weights and sets the grads it made back to
zero: the training, the RNG and the Adam moments are bit-identical with or without
snapshots. `wte` is read at the same moment, so every field of a snapshot comes
from the same weights.

A snapshot holds only lists, floats, ints and strings: one JSON line of the
metrics log.
"""

import math

from ..exceptions import ConfigError

__all__ = ["DEFAULT_SNAPSHOT_EVERY", "default_snapshot_text", "check_snapshot_text",
           "snapshot_record", "lower_triangular", "residual_stream"]

# 1000 steps (the reference schedule) give 21 snapshots (steps 1, 51, ..., 951, 1000):
# enough for a slider to show attention sharpening, about 60 kB of log each.
DEFAULT_SNAPSHOT_EVERY = 50


def default_snapshot_text(docs, block_size):
    """The first document in training order (after the seeded shuffle) that fits
    the block size: a text of the data, and the same for a resumed run.

    >>> default_snapshot_text(["a long name", "emma"], block_size=8)
    'emma'
    """
    fits = (doc for doc in docs if 0 < len(doc) < block_size)
    return next(fits, docs[0][:block_size - 1])


def check_snapshot_text(text, tokenizer, block_size):
    """Refuse a text the model cannot read whole: unknown characters, empty, too long.

    The model sees [BOS] + text and predicts text + [BOS]: a text of at most
    block_size - 1 characters fits, end included.

    Raises:
        ConfigError: naming the problem and what would fit.
    """
    if not isinstance(text, str) or not text:
        raise ConfigError("the snapshot text is empty: give at least one character")
    unknown = "".join(sorted(set(text) - set(tokenizer.chars)))
    if unknown:
        raise ConfigError(f"snapshot text {text!r:.60}: characters not in the vocabulary "
                          f"of the data: {unknown!r:.40}")
    if len(text) > block_size - 1:
        raise ConfigError(f"snapshot text {text!r:.60} has {len(text)} characters; with "
                          f"block size {block_size} at most {block_size - 1} fit")


def snapshot_record(state, metrics):
    """The snapshot of the step `metrics` reports; `metrics.probe` must be set.

    Shapes, with n the snapshot text's positions (its length + 1), L layers, H heads:
        text: the snapshot text; loss: its mean next-token loss at this step.
        tokens: n + 1 printable tokens ("BOS" for BOS): the n inputs, then the last target.
        targets: the n target ids (tokens[1:] as ids).
        attn: [L][H] n x n, row = query position, column = key position, zeros above
            the diagonal (a query sees keys 0..itself).
        probs: n x vocab, the next-token distribution at every position.
        wte: vocab x n_embd token embeddings (row i is token i, BOS last).
        residual: see residual_stream().
        head_out: [L][H] n x head_dim; mlp: [L] n x 4*n_embd (after the activation).
        (train --no-attention: attn and head_out are []; --no-mlp: mlp is [].)
        grad_norm: parameter group -> L2 norm of the gradient of the text's loss.
        hist: "weights"/"grads" -> group -> {"lo", "hi", "counts"}, fixed bins
            (microgpt_trace.microgpt.train.histogram): the weights the step started
            from and the training gradient it computed there (not the text's).
    """
    tokenizer, config = state.tokenizer, state.model.config
    probe = metrics.probe
    probes = probe.positions
    n = len(probes)
    layers, heads = range(config.n_layer), range(config.n_head)
    attn_layers = layers if config.attention else ()
    record = {
        "type": "snapshot",
        "step": metrics.step,
        "text": probe.text,
        "loss": probe.loss,
        "tokens": [tokenizer.token_text(t) for t in probe.tokens[:n + 1]],
        "targets": probe.tokens[1:n + 1],
        "attn": [[lower_triangular([p["attn"][li][h] for p in probes]) for h in heads]
                 for li in attn_layers],
        "probs": [p["probs"] for p in probes],
        "wte": probe.wte,
        "residual": residual_stream([p["residual"] for p in probes]),
        "head_out": [[[p["head_out"][li][h] for p in probes] for h in heads]
                     for li in attn_layers],
        "mlp": [[p["mlp"][li] for p in probes] for li in (layers if config.mlp else ())],
        "grad_norm": probe.grad_norm,
    }
    if metrics.hist is not None:
        record["hist"] = metrics.hist
    return record


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
