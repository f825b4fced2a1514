"""Small deterministic models for the tracer tests (fast with either engine)."""

import random
from functools import lru_cache

from microgpt.data import Tokenizer
from microgpt.model import GPT, Config

from tracer.model_trace import trace_text

TOKENIZER = Tokenizer("abc")


def tiny_model(engine="fused", n_layer=1, block_size=8):
    config = Config(TOKENIZER.vocab_size, n_layer=n_layer, n_embd=8, n_head=2,
                    block_size=block_size)
    return GPT.init(config, random.Random(0), engine)


@lru_cache(maxsize=None)
def tiny_graph(engine="fused", text="abca", n_layer=1):
    """A traced graph; callers must not mutate it (queries are pure, tests check that)."""
    return trace_text(tiny_model(engine, n_layer), TOKENIZER, text)


def snapshot(G):
    """Everything about a graph, for checking that a query did not mutate it."""
    return (list(G.nodes(data=True)), list(G.edges(keys=True, data=True)), dict(G.graph))
