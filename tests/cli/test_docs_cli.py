"""`docs`: the committed figures are current, stale or missing ones are named (each
kind: diagram, animation, training panels), and the chapters show every figure with
the commands that draw it."""

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from microgpt_trace.commands import docs as docs_command
from microgpt_trace.docs_build import (
    ADAM_PLOTS,
    ANIMATIONS,
    DIAGRAMS,
    IMG_DIR,
    PANELS,
    AdamPlot,
    Panels,
    build_docs,
    diagram_dot,
    figures,
    rounded_log,
    traced_text,
    write_animation,
)

from .runner import invoke

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ENGLISH = sorted(DOCS.glob("*.md"))  # the chapters; the Japanese ones share their names
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")  # images and plain links


@pytest.fixture(scope="module", autouse=True)
def free_model_graphs():
    """diagram_dot keeps the traced model graphs cached; don't hold them all session."""
    yield
    traced_text.cache_clear()


@pytest.fixture
def docs_copy(tmp_path, monkeypatch):
    """A copy of docs/ under tmp_path, which the `docs` command then treats as root."""
    shutil.copytree(DOCS, tmp_path / "docs")
    monkeypatch.setattr(docs_command, "ROOT", tmp_path)
    return tmp_path


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_check_passes_on_the_committed_tree():
    result = invoke("docs", "--check")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout == "docs/img and the Japanese chapters are current\n"


@pytest.mark.slow
def test_a_changed_english_chapter_is_named_until_its_translation_is_marked(docs_copy):
    english = docs_copy / "docs" / "adam.md"
    english.write_text(english.read_text(encoding="utf-8") + "\nOne more line.\n",
                       encoding="utf-8")
    result = invoke("docs", "--check")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "docs/ja/adam.md follows an older docs/adam.md (changed since)",
        "Error: 1 Japanese chapter(s) behind their English one: update, then "
        "microgpt-trace docs --mark-translated"]
    result = invoke("docs", "--mark-translated", "docs/ja/adam.md")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout.startswith("docs/ja/adam.md: <!-- follows: docs/adam.md sha256:")
    assert invoke("docs", "--check").exit_code == 0


@pytest.mark.parametrize("args", [["--mark-translated", "docs/adam.md"],
                                  ["--mark-translated"], ["docs/ja/adam.md"],
                                  ["--check", "--mark-translated", "docs/ja/adam.md"]])
def test_mark_translated_refuses_what_is_not_a_japanese_chapter(docs_copy, args):
    before = snapshot(docs_copy)
    result = invoke("docs", *args)
    assert result.exit_code != 0 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert snapshot(docs_copy) == before


@pytest.mark.slow
def test_an_altered_dot_is_reported_alone_and_nothing_is_written(docs_copy):
    dot = docs_copy / IMG_DIR / "worked.dot"
    dot.write_text(dot.read_text().replace("grad", "GRAD"))
    before = snapshot(docs_copy)
    assert build_docs(docs_copy, check=True) == ["docs/img/worked.dot"]
    result = invoke("docs", "--check")
    assert result.exit_code == 1
    assert result.stderr == ("Error: out of date: docs/img/worked.dot; "
                             "regenerate with: microgpt-trace docs\n")
    assert snapshot(docs_copy) == before


def test_a_missing_svg_and_a_missing_dot_are_reported(docs_copy):
    (docs_copy / IMG_DIR / "head.svg").unlink()
    (docs_copy / IMG_DIR / "reuse.dot").unlink()
    assert build_docs(docs_copy, check=True) == ["docs/img/reuse.dot", "docs/img/head.svg"]


@pytest.mark.exe
@pytest.mark.slow
def test_docs_regenerates_what_check_then_accepts(docs_copy):
    shutil.rmtree(docs_copy / IMG_DIR)
    (docs_copy / IMG_DIR).mkdir()
    result = invoke("docs")
    assert result.exit_code == 0, result.output + result.stderr
    written = sorted(p.name for p in (docs_copy / IMG_DIR).iterdir())
    assert written == sorted(p.name for f in figures() for p in f.images + (f.source,))
    assert build_docs(docs_copy, check=True) == []
    for f in figures():  # the same sources as the committed ones
        assert (docs_copy / f.source).read_bytes() == (ROOT / f.source).read_bytes()
    for d in DIAGRAMS:
        assert (docs_copy / IMG_DIR / f"{d.name}.svg").read_bytes().startswith(b"<?xml")
    for a in ANIMATIONS:
        gif, html = a.images
        assert (docs_copy / gif).read_bytes().startswith(b"GIF89a")
        assert (docs_copy / html).read_bytes().startswith(b"<!DOCTYPE html>")
    for p in PANELS:
        assert all((docs_copy / i).read_bytes().startswith(b"\x89PNG") for i in p.images)


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_linked_image_exists(page):
    for link in IMAGE.findall(page.read_text(encoding="utf-8")):
        assert (page.parent / link).is_file(), f"{page.name} links a missing {link}"


