"""Trace the GPT's loss on one user-given text: every scalar op of a whole document.

The graph is what training computes for one step before Adam: the mean next-token
loss over the positions of `[BOS] + text + [BOS]`, with every gradient filled in.
"""

import networkx as nx

from microgpt.budget import check_memory
from microgpt.data import Tokenizer
from microgpt.model import GPT, document_loss

from .exceptions import SelectionError
from .graph import trace

__all__ = ["trace_text"]


def check_text(text, chars, block_size):
    """Refuse what the reference would silently truncate or cannot encode."""
    if not text:
        raise SelectionError("the text is empty: give at least one character")
    unknown = "".join(sorted(set(text) - set(chars)))
    if unknown:
        raise SelectionError(f"text {text!r} has characters not in the vocabulary: "
                             f"{unknown!r} (the vocabulary is {chars!r})")
    if len(text) > block_size - 1:
        raise SelectionError(f"text {text!r} has {len(text)} characters; the model's "
                             f"block_size {block_size} allows at most {block_size - 1}")


def trace_text(model: GPT, tokenizer: Tokenizer, text: str, backward: bool = True,
               source: str = "") -> nx.MultiDiGraph:
    """The graph of document_loss(model, [BOS] + text + [BOS]), after backward.

    The model's parameter grads are reset to 0 first (Value grads accumulate), so
    the same model and text always give the same graph.

    Args:
        model: a microgpt.model.GPT (either engine: fused `dot` nodes or atomic
            `*`/`+` chains).
        tokenizer: the microgpt.data.Tokenizer the model was trained with.
        text: the document, e.g. "anna"; at most block_size - 1 characters.
        backward: fill in gradients (otherwise every grad is 0).
        source: the graph's `source` attribute [default: "text 'anna'"].

    Returns:
        A MultiDiGraph in the tracer.graph schema plus graph attrs view="model",
        text, tokens (printable token per sequence slot: "BOS", "a", ..., "BOS";
        position t reads tokens[t] and predicts tokens[t+1]), n_layer, n_head,
        head_dim.

    Raises:
        SelectionError: the text is empty, too long, or has unknown characters.

    >>> import random
    >>> from microgpt.data import Tokenizer
    >>> from microgpt.model import GPT, Config
    >>> tok = Tokenizer("ab")
    >>> model = GPT.init(Config(tok.vocab_size, n_embd=4, n_head=2, block_size=4), random.Random(0))
    >>> g = trace_text(model, tok, "ab")
    >>> g.graph["tokens"], g.graph["source"], g.nodes[g.graph["roots"][0]]["label"]
    (('BOS', 'a', 'b', 'BOS'), "text 'ab'", 'loss')
    """
    config = model.config
    check_text(text, tokenizer.chars, config.block_size)
    check_memory(config, model.engine)
    tokens = [tokenizer.bos] + tokenizer.encode(text) + [tokenizer.bos]
    for p in model.parameters():
        p.grad = 0.0
    loss = document_loss(model, tokens)
    if backward:
        loss.backward()
    graph = trace(loss, source=source or f"text {text!r}")
    graph.graph.update(view="model", text=text,
                       tokens=tuple(tokenizer.token_text(t) for t in tokens),
                       n_layer=config.n_layer, n_head=config.n_head,
                       head_dim=config.head_dim)
    return graph
