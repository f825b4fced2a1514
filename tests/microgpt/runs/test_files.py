"""microgpt_trace.microgpt.runs.files: whole files and whole folders, or nothing."""

import os

import pytest

from microgpt_trace.microgpt.runs import files
from microgpt_trace.microgpt.runs.files import atomic_write, write_folder


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.txt"]
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("fault", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path, monkeypatch, fault):
    path = tmp_path / "out.txt"
    path.write_text("old")

    def fail(fd):
        raise fault

    monkeypatch.setattr(files.os, "fsync", fail)
    with pytest.raises(type(fault)):
        atomic_write(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_missing_folder_is_an_os_error_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "out.txt", "x")
    assert os.listdir(tmp_path) == []


def test_write_folder_creates_then_replaces_its_own_output(tmp_path):
    folder = tmp_path / "frames"
    own = lambda name: name.endswith(".svg")  # noqa: E731
    paths = write_folder(folder, {"a.svg": "1", "b.svg": b"2"}, own)
    assert [p.read_text() for p in paths] == ["1", "2"]
    write_folder(folder, {"c.svg": "3"}, own)
    assert sorted(os.listdir(folder)) == ["c.svg"]
    assert sorted(os.listdir(tmp_path)) == ["frames"]
    assert folder.stat().st_mode & 0o777 == 0o755


def test_write_folder_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_folder(tmp_path, {"a.svg": "1"}, lambda name: name.endswith(".svg"))
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_a_failed_folder_write_leaves_the_earlier_output(tmp_path, monkeypatch):
    folder = tmp_path / "frames"
    own = lambda name: name.endswith(".svg")  # noqa: E731
    write_folder(folder, {"a.svg": "old"}, own)
    real_replace = os.replace

    def full_disk(src, dst):
        if str(dst) == str(folder) and not str(src).endswith(".old"):  # the new output
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        write_folder(folder, {"b.svg": "new"}, own)
    assert os.listdir(folder) == ["a.svg"] and (folder / "a.svg").read_text() == "old"
    assert os.listdir(tmp_path) == ["frames"]


def test_write_folder_writes_generated_files_one_at_a_time(tmp_path):
    """Pairs from a generator are written as they come: one in memory at a time."""
    folder = tmp_path / "frames"
    seen = []

    def frames():
        for k in range(3):
            seen.append(sorted(p.name for p in tmp_path.glob(".frames.*/*")))
            yield f"f{k}.svg", f"frame {k}"

    paths = write_folder(folder, frames(), lambda name: name.endswith(".svg"))
    assert seen == [[], ["f0.svg"], ["f0.svg", "f1.svg"]]  # each written before the next
    assert [p.read_text() for p in paths] == ["frame 0", "frame 1", "frame 2"]


def test_a_generator_failing_midway_leaves_the_earlier_output(tmp_path):
    folder = tmp_path / "frames"
    own = lambda name: name.endswith(".svg")  # noqa: E731
    write_folder(folder, {"a.svg": "old"}, own)

    def frames():
        yield "b.svg", "new"
        raise MemoryError

    with pytest.raises(MemoryError):
        write_folder(folder, frames(), own)
    assert os.listdir(folder) == ["a.svg"] and (folder / "a.svg").read_text() == "old"
    assert os.listdir(tmp_path) == ["frames"]
