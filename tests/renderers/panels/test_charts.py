import io
import math
import warnings
import xml.etree.ElementTree as ET

import matplotlib
import pytest
from PIL import Image

from microgpt_trace.microgpt.runs.snapshots import snapshot_record
from microgpt_trace.microgpt.train import TrainConfig, start, train_steps
from microgpt_trace.renderers.panels import charts as panels
from microgpt_trace.renderers.panels import frames
from microgpt_trace.renderers.panels.data import grad_curves

HIRAGANA = ["あいう", "いえ", "うお", "かき", "あかい", "おか"]


def tiny_run(docs, steps=3, **shape):
    """Every snapshot of a short run (one per step), the step records, the vocabulary."""
    state = start(docs, TrainConfig(steps=steps), **{"n_embd": 8, "n_head": 2, **shape})
    snapshots, steps = [], []
    for m in train_steps(state, probe_every=1):
        steps.append({"step": m.step, "loss": m.loss, "lr": m.lr, "grad_norm": m.grad_norm})
        snapshots.append(snapshot_record(state, m))
    return snapshots, steps, list(state.tokenizer.chars) + ["BOS"]


@pytest.fixture(scope="module")
def run():
    return tiny_run(["anna", "bob", "carla", "dave"], n_layer=2)


def step_figures(snapshots, vocab, **options):
    one = snapshots[-1]
    figure = frames.snapshot_figure
    return {
        "attention": figure(frames.attention_panel, one),
        "probs": figure(frames.probs_panel, one, vocab),
        "probs-at": figure(frames.probs_panel, one, vocab, position=1, k=3),
        "embedding": figure(frames.embedding_panel, one, vocab),
        "residual": figure(frames.residual_panel, one),
        "head_outputs": figure(frames.head_output_panel, one),
        "mlp": figure(frames.mlp_panel, one),
        "grad_flow": figure(frames.grad_panel, one),
    }


def all_figures(run):
    snapshots, steps, vocab = run
    return {
        "loss": panels.loss_figure([s["step"] for s in steps], [s["loss"] for s in steps],
                                   len(vocab)),
        "grad_curves": panels.grad_curves_figure(steps),
        "learning": panels.learning_figure(snapshots, len(vocab)),
        **step_figures(snapshots, vocab),
    }


def test_every_panel_renders_non_trivial_png_and_svg(run):
    for name, figure in all_figures(run).items():
        data = panels.figure_bytes(figure)
        image = Image.open(io.BytesIO(data["png"]))
        width, height = figure.get_size_inches() * panels.DPI
        assert image.size == (round(width), round(height)), name
        assert len(image.convert("RGB").getcolors(1 << 16) or range(1 << 16)) > 50, name
        root = ET.fromstring(data["svg"])
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
        assert len(data["svg"]) > 10_000, name


def test_every_panel_has_a_title_and_labelled_axes(run):
    for name, figure in all_figures(run).items():
        charts = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
        # stripped: a panel starts with a " " title that its update fills in
        assert all(ax.get_title().strip() or figure.get_suptitle().strip() for ax in charts), name
        assert all(ax.get_xlabel() for ax in charts), name
        assert charts[0].get_ylabel(), name  # the attention grid labels its first column
        colour_bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
        assert all(ax.get_ylabel() for ax in colour_bars), name


def test_a_frame_of_a_reused_figure_equals_a_fresh_figure_of_that_snapshot(run):
    """Blitting (background once, changing artists per frame) leaves nothing of one
    frame in the next: frame k is pixel for pixel what a new figure draws for it."""
    snapshots, _, vocab = run
    for build, args in ((frames.attention_panel, ()), (frames.probs_panel, (vocab,)),
                        (frames.residual_panel, ()), (frames.grad_panel, ())):
        pngs = frames.frame_pngs(build(snapshots, *args), snapshots)
        for snapshot, png in zip(snapshots, pngs):
            figure = build(snapshots, *args)
            whole = frames.frame_pngs(figure, [snapshot])[0]
            assert Image.open(io.BytesIO(png)).tobytes() == \
                Image.open(io.BytesIO(whole)).tobytes(), (build.__name__, snapshot["step"])


def test_tick_labels_are_plain_text(run):
    """Panels draw every string as text (no TeX), so a tick label must not be TeX source."""
    for name, figure in all_figures(run).items():
        panels.figure_bytes(figure)
        labels = [label.get_text() for ax in figure.axes
                  for label in [*ax.get_xticklabels(which="both"),
                                *ax.get_yticklabels(which="both")]]
        assert any(labels), name
        assert not [text for text in labels if "$" in text or "\\" in text], name


