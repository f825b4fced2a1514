"""Value graphs as networkx graphs: tracing, queries, replay and expressions."""

from .block_frames import BlockFlow, BlockFrame, block_frames, ready_frames
from .export import read_graph, write_graph
from .expr import DEFAULT_VALUES, evaluate, node_table, parse, parse_assignments, \
    trace_expression, variables
from .graph import KINDS, trace
from .model_trace import trace_text
from .queries import ancestors_of, auto_depth, collapse, head_view, select_scope
from .replay import GRANULARITIES, Flow, Frame, backward_frames, grads_after, grouped_frames

__all__ = [
    "trace", "KINDS",
    "parse", "variables", "parse_assignments", "evaluate", "trace_expression", "node_table",
    "DEFAULT_VALUES", "trace_text",
    "select_scope", "ancestors_of", "head_view", "collapse", "auto_depth",
    "write_graph", "read_graph",
    "backward_frames", "grouped_frames", "grads_after", "Frame", "Flow", "GRANULARITIES",
    "block_frames", "ready_frames", "BlockFrame", "BlockFlow",
]
