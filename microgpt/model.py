"""The GPT of microgpt.py, one scalar Value at a time.

Read `GPT.forward` beside `gpt()` in microgpt.py: the same steps in the same order,
with the same variable names. Each step is a small method (`linear`, `rmsnorm`,
`add`, `relu`, `head`) that does the reference's math and adds two things, both for
the pictures, by one name such as "L0.q[{}]":
- it labels what the step computes (L0.q[0], L0.q[1], ...: the diagrams' names) and
  hands it to a recorder when a caller installed one (microgpt_trace.microgpt.recorder);
- it builds the step's nodes in the scope the name belongs to (SCOPES: L0.q is built
  in layer0/attn/qkv, under the pos3 that document_loss opens), so the tracer can
  select or collapse a part of the model.

Shapes in comments: (n_embd,) is a list of n_embd Values, (vocab, n_embd) a list
of rows. One call of forward handles one token at one position; attention sees
the keys and values of earlier positions through the cache (the KV cache).
"""

import math
import re
from dataclasses import asdict, dataclass
from functools import cache

from .engine import Value, dot, naming, scope
from .exceptions import ConfigError
from .recorder import record
from .runs.budget import check_size

__all__ = ["Config", "GPT", "ENGINES", "ACTIVATIONS", "GELU_C", "softmax", "rmsnorm", "gelu",
           "document_loss"]
ENGINES = ("atomic", "fused")
ACTIVATIONS = ("relu", "tanh", "gelu")  # the MLP's nonlinearity; microgpt.py's is relu
GELU_C = math.sqrt(2 / math.pi)  # gelu's tanh approximation: tanh(GELU_C (x + 0.044715 x^3))


@dataclass(frozen=True)
class Config:
    vocab_size: int
    n_layer: int = 1
    n_embd: int = 16
    n_head: int = 4
    block_size: int = 16
    init_std: float = 0.08
    # Experiments (`train --no-attention` ...): the guide's "change the code and see". With
    # every part on and relu, the model is microgpt.py's. A part switched off is skipped in
    # the forward pass; its weights are still drawn (the others start from the same
    # numbers) and keep them (their gradient is 0).
    attention: bool = True
    mlp: bool = True
    residual: bool = True
    activation: str = "relu"

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
        for name in ("attention", "mlp", "residual"):
            if type(getattr(self, name)) is not bool:
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                              f"got {self.activation!r}")
        check_size(self)

    @property
    def head_dim(self):
        return self.n_embd // self.n_head

    def to_dict(self):
        return asdict(self)

    def experiments(self):
        """The parts switched off or changed, as train's flags: [] for microgpt.py's model.

        >>> Config(vocab_size=3, residual=False, activation="gelu").experiments()
        ['--no-residual', '--activation gelu']
        """
        flags = [f"--no-{name}" for name in ("attention", "mlp", "residual")
                 if not getattr(self, name)]
        return flags + ([f"--activation {self.activation}"] if self.activation != "relu" else [])


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


# Where each named vector is built, by its label's stem; an L{l}. label's scope lies
# under layer{l}/, an L{l}.h{h}. one's {h} is its head.
SCOPES = {
    "emb": "embed", "x": "embed",
    "xn": "attn/rmsnorm", "q": "attn/qkv", "k": "attn/qkv", "v": "attn/qkv",
    "score": "attn/head{h}/scores", "w": "attn/head{h}/softmax", "out": "attn/head{h}/out",
    "attn": "attn/proj", "res1": "residual1",
    "xn2": "mlp/rmsnorm", "fc1": "mlp/fc1", "relu": "mlp/relu", "tanh": "mlp/tanh",
    "gelu": "mlp/gelu", "fc2": "mlp/fc2",
    "res2": "residual2",
    "logit": "lm_head", "p": "softmax",
}
LABEL = re.compile(r"(?:L(\d+)\.)?(?:h(\d+)\.)?(\w+)\[")


@cache
def scope_of(fmt):
    """The scope a label format's vector is built in.

    >>> scope_of("L0.h2.w[t={}]"), scope_of("L1.res1[{}]"), scope_of("logit[{}]")
    ('layer0/attn/head2/softmax', 'layer1/residual1', 'lm_head')
    """
    layer, head, stem = LABEL.match(fmt).groups()
    where = SCOPES[stem].format(h=head)
    return f"layer{layer}/{where}" if layer else where


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


