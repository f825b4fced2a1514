"""train --tensorboard: the event files hold what the metrics log records, read back
without the tensorboard package (TFRecord framing + tensorboardX's Event proto)."""

import json
import struct
import subprocess

import numpy as np
import pytest

from .test_live import EXECUTABLE, TINY, tiny_data  # noqa: F401

pytestmark = pytest.mark.slow


def events(logdir):
    """Every Event in the directory's event files: 8-byte length, 4-byte crc, data, 4-byte crc."""
    from tensorboardX.proto.event_pb2 import Event

    out = []
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = Event()
            event.ParseFromString(data[at + 12:at + 12 + length])
            out.append(event)
            at += 12 + length + 4
    return out


def f32(x):
    """The float32 TensorBoard keeps of a log's number."""
    return float(np.float32(x))


def test_the_event_files_equal_the_metrics_log(tmp_path, tiny_data):  # noqa: F811
    pytest.importorskip("tensorboardX")
    if not EXECUTABLE.exists():
        pytest.skip("package not installed (pip install -e .)")
    subprocess.run([EXECUTABLE, "train", "--data", tiny_data, *TINY, "--steps", "12",
                    "--snapshot-every", "6", "--sample-every", "6", "--no-mlp",
                    "--log", "run.jsonl", "--tensorboard", "tb"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=120)
    lines = (tmp_path / "run.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    header, steps = records[0], [r for r in records if r["type"] == "step"]
    snapshots = [r for r in records if r["type"] == "snapshot"]
    samples = [r for r in records if r["type"] == "sample"]
    assert snapshots and samples

    scalars, histos, texts = {}, {}, {}
    for event in events(tmp_path / "tb"):
        for value in event.summary.value:
            if value.HasField("histo"):
                histos[value.tag, event.step] = value.histo
            elif value.metadata.plugin_data.plugin_name == "text":
                texts[event.step] = value.tensor.string_val[0].decode("utf-8")
            elif value.WhichOneof("value") == "simple_value":
                scalars[value.tag, event.step] = value.simple_value
    for r in steps:
        assert scalars["loss", r["step"]] == f32(r["loss"])
        assert scalars["lr", r["step"]] == f32(r["lr"])
        for name, value in r["grad_norm"].items():
            assert scalars[f"grad_norm/{name}", r["step"]] == f32(value)
        for name, value in r["update_ratio"].items():  # a group that did not move has none
            assert scalars.get((f"update_ratio/{name}", r["step"])) == (
                None if value is None else f32(value))
    for s in snapshots:
        for kind in ("weights", "grads"):
            for name, h in s["hist"][kind].items():
                histo = histos[f"hist/{kind}/{name}", s["step"]]
                assert histo.num == sum(h["counts"])
                assert (histo.min, histo.max) == (h["lo"], h["hi"])
                if h["lo"] != h["hi"]:
                    assert list(histo.bucket) == h["counts"]
    for s in samples:
        assert all(f"`{name}`" in texts[s["step"]] for name in s["samples"] if name)
    for s in snapshots:
        folder = tmp_path / "tb" / f"{s['step']:05d}" / "wte"
        labels = (folder / "metadata.tsv").read_text(encoding="utf-8").splitlines()
        assert labels == [*header["chars"], "BOS"]
        tensors = np.loadtxt(folder / "tensors.tsv", delimiter="\t")
        assert np.allclose(tensors, s["wte"], atol=1e-6)
    assert "wte" in (tmp_path / "tb" / "projector_config.pbtxt").read_text()


def test_without_tensorboardx_one_line_names_the_extra(tmp_path, tiny_data):  # noqa: F811
    if not EXECUTABLE.exists():
        pytest.skip("package not installed (pip install -e .)")
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "tensorboardX.py").write_text("raise ImportError('no tensorboardX')\n")
    done = subprocess.run([EXECUTABLE, "train", "--data", tiny_data, *TINY, "--steps", "2",
                           "--log", "run.jsonl", "--tensorboard", "tb"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(blocker), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: --tensorboard needs tensorboardX: pip install 'microgpt-trace[tensorboard]'"]
