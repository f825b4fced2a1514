"""The GPT of microgpt.py, one scalar Value at a time.

Shapes in comments: (n_embd,) is a list of n_embd Values, (vocab, n_embd) a list of
rows. The model names what it builds (labels) and groups it (scopes), so a traced
graph reads like the code: pos3/layer0/attn/head2/softmax holds L0.h2.w[t=0..3].
"""

from dataclasses import asdict, dataclass

from .engine import Value, dot, scope
from .exceptions import ConfigError

__all__ = ["Config", "GPT", "ENGINES", "softmax", "rmsnorm", "document_loss"]

ENGINES = ("atomic", "fused")


@dataclass(frozen=True)
class Config:
    vocab_size: int
    n_layer: int = 1
    n_embd: int = 16
    n_head: int = 4
    block_size: int = 16
    init_std: float = 0.08

    def __post_init__(self):
        for name in ("vocab_size", "n_layer", "n_embd", "n_head", "block_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ConfigError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})"
            )

    @property
    def head_dim(self):
        return self.n_embd // self.n_head

    def to_dict(self):
        return asdict(self)


def param_shapes(config):
    """State-dict order and shapes; this order is also the RNG and Adam order."""
    c = config
    shapes = {
        "wte": (c.vocab_size, c.n_embd),
        "wpe": (c.block_size, c.n_embd),
        "lm_head": (c.vocab_size, c.n_embd),
    }
    for i in range(c.n_layer):
        shapes[f"layer{i}.attn_wq"] = (c.n_embd, c.n_embd)
        shapes[f"layer{i}.attn_wk"] = (c.n_embd, c.n_embd)
        shapes[f"layer{i}.attn_wv"] = (c.n_embd, c.n_embd)
        shapes[f"layer{i}.attn_wo"] = (c.n_embd, c.n_embd)
        shapes[f"layer{i}.mlp_fc1"] = (4 * c.n_embd, c.n_embd)
        shapes[f"layer{i}.mlp_fc2"] = (c.n_embd, 4 * c.n_embd)
    return shapes


def named(values, fmt):
    """Label each value with fmt.format(i); returns the list for chaining."""
    for i, v in enumerate(values):
        v.label = fmt.format(i)
    return values


