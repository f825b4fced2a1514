"""Adam and the training loop of microgpt.py, as a generator of per-step metrics.

A generator lets the caller stop between two steps (Ctrl-C, a test that wants 50
of 100 steps) and always find the state consistent: weights, moments and step
agree, so a checkpoint written then resumes to the same bits.

Engines: "float" (the default) computes each step's loss and gradients on plain floats
with the hand-written backward of microgpt_trace.microgpt.floats; "fused" and "atomic" build the
step's Value graph and call backward(). All three give the same bits. The weights are
Value rows in every case (checkpoints and tracing read them), and a step that must
probe the model's activations always runs on the Value graph.
"""

import gc
import hashlib
import math
import random
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from itertools import chain
from operator import mul

from . import floats
from .data import Tokenizer
from .engine import unnamed
from .exceptions import ConfigError
from .model import ENGINES, GPT, Config, document_loss
from .recorder import per_position, recording
from .runs.budget import check_memory
from .runs.snapshots import check_snapshot_text, default_snapshot_text

__all__ = ["MAX_STEPS", "TrainConfig", "TrainState", "StepMetrics", "Probe", "TRAIN_ENGINES",
           "value_engine",
           "start", "resume", "train_steps", "probe_text", "train", "docs_digest",
           "update_ratios", "histogram", "HIST_BINS"]

TRAIN_ENGINES = ("float",) + ENGINES  # float: hand-written backward; the others: Values


def value_engine(engine):
    """The Value engine of the model: float steps keep a fused model for probes and tracing."""
    if engine not in TRAIN_ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(TRAIN_ENGINES)}, got {engine!r}")
    return "fused" if engine == "float" else engine


MAX_STEPS = 10 ** 9  # a schedule's cap: this scalar GPT does a few steps a second


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000  # length of the learning-rate schedule, not of one run
    lr: float = 0.01
    beta1: float = 0.85
    beta2: float = 0.99
    eps: float = 1e-8
    seed: int = 42

    def __post_init__(self):
        if type(self.steps) is not int or self.steps < 0:
            raise ConfigError(f"steps must be a non-negative integer, got {self.steps!r}")
        if self.steps > MAX_STEPS:
            raise ConfigError(f"steps must be at most {MAX_STEPS} (a run does a few steps a "
                              f"second), got {self.steps!r:.30}")
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not 0 < self.eps < math.inf:
            raise ConfigError(f"eps must be a positive number, got {self.eps!r}")
        if type(self.seed) is not int:
            raise ConfigError(f"seed must be a whole number, got {self.seed!r}")

    def to_dict(self):
        return asdict(self)


@dataclass
class TrainState:
    """Everything a resumed run needs to continue to the same bits."""

    model: GPT
    tokenizer: Tokenizer
    docs: list  # in training order (shuffled once by the seeded rng)
    train_config: TrainConfig
    rng: random.Random
    m: list = field(default_factory=list)  # Adam first moments, state-dict order
    v: list = field(default_factory=list)  # Adam second moments
    step: int = 0  # steps completed
    engine: str = "float"  # how steps compute gradients: one of TRAIN_ENGINES


@dataclass(frozen=True)
class Probe:
    """The model on the snapshot text, with the weights a probed step started from."""

    text: str
    tokens: list  # ids: [BOS] + text + [BOS]
    positions: list  # per position, the recorded activations (recorder.per_position)
    loss: float  # the text's mean next-token loss
    grad_norm: dict  # parameter group -> L2 norm of the text's own gradient
    wte: list  # vocab x n_embd token embeddings (floats)


@dataclass(frozen=True)
class StepMetrics:
    step: int  # 1-based: the step just completed
    loss: float
    lr: float
    grad_norm: dict  # parameter group -> L2 norm of its gradient before the update
    probe: Probe = None  # when the step was asked to probe
    # parameter group -> log10(|w_after - w_before| / |w_before|), L2 norms: Karpathy's
    # health check (about -3 is healthy); None where the update or the weights are 0
    update_ratio: dict = None
    # on probed steps: "weights"/"grads" -> group -> histogram (see histogram()) of the
    # weights the step started from and of the gradient it computed there
    hist: dict = None


def docs_digest(docs):
    """Fingerprint of the shuffled documents, to check a resume uses the same data."""
    return hashlib.sha256("\n".join(docs).encode("utf-8")).hexdigest()


