"""An independent float64 numpy forward and hand-written backward of the same GPT.

The scalar engine and this oracle share no code: the oracle works on whole
(positions x features) matrices, applies causal attention with a mask instead of a
KV cache, and derives every gradient by matrix calculus. Agreement to 1e-10 relative
on random (not initial) weights means the scalar graph computes the model's true
gradient, not just the reference's.
"""

import random

import numpy as np
import pytest

from microgpt_trace.microgpt.model import document_loss
from microgpt_trace.microgpt.train import TrainConfig, start

DOCS = ["emma", "olivia", "ava", "isabella", "sophia", "annabella", "mia"]
RTOL, ATOL = 1e-10, 1e-12


def rmsnorm(x):
    """Row-wise x * (mean(x^2) + 1e-5)^-1/2; returns the output and the scale."""
    s = (np.mean(x * x, axis=1, keepdims=True) + 1e-5) ** -0.5
    return x * s, s


def rmsnorm_backward(x, s, dy):
    # y = x s, s = (m + eps)^-1/2, dm/dx = 2x/E  =>  dx = s dy - s^3 x (dy . x) / E
    return s * dy - s**3 * x * np.sum(dy * x, axis=1, keepdims=True) / x.shape[1]


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_backward(a, da):
    return a * (da - np.sum(da * a, axis=1, keepdims=True))


def attention_forward(W, li, x, n_head):
    """Causal multi-head attention block with residual; returns output and cache."""
    c = {"x_in": x}
    xn, c["s"] = rmsnorm(x)
    q, k, v = (xn @ W[f"layer{li}.attn_w{m}"].T for m in "qkv")
    n, hd = x.shape[0], x.shape[1] // n_head
    future = np.triu(np.ones((n, n), dtype=bool), k=1)
    heads, weights = [], []
    for h in range(n_head):
        sl = slice(h * hd, (h + 1) * hd)
        scores = np.where(future, -np.inf, q[:, sl] @ k[:, sl].T / hd**0.5)  # (n, n)
        a = softmax(scores)
        weights.append(a)
        heads.append(a @ v[:, sl])  # (n, hd)
    att = np.concatenate(heads, axis=1)  # (n, E)
    c.update(xn=xn, q=q, k=k, v=v, weights=weights, att=att)
    return att @ W[f"layer{li}.attn_wo"].T + x, c


def attention_backward(W, li, c, dy, grads):
    grads[f"layer{li}.attn_wo"] = dy.T @ c["att"]
    datt = dy @ W[f"layer{li}.attn_wo"]
    n_head = len(c["weights"])
    hd = datt.shape[1] // n_head
    dq, dk, dv = np.zeros_like(c["q"]), np.zeros_like(c["k"]), np.zeros_like(c["v"])
    for h, a in enumerate(c["weights"]):
        sl = slice(h * hd, (h + 1) * hd)
        dout = datt[:, sl]
        dv[:, sl] = a.T @ dout
        dscores = softmax_backward(a, dout @ c["v"][:, sl].T) / hd**0.5
        dq[:, sl] = dscores @ c["k"][:, sl]
        dk[:, sl] = dscores.T @ c["q"][:, sl]
    dxn = np.zeros_like(c["xn"])
    for m, d in zip("qkv", (dq, dk, dv)):
        grads[f"layer{li}.attn_w{m}"] = d.T @ c["xn"]
        dxn += d @ W[f"layer{li}.attn_w{m}"]
    return dy + rmsnorm_backward(c["x_in"], c["s"], dxn)


def mlp_forward(W, li, x):
    xn, s = rmsnorm(x)
    pre = xn @ W[f"layer{li}.mlp_fc1"].T  # (n, 4E)
    r = np.maximum(pre, 0.0)
    return r @ W[f"layer{li}.mlp_fc2"].T + x, {"x_in": x, "s": s, "xn": xn, "pre": pre, "r": r}


