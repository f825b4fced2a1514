"""The figures in docs/img: what each one draws, the CLI commands that draw the same,
and the function that regenerates them or checks they are current.

Images are never compared: their bytes change with the Graphviz, Pillow and matplotlib
versions. Each figure commits beside its images a text source they are drawn from, and
the check recomputes that text (no `dot` needed) and compares it exactly; an image only
has to exist. Three kinds:

- Diagram: NAME.svg drawn by Graphviz from NAME.dot (the source); a diagram too wide
  for a page column also writes NAME-PART.svg per part, the same drawing framed on the
  nodes and clusters the text is about (crop_svg), and the chapter links the whole.
- Animation: a backward replay as NAME.gif (for the page) and NAME.html (the stepper),
  both drawn from NAME.dot: the DOT laid out once, then each frame's caption as a
  `//` comment line.
- Panels: training panels NAME-PANEL.png drawn by `report` from a short real run on
  data/names.txt; the source NAME.jsonl is that run's metrics log with every float
  rounded to 4 significant digits (what the charts show, stable to the last bits).
- Explorer: NAME.html, the explorer of the model on TEXT (what a cropped diagram's
  whole is one link away in, at the scope's address); the source NAME.txt lists its
  views, one `SCOPE KIND NODES` line each (the addresses a link may name).
- AdamPlot: NAME.png drawn by `adam PARAM --plot`, one weight's Adam numbers at every
  step of the shipped checkpoint's run (replayed from the seed, ~10 s); the source
  NAME.jsonl is a header line and one line per step, rounded the same way.

Regenerating writes a figure's images before its source: if drawing fails halfway,
the old source stays and the check still flags that figure.
"""

import json
import re
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Optional

import networkx as nx

from microgpt_trace.renderers.diagrams.crop import crop_svg
from microgpt_trace.renderers.diagrams.render import write_bytes, write_diagram
from microgpt_trace.renderers.diagrams.source import dot_source
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_head, trace_checkpoint_text
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.queries import collapse
from microgpt_trace.tracer.scope_view import scope_view

__all__ = ["Diagram", "Animation", "Panels", "AdamPlot", "Explorer", "DIAGRAMS", "ANIMATIONS",
           "PANELS", "ADAM_PLOTS", "EXPLORERS", "explorer_scopes",
           "IMG_DIR", "figures", "diagram_dot", "figure_source", "build_docs"]

IMG_DIR = Path("docs") / "img"  # relative to the repository root
TEXT = "anna"  # the document every model diagram runs on
WORKED = {"a": 2.0, "b": 3.0}
# micrograd's neuron: b = 6 + atanh(1/sqrt(2)) puts tanh at 1/sqrt(2), so its local
# gradient 1 - tanh**2 is 0.5; x2 = 0 makes w2 a weight that gets no gradient.
NEURON = {"w1": -3.0, "x1": 2.0, "w2": 1.0, "x2": 0.0, "b": 6.8813735870195432}


@dataclass(frozen=True)
class Diagram:
    """One picture: its file stem in docs/img, the graph it draws, dot_source's
    options, and the CLI words that draw the same DOT (a test holds them equal).
    `parts` are (PART, node and cluster names) pairs: NAME-PART.svg shows those."""

    name: str
    build: Callable[[], nx.Graph]
    command: str
    style: dict = field(default_factory=dict)
    parts: tuple = ()

    @property
    def source(self) -> Path:
        return IMG_DIR / f"{self.name}.dot"

    @property
    def whole(self) -> Path:
        return IMG_DIR / f"{self.name}.svg"

    @property
    def images(self) -> tuple:
        return (self.whole,) + tuple(IMG_DIR / f"{self.name}-{part}.svg"
                                     for part, _ in self.parts)

    def rows(self) -> dict:
        """image path -> the CLI commands its table row quotes (a part: the whole's)."""
        return {image: (self.command,) for image in self.images}


@dataclass(frozen=True)
class Animation:
    """A backward replay: build gives (graph, frames) as `command` computes them;
    the page shows the GIF and links the HTML stepper."""

    name: str
    build: Callable[[], tuple]
    command: str  # without -o: the rows add `-o out/NAME.gif` and `-o out/NAME.html`
    rankdir: str = "LR"

    @property
    def source(self) -> Path:
        return IMG_DIR / f"{self.name}.dot"

    @property
    def images(self) -> tuple:
        return tuple(IMG_DIR / f"{self.name}.{ext}" for ext in ("gif", "html"))

    def rows(self) -> dict:
        return {image: (f"{self.command} -o out/{image.name}",) for image in self.images}