def test_loss_has_the_uniform_guess_line_at_ln_vocab(run):
    _, steps, vocab = run
    ax = panels.loss_figure([1, 2], [3.0, 2.0], vocab_size=27).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    uniform = lines[f"uniform guess: ln(27) = {math.log(27):.2f}"]
    assert list(uniform.get_ydata()) == [math.log(27)] * 2
    assert set(lines) == {"loss per step", "moving average (1 steps)", uniform.get_label()}


def test_grad_curves_have_one_point_per_step_per_group(run):
    _, steps, _ = run
    ax = panels.grad_curves_figure(steps).axes[0]
    assert ax.get_yscale() == "log"
    curves = grad_curves(steps)
    bold = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in bold] == list(steps[0]["grad_norm"])
    for line in ax.get_lines():
        assert list(line.get_xdata()) == [s["step"] for s in steps]
    raw = [line for line in ax.get_lines() if line.get_label().startswith("_")]
    assert [list(line.get_ydata()) for line in raw] == [list(c) for c in curves.values()]


def test_attention_grid_has_one_map_per_layer_and_head(run):
    snapshots, _, _ = run
    figure = frames.snapshot_figure(frames.attention_panel, snapshots[-1])
    maps = [ax for ax in figure.axes if ax.get_images() and ax.get_title()]
    assert [ax.get_title() for ax in maps] == [
        "layer 0, head 0", "layer 0, head 1", "layer 1, head 0", "layer 1, head 1"]
    n = len(snapshots[-1]["attn"][0][0])
    assert [t.get_text() for t in maps[0].get_xticklabels()] == snapshots[-1]["tokens"][:n]


@pytest.mark.parametrize("heads, grid", [(4, (2, 2)), (3, (2, 2)), (1, (1, 1))])
def test_attention_maps_wrap_two_a_row(heads, grid):
    """Four heads side by side were 1,336 px at 'mignon', wider than a docs column."""
    state = start(["ab", "ba"], TrainConfig(steps=1), n_embd=12, n_head=heads)
    metrics = next(train_steps(state, probe_every=1, snapshot_text="ab"))
    figure = frames.snapshot_figure(frames.attention_panel, snapshot_record(state, metrics))
    maps = [ax for ax in figure.axes if ax.get_images()]
    shown = [ax for ax in figure.axes if ax.get_visible() and ax.get_subplotspec()]
    rows, columns = maps[0].get_subplotspec().get_gridspec().get_geometry()
    assert (rows, columns) == grid
    assert [ax.get_title() for ax in maps] == [f"layer 0, head {h}" for h in range(heads)]
    assert len(shown) == heads


def test_every_position_panel_shows_p_target_per_position(run):
    snapshots, _, vocab = run
    one = snapshots[-1]
    figure = frames.snapshot_figure(frames.probs_panel, one, vocab)
    heatmap, bars = figure.axes[:2]
    n = len(one["targets"])
    assert heatmap.get_images()[0].get_array().shape == (n, len(vocab))
    assert [p.get_width() for p in bars.patches] == [one["probs"][t][one["targets"][t]]
                                                    for t in range(n)]
    assert [t.get_text() for t in heatmap.get_yticklabels()][-1].endswith("→ BOS")


def test_probs_at_a_position_marks_the_target_even_outside_the_top_k(run):
    snapshots, _, vocab = run
    one = dict(snapshots[-1])
    target = one["targets"][1]
    one["probs"] = [list(p) for p in one["probs"]]
    one["probs"][1] = [0.0 if i == target else 1.0 / (len(vocab) - 1) for i in range(len(vocab))]
    ax = frames.snapshot_figure(frames.probs_panel, one, vocab, position=1, k=3).axes[0]
    names = [t.get_text() for t in ax.texts if t.get_text() and t.get_ha() == "right"]
    assert len(names) == 4 and names[-1] == vocab[target]
    assert "rank" in ax.get_title()


def test_one_colour_scale_for_every_snapshot(run):
    snapshots, _, _ = run
    top = max(abs(x) for s in snapshots for layer in s["head_out"] for head in layer
              for row in head for x in row)
    for snapshot in snapshots:
        figure = frames.snapshot_figure(frames.head_output_panel, snapshot,
                                        {"head_out": top})
        assert figure.axes[0].get_images()[0].get_clim() == (-top, top)


def test_grad_flow_scale(run):
    snapshots, _, _ = run
    one = snapshots[-1]
    assert frames.snapshot_figure(frames.grad_panel, one).axes[0].get_xscale() == "log"
    linear = frames.snapshot_figure(frames.grad_panel, one, log_scale=False)
    assert linear.axes[0].get_xscale() == "linear"
    silent = {**one, "grad_norm": {**one["grad_norm"], "wpe": 0.0}}
    ax = frames.snapshot_figure(frames.grad_panel, silent).axes[0]  # a log axis hides 0
    assert ax.get_xscale() == "linear"


