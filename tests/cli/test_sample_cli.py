"""`microgpt-trace sample`: the default checkpoint, seeds, counts and bad input."""

import random
import re

import pytest

from microgpt_trace.microgpt.runs.checkpoint import load_model
from microgpt_trace.microgpt.sample import generate

from .test_train_cli import assert_one_line_error, invoke, make_inputs

LINE = re.compile(r"sample +(\d+): (.*)")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("sample-inputs"))


def samples(result):
    """The names of 'sample  i: name' lines, checking the numbering 1..n (at least one)."""
    assert result.exit_code == 0, result.output + result.stderr
    matches = [LINE.fullmatch(line) for line in result.stdout.splitlines()]
    assert matches and all(matches), result.stdout
    assert [int(m.group(1)) for m in matches] == list(range(1, len(matches) + 1))
    assert result.stdout.splitlines() == [f"sample {i:2d}: {m.group(2)}"
                                          for i, m in enumerate(matches, 1)]
    return [m.group(2) for m in matches]


def test_default_checkpoint_gives_20_names():
    result = invoke("sample")
    assert result.exit_code == 0, result.output
    names = samples(result)
    assert len(names) == 20
    assert all(re.fullmatch("[a-z]+", name) for name in names), names
    name_like = [n for n in names if 2 <= len(n) <= 12 and re.search("[aeiouy]", n)]
    assert len(name_like) >= 15, names


def test_default_continues_the_checkpoints_rng():
    model, tokenizer, rng = load_model()
    expected = generate(model, tokenizer, rng, 20, 0.5)
    first, again = invoke("sample"), invoke("sample")
    assert samples(first) == samples(again) == expected


def test_seed_is_reproducible():
    a, b, c = invoke("sample", "--seed", "7"), invoke("sample", "--seed", "7"), invoke(
        "sample", "--seed", "8")
    assert samples(a) == samples(b) != samples(c)
    model, tokenizer, _ = load_model()
    assert samples(a) == generate(model, tokenizer, random.Random(7), 20, 0.5)


def test_n_and_temperature():
    result = invoke("sample", "-n", "3", "--seed", "1", "--temperature", "0.8")
    assert result.exit_code == 0, result.output
    model, tokenizer, _ = load_model()
    assert samples(result) == generate(model, tokenizer, random.Random(1), 3, 0.8)


def test_engines_sample_the_same():
    fused = invoke("sample", "--seed", "3", "-n", "5")
    atomic = invoke("sample", "--seed", "3", "-n", "5", "--engine", "atomic")
    assert samples(fused) == samples(atomic) and len(samples(fused)) == 5


def test_other_checkpoint(inputs):
    result = invoke("sample", "--checkpoint", inputs / "ck.json", "-n", "5", "--seed", "0")
    assert result.exit_code == 0, result.output
    names = samples(result)
    assert len(names) == 5 and all(set(name) <= set("abcdef") for name in names)  # its vocabulary


SAMPLE_ERRORS = {
    "--temperature 0": (["--temperature", "0"], "temperature must be a positive number, got 0.0"),
    "negative --temperature": (["--temperature", "-0.5"], "got -0.5"),
    "-n 0": (["-n", "0"], "'-n': 0 is not in the range"),
    "--seed not a number": (["--seed", "x"], "'x' is not a valid integer"),
    "missing checkpoint": (["--checkpoint", "{d}/nope.json"],
                           "checkpoint not found: '{d}/nope.json'"),
    "checkpoint is a directory": (["--checkpoint", "{d}/adir"], "is a directory"),
    "corrupt checkpoint": (["--checkpoint", "{d}/corrupt.json"], "corrupt or truncated"),
    "truncated checkpoint": (["--checkpoint", "{d}/truncated.json"], "corrupt or truncated"),
    "future checkpoint": (["--checkpoint", "{d}/future.json"], "format version 99"),
    "not a checkpoint": (["--checkpoint", "{d}/notack.json"], "not a microgpt-trace checkpoint"),
}


@pytest.mark.parametrize("case", SAMPLE_ERRORS)
def test_bad_input_is_one_line(inputs, case):
    args, expected = SAMPLE_ERRORS[case]
    result = invoke("sample", *[a.format(d=inputs) for a in args])
    assert_one_line_error(result, expected.format(d=inputs))