# Config field -> the train flag that sets it (the switches only ever turn a part off)
MODEL_FLAGS = {"n_layer": "--layers {}", "n_embd": "--embd {}", "attention": "--no-attention",
               "mlp": "--no-mlp", "residual": "--no-residual", "activation": "--activation {}"}


@dataclass(frozen=True)
class Panels:
    """Training panels of one real run on the default data: `steps` steps at learning
    rate `lr` (None: the default), snapshots at the first and last step; `panels` are
    report file stems, a snapshot panel taken at the last step; `first` are snapshot
    panels shown at step 1 as well (NAME-PANEL-step1.png), for a before and after.
    `model` holds the Config fields the run changes, as (field, value) pairs: train's
    flags say the same."""

    name: str
    steps: int
    lr: Optional[float]
    panels: tuple
    model: tuple = ()
    first: tuple = ()

    @property
    def source(self) -> Path:
        return IMG_DIR / f"{self.name}.jsonl"

    @property
    def shots(self) -> tuple:
        """(report panel, snapshot step or None for the last, image) per image."""
        return tuple((panel, None, IMG_DIR / f"{self.name}-{panel}.png")
                     for panel in self.panels) + tuple(
            (panel, 1, IMG_DIR / f"{self.name}-{panel}-step1.png") for panel in self.first)

    @property
    def images(self) -> tuple:
        return tuple(image for _, _, image in self.shots)

    @property
    def commands(self) -> tuple:
        lr = "" if self.lr is None else f" --lr {self.lr}"
        flags = "".join(f" {MODEL_FLAGS[field].format(value)}" for field, value in self.model)
        log = f"out/{self.name}.jsonl"
        return (f"train --steps {self.steps}{lr}{flags} --snapshot-every {self.steps} "
                f"--log {log}", f"report --log {log} -o out/{self.name}/")

    def rows(self) -> dict:
        return {image: self.commands for image in self.images}


@dataclass(frozen=True)
class AdamPlot:
    """One weight's Adam numbers over the shipped checkpoint's run."""

    name: str
    param: str  # GROUP[ROW][COL]

    @property
    def source(self) -> Path:
        return IMG_DIR / f"{self.name}.jsonl"

    @property
    def images(self) -> tuple:
        return (IMG_DIR / f"{self.name}.png",)

    def rows(self) -> dict:
        return {self.images[0]: (f'adam "{self.param}" --plot out/{self.name}.png',)}


@dataclass(frozen=True)
class Explorer:
    """The explorer of the model on TEXT: every scope a click (or an address) away."""

    name: str

    @property
    def source(self) -> Path:
        return IMG_DIR / f"{self.name}.txt"

    @property
    def images(self) -> tuple:
        return (IMG_DIR / f"{self.name}.html",)

    def rows(self) -> dict:
        return {self.images[0]: (f"explore --text {TEXT} -o out/{self.name}.html",)}


@lru_cache(maxsize=1)
def traced_text(engine: str) -> nx.MultiDiGraph:
    """The default checkpoint's graph on TEXT; queries never mutate it, so share it."""
    return trace_checkpoint_text(text=TEXT, engine=engine)


def head(engine: str, index: int = 2) -> nx.MultiDiGraph:
    """Head `index` of layer 0 at position 4 of TEXT (head 2 puts 0.51 on the 'n'
    before: a selective head beside two that spread their weight)."""
    return trace_checkpoint_head(text=TEXT, pos=4, layer=0, head=index, engine=engine)


def blocks(depth: int) -> nx.DiGraph:
    return collapse(traced_text("fused"), depth)


def scope_of(name: str) -> nx.MultiDiGraph:
    return scope_view(traced_text("fused"), name)


