"""One parameter's next Adam update, number by number: the arithmetic training does.

`adam_arithmetic` repeats, for one weight, the float operations of
microgpt_trace.microgpt.train.adam_update in the same order on the same operands (the hoisted
constants included), so the new value it returns is the one a training step writes,
to the bit; the tests hold it to that. `next_update` picks the update a checkpoint
makes next, and `format_arithmetic` writes it out like a worked example.

A checkpoint at the end of its schedule has a next learning rate of 0: no weight would
move. Its moments before the last step are not stored, and algebra cannot recover them
(the last gradient depends on the weights before the step), but training is
deterministic: `next_update` replays the schedule from the seed up to the last step
(about 8 s for the default checkpoint) and checks that the replayed last step lands on
the checkpoint's weights and moments to the bit. Or `steps` extends the schedule, and
the next step has a learning rate again.
"""

import re
import unicodedata
from dataclasses import dataclass, replace
from itertools import chain, islice

from . import floats
from .data import DEFAULT_DATA, check_text, load_docs
from .exceptions import CheckpointError, ConfigError, ParameterError
from .model import param_shapes
from .runs.checkpoint import DEFAULT_CHECKPOINT, load
from .train import adam_update, docs_digest, resume, start, train_steps

MAX_REPLAY = 100_000  # steps replayed to show a finished schedule's last one (~minutes)

__all__ = ["AdamArithmetic", "parse_param", "flat_index", "adam_arithmetic", "adam_numbers",
           "next_update", "format_arithmetic", "adam_history", "largest_step", "HISTORY_FIELDS"]

# the labels the model gives its weights: wte[3][5], layer0.mlp_fc1[3][5]
PARAM = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\[([0-9]+)\]\[([0-9]+)\]")


@dataclass(frozen=True)
class AdamArithmetic:
    """Every number of one weight's Adam update, named as in the reference."""

    param: str  # "layer0.mlp_fc1[3][5]"
    step: int  # steps done before this update (s); the update is step s + 1
    steps: int  # the schedule's length N (lr_t = lr * (1 - s/N))
    lr: float
    beta1: float
    beta2: float
    eps: float
    text: str  # the document whose loss gives the gradient
    loss: float
    value: float  # p before the update
    grad: float  # g = d(loss)/dp
    m_prev: float
    v_prev: float
    m: float
    v: float
    correction1: float  # 1 - beta1 ** (s + 1)
    correction2: float  # 1 - beta2 ** (s + 1)
    m_hat: float
    v_hat: float
    lr_t: float
    delta: float  # lr_t * m_hat / (v_hat ** 0.5 + eps), what is subtracted
    new_value: float
    shows: str = "next"  # next | extended (steps given) | replayed (the last step)
    schedule: int = 0  # the checkpoint's own schedule length
    from_text: bool = False  # the document was given, not the next training one


def groups_text(shapes):
    return ", ".join(f"{name} ({rows}x{cols})" for name, (rows, cols) in shapes.items())


def parse_param(text, shapes):
    """(group, row, col) from "group[row][col]", checked against the model's shapes.

    >>> parse_param("wte[3][5]", {"wte": (27, 16)})
    ('wte', 3, 5)
    """
    match = PARAM.fullmatch(text.strip())
    if not match:
        raise ParameterError(f"cannot read parameter {text!r}: write GROUP[ROW][COL], e.g. "
                             f"wte[0][1]; the groups are {groups_text(shapes)}")
    name, row, col = match[1], int(match[2]), int(match[3])
    if name not in shapes:
        raise ParameterError(f"unknown parameter group {name!r} in {text!r}: the groups are "
                             f"{groups_text(shapes)}")
    rows, cols = shapes[name]
    for what, index, size in (("row", row, rows), ("column", col, cols)):
        if index >= size:
            raise ParameterError(f"{what} {index} of {name} is out of range: {name} is "
                                 f"{rows}x{cols}, so its {what}s are 0 to {size - 1}")
    return name, row, col


def flat_index(shapes, name, row, col):
    """The weight's position in state-dict order, where Adam keeps its m and v."""
    offset = 0
    for group, (rows, cols) in shapes.items():
        if group == name:
            return offset + row * cols + col
        offset += rows * cols
    raise ParameterError(f"unknown parameter group {name!r}")