def label_boxes(figure):
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    return [t.get_window_extent(renderer) for t in ax.texts if t.get_text() and
            t.get_transform() == ax.transData]


@pytest.mark.parametrize("docs", [["anna", "bob", "carla", "dave"], HIRAGANA])
def test_pca_labels_do_not_overlap(docs):
    snapshots, _, vocab = tiny_run(docs, steps=2)
    for snapshot in snapshots:
        boxes = label_boxes(frames.snapshot_figure(frames.embedding_panel, snapshot, vocab))
        assert len(boxes) == len(vocab)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b), (a, b)


def test_same_snapshot_same_svg(run):
    snapshots, _, vocab = run
    first = panels.figure_bytes(frames.snapshot_figure(frames.embedding_panel, snapshots[-1],
                                                       vocab))
    second = panels.figure_bytes(frames.snapshot_figure(frames.embedding_panel, snapshots[-1],
                                                        vocab))
    assert first == second


def glyph_warnings(draw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_hiragana_renders_as_glyphs():
    assert panels.cjk_fonts(), "no Japanese font for matplotlib: run `make setup` " \
        "(installs fonts-noto-cjk)"
    snapshots, _, vocab = tiny_run(HIRAGANA, steps=2)
    assert set("あいうえおかき") <= set(vocab)
    for build, args in ((frames.attention_panel, ()), (frames.probs_panel, (vocab,)),
                        (frames.embedding_panel, (vocab,))):
        figure = frames.snapshot_figure(build, snapshots[-1], *args)
        assert glyph_warnings(lambda figure=figure: panels.figure_bytes(figure)) == []
    # the check above can fail: without the fallback font the same labels warn
    from matplotlib.figure import Figure

    def draw_without_fallback():
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            figure = Figure()
            figure.add_subplot().set_title("".join(vocab))
            figure.savefig(io.BytesIO(), format="png")
    assert glyph_warnings(draw_without_fallback)


def test_a_space_token_is_visible():
    start_state = start(["a b", "ab a", "b b"], TrainConfig(steps=1), n_embd=8, n_head=2)
    metrics = next(train_steps(start_state, probe_every=1, snapshot_text="a b"))
    figure = frames.snapshot_figure(frames.attention_panel,
                                    snapshot_record(start_state, metrics))
    assert "␣" in [t.get_text() for t in figure.axes[0].get_xticklabels()]


def adam_records():
    """Three steps of one weight: the second moves 1.5 lr_t (m caught up, v has not)."""
    rows = [(1, 0.1, 0.1, 0.01), (2, -0.3, 0.3, 0.04), (3, 0.0, 0.2, 0.04)]
    return [{"step": s, "grad": g, "m": m_hat / 2, "m_hat": m_hat, "v_hat": v_hat,
             "correction1": 0.5, "correction2": 0.1 * s, "lr_t": 0.01 * (1 - (s - 1) / 3)}
            for s, g, m_hat, v_hat in rows]


def test_adam_figure_marks_the_largest_step_in_units_of_lr_t():
    header = {"param": "wte[0][1]", "lr": 0.01, "eps": 1e-8}
    fig = panels.adam_figure(header, adam_records())
    whole, steps, close, schedule = fig.axes
    assert whole.get_title().startswith("wte[0][1]: ")
    (ratio, *_) = steps.get_lines()
    assert [round(y, 6) for y in ratio.get_ydata()] == [1.0, 1.5, 1.0]
    assert [t.get_text() for t in steps.texts] == ["step 2: 1.50 × lr_t"]
    assert [list(line.get_ydata()) for line in schedule.get_lines()] == [
        [0.5] * 3, [0.1, 0.2, 0.1 * 3], [1.0, 1 - 1 / 3, 1 - 2 / 3]]
    assert panels.figure_bytes(fig)["png"].startswith(b"\x89PNG")


def test_mlp_panel_of_tanh_shows_negative_activations_on_a_diverging_scale(run):
    snapshots, _, _ = tiny_run(["anna", "bob", "carla"], steps=1, activation="tanh")
    fig = frames.snapshot_figure(frames.mlp_panel, snapshots[-1])
    image = fig.axes[0].images[0]
    low, high = image.get_clim()
    assert low == -high < 0 and image.get_cmap().name == "RdBu_r"
    assert image.get_array().min() < 0  # drawn, not clipped at 0
    assert "not ReLU" in fig._suptitle.get_text()
    relu = frames.snapshot_figure(frames.mlp_panel, run[0][-1]).axes[0].images[0]
    assert relu.get_clim()[0] == 0 and relu.get_cmap().name == "magma"
