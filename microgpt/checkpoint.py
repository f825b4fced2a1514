"""Versioned JSON checkpoints: weights, Adam moments, step and RNG state.

JSON floats round-trip exactly (repr), so a resumed run continues to the same bits.
Writes go to a temporary file that is renamed into place: an interrupted write never
leaves a broken checkpoint behind. Never pickle.
"""

import json
import os
import random
import tempfile
from pathlib import Path

from .data import Tokenizer
from .exceptions import CheckpointError, ConfigError
from .model import GPT, Config, param_shapes
from .train import TrainConfig, TrainState, value_engine

__all__ = ["FORMAT", "VERSION", "DEFAULT_CHECKPOINT", "save", "load", "load_model"]

FORMAT = "microgpt-trace-checkpoint"
VERSION = 1
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "data" / "checkpoint.json"


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
    """Write atomically: temp file in the same folder, fsync, rename."""
    path = Path(path)
    text = json.dumps(to_dict(state, docs_sha256), separators=(",", ":"), ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is ordinary data
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path):
    """The checkpoint's dict, checked for format, version and completeness."""
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {str(path)!r}") from None
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint is a directory: {str(path)!r}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or truncated ({e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a microgpt-trace checkpoint")
    if not isinstance(d.get("version"), int) or d["version"] > VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {d.get('version')!r}; this "
            f"microgpt-trace reads version {VERSION}: upgrade microgpt-trace")
    missing = [k for k in ("config", "train_config", "chars", "step", "weights", "adam",
                           "rng_state", "docs_sha256") if k not in d]
    if missing:
        raise CheckpointError(f"checkpoint {str(path)!r} lacks {', '.join(missing)}")
    return d


def load(path, engine="float"):
    """A TrainState without its documents (the caller supplies and checks them).

    `engine` is the one its steps will train with (see microgpt.train.TRAIN_ENGINES).
    """
    d = read(path)
    try:
        config = Config(**d["config"])
        train_config = TrainConfig(**d["train_config"])
        tokenizer = Tokenizer(d["chars"])
        model = GPT(config, weights_to_params(d["weights"], config), value_engine(engine))
        n = len(model.parameters())
        m, v = [float(x) for x in d["adam"]["m"]], [float(x) for x in d["adam"]["v"]]
        if len(m) != n or len(v) != n or tokenizer.vocab_size != config.vocab_size:
            raise ValueError("sizes do not match the config")
        rng = random.Random()
        version, internal, gauss_next = d["rng_state"]
        rng.setstate((version, tuple(internal), gauss_next))
    except (ConfigError, TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"checkpoint {str(path)!r} is inconsistent: {e}") from None
    state = TrainState(model, tokenizer, [], train_config, rng, m, v, int(d["step"]), engine)
    return state, d["docs_sha256"]


def weights_to_params(weights, config):
    from .engine import Value, scope

    params = {}
    with scope("params"):
        for name, (rows, cols) in param_shapes(config).items():
            matrix = weights[name]
            if len(matrix) != rows or any(len(row) != cols for row in matrix):
                raise ValueError(f"{name} is not {rows}x{cols}")
            params[name] = [[Value(float(x), label=f"{name}[{i}][{j}]") for j, x in enumerate(row)]
                            for i, row in enumerate(matrix)]
    return params


def load_model(path=None, engine="fused"):
    """(model, tokenizer, rng) for sampling and tracing; default: data/checkpoint.json.

    The model's Value engine is `engine`, or fused for "float" (which reads its weights).
    """
    state, _ = load(path or DEFAULT_CHECKPOINT, engine)
    return state.model, state.tokenizer, state.rng