def adam_arithmetic(state, name, row, col, text):
    """The update adam_update makes to one weight at state.step, on `text`'s gradient."""
    model = state.model
    tokens = [state.tokenizer.bos] + state.tokenizer.encode(text) + [state.tokenizer.bos]
    loss, grads = floats.loss_and_grads(model.config, floats.weights_of(model.params), tokens)
    i = flat_index(param_shapes(model.config), name, row, col)
    numbers = adam_numbers(state.train_config, state.step, model.params[name][row][col].data,
                           grads[name][row][col], state.m[i], state.v[i])
    return AdamArithmetic(param=f"{name}[{row}][{col}]", text=text, loss=loss, **numbers)


def adam_numbers(tc, step, p, g, m_prev, v_prev):
    """One weight's update: microgpt_trace.microgpt.train.adam_update's expressions,
    constant for constant."""
    lr_t = tc.lr * (1 - step / tc.steps)
    beta1, beta2, eps = tc.beta1, tc.beta2, tc.eps
    one_minus_beta1, one_minus_beta2 = 1 - beta1, 1 - beta2
    correction1, correction2 = 1 - beta1 ** (step + 1), 1 - beta2 ** (step + 1)
    m = beta1 * m_prev + one_minus_beta1 * g
    v = beta2 * v_prev + one_minus_beta2 * g ** 2
    m_hat = m / correction1
    v_hat = v / correction2
    delta = lr_t * m_hat / (v_hat ** 0.5 + eps)  # p.data -= delta
    return dict(step=step, steps=tc.steps, lr=tc.lr, beta1=beta1, beta2=beta2, eps=eps,
                value=p, grad=g, m_prev=m_prev, v_prev=v_prev, m=m, v=v,
                correction1=correction1, correction2=correction2, m_hat=m_hat, v_hat=v_hat,
                lr_t=lr_t, delta=delta, new_value=p - delta)


def next_update(path, param, data=DEFAULT_DATA, text=None, steps=None, on_replay=None):
    """The AdamArithmetic of `param`'s next update in the checkpoint at `path`.

    `path` None is the default checkpoint. The gradient is that of `text`, or of the
    next training document (`data` gives the order). `steps` sets the schedule's length;
    without it a finished schedule shows its last step, replayed from the seed
    (`on_replay(n)` is told first: it takes time).
    """
    state, digest = load(path or DEFAULT_CHECKPOINT)
    name, row, col = parse_param(param, param_shapes(state.model.config))
    if text is not None:
        check_text(text, state.tokenizer.chars, state.model.config.block_size)
    schedule = state.train_config.steps
    if steps is not None and steps <= state.step:
        raise ConfigError(f"--steps {steps} leaves no next step: the checkpoint has done "
                          f"{state.step}; give more than {state.step}")
    shows = "extended" if steps not in (None, schedule) else \
        "next" if state.step < schedule else "replayed"
    if shows == "extended":
        state.train_config = replace(state.train_config, steps=steps)
    if shows == "replayed":
        final, state = state, replay_to_last_step(state, digest, load_docs(data), on_replay)
    elif text is None:
        resume(state, load_docs(data), digest)
    doc = text if text is not None else state.docs[state.step % len(state.docs)]
    arithmetic = adam_arithmetic(state, name, row, col, doc)
    if shows == "replayed":
        check_replay(state, final)
        i = flat_index(param_shapes(final.model.config), name, row, col)
        assert text is not None or (arithmetic.new_value, arithmetic.m, arithmetic.v) == (
            final.model.params[name][row][col].data, final.m[i], final.v[i])
    return replace(arithmetic, shows=shows, schedule=schedule, from_text=text is not None)