DIAGRAMS = (
    Diagram("worked-forward", partial(trace_expression, "a*b+a", WORKED, backward=False),
            'expr "a*b+a" --set a=2 --set b=3 --no-backward', {"backward": False}),
    Diagram("worked", partial(trace_expression, "a*b+a", WORKED),
            'expr "a*b+a" --set a=2 --set b=3 --edge-labels', {"edge_labels": True}),
    Diagram("reuse", partial(trace_expression, "a*a", {"a": 2.0}),
            'expr "a*a" --set a=2 --edge-labels', {"edge_labels": True}),
    Diagram("neuron", partial(trace_expression, "tanh(w1*x1 + w2*x2 + b)", NEURON),
            'expr "tanh(w1*x1 + w2*x2 + b)" --set w1=-3 --set x1=2 --set w2=1 '
            '--set x2=0 --set b=6.8813735870195432 --edge-labels --rankdir TB',
            {"edge_labels": True, "rankdir": "TB"}),
    # top to bottom: narrower than left to right, so a head stays legible at page width
    # Parts name the DOT's nodes (n7...) and clusters; crop_svg refuses a name the
    # DOT no longer has, so a changed layout fails loudly.
    # the head's softmax (−max, exp, Σ, 1/Σ, the weights); the attention strip beside
    # the first key's table
    Diagram("head", partial(head, "atomic"),
            f"head --text {TEXT} --pos 4 --head 2 --rankdir TB", {"rankdir": "TB"},
            (("softmax", ("cluster_softmax",)), ("keys", ("cluster_strip", "cluster_dot0")))),
    # the attention strip (what the head reads), and the one dot node per key
    Diagram("head-fused", partial(head, "fused"),
            f"head --text {TEXT} --pos 4 --head 2 --engine fused --rankdir TB",
            {"rankdir": "TB"}, (("strip", ("cluster_strip",)),
                                ("dots", ("cluster_dot0", "cluster_dot1")))),
    # the weights row, then each position's embed, layer0 and lm_head blocks
    Diagram("model", partial(blocks, 1), f"model --text {TEXT} --depth 1", {},
            (("layer", ("n5", "n6", "n7", "n11", "n30", "w_n31")),)),
    # docs/backprop.md and docs/gpt.md (chapters 1-4)
    # the table of local gradients: the smallest expression for each op of the engine
    Diagram("op-add", partial(trace_expression, "a+b", WORKED),
            'expr "a+b" --set a=2 --set b=3 --edge-labels', {"edge_labels": True}),
    Diagram("op-mul", partial(trace_expression, "a*b", WORKED),
            'expr "a*b" --set a=2 --set b=3 --edge-labels', {"edge_labels": True}),
    Diagram("op-pow", partial(trace_expression, "a**2", {"a": 3.0}),
            'expr "a**2" --set a=3 --edge-labels', {"edge_labels": True}),
    Diagram("op-exp", partial(trace_expression, "exp(a)", {"a": 1.0}),
            'expr "exp(a)" --set a=1 --edge-labels', {"edge_labels": True}),
    Diagram("op-log", partial(trace_expression, "log(a)", {"a": 2.0}),
            'expr "log(a)" --set a=2 --edge-labels', {"edge_labels": True}),
    Diagram("op-relu", partial(trace_expression, "relu(a) + relu(b)", {"a": 2.0, "b": -1.0}),
            'expr "relu(a) + relu(b)" --set a=2 --set b=-1 --edge-labels',
            {"edge_labels": True}),
    Diagram("op-tanh", partial(trace_expression, "tanh(a)", {"a": 0.5}),
            'expr "tanh(a)" --set a=0.5 --edge-labels', {"edge_labels": True}),
    # each position's attention: rmsnorm, qkv, four head blocks, proj
    Diagram("model-depth3", partial(blocks, 3), f"model --text {TEXT} --depth 3", {},
            (("attn", ("n8", "n16", "n84")),)),
    # the other heads at the same position as "head": what each one attends to
    Diagram("head0-fused", partial(head, "fused", 0),
            f"head --text {TEXT} --pos 4 --head 0 --engine fused --rankdir TB",
            {"rankdir": "TB"}, (("strip", ("cluster_strip",)),)),
    Diagram("head1-fused", partial(head, "fused", 1),
            f"head --text {TEXT} --pos 4 --head 1 --engine fused --rankdir TB",
            {"rankdir": "TB"}, (("strip", ("cluster_strip",)),)),
    Diagram("head3-fused", partial(head, "fused", 3),
            f"head --text {TEXT} --pos 4 --head 3 --engine fused --rankdir TB",
            {"rankdir": "TB"}, (("strip", ("cluster_strip",)),)),
    # one part of the model at op level each, from the loss of the whole text
    Diagram("scope-embed", partial(scope_of, "pos0/embed"),
            f"scope pos0/embed --text {TEXT}", {}, (("sum", ("t0", "t1", "t2")),)),
    # position 4: 16 of 64 gates open; position 3, all closed, is the contrast
    Diagram("scope-mlp", partial(scope_of, "pos4/layer0/mlp"),
            f"scope pos4/layer0/mlp --text {TEXT}", {},
            (("gates", ("cluster_fc1", "cluster_relu")),)),
    Diagram("scope-mlp-closed", partial(scope_of, "pos3/layer0/mlp"),
            f"scope pos3/layer0/mlp --text {TEXT}", {},
            (("gates", ("cluster_fc1", "cluster_relu")),)),
    Diagram("scope-residual1", partial(scope_of, "pos3/layer0/residual1"),
            f"scope pos3/layer0/residual1 --text {TEXT}"),
    # the embedding's RMSNorm: a scale far from 1 (3.735; attention's input has ~1)
    Diagram("scope-rmsnorm", partial(scope_of, "pos3/embed"),
            f"scope pos3/embed --text {TEXT}", {},
            (("norm", ("t2", "t3", "opn54", "opn69")),)),
    Diagram("scope-lm-head", partial(scope_of, "pos3/lm_head"),
            f"scope pos3/lm_head --text {TEXT}", {}, (("logits", ("t1",)),)),
    Diagram("scope-softmax", partial(scope_of, "pos3/softmax"),
            f"scope pos3/softmax --text {TEXT}", {},
            (("exp", ("t0", "n2", "n133", "n35")),)),
    Diagram("scope-loss", partial(scope_of, "pos3/loss"), f"scope pos3/loss --text {TEXT}"),
    # docs/primer.md, docs/glossary.md, docs/questions.md (chapters-rest)
    # each position's attn, residual1 and mlp (relu: k/64 active)
    Diagram("model-depth2", partial(blocks, 2), f"model --text {TEXT} --depth 2", {},
            (("mlp", ("n8", "n12", "n43", "n45")),)),
    Diagram("residual", partial(trace_expression, "x + relu(w*x)", {"x": 2.0, "w": -1.0}),
            'expr "x + relu(w*x)" --set x=2 --set w=-1 --edge-labels', {"edge_labels": True}),
    Diagram("no-residual", partial(trace_expression, "relu(w*x)", {"x": 2.0, "w": -1.0}),
            'expr "relu(w*x)" --set x=2 --set w=-1 --edge-labels', {"edge_labels": True}),
    Diagram("residual2-scope", partial(scope_of, "pos3/layer0/residual2"),
            f"scope pos3/layer0/residual2 --text {TEXT}"),
)


