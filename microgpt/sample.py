"""Generation as in microgpt.py: from BOS, sample until BOS or block_size."""

import math

from .exceptions import ConfigError
from .model import softmax

__all__ = ["generate"]


def generate(model, tokenizer, rng, n=20, temperature=0.5):
    """n samples; rng.choices draws one token per step from softmax(logits / T)."""
    if not 0 < temperature < math.inf:
        raise ConfigError(f"temperature must be a positive number, got {temperature!r}")
    config, bos = model.config, tokenizer.bos
    samples = []
    for _ in range(n):
        cache = model.new_cache()
        token_id, sample = bos, []
        for pos_id in range(config.block_size):
            logits = model.forward(token_id, pos_id, cache)
            probs = softmax([logit / temperature for logit in logits])
            token_id = rng.choices(range(config.vocab_size), weights=[p.data for p in probs])[0]
            if token_id == bos:
                break
            sample.append(tokenizer.chars[token_id])
        samples.append("".join(sample))
    return samples