def gelu(x):
    """GPT-2's gelu, the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Built from + * ** tanh nodes, so its derivative is the chain rule through exactly
    this formula (microgpt_trace.microgpt.floats spells the same steps by hand).
    """
    return 0.5 * x * (1 + (GELU_C * (x + 0.044715 * x**3)).tanh())


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

    def forward(self, token_id, pos_id, cache):
        """Logits (vocab,) for one token at one position; appends its k, v to `cache`."""
        sd = self.params
        tok_emb = sd["wte"][token_id]  # token embedding (n_embd,)
        pos_emb = sd["wpe"][pos_id]  # position embedding (n_embd,)
        x = self.add(tok_emb, pos_emb, "emb[{}]")
        x = self.rmsnorm(x, "x[{}]")
        c = self.config
        for li in range(c.n_layer):
            L = f"L{li}"  # the layer's labels: L0.q[3]
            keys, values = cache[li]
            if c.attention:
                # 1) Multi-head attention block
                x_residual = x
                x = self.rmsnorm(x, L + ".xn[{}]")
                q = self.linear(x, sd[f"layer{li}.attn_wq"], L + ".q[{}]")  # query (n_embd,)
                k = self.linear(x, sd[f"layer{li}.attn_wk"], L + ".k[{}]")  # key (n_embd,)
                v = self.linear(x, sd[f"layer{li}.attn_wv"], L + ".v[{}]")  # value (n_embd,)
                keys.append(k)
                values.append(v)
                x_attn = []  # the heads' outputs side by side (n_embd,)
                for h in range(c.n_head):
                    x_attn.extend(self.head(q, keys, values, li, h))
                x = self.linear(x_attn, sd[f"layer{li}.attn_wo"], L + ".attn[{}]")
                if c.residual:
                    x = self.add(x, x_residual, L + ".res1[{}]")  # the gradient's highway
            if c.mlp:
                # 2) MLP block
                x_residual = x
                x = self.rmsnorm(x, L + ".xn2[{}]")
                x = self.linear(x, sd[f"layer{li}.mlp_fc1"], L + ".fc1[{}]")  # (4 n_embd,)
                # relu: a unit below 0 passes neither data nor grad
                x = self.activate(x, L + f".{c.activation}[{{}}]")
                x = self.linear(x, sd[f"layer{li}.mlp_fc2"], L + ".fc2[{}]")  # (n_embd,)
                if c.residual:
                    x = self.add(x, x_residual, L + ".res2[{}]")
        logits = self.linear(x, sd["lm_head"], "logit[{}]")  # (vocab,)
        return logits

    def head(self, q, keys, values, li, h):
        """One head: scores q.k over positions 0..t, softmax, weighted sum of values."""
        hd, tag = self.config.head_dim, f"L{li}.h{h}"
        hs = h * hd
        q_h = q[hs:hs + hd]  # (head_dim,)
        k_h = [ki[hs:hs + hd] for ki in keys]  # (t+1, head_dim)
        v_h = [vi[hs:hs + hd] for vi in values]  # (t+1, head_dim)
        attn_logits = self.scores(q_h, k_h, tag + ".score[t={}]")  # (t+1,)
        attn_weights = self.softmax(attn_logits, tag + ".w[t={}]")  # (t+1,), sums to 1
        head_out = self.weighted_sum(attn_weights, v_h, tag + ".out[{}]")  # (head_dim,)
        return head_out

    # The steps: each builds its nodes in the scope of `fmt` (scope_of) and names them
    # with it. rmsnorm and softmax call the module's functions of the same name.
    def add(self, a, b, fmt):
        with scope(scope_of(fmt)):
            return named([ai + bi for ai, bi in zip(a, b)], fmt)

    def rmsnorm(self, x, fmt):
        with scope(scope_of(fmt)):
            return named(rmsnorm(x, self.dot), fmt)

    def linear(self, x, w, fmt):
        """w x (len(w),): the dot product of x with each row of w."""
        with scope(scope_of(fmt)):
            return named([self.dot(row, x) for row in w], fmt)

    def activate(self, x, fmt):
        """The MLP's nonlinearity, Config.activation: relu (microgpt.py's), tanh or gelu."""
        act = self.config.activation
        with scope(scope_of(fmt)):
            return named([xi.relu() if act == "relu" else xi.tanh() if act == "tanh"
                          else gelu(xi) for xi in x], fmt)

    def softmax(self, logits, fmt):
        with scope(scope_of(fmt)):
            return named(softmax(logits), fmt)

    def scores(self, q_h, k_h, fmt):
        """q.k_t / sqrt(head_dim): scaled so the softmax does not saturate as head_dim grows."""
        hd = self.config.head_dim
        with scope(scope_of(fmt)):
            return named([self.dot(q_h, k_t) / hd**0.5 for k_t in k_h], fmt)

    def weighted_sum(self, weights, v_h, fmt):
        """sum over t of w_t * v_t[j], for each element j of a head's values."""
        hd = self.config.head_dim
        with scope(scope_of(fmt)):
            return named([self.dot(weights, [v_t[j] for v_t in v_h]) for j in range(hd)], fmt)

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
            probs = model.softmax(logits, "p[{}]")
            with scope("loss"):
                loss_t = -probs[tokens[pos + 1]].log()  # cross-entropy at this position
                loss_t.label = f"loss[t={pos}]"
        losses.append(loss_t)
    with scope("loss"):
        loss = (1 / n) * sum(losses)  # the mean: every position weighs 1/n
        loss.label = "loss"
    return loss
