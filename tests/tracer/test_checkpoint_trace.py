"""A checkpoint's graph is trace_text's (or trace_head's) on the model it holds, with a
source naming the checkpoint."""

import pytest

from microgpt_trace.microgpt.runs.checkpoint import load_model
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_head, trace_checkpoint_text
from microgpt_trace.tracer.model_trace import trace_head, trace_text

from .tiny_models import save_tiny_checkpoint, snapshot


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ck") / "ck.json")


@pytest.mark.parametrize("engine", ["fused", "atomic"])
def test_text_is_trace_text_on_the_saved_model(ck, engine):
    G = trace_checkpoint_text(text="abc", checkpoint=ck, engine=engine)
    model, tokenizer, _ = load_model(ck, engine)
    assert snapshot(G) == snapshot(trace_text(model, tokenizer, "abc",
                                              source=f"{ck}, text 'abc'"))


def test_head_defaults_to_the_last_position(ck):
    H = trace_checkpoint_head(text="abc", head=1, checkpoint=ck)
    model, tokenizer, _ = load_model(ck, "atomic")
    assert H.graph["pos"] == 3
    assert snapshot(H) == snapshot(trace_head(model, tokenizer, "abc", 3, 0, 1,
                                              source=f"{ck}, text 'abc'"))


def test_arguments_are_keywords_only(ck):
    with pytest.raises(TypeError):
        trace_checkpoint_text("abc", ck)
    with pytest.raises(TypeError):
        trace_checkpoint_head("abc", 3, 0, 1, ck)
