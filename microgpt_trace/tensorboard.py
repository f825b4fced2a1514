"""`train --tensorboard DIR`: TensorBoard event files written from the metrics-log records.

The metrics log stays the one channel: train_run hands each step, snapshot and sample
record to `TensorBoardLog.record` right after writing it to the log, and this module
turns the record into TensorBoard's form, adding no number of its own:

    step      loss, lr, grad_norm/GROUP, update_ratio/GROUP (log10; a group that did
              not move has none that step) as scalars
    snapshot  hist/weights/GROUP and hist/grads/GROUP: the log's 20 bins as they are
              (TensorBoard's sum and sum of squares are taken at the bin centres), and
              the token embeddings `wte` in the projector, labelled with the characters
    sample    the names as text

tensorboardX is an optional extra (pip install 'microgpt-trace[tensorboard]'); it is
imported only here, inside functions.
"""

__all__ = ["TensorBoardLog", "INSTALL"]

INSTALL = "pip install 'microgpt-trace[tensorboard]'"


def summary_writer(logdir):
    """tensorboardX's SummaryWriter on logdir, or ImportError naming the extra."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError(f"--tensorboard needs tensorboardX: {INSTALL}") from None
    return SummaryWriter(logdir=str(logdir), flush_secs=5)


class TensorBoardLog:
    """Writes each metrics-log record to TensorBoard event files in `logdir`.

    Args:
        logdir: the directory (made if missing); a resumed run adds to it.
        chars: the tokenizer's characters, the projector's labels (then "BOS").
    """

    def __init__(self, logdir, chars):
        self.writer = summary_writer(logdir)
        self.labels = [*chars, "BOS"]

    def record(self, record):
        kind = record.get("type")
        if kind == "step":
            self.step(record)
        elif kind == "snapshot":
            self.snapshot(record)
        elif kind == "sample":
            self.sample(record)

    def step(self, r):
        w, step = self.writer, r["step"]
        w.add_scalar("loss", r["loss"], step)
        w.add_scalar("lr", r["lr"], step)
        for name, value in r["grad_norm"].items():
            w.add_scalar(f"grad_norm/{name}", value, step)
        for name, value in (r.get("update_ratio") or {}).items():
            if value is not None:
                w.add_scalar(f"update_ratio/{name}", value, step)

    def snapshot(self, r):
        import numpy as np

        step = r["step"]
        for kind, groups in (r.get("hist") or {}).items():
            for name, h in groups.items():
                self.histogram(f"hist/{kind}/{name}", h, step)
        self.writer.add_embedding(np.array(r["wte"], dtype=float), metadata=self.labels,
                                  global_step=step, tag="wte")

    def histogram(self, tag, h, step):
        counts, lo, hi = h["counts"], h["lo"], h["hi"]
        if lo == hi:  # every value equal: one bin
            limits, counts = [hi], [sum(counts)]
        else:
            width = (hi - lo) / len(counts)
            limits = [lo + (i + 1) * width for i in range(len(counts))]
            limits[-1] = hi
        centres = [x - (hi - lo) / len(counts) / 2 for x in limits] if lo != hi else [lo]
        self.writer.add_histogram_raw(
            tag, min=lo, max=hi, num=sum(counts),
            sum=sum(c * x for c, x in zip(counts, centres)),
            sum_squares=sum(c * x * x for c, x in zip(counts, centres)),
            bucket_limits=limits, bucket_counts=counts, global_step=step)

    def sample(self, r):
        names = "\n\n".join(f"`{name}`" if name else "(empty: BOS first)"
                            for name in r["samples"])
        self.writer.add_text("samples", f"temperature {r['temperature']}\n\n{names}", r["step"])

    def close(self):
        self.writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