def model_backward(depth: int) -> tuple:
    """(blocks graph, frames) of backward through the whole model on TEXT."""
    from microgpt_trace.tracer.block_frames import block_frames

    return block_frames(traced_text("fused"), depth)


def expression_backward(expression: str, values: dict) -> tuple:
    """(graph, frames) of backward through an expression, one node per frame."""
    from microgpt_trace.tracer.replay_views import replay_expression

    return replay_expression(expression=expression, values=values)


ANIMATIONS = (
    # docs/backprop.md: opens section 3, the chain rule on the worked example
    Animation("worked-backward", partial(expression_backward, "a*b+a", WORKED),
              'backward "a*b+a" --set a=2 --set b=3'),
    # docs/training.md
    Animation("training-step", partial(model_backward, 1),
              f"backward --text {TEXT} --model --depth 1"),
)
TRAINING_PANELS = ("loss", "grad_curves", "grad_flow", "mlp")
PANELS = (
    # the seed's ideas, before and after: letters used alike move together, heads
    # specialise, the residual stream grows
    Panels("train-healthy", 200, None,
           TRAINING_PANELS + ("embedding", "attention", "residual"),
           first=("embedding", "attention", "residual")),
    # ten times the default rate: the loss leaves the uniform guess, ReLUs die
    Panels("train-lr-too-high", 200, 0.1, TRAINING_PANELS),
    # docs/experiments.md: the guide's experiments, one part changed per run
    Panels("exp-no-attention", 200, None, ("grad_flow",), (("attention", False),)),
    Panels("exp-no-mlp", 200, None, ("loss",), (("mlp", False),)),
    Panels("exp-tanh", 200, None, ("mlp",), (("activation", "tanh"),)),
    Panels("exp-embd4", 200, None, ("loss",), (("n_embd", 4),)),
    # three layers, with and without the residual: the gradient vanishes on the way down
    Panels("exp-layers3", 200, None, ("grad_curves", "grad_flow"), (("n_layer", 3),)),
    Panels("exp-layers3-no-residual", 200, None, ("loss", "grad_curves", "grad_flow"),
           (("n_layer", 3), ("residual", False))),
)

