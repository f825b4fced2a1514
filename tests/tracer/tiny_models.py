"""Small deterministic models and graphs for the tracer and renderer tests."""

import random
from functools import lru_cache

from microgpt_trace.microgpt.data import Tokenizer
from microgpt_trace.microgpt.engine import Value
from microgpt_trace.microgpt.model import GPT, Config
from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.train import TrainConfig, docs_digest, start
from microgpt_trace.tracer.graph import trace
from microgpt_trace.tracer.model_trace import trace_text

TOKENIZER = Tokenizer("abc")


def traced(root):
    """The graph of `root` after its backward."""
    root.backward()
    return trace(root)


def worked_example():
    """a*b+a with a=2, b=3: d.grad 1, c.grad 1, a.grad 1+3 = 4, b.grad 2."""
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    return traced(d)


def tiny_model(engine="fused", n_layer=1, block_size=8):
    config = Config(TOKENIZER.vocab_size, n_layer=n_layer, n_embd=8, n_head=2,
                    block_size=block_size)
    return GPT.init(config, random.Random(0), engine)


@lru_cache(maxsize=None)
def tiny_graph(engine="fused", text="abca", n_layer=1):
    """A traced graph; callers must not mutate it (queries are pure, tests check that)."""
    return trace_text(tiny_model(engine, n_layer), TOKENIZER, text)


def save_tiny_checkpoint(path):
    """An untrained checkpoint small enough to trace in milliseconds; returns path."""
    state = start(["abca", "bca", "cab"], TrainConfig(steps=1), n_embd=8, n_head=2,
                  block_size=8)
    checkpoint.save(state, path, docs_digest(state.docs))
    return path


def snapshot(G):
    """Everything about a graph, for checking that a query did not mutate it."""
    return (list(G.nodes(data=True)), list(G.edges(keys=True, data=True)), dict(G.graph))
