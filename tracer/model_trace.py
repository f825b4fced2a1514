"""Trace the GPT's loss on one user-given text: every scalar op of a whole document,
or only the part one attention head's view shows.

The graph is what training computes for one step before Adam: the mean next-token
loss over the positions of `[BOS] + text + [BOS]`, with every gradient filled in.
"""

import networkx as nx

from microgpt_trace.microgpt.data import Tokenizer, check_text
from microgpt_trace.microgpt.engine import topological_order
from microgpt_trace.microgpt.model import GPT, document_loss
from microgpt_trace.microgpt.runs.budget import check_memory

from .graph import kind_of, trace, trace_part
from .queries import check_head, head_roles, mark_head

__all__ = ["trace_text", "trace_head"]


def trace_text(model: GPT, tokenizer: Tokenizer, text: str, backward: bool = True,
               source: str = "") -> nx.MultiDiGraph:
    """The graph of document_loss(model, [BOS] + text + [BOS]), after backward.

    The model's parameter grads are reset to 0 first (Value grads accumulate), so
    the same model and text always give the same graph.

    Args:
        model: a microgpt_trace.microgpt.model.GPT (either engine: fused `dot` nodes or atomic
            `*`/`+` chains).
        tokenizer: the microgpt_trace.microgpt.data.Tokenizer the model was trained with.
        text: the document, e.g. "anna"; at most block_size - 1 characters.
        backward: fill in gradients (otherwise every grad is 0).
        source: the graph's `source` attribute [default: "text 'anna'"].

    Returns:
        A MultiDiGraph in the microgpt_trace.tracer.graph schema plus graph attrs view="model",
        text, tokens (printable token per sequence slot: "BOS", "a", ..., "BOS";
        position t reads tokens[t] and predicts tokens[t+1]), vocab (the token of
        each id, BOS last: what names `logit[0]` as `logit 'a'`), n_layer, n_head,
        head_dim.

    Raises:
        DataError: the text is empty, too long, or has unknown characters.

    >>> import random
    >>> from microgpt_trace.microgpt.data import Tokenizer
    >>> from microgpt_trace.microgpt.model import GPT, Config
    >>> tok = Tokenizer("ab")
    >>> model = GPT.init(Config(tok.vocab_size, n_embd=4, n_head=2, block_size=4), random.Random(0))
    >>> g = trace_text(model, tok, "ab")
    >>> g.graph["tokens"], g.graph["source"], g.nodes[g.graph["roots"][0]]["label"]
    (('BOS', 'a', 'b', 'BOS'), "text 'ab'", 'loss')
    """
    tokens, attrs = text_attrs(model, tokenizer, text)
    loss = run(model, tokens, backward)
    graph = trace(loss, source=source or f"text {text!r}")
    graph.graph.update(attrs)
    return graph


def trace_head(model: GPT, tokenizer: Tokenizer, text: str, pos: int, layer: int, head: int,
               backward: bool = True, source: str = "") -> nx.MultiDiGraph:
    """head_view(trace_text(model, tokenizer, text, ...), pos, layer, head), equal in
    every node, edge and attribute, but with networkx objects for the head's nodes only.

    The model still runs the whole text and its backward (the head's gradients come
    from the loss of every position), and node ids are still positions in the whole
    graph's topological order; only the tracing is limited to the head.

    Args:
        model, tokenizer, text, backward, source: as for trace_text.
        pos, layer, head: as for microgpt_trace.tracer.queries.head_view.

    Returns:
        The head view, as microgpt_trace.tracer.queries.head_view returns it.

    Raises:
        DataError: the text is empty, too long, or has unknown characters.
        SelectionError: pos, layer or head is out of range.

    >>> import random
    >>> from microgpt_trace.microgpt.data import Tokenizer
    >>> from microgpt_trace.microgpt.model import GPT, Config
    >>> tok = Tokenizer("ab")
    >>> model = GPT.init(Config(tok.vocab_size, n_embd=4, n_head=2, block_size=4), random.Random(0))
    >>> H = trace_head(model, tok, "ab", 1, 0, 1)
    >>> sorted({role for _, role in H.nodes(data="role")}), len(H.graph["roots"])
    (['internal', 'k', 'out', 'q', 'score', 'v', 'weight'], 2)
    """
    tokens, attrs = text_attrs(model, tokenizer, text)
    check_head(attrs, pos, layer, head)
    loss = run(model, tokens, backward)
    order = topological_order(loss)
    index = {id(v): i for i, v in enumerate(order)}

    def const_inputs(i):
        return [index[id(c)] for c in order[i]._children if kind_of(c) == "const"]

    roles = head_roles(((i, v.scope, v.label) for i, v in enumerate(order)), const_inputs,
                       pos, layer, head, model.config.head_dim)
    H = trace_part(order, roles, roots=(index[id(loss)],), source=source or f"text {text!r}",
                   **attrs)
    return mark_head(H, roles, pos, layer, head)


def text_attrs(model, tokenizer, text):
    """(token ids, the model graph's attrs after roots and source) for a checked text."""
    config = model.config
    check_text(text, tokenizer.chars, config.block_size)
    check_memory(config, model.engine)
    tokens = [tokenizer.bos] + tokenizer.encode(text) + [tokenizer.bos]
    return tokens, {"view": "model", "text": text,
                    "tokens": tuple(tokenizer.token_text(t) for t in tokens),
                    "vocab": tuple(tokenizer.token_text(t) for t in range(tokenizer.vocab_size)),
                    "n_layer": config.n_layer, "n_head": config.n_head,
                    "head_dim": config.head_dim}


def run(model, tokens, backward):
    """The document loss, after backward; parameter grads are reset first."""
    for p in model.parameters():
        p.grad = 0.0
    loss = document_loss(model, tokens)
    if backward:
        loss.backward()
    return loss
