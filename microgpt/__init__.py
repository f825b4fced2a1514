"""A scalar GPT (the algorithm of microgpt.py) that records every op. Stdlib only."""

from .engine import Value, dot, scope

__all__ = ["Value", "dot", "scope"]
__version__ = "0.1.0"
