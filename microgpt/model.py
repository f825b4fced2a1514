"""The GPT of microgpt.py, one scalar Value at a time.

Read `GPT.forward` beside `gpt()` in microgpt.py: the same steps in the same order,
with the same variable names. Two things are added, both for the pictures:
- `named(values, "L0.q[{}]")` labels what a line computes (the diagrams' names), and
  hands it to a recorder when a caller installed one (microgpt_trace.microgpt.recorder);
- `with scope("attn"):` groups the nodes a block creates (pos3/layer0/attn/head2),
  so the tracer can select or collapse a part of the model.

Shapes in comments: (n_embd,) is a list of n_embd Values, (vocab, n_embd) a list
of rows. One call of forward handles one token at one position; attention sees
the keys and values of earlier positions through the cache (the KV cache).
"""

from dataclasses import asdict, dataclass

from .engine import Value, dot, naming, scope
from .exceptions import ConfigError
from .recorder import record
from .runs.budget import check_size

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
            if type(value) is not int or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ConfigError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})"
            )
        if type(self.init_std) not in (int, float) or not 0 < self.init_std < 1e3:
            raise ConfigError(f"init_std must be a positive number, got {self.init_std!r}")
        check_size(self)

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
    """Label each value fmt.format(i), and record them if someone is recording."""
    if naming():
        for i, v in enumerate(values):
            v.label = fmt.format(i)
        record(fmt, values)
    return values


def softmax(logits):
    """exp(l - max) / sum: probabilities; subtracting the max keeps exp from overflowing."""
    # the max is taken of the *data*, a plain float: no gradient flows through it
    max_val = max(v.data for v in logits)
    exps = [(v - max_val).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x, dot_product):
    """x / root-mean-square(x): every vector leaves with the same scale, whatever came in."""
    ms = dot_product(x, x) / len(x)  # mean of squares, a scalar
    scale = (ms + 1e-5) ** -0.5  # one scale shared by every element
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

    def forward(self, token_id, pos_id, cache):
        """Logits (vocab,) for one token at one position; appends its k, v to `cache`."""
        sd = self.params
        with scope("embed"):
            tok_emb = sd["wte"][token_id]  # token embedding (n_embd,)
            pos_emb = sd["wpe"][pos_id]  # position embedding (n_embd,)
            x = named([t + p for t, p in zip(tok_emb, pos_emb)], "emb[{}]")
            x = named(rmsnorm(x, self.dot), "x[{}]")
        for li in range(self.config.n_layer):
            with scope(f"layer{li}"):
                x = self.attention(x, li, cache)  # 1) multi-head attention block
                x = self.mlp(x, li)  # 2) MLP block
        with scope("lm_head"):
            logits = self.linear(x, sd["lm_head"], "logit[{}]")  # (vocab,)
        return logits

    def attention(self, x, li, cache):
        """x + attention(rmsnorm(x)): each head mixes the values of positions 0..now."""
        sd, L = self.params, f"L{li}"
        with scope("attn"):
            x_residual = x
            with scope("rmsnorm"):
                x = named(rmsnorm(x, self.dot), L + ".xn[{}]")
            with scope("qkv"):  # query, key, value: each (n_embd,)
                q = self.linear(x, sd[f"layer{li}.attn_wq"], L + ".q[{}]")
                k = self.linear(x, sd[f"layer{li}.attn_wk"], L + ".k[{}]")
                v = self.linear(x, sd[f"layer{li}.attn_wv"], L + ".v[{}]")
            keys, values = cache[li]
            keys.append(k)
            values.append(v)
            x_attn = []  # the heads' outputs side by side (n_embd,)
            for h in range(self.config.n_head):
                with scope(f"head{h}"):
                    x_attn.extend(self.head(q, keys, values, li, h))
            with scope("proj"):
                x = self.linear(x_attn, sd[f"layer{li}.attn_wo"], L + ".attn[{}]")
        with scope("residual1"):  # the residual connection: the gradient's highway
            x = named([a + b for a, b in zip(x, x_residual)], L + ".res1[{}]")
        return x

    def head(self, q, keys, values, li, h):
        """One head: scores q.k over positions 0..t, softmax, weighted sum of values."""
        hd = self.config.head_dim
        hs, tag = h * hd, f"L{li}.h{h}"
        q_h = q[hs:hs + hd]  # (head_dim,)
        k_h = [ki[hs:hs + hd] for ki in keys]  # (t+1, head_dim)
        v_h = [vi[hs:hs + hd] for vi in values]  # (t+1, head_dim)
        with scope("scores"):  # scaled so the softmax does not saturate as head_dim grows
            attn_logits = named([self.dot(q_h, k_t) / hd**0.5 for k_t in k_h],
                                tag + ".score[t={}]")
        with scope("softmax"):
            attn_weights = named(softmax(attn_logits), tag + ".w[t={}]")  # (t+1,), sums to 1
        with scope("out"):
            head_out = [self.dot(attn_weights, [v_t[j] for v_t in v_h]) for j in range(hd)]
            return named(head_out, tag + ".out[{}]")  # (head_dim,)

    def mlp(self, x, li):
        """x + fc2(relu(fc1(rmsnorm(x)))): 4x wider in the middle, ReLU gates each unit."""
        sd, L = self.params, f"L{li}"
        with scope("mlp"):
            x_residual = x
            with scope("rmsnorm"):
                x = named(rmsnorm(x, self.dot), L + ".xn2[{}]")
            with scope("fc1"):
                x = self.linear(x, sd[f"layer{li}.mlp_fc1"], L + ".fc1[{}]")  # (4 n_embd,)
            with scope("relu"):  # a unit below 0 passes neither data nor gradient
                x = named([xi.relu() for xi in x], L + ".relu[{}]")
            with scope("fc2"):
                x = self.linear(x, sd[f"layer{li}.mlp_fc2"], L + ".fc2[{}]")  # (n_embd,)
        with scope("residual2"):
            x = named([a + b for a, b in zip(x, x_residual)], L + ".res2[{}]")
        return x

    def new_cache(self):
        """Per layer, the keys and values of the positions seen so far."""
        return [([], []) for _ in range(self.config.n_layer)]


def document_loss(model, tokens):
    """Mean next-token cross-entropy over one document's positions (at most block_size).

    At position t the model reads tokens[t] and is scored on tokens[t + 1]: the loss
    is -log of the probability it gave the right next token (cross-entropy against
    a one-hot target), averaged over the positions.
    """
    n = min(model.config.block_size, len(tokens) - 1)
    cache = model.new_cache()
    losses = []
    for pos in range(n):
        with scope(f"pos{pos}"):
            logits = model.forward(tokens[pos], pos, cache)
            with scope("softmax"):
                probs = named(softmax(logits), "p[{}]")
            with scope("loss"):
                loss_t = -probs[tokens[pos + 1]].log()  # cross-entropy at this position
                loss_t.label = f"loss[t={pos}]"
        losses.append(loss_t)
    with scope("loss"):
        loss = (1 / n) * sum(losses)  # the mean: every position weighs 1/n
        loss.label = "loss"
    return loss