# docs/adam.md: a weight whose step once reaches 2.26 lr_t (step 584)
ADAM_PLOTS = (AdamPlot("adam-run", "layer0.mlp_fc2[3][58]"),)
# where every cropped diagram's whole is: docs/img/explore-anna.html#SCOPE
EXPLORERS = (Explorer(f"explore-{TEXT}"),)


def figures() -> tuple:
    """Every figure, in the order build_docs handles them."""
    return DIAGRAMS + ANIMATIONS + PANELS + ADAM_PLOTS + EXPLORERS


def diagram_dot(diagram: Diagram) -> str:
    """The DOT text of one diagram, exactly as its CLI command writes it."""
    return dot_source(diagram.build(), **diagram.style)


def figure_source(figure) -> str:
    """The text committed as figure.source: what its images are drawn from."""
    if isinstance(figure, Diagram):
        return diagram_dot(figure)
    if isinstance(figure, Animation):
        from microgpt_trace.renderers.animation.storyboard import animation_dot

        graph, frames = figure.build()
        return animation_text(animation_dot(graph, frames, rankdir=figure.rankdir),
                              [frame.caption for frame in frames])
    if isinstance(figure, AdamPlot):
        header, records = adam_run(figure.param)
        return "".join(json.dumps(rounded(line)) + "\n" for line in (header, *records))
    if isinstance(figure, Explorer):
        return "".join(f"{view.scope or '/'} {view.kind} {view.graph.number_of_nodes()}\n"
                       for view in explorer_views_of_text())
    return rounded_log(training_log(figure.steps, figure.lr, figure.model))


def explorer_views_of_text() -> list:
    """The views `explore --text TEXT` draws (no `dot` needed to list them)."""
    from microgpt_trace.renderers.diagrams.render import layout_size
    from microgpt_trace.renderers.explorer.page import EXPLORE_MAX_NODES
    from microgpt_trace.tracer.explorer_views import explorer_views

    return explorer_views(traced_text("fused"), EXPLORE_MAX_NODES, layout_size)


def explorer_scopes(text: str) -> set:
    """The addresses (`#SCOPE`) an Explorer's source lists; the root is ''."""
    return {line.split(" ")[0].strip("/") for line in text.splitlines()}


@lru_cache(maxsize=None)
def adam_run(param: str) -> tuple:
    """(header, records) of microgpt.adam_explained.adam_history on the shipped checkpoint:
    computed once per process, for the source and the image alike."""
    from microgpt_trace.microgpt.adam_explained import adam_history

    return adam_history(None, param)


def animation_text(dot: str, captions: list) -> str:
    """The DOT, then each frame's caption as `//` comment lines."""
    lines = [dot.rstrip("\n")]
    for number, caption in enumerate(captions, 1):
        lines.append(f"// frame {number}")
        lines += [f"// {line}".rstrip() for line in caption.splitlines()]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=None)
@lru_cache(maxsize=None)
def training_log(steps: int, lr: Optional[float], model: tuple = ()) -> str:
    """The metrics log `train --steps STEPS [--lr LR] [model flags] --snapshot-every STEPS
    --log ...` writes on the default data (a few seconds on the float engine), samples
    included."""
    from microgpt_trace.microgpt.data import DEFAULT_DATA, load_docs
    from microgpt_trace.microgpt.runs.train_run import DEFAULT_SAMPLE_EVERY, train_run
    from microgpt_trace.microgpt.train import TrainConfig, docs_digest, start

    config = TrainConfig(steps=steps) if lr is None else TrainConfig(steps=steps, lr=lr)
    state = start(load_docs(DEFAULT_DATA), config, "float", **dict(model))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.jsonl"
        train_run(state, docs_digest(state.docs), log_path=path, probe_every=steps,
                  sample_every=DEFAULT_SAMPLE_EVERY)
        return path.read_text(encoding="utf-8")


def rounded_log(text: str) -> str:
    """A metrics log with every float to 4 significant digits, one record a line.

    >>> rounded_log('{"loss": 3.396186163558503, "step": 1, "g": [0.0040950714]}\\n')
    '{"loss": 3.396, "step": 1, "g": [0.004095]}\\n'
    """
    return "".join(json.dumps(rounded(json.loads(line)), ensure_ascii=False) + "\n"
                   for line in text.splitlines())