def start(docs, train_config=TrainConfig(), engine="float", **model_args):
    """Shuffle the documents, build the vocabulary and initialise the weights.

    One random.Random(seed) does all of it, in the reference's order, and goes on
    to drive sampling after training.
    """
    rng = random.Random(train_config.seed)
    docs = list(docs)
    rng.shuffle(docs)
    tokenizer = Tokenizer.from_docs(docs)
    config = Config(vocab_size=tokenizer.vocab_size, **model_args)
    check_memory(config, engine)  # before the first weight is drawn
    model = GPT.init(config, rng, value_engine(engine))
    n = len(model.parameters())
    return TrainState(model, tokenizer, docs, train_config, rng, [0.0] * n, [0.0] * n,
                      engine=engine)


def resume(state, docs, docs_sha256, **overrides):
    """Attach the documents to a loaded state, refusing any setting that contradicts it.

    `overrides` are the settings given for this run (None = not given), named like
    Config and TrainConfig fields; a resumed run must keep the checkpoint's.
    """
    current = {**state.model.config.to_dict(), **state.train_config.to_dict()}
    for name, value in overrides.items():
        if value is not None and value != current[name]:
            raise ConfigError(f"{name} {value!r} contradicts the checkpoint's {name} "
                              f"{current[name]!r}; drop it to resume")
    docs = list(docs)
    random.Random(state.train_config.seed).shuffle(docs)
    if docs_digest(docs) != docs_sha256:
        raise ConfigError("the dataset differs from the one the checkpoint was trained on; "
                          "pass the same --data")
    state.docs = docs
    return state


def train_steps(state, probe_every=0, snapshot_text=None):
    """Run the remaining steps of the schedule, yielding StepMetrics after each.

    With probe_every=N, every N-th step (and the first and last) also carries a Probe of
    `snapshot_text` [default: microgpt_trace.microgpt.runs.snapshots.default_snapshot_text],
    run with the weights the step starts from. The probe is a separate forward and backward
    pass: it reads the weights and leaves them, the grads that Adam uses and the RNG as they
    were, so a probed run trains to the same bits.

    Raises:
        ConfigError: (at the first next()) a snapshot text the model cannot read.
    """
    tc, model = state.train_config, state.model
    params = model.parameters()
    groups = [(name, sum(len(row) for row in rows)) for name, rows in model.params.items()]
    bos = state.tokenizer.bos
    if probe_every:
        text = default_snapshot_text(state.docs, model.config.block_size) \
            if snapshot_text is None else snapshot_text
        check_snapshot_text(text, state.tokenizer, model.config.block_size)
        probe_tokens = [bos] + state.tokenizer.encode(text) + [bos]
    for step in range(state.step, tc.steps):
        doc = state.docs[step % len(state.docs)]
        tokens = [bos] + state.tokenizer.encode(doc) + [bos]
        probed = bool(probe_every) and (step % probe_every == 0 or step == tc.steps - 1)
        with gc_paused(state.engine != "atomic"):  # atomic: microgpt.py's own cost
            probe = probe_text(model, groups, text, probe_tokens) if probed else None
            if state.engine == "float":
                loss, grads = floats.loss_and_grads(model.config, floats.weights_of(
                    model.params), tokens)
                grads = list(chain.from_iterable(chain(*grads.values())))
            else:
                # a fused step nobody traces skips labels and scopes; atomic keeps
                # microgpt.py's own cost
                with unnamed() if state.engine == "fused" else nullcontext():
                    loss = document_loss(model, tokens)
                loss.backward()
                loss, grads = loss.data, [p.grad for p in params]
            grad_norm = group_norms(groups, grads)
            before = [p.data for p in params]
            hist = histograms(groups, before, grads) if probed else None
            lr_t = adam_update(params, grads, state, step)
            ratio = update_ratios(groups, before, [p.data for p in params])
        state.step = step + 1
        yield StepMetrics(step + 1, loss, lr_t, grad_norm, probe, ratio, hist)