def shown_in(chapter: Path) -> tuple:
    """(the files it shows as images, every file it links, its text)."""
    text = chapter.read_text(encoding="utf-8")

    def resolve(links):
        return {(chapter.parent / link).resolve() for link in links}

    return resolve(IMAGE.findall(text)), resolve(LINK.findall(text)), text


def has_row(text: str, image: Path, commands: tuple) -> bool:
    """A table row `| `docs/img/FILE` | ... |` quoting each command as
    `microgpt-trace COMMAND`; for a diagram exactly
    `| `docs/img/NAME.svg` | `microgpt-trace COMMAND` |`."""
    start = f"| `{image.as_posix()}` | "
    return any(line.startswith(start) and all(f"`microgpt-trace {c}`" in line for c in commands)
               for line in text.splitlines())


def figure_images():
    for figure in figures():
        for image, commands in figure.rows().items():
            yield pytest.param(image, commands, id=image.name)


def linked_only(image: Path) -> bool:
    """Pages (a stepper, the explorer) and the whole of a diagram shown by its parts
    are links, not images."""
    return image.suffix == ".html" or any(image == d.whole for d in DIAGRAMS if d.parts)


@pytest.mark.parametrize("image, commands", list(figure_images()))
def test_every_figure_is_shown_in_a_chapter_and_its_translation_with_its_row(image, commands):
    """Shown (an image; a page or a cropped diagram's whole a link) with its row, in an
    English chapter and in the Japanese chapter of the same file name."""
    target = (ROOT / image).resolve()
    pairs = []
    for chapter in ENGLISH:
        images, links, text = shown_in(chapter)
        if target in (links if linked_only(image) else images):
            pairs.append(chapter)
    assert pairs, f"no chapter in docs/ shows {image}"
    for english in pairs:
        assert has_row(english.read_text(encoding="utf-8"), image, commands), \
            f"docs/{english.name} shows {image} without its row quoting {commands}"
        japanese = DOCS / "ja" / english.name
        assert japanese.is_file(), f"docs/ja/{english.name} is missing"
        images, links, text = shown_in(japanese)
        assert target in (links if linked_only(image) else images), \
            f"docs/ja/{english.name} does not show {image}"
        assert has_row(text, image, commands), \
            f"docs/ja/{english.name} shows {image} without its row quoting {commands}"


def test_row_rule_for_a_diagram_is_the_exact_row():
    d = DIAGRAMS[0]
    row = f"| `docs/img/{d.name}.svg` | `microgpt-trace {d.command}` |"
    (image, commands), = d.rows().items()
    assert has_row(row, image, commands)
    assert not has_row(row.replace("microgpt-trace ", ""), image, commands)


def test_figure_files_are_distinct():
    files = [p for f in figures() for p in f.images + (f.source,)]
    assert len(files) == len(set(files))


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda d: d.name)
def test_the_quoted_command_draws_the_same_dot(diagram, tmp_path):
    result = invoke(*shlex.split(diagram.command), "-o", tmp_path / "d.dot")
    assert result.exit_code == 0, result.output + result.stderr
    assert (tmp_path / "d.dot").read_text(encoding="utf-8") == diagram_dot(diagram)


