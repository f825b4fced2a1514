"""Value graphs as networkx graphs: tracing, queries, replay and expressions."""

from .graph import KINDS, trace

__all__ = ["trace", "KINDS"]
