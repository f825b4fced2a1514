"""Trace a saved model on a text: load a checkpoint, then microgpt_trace.tracer.model_trace.

The one place the commands that draw, export or replay the model load it; the graph's
`source` names the checkpoint and the text.
"""

from os import PathLike

import networkx as nx

from microgpt_trace.microgpt.runs.checkpoint import DEFAULT_CHECKPOINT, load_model

from .model_trace import trace_head, trace_text

__all__ = ["trace_checkpoint_text", "trace_checkpoint_head"]


def trace_checkpoint_text(*, text: str, checkpoint: str | PathLike | None = None,
                          engine: str = "fused") -> nx.MultiDiGraph:
    """The whole document loss of `text` under a checkpoint's model, after backward.

    Args:
        text: the document, e.g. "anna".
        checkpoint: a checkpoint file [default: the shipped one].
        engine: "fused" (one node per dot product) or "atomic" (the `*`/`+` chains).

    Returns:
        trace_text's graph, its source "CHECKPOINT, text 'TEXT'".

    Raises:
        CheckpointError: the checkpoint is missing or malformed.
        DataError: as for trace_text.
    """
    model, tokenizer, source = _load(checkpoint, engine)
    return trace_text(model, tokenizer, text, source=f"{source}, text {text!r}")


def trace_checkpoint_head(*, text: str, pos: int | None = None, layer: int = 0, head: int = 0,
                          checkpoint: str | PathLike | None = None,
                          engine: str = "atomic") -> nx.MultiDiGraph:
    """One attention head's view of the same graph, tracing only that head.

    Args:
        text, checkpoint, engine: as for trace_checkpoint_text.
        pos: the query position [default: the last, len(text)].
        layer, head: which head.

    Returns:
        trace_head's view.

    Raises:
        CheckpointError, DataError: as for trace_checkpoint_text.
        SelectionError: pos, layer or head is out of range.
    """
    model, tokenizer, source = _load(checkpoint, engine)
    return trace_head(model, tokenizer, text, len(text) if pos is None else pos, layer, head,
                      source=f"{source}, text {text!r}")


def _load(checkpoint, engine):
    """(model, tokenizer, the checkpoint's name for a graph's source)."""
    model, tokenizer, _ = load_model(checkpoint, engine)
    return model, tokenizer, checkpoint or f"data/{DEFAULT_CHECKPOINT.name}"