def replay_to_last_step(final, digest, docs, on_replay=None):
    """A fresh run of the checkpoint's settings, stopped one step before its end."""
    if final.step == 0:
        raise ConfigError("the checkpoint has a 0-step schedule: there is no last step to "
                          "show; pass --steps N to give it one")
    state = fresh_start(final, digest, docs)
    if final.step - 1 > MAX_REPLAY:
        raise ConfigError(f"showing the last step means replaying {final.step - 1} steps from "
                          f"the seed (at most {MAX_REPLAY} are replayed): pass --steps N "
                          f"above {final.step} to show the next update instead")
    if on_replay:
        on_replay(final.step - 1)
    for _ in islice(train_steps(state), final.step - 1):
        pass
    return state


def fresh_start(final, digest, docs):
    """Step 0 of a run with the checkpoint's settings, on the same shuffled documents."""
    model_args = final.model.config.to_dict()
    del model_args["vocab_size"]  # start() reads it from the documents
    state = start(docs, final.train_config, "float", **model_args)
    if docs_digest(state.docs) != digest:
        raise ConfigError("the dataset differs from the one the checkpoint was trained on; "
                          "pass the same --data")
    return state


def check_replay(state, final):
    """Run the replayed last step; it must land on the checkpoint, bit for bit."""
    next(train_steps(state))
    check_same(state, final, "; pass --steps N to extend its schedule instead")


def check_same(state, final, advice=""):
    """A replayed run must hold the checkpoint's weights and moments, bit for bit."""
    same = state.m == final.m and state.v == final.v and all(
        a.data == b.data for a, b in zip(state.model.parameters(), final.model.parameters()))
    if not same:
        raise CheckpointError("replaying the checkpoint's schedule from its seed does not "
                              "reproduce its weights (trained elsewhere, or with other "
                              f"settings?){advice}")


def num(x):
    """4-6 significant digits for the worked numbers; negatives in parentheses."""
    text = f"{x:.6g}"
    return f"({text})" if text.startswith("-") else text


def format_arithmetic(a, checkpoint="the checkpoint"):
    """The update as a worked derivation: formula, numbers, result, line by line."""
    s, t, n = a.step, a.step + 1, a.steps
    b1, b2 = f"{a.beta1:g}", f"{a.beta2:g}"
    rows = [
        ("p", "the weight before the step", f"{a.value!r}"),
        ("g", "∂loss/∂p", f"{a.grad:.6g}"),
        ("m", f"β1 × m_prev + (1 − β1) × g = {b1} × {num(a.m_prev)} + {1 - a.beta1:.6g} × "
              f"{num(a.grad)}", f"{a.m:.6g}"),
        ("v", f"β2 × v_prev + (1 − β2) × g² = {b2} × {num(a.v_prev)} + {1 - a.beta2:.6g} × "
              f"{num(a.grad)}²", f"{a.v:.6g}"),
        ("m̂", f"m / (1 − β1^t) = {num(a.m)} / (1 − {b1}^{t}) = {num(a.m)} / "
               f"{a.correction1:.6g}", f"{a.m_hat:.6g}"),
        ("v̂", f"v / (1 − β2^t) = {num(a.v)} / (1 − {b2}^{t}) = {num(a.v)} / "
               f"{a.correction2:.6g}", f"{a.v_hat:.6g}"),
        ("lr_t", f"lr × (1 − s/N) = {a.lr:g} × (1 − {s}/{n})", f"{a.lr_t:.6g}"),
        ("Δ", f"lr_t × m̂ / (√v̂ + ε) = {a.lr_t:.6g} × {num(a.m_hat)} / "
              f"({a.v_hat ** 0.5:.6g} + {a.eps:g})", f"{a.delta:.6g}"),
        ("p_new", f"p − Δ = {a.value:.6g} − {num(a.delta)}", f"{a.new_value!r}"),
    ]
    width = max(map(shown_len, (name for name, _, _ in rows)))
    table = [f"  {name}{' ' * (width - shown_len(name))} = {formula}\n  {'':<{width}} = {result}"
             for name, formula, result in rows]
    dead = ["", "g is 0 (the weight had no effect on this document's loss), yet it moves: "
            "m still carries the earlier gradients"] if a.grad == 0 and a.delta != 0 else []
    return "\n".join(headline(a, checkpoint) + [
        f"document {a.text!r} (" + ("--text" if a.from_text else
                                   f"the training document of step {t}") + f"), loss {a.loss:.6g}",
        f"t = s + 1 = {t} (the step being taken), s = {s} steps done, N = {n}", ""] + table + [
        "", f"new value {a.new_value!r}: the exact float the training step writes"] + dead)