def probe_text(model, groups, text, tokens):
    """Forward and backward of one text on the Value graph, recording its activations.

    The parameters' grads are zero before (Adam zeroed them) and are set back to
    zero after: the training step that follows accumulates from zero as always.
    """
    params = model.parameters()
    loss, positions = probed_loss(model, tokens)
    loss.backward()
    norms = group_norms(groups, [p.grad for p in params])
    for p in params:
        p.grad = 0.0
    wte = [[p.data for p in row] for row in model.params["wte"]]
    return Probe(text, tokens, positions, loss.data, norms, wte)


def probed_loss(model, tokens):
    """The document loss, and its activations per position (microgpt_trace.microgpt.recorder)."""
    with recording() as records:
        loss = document_loss(model, tokens)
    return loss, per_position(records)


@contextmanager
def gc_paused(pause=True):
    """Switch the cyclic garbage collector off for one step, then back as it was.

    A step's Value graph holds no reference cycles (nodes point only to their
    children): reference counting frees it, and the collector would only walk its
    tens of thousands of new nodes again and again while they are being built.
    """
    enabled = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def group_norms(groups, grads):
    """Parameter group -> L2 norm of its gradients (grads flat, in state-dict order)."""
    norms, offset = {}, 0
    for name, size in groups:
        g = grads[offset:offset + size]
        norms[name] = math.sqrt(sum(map(mul, g, g)))  # the same sum as over p.grad * p.grad
        offset += size
    return norms


def update_ratios(groups, before, after):
    """Parameter group -> log10(|after - before| / |before|) (L2 norms), or None when
    either norm is 0 (a part switched off never moves). Flat lists, state-dict order."""
    ratios, offset = {}, 0
    for name, size in groups:
        w = before[offset:offset + size]
        d = [a - b for a, b in zip(after[offset:offset + size], w)]
        dn, wn = math.sqrt(sum(map(mul, d, d))), math.sqrt(sum(map(mul, w, w)))
        ratios[name] = math.log10(dn / wn) if dn and wn else None
        offset += size
    return ratios


HIST_BINS = 20  # a snapshot's histograms have a fixed size, whatever the model's


def histogram(values, bins=HIST_BINS):
    """{"lo", "hi", "counts"}: `bins` equal bins from min to max; the counts sum to
    len(values) (the max falls in the last bin; all equal: all in the first).

    >>> histogram([0.0, 0.5, 1.0, 1.0], bins=2)
    {'lo': 0.0, 'hi': 1.0, 'counts': [1, 3]}
    """
    lo, hi = min(values), max(values)
    counts = [0] * bins
    span = hi - lo
    for x in values:
        counts[min(int((x - lo) / span * bins), bins - 1) if span else 0] += 1
    return {"lo": lo, "hi": hi, "counts": counts}


def histograms(groups, weights, grads):
    """"weights" and "grads" -> parameter group -> histogram (flat lists, state-dict order)."""
    out = {"weights": {}, "grads": {}}
    offset = 0
    for name, size in groups:
        out["weights"][name] = histogram(weights[offset:offset + size])
        out["grads"][name] = histogram(grads[offset:offset + size])
        offset += size
    return out


def adam_update(params, grads, state, step):
    """One bias-corrected Adam step with linear lr decay; zeroes the params' grads.

    `grads` is flat, in state-dict order like `params` (a float step has no p.grad).
    """
    tc, m, v = state.train_config, state.m, state.v
    lr_t = tc.lr * (1 - step / tc.steps)
    # Hoisted out of the loop: the same float operations on the same operands, so
    # every update is bit-identical to the reference's per-parameter expressions.
    beta1, beta2, eps = tc.beta1, tc.beta2, tc.eps
    one_minus_beta1, one_minus_beta2 = 1 - beta1, 1 - beta2
    correction1, correction2 = 1 - beta1 ** (step + 1), 1 - beta2 ** (step + 1)
    for i, p in enumerate(params):
        g = grads[i]
        m[i] = beta1 * m[i] + one_minus_beta1 * g
        v[i] = beta2 * v[i] + one_minus_beta2 * g ** 2
        m_hat = m[i] / correction1
        v_hat = v[i] / correction2
        p.data -= lr_t * m_hat / (v_hat ** 0.5 + eps)
        p.grad = 0.0
    return lr_t


def train(docs, train_config=TrainConfig(), engine="float", **model_args):
    """Train from scratch to the end of the schedule; returns (state, losses)."""
    state = start(docs, train_config, engine, **model_args)
    losses = [metrics.loss for metrics in train_steps(state)]
    return state, losses
