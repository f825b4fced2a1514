"""The training metrics log: JSON lines, a header then one record per step."""

import json
from pathlib import Path

__all__ = ["FORMAT", "VERSION", "MetricsLog", "step_record"]

FORMAT = "microgpt-trace-metrics"
VERSION = 1


def step_record(metrics):
    return {"type": "step", "step": metrics.step, "loss": metrics.loss, "lr": metrics.lr,
            "grad_norm": metrics.grad_norm}


class MetricsLog:
    """Appends records; a new file starts with a header naming the format and run."""

    def __init__(self, path, state, append=False):
        path = Path(path)
        fresh = not (append and path.exists() and path.stat().st_size > 0)
        self.file = path.open("w" if fresh else "a", encoding="utf-8")
        if fresh:
            self.write({"type": "header", "format": FORMAT, "version": VERSION,
                        "config": state.model.config.to_dict(),
                        "train_config": state.train_config.to_dict(),
                        "chars": state.tokenizer.chars})

    def write(self, record):
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