@pytest.mark.slow
def test_a_stale_or_missing_file_of_each_kind_is_reported_and_nothing_is_written(docs_copy):
    """Sources are compared as text (a caption, a logged number); images only exist."""
    animation, panels = ANIMATIONS[0], PANELS[0]
    dot = docs_copy / animation.source
    dot.write_text(dot.read_text(encoding="utf-8").replace("// frame 2\n", "// frame two\n"),
                   encoding="utf-8")
    log = docs_copy / panels.source
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[5])
    record["loss"] += 1
    lines[5] = json.dumps(record) + "\n"
    log.write_text("".join(lines), encoding="utf-8")
    (docs_copy / animation.images[1]).unlink()  # the stepper
    (docs_copy / panels.images[-1]).unlink()  # a snapshot panel
    (docs_copy / IMG_DIR / "worked.svg").write_bytes(b"not compared")
    before = snapshot(docs_copy)
    stale = [animation.source, animation.images[1], panels.source, panels.images[-1]]
    assert build_docs(docs_copy, check=True) == [p.as_posix() for p in stale]
    assert snapshot(docs_copy) == before


def test_rounded_log_keeps_four_digits_and_the_rest():
    assert rounded_log('{"type": "step", "loss": 2.718281828, "n": 3, "g": {"a": [1e-07]}}\n') \
        == '{"type": "step", "loss": 2.718, "n": 3, "g": {"a": [1e-07]}}\n'


@pytest.mark.exe
@pytest.mark.slow
@pytest.mark.parametrize("figure", ANIMATIONS, ids=lambda a: a.name)
def test_the_quoted_backward_command_writes_the_same_stepper(figure, tmp_path):
    (tmp_path / IMG_DIR).mkdir(parents=True)
    write_animation(tmp_path, figure)
    _, html = figure.images
    result = invoke(*shlex.split(figure.command), "-o", tmp_path / "cli.html")
    assert result.exit_code == 0, result.output + result.stderr
    assert (tmp_path / "cli.html").read_bytes() == (tmp_path / html).read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("figure", PANELS, ids=lambda p: p.name)
def test_the_quoted_train_and_report_commands_give_the_same_run(figure, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    train, report = figure.commands
    result = invoke(*shlex.split(train))
    assert result.exit_code == 0, result.output + result.stderr
    log = (tmp_path / "out" / f"{figure.name}.jsonl").read_text(encoding="utf-8")
    assert rounded_log(log) == (ROOT / figure.source).read_text(encoding="utf-8")
    result = invoke(*shlex.split(report))
    assert result.exit_code == 0, result.output + result.stderr
    drawn = {p.name for p in (tmp_path / "out" / figure.name).iterdir()}
    last = f"step{figure.steps}"
    for panel in figure.panels:
        assert f"{panel}.png" in drawn or f"{panel}-{last}.png" in drawn, panel


def test_panels_quote_the_model_flags_and_name_the_step_1_images():
    run = Panels("x", 200, 0.1, ("loss", "mlp"), (("n_layer", 3), ("residual", False),
                                                  ("activation", "tanh")), first=("mlp",))
    assert run.commands == ("train --steps 200 --lr 0.1 --layers 3 --no-residual --activation "
                            "tanh --snapshot-every 200 --log out/x.jsonl",
                            "report --log out/x.jsonl -o out/x/")
    assert run.shots == (("loss", None, IMG_DIR / "x-loss.png"),
                         ("mlp", None, IMG_DIR / "x-mlp.png"),
                         ("mlp", 1, IMG_DIR / "x-mlp-step1.png"))


def test_an_adam_plot_row_quotes_adam_plot():
    plot = AdamPlot("a", "wte[0][1]")
    assert plot.rows() == {IMG_DIR / "a.png": ('adam "wte[0][1]" --plot out/a.png',)}
    assert plot.source == IMG_DIR / "a.jsonl" and ADAM_PLOTS[0].name == "adam-run"


@pytest.mark.slow
def test_the_quoted_adam_plot_command_draws_the_committed_run(tmp_path, monkeypatch):
    """The command's own summary agrees with the committed source (a ~10 s replay)."""
    from microgpt_trace.microgpt.adam_explained import largest_step

    (plot,) = ADAM_PLOTS
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (command,) = plot.rows()[plot.images[0]]
    result = invoke(*shlex.split(command))
    assert result.exit_code == 0, result.output + result.stderr
    header, *records = [json.loads(line) for line in
                        (ROOT / plot.source).read_text(encoding="utf-8").splitlines()]
    step, ratio = largest_step(header, records)
    assert result.stdout == (f"wrote out/{plot.name}.png: {plot.param} over {len(records)} "
                             f"steps; its largest step is {ratio:.2f} × lr_t, at step {step}\n")
    assert (tmp_path / "out" / f"{plot.name}.png").read_bytes().startswith(b"\x89PNG")