def rounded(value):
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def build_docs(root, check: bool = False) -> list:
    """Regenerate every figure in root/docs/img, or check the committed ones.

    Args:
        root: the repository root (the folder holding docs/).
        check: write nothing; report what is missing or out of date instead.

    Returns:
        Paths relative to root, such as "docs/img/worked.dot": with check, the files
        that are missing or stale (empty when all are current); otherwise every file
        written.

    Raises:
        RenderError: when regenerating, `dot` is missing or failed, or a file cannot
            be written (the figures before it stay written).
    """
    try:
        return check_figures(Path(root)) if check else write_figures(Path(root))
    finally:
        traced_text.cache_clear()  # the whole model graph, tens of MB


def check_figures(root: Path) -> list:
    stale = []
    for figure in figures():
        if not is_current(root / figure.source, figure_source(figure)):
            stale.append(figure.source.as_posix())
        stale += [image.as_posix() for image in figure.images if not (root / image).is_file()]
    return stale


def write_figures(root: Path) -> list:
    written = []
    for figure in figures():
        if isinstance(figure, Diagram):
            write_drawing(root, figure)
        elif isinstance(figure, Animation):
            write_animation(root, figure)
        elif isinstance(figure, AdamPlot):
            write_adam_plot(root, figure)
        elif isinstance(figure, Explorer):
            write_explorer_page(root, figure)
        else:
            write_panels(root, figure)
        written += [path.as_posix() for path in figure.images + (figure.source,)]
    return written


def write_drawing(root: Path, diagram: Diagram) -> None:
    graph = diagram.build()
    write_diagram(graph, root / diagram.whole, **diagram.style)
    whole = (root / diagram.whole).read_text(encoding="utf-8")
    for image, (_, names) in zip(diagram.images[1:], diagram.parts):
        write_bytes(root / image, crop_svg(whole, names).encode("utf-8"))
    write_diagram(graph, root / diagram.source, **diagram.style)  # last: what check compares


def write_animation(root: Path, figure: Animation) -> None:
    """One layout, encoded as the GIF and the stepper, as `backward -o` writes them."""
    from microgpt_trace.renderers.animation.gif import check_frame_count, gif_bytes
    from microgpt_trace.renderers.animation.stepper import stepper_html
    from microgpt_trace.renderers.animation.storyboard import animate

    graph, frames = figure.build()
    check_frame_count(len(frames))
    anim = animate(graph, frames, rankdir=figure.rankdir)
    gif, html = figure.images
    write_bytes(root / gif, gif_bytes(anim))
    write_bytes(root / html, stepper_html(anim).encode("utf-8"))
    write_bytes(root / figure.source, animation_text(anim.dot, anim.captions).encode("utf-8"))


def write_panels(root: Path, figure: Panels) -> None:
    """Draw the run's report in a scratch folder, keep the panels the docs show."""
    from microgpt_trace.microgpt.runs.metrics import read_log
    from microgpt_trace.renderers.panels.report import write_report

    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "run.jsonl"
        log_path.write_text(training_log(figure.steps, figure.lr, figure.model),
                            encoding="utf-8")
        log = read_log(log_path)
        report = Path(folder) / "report"
        write_report(report, log.steps, log.snapshots, log.vocab,
                     {**log.header["config"], **log.header["train_config"]})
        last = log.snapshots[-1]["step"]
        for panel, step, image in figure.shots:
            write_bytes(root / image, panel_file(report, panel, step or last).read_bytes())
    write_bytes(root / figure.source, figure_source(figure).encode("utf-8"))


def write_adam_plot(root: Path, figure: AdamPlot) -> None:
    """The chart `adam PARAM --plot` draws, then its source."""
    from microgpt_trace.renderers.panels.charts import adam_figure, figure_bytes

    header, records = adam_run(figure.param)
    write_bytes(root / figure.images[0], figure_bytes(adam_figure(header, records))["png"])
    write_bytes(root / figure.source, figure_source(figure).encode("utf-8"))


def write_explorer_page(root: Path, figure: Explorer) -> None:
    """The page `explore --text TEXT` writes, then the list of its views."""
    from microgpt_trace.renderers.explorer.page import explorer_page

    write_bytes(root / figure.images[0], explorer_page(traced_text("fused")).encode("utf-8"))
    write_bytes(root / figure.source, figure_source(figure).encode("utf-8"))


def panel_file(report: Path, panel: str, step: int) -> Path:
    """A whole-run panel, or a snapshot panel at `step`, in a report folder."""
    whole_run = report / f"{panel}.png"
    if whole_run.is_file():
        return whole_run
    pattern = re.compile(rf"{re.escape(panel)}-step0*{step}\.png")
    return next(p for p in report.iterdir() if pattern.fullmatch(p.name))


def is_current(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (FileNotFoundError, UnicodeDecodeError):
        return False
