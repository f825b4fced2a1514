"""Generation as in microgpt.py: from BOS, sample until BOS or block_size."""

import math

from . import floats
from .exceptions import ConfigError
from .model import softmax

__all__ = ["generate"]


MIN_TEMPERATURE = 1e-300  # a logit of 1e7 / T stays finite; T=0 would be argmax


def generate(model, tokenizer, rng, n=20, temperature=0.5, engine="float"):
    """n samples; rng.choices draws one token per step from softmax(logits / T).

    engine "float" computes on plain floats (microgpt_trace.microgpt.floats); any other builds each
    step's Value graph with the model's own engine. The samples are the same.
    """
    if not 0 < temperature < math.inf:
        raise ConfigError(f"temperature must be a positive number, got {temperature!r}")
    if temperature < MIN_TEMPERATURE:  # 1 / T, or a logit / T, would overflow to inf
        raise ConfigError(f"temperature {temperature!r} is too small: logits / temperature "
                          f"overflow; give at least {MIN_TEMPERATURE!r}")
    config, bos = model.config, tokenizer.bos
    weights = floats.weights_of(model.params) if engine == "float" else None
    samples = []
    for _ in range(n):
        cache = model.new_cache()  # the same per-layer (keys, values) lists for both
        token_id, sample = bos, []
        for pos_id in range(config.block_size):
            if weights:
                logits = floats.forward(config, weights, token_id, pos_id, cache)
                # logit / T on a Value is logit * T**-1
                probs = floats.softmax([logit * temperature ** -1 for logit in logits])[0]
            else:
                logits = model.forward(token_id, pos_id, cache)
                probs = [p.data for p in softmax([logit / temperature for logit in logits])]
            token_id = rng.choices(range(config.vocab_size), weights=probs)[0]
            if token_id == bos:
                break
            sample.append(tokenizer.chars[token_id])
        samples.append("".join(sample))
    return samples