def mlp_backward(W, li, c, dy, grads):
    grads[f"layer{li}.mlp_fc2"] = dy.T @ c["r"]
    dpre = (dy @ W[f"layer{li}.mlp_fc2"]) * (c["pre"] > 0)
    grads[f"layer{li}.mlp_fc1"] = dpre.T @ c["xn"]
    return dy + rmsnorm_backward(c["x_in"], c["s"], dpre @ W[f"layer{li}.mlp_fc1"])


def loss_and_grads(W, tokens, n_layer, n_head, block_size):
    """Mean next-token loss of one document and d(loss)/d(W) for every matrix."""
    n = min(block_size, len(tokens) - 1)
    inputs, targets = np.array(tokens[:n]), np.array(tokens[1:n + 1])
    x0 = W["wte"][inputs] + W["wpe"][:n]
    x, s0 = rmsnorm(x0)
    caches = []
    for li in range(n_layer):
        x, attn_cache = attention_forward(W, li, x, n_head)
        x, mlp_cache = mlp_forward(W, li, x)
        caches.append((attn_cache, mlp_cache))
    probs = softmax(x @ W["lm_head"].T)  # (n, vocab)
    loss = -np.mean(np.log(probs[np.arange(n), targets]))

    grads = {}
    dlogits = probs.copy()
    dlogits[np.arange(n), targets] -= 1.0
    dlogits /= n
    grads["lm_head"] = dlogits.T @ x
    dx = dlogits @ W["lm_head"]
    for li in reversed(range(n_layer)):
        attn_cache, mlp_cache = caches[li]
        dx = mlp_backward(W, li, mlp_cache, dx, grads)
        dx = attention_backward(W, li, attn_cache, dx, grads)
    dx0 = rmsnorm_backward(x0, s0, dx)
    grads["wte"] = np.zeros_like(W["wte"])
    np.add.at(grads["wte"], inputs, dx0)  # a token seen twice gets both rows
    grads["wpe"] = np.zeros_like(W["wpe"])
    grads["wpe"][:n] = dx0
    return loss, grads


def randomised_model(engine, seed, **shape):
    """A GPT with weights drawn from N(0, 0.5): large enough that nothing is linear."""
    state = start(DOCS, TrainConfig(steps=1), engine, **shape)
    rng = random.Random(seed)
    for p in state.model.parameters():
        p.data = rng.gauss(0, 0.5)
    return state


CASES = {
    "default": ("isabella", 1, dict()),
    # a document longer than block_size: positions are truncated as in the reference
    "2-layer": ("annabella", 2, dict(n_layer=2, n_embd=8, n_head=2, block_size=5)),
}


@pytest.mark.parametrize("engine", ["fused", "atomic"])
@pytest.mark.parametrize("case", CASES)
def test_loss_and_every_gradient_match_numpy(engine, case):
    doc, seed, shape = CASES[case]
    state = randomised_model(engine, seed, **shape)
    model, tok = state.model, state.tokenizer
    tokens = [tok.bos] + tok.encode(doc) + [tok.bos]
    loss = document_loss(model, tokens)
    loss.backward()

    W = {name: np.array([[p.data for p in row] for row in rows])
         for name, rows in model.params.items()}
    c = model.config
    ref_loss, ref_grads = loss_and_grads(W, tokens, c.n_layer, c.n_head, c.block_size)
    assert loss.data == pytest.approx(ref_loss, rel=RTOL, abs=0)
    assert loss.data > 1.0  # random weights: far from a trivial loss
    assert set(ref_grads) == set(model.params)
    for name, rows in model.params.items():
        got = np.array([[p.grad for p in row] for row in rows])
        ref = ref_grads[name]
        bad = np.abs(got - ref) > RTOL * np.abs(ref) + ATOL
        assert not bad.any(), (name, np.argwhere(bad)[:5].tolist(), np.abs(got - ref).max())
        if name not in ("wte", "wpe"):  # rows of unused tokens and positions stay 0
            assert np.count_nonzero(ref) > ref.size // 2, name  # the check is not vacuous
