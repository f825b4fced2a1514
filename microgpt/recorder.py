"""Activations on request: a recorder the caller installs around a forward pass.

The model names what it computes (`named(values, "L0.relu[{}]")`) so that a traced
graph reads like the code. The same call hands the values to the recorder when one
is installed, so the math in model.py carries no instrumentation of its own:

    with recording() as records:
        loss = document_loss(model, tokens)
    probes = per_position(records)

A context variable, not a global: two threads (or two generators) each see their
own recorder, and leaving the block always uninstalls it.
"""

import re
from contextlib import contextmanager
from contextvars import ContextVar

from .engine import current_scope

__all__ = ["recording", "record", "per_position"]

_records = ContextVar("records", default=None)
POSITION = re.compile(r"pos(\d+)(?:/|$)")
# label format -> where per_position files it; {l} is the layer, {h} the head
STAGES = {
    re.compile(r"x\[\{\}\]"): ("residual", "embed"),
    # the stream after a block: its residual sum, or (train --no-residual) the block's
    # own output; with the residual, res1/res2 come later and replace attn/fc2
    re.compile(r"L(\d+)\.(?:attn|res1)\[\{\}\]"): ("residual", "L{l}_attn"),
    re.compile(r"L(\d+)\.(?:fc2|res2)\[\{\}\]"): ("residual", "L{l}_mlp"),
    re.compile(r"L(\d+)\.(?:relu|tanh|gelu)\[\{\}\]"): ("mlp", None),
    re.compile(r"L(\d+)\.h(\d+)\.w\[t=\{\}\]"): ("attn", None),
    re.compile(r"L(\d+)\.h(\d+)\.out\[\{\}\]"): ("head_out", None),
    re.compile(r"p\[\{\}\]"): ("probs", None),
}


@contextmanager
def recording():
    """Collect (scope, label format, floats) for every named vector made inside."""
    records = []
    token = _records.set(records)
    try:
        yield records
    finally:
        _records.reset(token)


def record(fmt, values):
    """Called by the model for each named vector; a no-op unless recording."""
    records = _records.get()
    if records is not None:
        records.append((current_scope(), fmt, [v.data for v in values]))


def per_position(records):
    """The recorded activations of one document, one dict per position.

    Each dict holds, as plain floats: attn[layer][head] (the softmax weights over
    positions 0..t), head_out[layer][head], mlp[layer] (after ReLU), residual
    (stage -> n_embd floats: embed, L0_attn, L0_mlp, ...) and probs (vocab).

    >>> per_position([("pos0/embed", "x[{}]", [1.0]), ("pos0/softmax", "p[{}]", [0.5, 0.5])])
    [{'attn': [], 'head_out': [], 'mlp': [], 'residual': {'embed': [1.0]}, 'probs': [0.5, 0.5]}]
    """
    positions = []
    for scope, fmt, data in records:
        t = int(POSITION.match(scope).group(1))
        while len(positions) <= t:
            positions.append({"attn": [], "head_out": [], "mlp": [], "residual": {}})
        file_under(positions[t], fmt, data)
    return positions


def file_under(probes, fmt, data):
    for pattern, (key, stage) in STAGES.items():
        match = pattern.fullmatch(fmt)
        if not match:
            continue
        where = [int(i) for i in match.groups()]
        if stage:
            probes[key][stage.format(l=where[0] if where else 0)] = data
        elif key == "probs":
            probes[key] = data
        elif len(where) == 1:
            probes[key].append(data)  # layers come in order
        else:
            layer, head = where
            if len(probes[key]) <= layer:
                probes[key].append([])
            probes[key][layer].append(data)  # heads come in order
        return