def shown_len(text):
    """Columns a terminal gives text: a combining accent (the hat of m̂) takes none."""
    return sum(not unicodedata.combining(c) for c in text)


def headline(a, checkpoint):
    """Which update this is, in words: the next one, with --steps, or the last replayed."""
    if a.shows == "replayed":
        return [f"{checkpoint} finished its {a.schedule}-step schedule: its next learning "
                "rate is 0, so no weight would move.",
                f"Showing its last step ({a.step + 1} of {a.steps}) instead, replayed from "
                "the seed and checked against the checkpoint to the bit; --steps N extends "
                "the schedule instead.",
                f"{a.param}: the Adam update of step {a.step + 1} of {a.steps}"]
    if a.shows == "extended":
        return [f"{a.param}: its next Adam update, step {a.step + 1} of {checkpoint}'s schedule "
                f"set from {a.schedule} to {a.steps} steps by --steps"]
    return [f"{a.param}: its next Adam update, step {a.step + 1} of {a.steps} of {checkpoint}"]


# what adam_history records of each step: enough to draw g, m, sqrt(v), m_hat / sqrt(v_hat),
# the step, both bias corrections and the decayed learning rate
HISTORY_FIELDS = ("step", "grad", "m", "v", "m_hat", "v_hat", "correction1", "correction2",
                  "lr_t", "delta")


def adam_history(path, param, data=DEFAULT_DATA, on_replay=None):
    """`param`'s Adam numbers at every step the checkpoint at `path` took, from its seed.

    A checkpoint keeps only the last moments, so the run is replayed (about 10 s for
    the default checkpoint's 1000 steps; `on_replay(n)` is told first) and checked
    against the checkpoint's weights and moments to the bit. Returns the header
    (param, the schedule's settings) and one dict of HISTORY_FIELDS per step, "step"
    1-based (the t of the bias corrections).
    """
    final, digest = load(path or DEFAULT_CHECKPOINT)
    shapes = param_shapes(final.model.config)
    name, row, col = parse_param(param, shapes)
    if final.step > MAX_REPLAY:
        raise ConfigError(f"the checkpoint has done {final.step} steps; at most {MAX_REPLAY} "
                          "are replayed")
    state = fresh_start(final, digest, load_docs(data))
    if on_replay:
        on_replay(final.step)
    i, params, bos = flat_index(shapes, name, row, col), state.model.parameters(), \
        state.tokenizer.bos
    records = []
    for step in range(final.step):  # train_steps' float step, with the weight's numbers kept
        doc = state.docs[step % len(state.docs)]
        tokens = [bos] + state.tokenizer.encode(doc) + [bos]
        _, grads = floats.loss_and_grads(state.model.config,
                                         floats.weights_of(state.model.params), tokens)
        numbers = adam_numbers(state.train_config, step, params[i].data,
                               grads[name][row][col], state.m[i], state.v[i])
        adam_update(params, list(chain.from_iterable(chain(*grads.values()))), state, step)
        state.step = step + 1
        assert params[i].data == numbers["new_value"]
        records.append({key: numbers[key] for key in HISTORY_FIELDS} | {"step": step + 1})
    check_same(state, final)
    tc = state.train_config
    header = {"param": f"{name}[{row}][{col}]", "steps": tc.steps, "lr": tc.lr,
              "beta1": tc.beta1, "beta2": tc.beta2, "eps": tc.eps}
    return header, records


def largest_step(header, records):
    """(step, m̂ / (√v̂ + ε)) of the step that moved the weight farthest in units of lr_t.

    >>> largest_step({"eps": 0.0}, [{"step": 1, "m_hat": 1.0, "v_hat": 1.0},
    ...                            {"step": 2, "m_hat": -2.0, "v_hat": 1.0}])
    (2, -2.0)
    """
    ratios = [(r["step"], r["m_hat"] / (r["v_hat"] ** 0.5 + header["eps"])) for r in records]
    return max(ratios, key=lambda pair: abs(pair[1]))
