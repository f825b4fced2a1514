"""Central finite differences of the whole model's loss, on sampled parameters.

The numpy oracle checks the backward against matrix calculus; this checks it against
the forward alone, which needs no derivation at all.
"""

import random

import pytest

from microgpt_trace.microgpt.model import document_loss
from microgpt_trace.microgpt.train import TrainConfig, start

DOCS = ["emma", "olivia", "ava", "isabella", "sophia", "annabella", "mia"]
H = 1e-6
PER_GROUP = 2  # parameters sampled from each group (wte, wpe, lm_head, per layer 6)


def central_difference(model, tokens, p):
    """(L(p + h) - L(p - h)) / 2h, restoring p afterwards."""
    x = p.data
    p.data = x + H
    up = document_loss(model, tokens).data
    p.data = x - H
    down = document_loss(model, tokens).data
    p.data = x
    return (up - down) / (2 * H)


@pytest.mark.parametrize("doc, shape", [
    ("isabella", dict()),
    ("annabella", dict(n_layer=2, n_embd=8, n_head=2, block_size=5)),
], ids=["default", "2-layer"])
def test_backward_matches_finite_differences(doc, shape):
    state = start(DOCS, TrainConfig(steps=1), **shape)
    rng = random.Random(7)
    for p in state.model.parameters():
        p.data = rng.gauss(0, 0.5)
    tok = state.tokenizer
    tokens = [tok.bos] + tok.encode(doc) + [tok.bos]
    document_loss(state.model, tokens).backward()

    # sample among parameters that get a gradient (unused wte/wpe rows are exactly 0)
    sampled = []
    for name, rows in state.model.params.items():
        used = [(name, p) for row in rows for p in row if p.grad != 0.0]
        sampled += rng.sample(used, PER_GROUP)
    assert len(sampled) >= 18
    for name, p in sampled:
        expected = central_difference(state.model, tokens, p)
        assert p.grad == pytest.approx(expected, rel=1e-5, abs=1e-8), (name, p.label)


def test_unused_rows_get_exactly_zero_gradient():
    state = start(DOCS, TrainConfig(steps=1), block_size=5)
    tok = state.tokenizer
    tokens = [tok.bos] + tok.encode("ava") + [tok.bos]  # 4 positions; inputs BOS, a, v, a
    document_loss(state.model, tokens).backward()
    wte, wpe = state.model.params["wte"], state.model.params["wpe"]
    used_tokens = {tok.bos, tok.encode("a")[0], tok.encode("v")[0]}
    for i, row in enumerate(wte):
        assert any(p.grad != 0 for p in row) == (i in used_tokens), i
    assert [any(p.grad != 0 for p in row) for row in wpe] == [True] * 4 + [False]
