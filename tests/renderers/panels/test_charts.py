import io
import warnings
import xml.etree.ElementTree as ET

import matplotlib
import pytest
from PIL import Image

from microgpt.snapshots import snapshot_record
from microgpt.train import TrainConfig, start, train_steps
from renderers.panels import charts as panels

HIRAGANA = ["あいう", "いえ", "うお", "かき", "あかい", "おか"]


def tiny_snapshot(docs, **shape):
    """The last snapshot of a 3-step run, plus the vocabulary."""
    state = start(docs, TrainConfig(steps=3), **{"n_embd": 8, "n_head": 2, **shape})
    metrics = list(train_steps(state, probe_every=1))[-1]
    return snapshot_record(state, metrics), list(state.tokenizer.chars) + ["BOS"]


@pytest.fixture(scope="module")
def snapshot():
    return tiny_snapshot(["anna", "bob", "carla", "dave"], n_layer=2)


def all_figures(snapshot, vocab):
    return {
        "loss": panels.loss_figure(list(range(1, 31)), [3 - i / 20 for i in range(30)]),
        "attention": panels.attention_figure(snapshot),
        "probs": panels.probs_figure(snapshot, vocab, k=5),
        "embedding": panels.embedding_figure(snapshot, vocab),
        "residual": panels.residual_figure(snapshot),
        "head_outputs": panels.head_output_figure(snapshot),
        "mlp": panels.mlp_figure(snapshot),
        "grad_flow": panels.grad_figure(snapshot),
    }


def test_every_panel_renders_non_trivial_png_and_svg(snapshot):
    record, vocab = snapshot
    for name, figure in all_figures(record, vocab).items():
        data = panels.figure_bytes(figure)
        image = Image.open(io.BytesIO(data["png"]))
        width, height = figure.get_size_inches() * panels.DPI
        assert image.size == (round(width), round(height)), name
        assert len(image.convert("RGB").getcolors(1 << 16) or range(1 << 16)) > 50, name
        root = ET.fromstring(data["svg"])
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
        assert len(data["svg"]) > 10_000, name


def test_every_panel_has_a_title_and_labelled_axes(snapshot):
    record, vocab = snapshot
    for name, figure in all_figures(record, vocab).items():
        charts = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
        assert all(ax.get_title() for ax in charts), name
        assert all(ax.get_xlabel() for ax in charts), name
        assert charts[0].get_ylabel(), name  # the attention grid labels its first column
        colour_bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
        assert all(ax.get_ylabel() for ax in colour_bars), name


def test_attention_grid_has_one_map_per_layer_and_head(snapshot):
    record, _ = snapshot
    figure = panels.attention_figure(record)
    maps = [ax for ax in figure.axes if ax.get_images() and ax.get_title()]
    assert [ax.get_title() for ax in maps] == [
        "layer 0, head 0", "layer 0, head 1", "layer 1, head 0", "layer 1, head 1"]
    n = len(record["attn"][0][0])
    assert [t.get_text() for t in maps[0].get_xticklabels()] == record["tokens"][:n]


def test_probs_panel_marks_the_target_even_outside_the_top_k(snapshot):
    record, vocab = snapshot
    record = {**record, "probs": [0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.01, 0.01][:len(vocab)]}
    record["target"] = len(record["probs"]) - 1
    ax = panels.probs_figure(record, vocab, k=3).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 4 and labels[-1].endswith(f"(target, rank {len(record['probs'])})")
    ax = panels.probs_figure(record, vocab, k=len(vocab)).axes[0]
    assert len(ax.get_yticklabels()) == len(record["probs"])


def test_grad_flow_scale(snapshot):
    record, _ = snapshot
    assert panels.grad_figure(record).axes[0].get_xscale() == "log"
    assert panels.grad_figure(record, log_scale=False).axes[0].get_xscale() == "linear"
    silent = {**record, "grad_norm": {**record["grad_norm"], "wpe": 0.0}}
    ax = panels.grad_figure(silent).axes[0]  # a log axis would hide the zero bar
    assert ax.get_xscale() == "linear" and "a group has no gradient" in ax.get_xlabel()


def test_same_snapshot_same_svg(snapshot):
    record, vocab = snapshot
    first = panels.figure_bytes(panels.embedding_figure(record, vocab))
    second = panels.figure_bytes(panels.embedding_figure(record, vocab))
    assert first == second


def glyph_warnings(draw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_hiragana_renders_as_glyphs():
    assert panels.cjk_fonts(), "no Japanese font for matplotlib: run `make setup` " \
        "(installs fonts-noto-cjk)"
    record, vocab = tiny_snapshot(HIRAGANA)
    assert set("あいうえおかき") <= set(vocab)
    for figure in (panels.attention_figure(record), panels.probs_figure(record, vocab),
                   panels.embedding_figure(record, vocab)):
        assert glyph_warnings(lambda: panels.figure_bytes(figure)) == []
    # the check above can fail: without the fallback font the same labels warn
    from matplotlib.figure import Figure

    def draw_without_fallback():
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            figure = Figure()
            figure.add_subplot().set_title("".join(vocab))
            figure.savefig(io.BytesIO(), format="png")
    assert glyph_warnings(draw_without_fallback)


def test_a_space_token_is_visible():
    record, vocab = tiny_snapshot(["a b", "ab a", "b b"])
    figure = panels.attention_figure(record)
    assert "␣" in [t.get_text() for t in figure.axes[0].get_xticklabels()]
