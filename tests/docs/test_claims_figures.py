"""The numbers the figure sections of the docs quote, checked against the runs they
come from: each test finds the sentence in the chapter (English and Japanese) and
recomputes its numbers.

The runs are read from the sources committed in docs/img, which `docs --check`
(tests/cli/test_docs_cli.py) holds equal to what the tool computes now; they are
rounded to 4 significant digits, so the claims are checked at the precision quoted.
"""

import json
import math
from pathlib import Path

import pytest

from microgpt_trace.docs_build import ADAM_PLOTS, IMG_DIR
from microgpt_trace.microgpt.adam_explained import adam_numbers, largest_step
from microgpt_trace.microgpt.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def chapter(name, lang="en"):
    folder = ROOT / "docs" if lang == "en" else ROOT / "docs" / "ja"
    return " ".join((folder / name).read_text(encoding="utf-8").split())


def says(name, *phrases, lang="en"):
    """Every phrase is in the chapter (whitespace and line breaks normalised)."""
    text = chapter(name, lang)
    for phrase in phrases:
        assert " ".join(phrase.split()) in text, f"{lang}/{name} no longer says {phrase!r}"


def jsonl(path):
    return [json.loads(line) for line in (ROOT / path).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def adam_run():
    (plot,) = ADAM_PLOTS
    header, *records = jsonl(plot.source)
    assert header["param"] == plot.param == "layer0.mlp_fc2[3][58]"
    return header, {r["step"]: r for r in records}


def ratio(header, r):
    return r["m_hat"] / (r["v_hat"] ** 0.5 + header["eps"])


def test_adam_run_largest_step_and_how_rare(adam_run):
    header, steps = adam_run
    assert len(steps) == 1000
    step, size = largest_step(header, list(steps.values()))
    assert (step, round(size, 2)) == (584, 2.26)
    # step 1 is 1 - 1e-8 / |g| exactly, a hair above 1 in the rounded source
    assert sum(abs(ratio(header, r)) > 1.001 for r in steps.values()) == 12
    assert sum(abs(ratio(header, r)) < 0.1 for r in steps.values()) == 504
    says("adam.md", "at step 584 the weight moves 2.26 × lr_t", "in 12 of the 1000 steps",
         "In 504 of the 1000 steps it is below 0.1 in size")
    says("adam.md", "ステップ 584 では重みが 2.26 × lr_t 動きます", "1000 ステップのうち 12 ステップ",
         "1000 ステップのうち 504 ステップでは大きさが 0.1 未満", lang="ja")


def test_adam_run_zero_gradients(adam_run):
    _, steps = adam_run
    assert sum(r["grad"] == 0 for r in steps.values()) == 581
    says("adam.md", "In 581 of the 1000 steps it is exactly 0")
    says("adam.md", "1000 ステップのうち 581 ステップではちょうど 0", lang="ja")


def test_adam_run_burst_before_step_584(adam_run):
    header, steps = adam_run
    assert round(max(abs(steps[s]["grad"]) for s in range(549, 579)), 4) == 0.0087
    assert round(steps[578]["v_hat"] ** 0.5, 4) == 0.0031
    burst = [steps[s]["grad"] for s in range(579, 585)]
    assert [round(g, 4) for g in burst] == [0.0152, 0.0095, 0.029, 0.0084, 0.0219, 0.0445]
    assert 5 <= max(burst) / 0.0087 < 5.5  # "up to five times as large"
    r = steps[584]
    assert (round(r["m"], 4), round(r["m_hat"], 5), round(r["v_hat"] ** 0.5, 5)) == (
        0.0152, 0.0152, 0.00674)
    assert 2 < r["v_hat"] ** 0.5 / steps[578]["v_hat"] ** 0.5 < 2.5  # "a little more than doubles"
    assert round(0.01520 / 0.00674, 2) == 2.26
    assert (r["lr_t"], round(r["delta"], 4)) == (0.00417, 0.0094)
    says("adam.md", "0.0152, 0.0095, 0.029, 0.0084, 0.0219 and 0.0445 at steps 579 to 584",
         "at most 0.0087 in size", "√v̂ was 0.0031", "0.01520 / 0.00674 = **2.26**",
         "`lr_t` has decayed to 0.00417, so the weight moves 0.0094")
    says("adam.md", "0.0152、0.0095、0.029、0.0084、0.0219、0.0445", "0.01520 / 0.00674 = **2.26**",
         "0.00417", "0.0094", lang="ja")


def test_adam_run_first_step_is_lr_t(adam_run):
    header, steps = adam_run
    first = steps[1]
    assert first["lr_t"] == 0.01 and abs(first["delta"]) == 0.01
    assert math.isclose(abs(ratio(header, first)), 1, rel_tol=1e-3)
    # exactly, by the algebra: m_hat = g and v_hat = g**2 at t = 1
    a = adam_numbers(TrainConfig(), 0, 0.5, -0.3, 0.0, 0.0)
    assert a["m_hat"] == -0.3 and math.isclose(a["v_hat"], 0.09)
    assert math.isclose(a["delta"], -0.01, rel_tol=1e-7)


def test_bias_corrections_and_decayed_rate(adam_run):
    header, steps = adam_run
    b1, b2 = header["beta1"], header["beta2"]
    assert min(t for t in range(1, 1001) if 1 - b1 ** t > 0.99) == 29
    assert min(t for t in range(1, 1001) if 1 - b2 ** t > 0.99) == 459
    assert f"{1 - b2 ** 1000:.6f}" == "0.999957"
    assert (steps[1]["correction1"], steps[1]["correction2"]) == (0.15, 0.01)
    assert (steps[1]["lr_t"], steps[1000]["lr_t"]) == (0.01, 0.00001)
    assert (round(1 / (1 - b1)), round(1 / (1 - b2))) == (7, 100)  # the memories
    says("adam.md", "above 0.99 from step 29 on", "above 0.99 only from step 459",
         "still 0.999957", "from 0.01 at step 1 to 0.00001 at step 1000",
         "a memory of about 7 steps", "about 100 steps")
    says("adam.md", "ステップ 29 以降", "ステップ 459", "0.999957", "0.00001", lang="ja")


def worst_case_ratio(steps, b1=0.85, b2=0.99):
    """m_hat / sqrt(v_hat) after `steps` gradients chosen to make it as large as it can
    be at the last step (the equality case of Cauchy-Schwarz: g_k ∝ ((b1/b2)**age))."""
    tc = TrainConfig(steps=steps, beta1=b1, beta2=b2)
    m = v = 0.0
    for step in range(steps):
        g = (b1 / b2) ** (steps - 1 - step)
        numbers = adam_numbers(tc, step, 0.0, g, m, v)
        m, v = numbers["m"], numbers["v"]
    return numbers["m_hat"] / numbers["v_hat"] ** 0.5


def test_no_step_exceeds_the_cauchy_schwarz_bound(adam_run):
    header, steps = adam_run
    b1, b2 = header["beta1"], header["beta2"]
    bound = math.sqrt((1 - b1) ** 2 / (1 - b2) / (1 - b1 ** 2 / b2))
    assert round(bound, 2) == 2.89
    assert all(abs(ratio(header, r)) <= bound for r in steps.values())
    reached = worst_case_ratio(2000)
    assert bound - 1e-3 < reached <= bound + 1e-12  # the worst gradients reach it
    assert all(worst_case_ratio(n) <= bound + 1e-12 for n in (1, 10, 100, 300))
    says("adam.md", "√(0.15² / 0.01 / (1 − 0.85² / 0.99)) ≈ 2.89 × lr_t")
    says("adam.md", "√(0.15² / 0.01 / (1 − 0.85² / 0.99)) ≈ 2.89 × lr_t", lang="ja")


def test_adam_run_image_is_committed():
    assert (ROOT / IMG_DIR / "adam-run.png").read_bytes().startswith(b"\x89PNG")