def softmax(logits):
    # subtract the max *data* (a float, so no gradient flows through it)
    max_val = max(v.data for v in logits)
    exps = [(v - max_val).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x, dot_product):
    ms = dot_product(x, x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def atomic_dot(ws, xs):
    """The reference's own sum of products: a `*` and a `+` node per term."""
    return sum(w * x for w, x in zip(ws, xs))


class GPT:
    """Parameters plus the forward pass; `engine` picks how dot products are built."""

    def __init__(self, config, params, engine="fused"):
        if engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        self.config = config
        self.params = params  # name -> rows of Values, in state-dict order
        self.engine = engine
        self.dot = dot if engine == "fused" else atomic_dot

    @classmethod
    def init(cls, config, rng, engine="fused"):
        """Draw every weight from rng.gauss(0, std), row by row, in state-dict order."""
        params = {}
        with scope("params"):
            for name, (rows, cols) in param_shapes(config).items():
                params[name] = [
                    [Value(rng.gauss(0, config.init_std), label=f"{name}[{i}][{j}]")
                     for j in range(cols)]
                    for i in range(rows)
                ]
        return cls(config, params, engine)

    def parameters(self):
        return [p for rows in self.params.values() for row in rows for p in row]

    def linear(self, x, w, label):
        return named([self.dot(row, x) for row in w], label)

    def forward(self, token_id, pos_id, cache, probe=False):
        """Logits (vocab,) for one token; appends this position's k, v to `cache`.

        With probe=True also returns plain floats of the inner activations: attention
        weights and head outputs per layer and head, MLP activations, and the residual
        stream after the embedding, each attention block and each MLP block.
        """
        c, p = self.config, self.params
        probes = {"attn": [], "head_out": [], "mlp": [], "residual": {}} if probe else None
        with scope("embed"):
            x = named([t + q for t, q in zip(p["wte"][token_id], p["wpe"][pos_id])], "emb[{}]")
            x = named(rmsnorm(x, self.dot), "x[{}]")
        if probe:
            probes["residual"]["embed"] = [v.data for v in x]
        for li in range(c.n_layer):
            with scope(f"layer{li}"):
                x = self.attention(x, li, cache, probes)
                if probe:
                    probes["residual"][f"L{li}_attn"] = [v.data for v in x]
                x = self.mlp(x, li, probes)
                if probe:
                    probes["residual"][f"L{li}_mlp"] = [v.data for v in x]
        with scope("lm_head"):
            logits = self.linear(x, p["lm_head"], "logit[{}]")
        return (logits, probes) if probe else logits

    def attention(self, x, li, cache, probes):
        c, p, L = self.config, self.params, f"L{li}"
        with scope("attn"):
            x_residual = x
            with scope("rmsnorm"):
                x = named(rmsnorm(x, self.dot), L + ".xn[{}]")
            with scope("qkv"):
                q = self.linear(x, p[f"layer{li}.attn_wq"], L + ".q[{}]")
                k = self.linear(x, p[f"layer{li}.attn_wk"], L + ".k[{}]")
                v = self.linear(x, p[f"layer{li}.attn_wv"], L + ".v[{}]")
            keys, values = cache[li]
            keys.append(k)
            values.append(v)
            x_attn, weights_per_head, out_per_head = [], [], []
            for h in range(c.n_head):
                with scope(f"head{h}"):
                    head_out, weights = self.head(q, keys, values, li, h)
                x_attn.extend(head_out)
                weights_per_head.append([w.data for w in weights])
                out_per_head.append([o.data for o in head_out])
            with scope("proj"):
                x = self.linear(x_attn, p[f"layer{li}.attn_wo"], L + ".attn[{}]")
        with scope("residual1"):
            x = named([a + b for a, b in zip(x, x_residual)], L + ".res1[{}]")
        if probes is not None:
            probes["attn"].append(weights_per_head)
            probes["head_out"].append(out_per_head)
        return x

    def head(self, q, keys, values, li, h):
        """One head: scores over positions 0..t, softmax, weighted sum of values."""
        hd = self.config.head_dim
        hs, tag = h * hd, f"L{li}.h{h}"
        q_h = q[hs:hs + hd]
        k_h = [ki[hs:hs + hd] for ki in keys]
        v_h = [vi[hs:hs + hd] for vi in values]
        with scope("scores"):
            scores = named([self.dot(q_h, k_t) / hd**0.5 for k_t in k_h], tag + ".score[t={}]")
        with scope("softmax"):
            weights = named(softmax(scores), tag + ".w[t={}]")
        with scope("out"):
            out = [self.dot(weights, [v_t[j] for v_t in v_h]) for j in range(hd)]
            named(out, tag + ".out[{}]")
        return out, weights

    def mlp(self, x, li, probes):
        p, L = self.params, f"L{li}"
        with scope("mlp"):
            x_residual = x
            with scope("rmsnorm"):
                x = named(rmsnorm(x, self.dot), L + ".xn2[{}]")
            with scope("fc1"):
                x = self.linear(x, p[f"layer{li}.mlp_fc1"], L + ".fc1[{}]")
            with scope("relu"):
                x = named([xi.relu() for xi in x], L + ".relu[{}]")
            if probes is not None:
                probes["mlp"].append([v.data for v in x])
            with scope("fc2"):
                x = self.linear(x, p[f"layer{li}.mlp_fc2"], L + ".fc2[{}]")
        with scope("residual2"):
            x = named([a + b for a, b in zip(x, x_residual)], L + ".res2[{}]")
        return x

    def new_cache(self):
        """Per layer, the keys and values of the positions seen so far."""
        return [([], []) for _ in range(self.config.n_layer)]


def document_loss(model, tokens, probe=False):
    """Mean next-token loss over one document's positions (at most block_size).

    Returns the loss Value, or (loss, probes per position) with probe=True.
    """
    n = min(model.config.block_size, len(tokens) - 1)
    cache = model.new_cache()
    losses, probes = [], []
    for pos in range(n):
        with scope(f"pos{pos}"):
            out = model.forward(tokens[pos], pos, cache, probe)
            logits = out[0] if probe else out
            with scope("softmax"):
                probs = named(softmax(logits), "p[{}]")
            with scope("loss"):
                loss_t = -probs[tokens[pos + 1]].log()
                loss_t.label = f"loss[t={pos}]"
        losses.append(loss_t)
        if probe:
            probes.append({**out[1], "probs": [v.data for v in probs]})
    with scope("loss"):
        loss = (1 / n) * sum(losses)
        loss.label = "loss"
    return (loss, probes) if probe else loss
