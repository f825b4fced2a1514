"""A checkpoint small enough to trace in milliseconds, for the diagram commands."""

import pytest

from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.train import TrainConfig, docs_digest, start, train_steps


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ck")
    docs = ["anna", "bob", "nab", "abba", "ban"]
    state = start(docs, TrainConfig(steps=2), n_embd=8, n_head=2, block_size=8)
    next(train_steps(state))
    checkpoint.save(state, folder / "ck.json", docs_digest(state.docs))
    return folder / "ck.json"
