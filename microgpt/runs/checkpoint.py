"""Versioned JSON checkpoints: weights, Adam moments, step and RNG state.

JSON floats round-trip exactly (repr), so a resumed run continues to the same bits.
Writes go to a temporary file that is renamed into place: an interrupted write never
leaves a broken checkpoint behind. Never pickle.
"""

import json
import random
from pathlib import Path

from ..data import Tokenizer, shipped_file
from ..exceptions import CheckpointError, ConfigError
from ..model import GPT, Config, param_shapes
from ..train import TrainConfig, TrainState, value_engine
from .files import atomic_write, read_input
from .schema import COUNT, NUMBER, Optional, SchemaError, check

__all__ = ["FORMAT", "VERSION", "DEFAULT_CHECKPOINT", "save", "load", "load_model"]

FORMAT = "microgpt-trace-checkpoint"
# 2: config has the experiment flags (attention, mlp, residual, activation). A version 1
# checkpoint is read as microgpt.py's model: every part on, relu.
VERSION = 2
DEFAULT_CHECKPOINT = shipped_file("checkpoint.json")


def to_dict(state, docs_sha256):
    model = state.model
    version, internal, gauss_next = state.rng.getstate()
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "train_config": state.train_config.to_dict(),
        "chars": state.tokenizer.chars,
        "step": state.step,
        "docs_sha256": docs_sha256,
        "weights": {name: [[p.data for p in row] for row in rows]
                    for name, rows in model.params.items()},
        "adam": {"m": state.m, "v": state.v},
        "rng_state": [version, list(internal), gauss_next],
    }


def save(state, path, docs_sha256):
    """Write atomically (microgpt_trace.microgpt.runs.files): the old checkpoint or the new
    one, never half."""
    text = json.dumps(to_dict(state, docs_sha256), separators=(",", ":"), ensure_ascii=False)
    atomic_write(path, text)


def read(path):
    """The checkpoint's dict, checked field by field (shape, type, range, finiteness)."""
    path = Path(path)
    try:
        d = json.loads(read_input(path).decode("utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {str(path)!r}") from None
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint is a directory: {str(path)!r}") from None
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {str(path)!r}: {e.strerror or e}") \
            from None
    except (ValueError, RecursionError):  # not UTF-8, not JSON, an int of 5,000 digits
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or truncated "
                              "(not JSON)") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a microgpt-trace checkpoint")
    if has_surrogate(d):
        raise CheckpointError(f"checkpoint {str(path)!r} holds a lone surrogate (\\ud800 to "
                              "\\udfff): not text")
    if type(d.get("version")) is not int or d["version"] > VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {d.get('version')!r}; this "
            f"microgpt-trace reads version {VERSION}: upgrade microgpt-trace")
    try:
        check_fields(d)
    except (SchemaError, ConfigError) as e:
        raise CheckpointError(f"checkpoint {str(path)!r}: {e}") from None
    return d


def has_surrogate(d):
    """Whether JSON escapes put a lone surrogate in a string: no font, file or terminal
    can show it."""
    try:
        json.dumps(d, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_fields(d):
    """Every field of a checkpoint dict, in the order later fields depend on them."""
    check(d, dict.fromkeys(to_dict_keys(), lambda x: None))
    check(d["config"], CONFIG_FIELDS, "config")
    config = Config(**d["config"])
    check(d["train_config"], TRAIN_FIELDS, "train_config")
    train_config = TrainConfig(**d["train_config"])
    check(d["chars"], distinct_chars, "chars")
    if len(d["chars"]) + 1 != config.vocab_size:
        raise SchemaError("chars", f"has {len(d['chars'])} characters, the config's "
                          f"vocab_size {config.vocab_size} needs {config.vocab_size - 1}")
    check(d["step"], COUNT, "step")
    if d["step"] > train_config.steps:
        raise SchemaError("step", f"{d['step']} is past the schedule's {train_config.steps} steps")
    check(d["docs_sha256"], sha256_hex, "docs_sha256")
    shapes = param_shapes(config)
    check(d["weights"], {name: [[NUMBER, cols], rows] for name, (rows, cols) in shapes.items()},
          "weights")
    n = sum(rows * cols for rows, cols in shapes.values())
    check(d["adam"], {"m": [NUMBER, n], "v": [non_negative, n]}, "adam")
    check(d["rng_state"], [lambda x: None, 3], "rng_state")
    try:
        random.Random().setstate((d["rng_state"][0], tuple(d["rng_state"][1]),
                                  d["rng_state"][2]))
    except (TypeError, ValueError, OverflowError):
        raise SchemaError("rng_state", "is not a state of Python's random.Random") from None


def to_dict_keys():
    return ("format", "version", "config", "train_config", "chars", "step", "docs_sha256",
            "weights", "adam", "rng_state")


CONFIG_FIELDS = {"vocab_size": COUNT, "n_layer": COUNT, "n_embd": COUNT, "n_head": COUNT,
                 "block_size": COUNT, "init_std": NUMBER,
                 **dict.fromkeys(("attention", "mlp", "residual"), Optional(
                     lambda x: None if type(x) is bool else f"must be true or false, got {x!r}")),
                 "activation": Optional(lambda x: None if isinstance(x, str) else
                                        f"must be text, got {x!r:.40}")}
TRAIN_FIELDS = {"steps": COUNT, "lr": NUMBER, "beta1": NUMBER, "beta2": NUMBER,
                "eps": NUMBER, "seed": lambda x: None if type(x) is int else
                f"must be a whole number, got {x!r}"}


def distinct_chars(x):
    if not isinstance(x, str) or len(set(x)) != len(x):
        return f"must be text without repeated characters, got {x!r:.40}"
    return None


def sha256_hex(x):
    ok = isinstance(x, str) and len(x) == 64 and all(c in "0123456789abcdef" for c in x)
    return None if ok else f"must be a SHA-256 in hex, got {x!r:.40}"


def non_negative(x):
    return NUMBER(x) or (None if x >= 0 else f"must be >= 0, got {x!r}")


def load(path, engine="float"):
    """A TrainState without its documents (the caller supplies and checks them).

    `engine` is the one its steps will train with (see microgpt_trace.microgpt.train.TRAIN_ENGINES).
    """
    d = read(path)
    config = Config(**d["config"])
    model = GPT(config, weights_to_params(d["weights"], config), value_engine(engine))
    rng = random.Random()
    version, internal, gauss_next = d["rng_state"]
    rng.setstate((version, tuple(internal), gauss_next))
    state = TrainState(model, Tokenizer(d["chars"]), [], TrainConfig(**d["train_config"]), rng,
                       [float(x) for x in d["adam"]["m"]], [float(x) for x in d["adam"]["v"]],
                       d["step"], engine)
    return state, d["docs_sha256"]


def weights_to_params(weights, config):
    from ..engine import Value, scope

    with scope("params"):
        return {name: [[Value(float(x), label=f"{name}[{i}][{j}]") for j, x in enumerate(row)]
                       for i, row in enumerate(weights[name])]
                for name in param_shapes(config)}


def load_model(path=None, engine="fused"):
    """(model, tokenizer, rng) for sampling and tracing; default: data/checkpoint.json.

    The model's Value engine is `engine`, or fused for "float" (which reads its weights).
    """
    state, _ = load(path or DEFAULT_CHECKPOINT, engine)
    return state.model, state.tokenizer, state.rng
