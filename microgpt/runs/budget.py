"""How big a model this scalar engine can hold: refuse before the work starts.

Every weight is a Python object and, with the Value engines, every op of a step is
one too, so a mistyped `--embd 100000` would fill the memory for minutes before
failing. These estimates let a run be refused up front with the numbers and a hint.
"""

import os

from ..exceptions import ConfigError

__all__ = ["MAX_PARAMS", "n_params", "step_nodes", "check_size", "check_memory"]

MAX_PARAMS = 10_000_000  # ~1 GB as Values; microgpt.py's default model has 4,192
PARAM_BYTES = 150  # a weight as a Value in its row, plus its two Adam moments
NODE_BYTES = 300  # one op of a step: the Value, its children and local-grad tuples
HINT = "use a smaller --embd, --layers or --block-size"


def n_params(c) -> int:
    """wte, wpe, lm_head, and per layer q, k, v, o (n x n) and the MLP (2 x 4n x n)."""
    return 2 * c.vocab_size * c.n_embd + c.block_size * c.n_embd + 12 * c.n_layer * c.n_embd**2


def step_nodes(c, engine: str) -> int:
    """About how many Value nodes one document of block_size positions records.

    >>> from types import SimpleNamespace as C
    >>> step_nodes(C(vocab_size=27, n_layer=1, n_embd=16, n_head=4, block_size=16), "atomic")
    131184
    """
    n, t = c.n_embd, c.block_size
    attention = 4 * c.n_head * t + 2 * n * t  # scores, softmax, weighted sums over <= t keys
    if engine == "atomic":  # a * and a + per term of every dot product
        per_layer = 24 * n * n + attention + 12 * n
        head = 2 * c.vocab_size * n
    else:  # one node per dot product
        per_layer = 12 * n + c.n_head * 3 * t + 12 * n
        head = 2 * c.vocab_size
    return t * (c.n_layer * per_layer + head + 5 * c.vocab_size + 6 * n)


def check_size(c) -> None:
    """Refuse a model with more than MAX_PARAMS weights."""
    count = n_params(c)
    if count > MAX_PARAMS:
        raise ConfigError(f"the model would have {count:,} parameters; this scalar engine "
                          f"holds at most {MAX_PARAMS:,}: {HINT}")


def check_memory(c, engine: str, available: int = None) -> None:
    """Refuse a model whose weights and one step's graph would not fit in memory."""
    available = physical_memory() if available is None else available
    nodes = step_nodes(c, "atomic" if engine == "atomic" else "fused")  # float probes: fused
    need = n_params(c) * PARAM_BYTES + nodes * NODE_BYTES
    if need > available // 2:
        raise ConfigError(f"the model needs about {need / 2**30:.1f} GiB ({nodes:,} nodes a "
                          f"step with the {engine} engine); this machine has "
                          f"{available / 2**30:.1f} GiB: {HINT}")


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30  # a machine that will not say: assume a small one
