"""The live training page: one HTML document whose script draws every panel in the
browser from the metrics-log records the server pushes (microgpt_trace.live).

Its frame, stylesheet and script are assets/live.html (a string.Template), live.css
and live.js: no network, no other file, plain SVG and canvas.
What the report computes over all of a run's snapshots (colour scales, the embedding
axes) the page cannot know from one record: `live_view` computes it with the report's
own functions, and the server sends it along (a `view` event).
"""

from __future__ import annotations

import html
from typing import Sequence

from ..assets import asset, page_template
from .data import embedding_view, scales, text_groups

__all__ = ["live_page", "live_view", "ReceivedSnapshots"]


def live_page(log_name: str) -> str:
    """The page that follows a metrics log, its name (escaped) in the title.

    >>> page = live_page("<run>.jsonl")
    >>> "&lt;run&gt;.jsonl" in page, "<run>" in page, page.count("<script>")
    (True, False, 1)
    """
    return page_template(__package__, "live.html").substitute(
        log=html.escape(log_name), css=asset(__package__, "live.css"),
        js=asset(__package__, "live.js"))


def live_view(snapshots: Sequence[dict]) -> dict:
    """The report's whole-run numbers over `snapshots`, as JSON-ready lists: its colour
    scales (data.scales) and, per run of snapshots of one text, the embeddings on the
    principal directions of that run's last snapshot (data.embedding_view).

    >>> view = live_view([{"step": 1, "text": "ab", "wte": [[0.0, 0.0], [2.0, 0.0]],
    ...     "head_out": [[[[0.5]]]], "mlp": [[[2.0]]], "residual": {"stages": ["embed"],
    ...     "norm": [[1.0]], "cosine": [[]]}, "grad_norm": {"wte": 0.5}}])
    >>> view["scales"]["grad"], view["embedding"][0]["coords"]
    ([0.5, 0.5], [[[-1.0, 0.0], [1.0, 0.0]]])
    """
    import numpy as np

    def plain(value):
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    groups = [{k: plain(v) for k, v in embedding_view(group).items()}
              for group in text_groups(snapshots)]
    return {"scales": {k: plain(v) for k, v in scales(snapshots).items()},
            "embedding": groups}


class ReceivedSnapshots:
    """The snapshots of a log a page has received, as the report would read them (a
    later record of a step replaces the one before and drops what came after it), and
    the view the report computes over them."""

    KEPT = ("step", "text", "wte", "head_out", "mlp", "residual", "grad_norm")

    def __init__(self):
        self.snapshots = []

    def add(self, record: dict | None) -> bool:
        """Keep a snapshot record (only what the view reads); True when the view changed."""
        if not record or record.get("type") != "snapshot" or "step" not in record:
            return False
        while self.snapshots and self.snapshots[-1]["step"] >= record["step"]:
            self.snapshots.pop()
        self.snapshots.append({k: record.get(k) for k in self.KEPT})
        return True

    def view(self) -> dict | None:
        """live_view of the snapshots, or None when the records hold none (not a run's)."""
        try:
            return live_view(self.snapshots)
        except (KeyError, TypeError, ValueError, IndexError):
            return None
