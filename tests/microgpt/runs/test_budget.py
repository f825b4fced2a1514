"""microgpt_trace.microgpt.runs.budget: the size estimates are close to what a step
really records."""

import random

import pytest

from microgpt_trace.microgpt.engine import topological_order
from microgpt_trace.microgpt.exceptions import ConfigError
from microgpt_trace.microgpt.model import GPT, Config, document_loss
from microgpt_trace.microgpt.runs.budget import MAX_PARAMS, check_memory, n_params, step_nodes


@pytest.mark.parametrize("engine", ["atomic", "fused"])
@pytest.mark.parametrize("shape", [dict(n_embd=8, n_head=2, block_size=6),
                                   dict(n_embd=16, n_head=4, block_size=8, n_layer=2)])
def test_estimates_match_a_real_step(engine, shape):
    config = Config(vocab_size=7, **shape)
    model = GPT.init(config, random.Random(0), engine)
    assert n_params(config) == len(model.parameters())
    tokens = [6] + [i % 6 for i in range(config.block_size)] + [6]  # a full block
    nodes = len(topological_order(document_loss(model, tokens)))
    assert nodes / 2 < step_nodes(config, engine) < nodes * 2


def test_too_many_parameters_is_refused_with_the_number():
    with pytest.raises(ConfigError, match=r"would have 76,800,560 parameters; .* at most"):
        Config(vocab_size=27, n_embd=8, n_head=2, n_layer=100_000)
    assert n_params(Config(vocab_size=27)) == 4192 < MAX_PARAMS


def test_a_step_that_does_not_fit_is_refused():
    config = Config(vocab_size=27, n_embd=256, n_head=4, block_size=256)
    with pytest.raises(ConfigError, match=r"GiB .*atomic engine.*this machine has 1\.0 GiB"):
        check_memory(config, "atomic", available=1 << 30)
    check_memory(Config(vocab_size=27), "atomic", available=1 << 30)
