"""The wheel a user installs: one import name, every data file, every command working
from an empty folder on its defaults.

The wheel is built from a copy of the tracked files (as an sdist would hold them), so
the checkout gets no build/ folder, and installed with its dependencies into a fresh
venv; nothing of the checkout is on that venv's path.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.exe]

ROOT = Path(__file__).resolve().parent.parent
# checkout folder -> where its files land in the wheel
FOLDERS = {"microgpt_trace": "microgpt_trace", "microgpt": "microgpt_trace/microgpt",
           "tracer": "microgpt_trace/tracer", "renderers": "microgpt_trace/renderers",
           "data": "microgpt_trace/data"}
SHIPPED_SUFFIXES = (".py", ".txt", ".json", ".js", ".css", ".html")


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)


def tracked_files():
    out = run(["git", "ls-files", "-z"], cwd=ROOT, check=True).stdout
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((ROOT / name).read_bytes())
    built = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"),
                 str(source)])
    assert built.returncode == 0, built.stderr
    (path,) = (tmp / "dist").glob("microgpt_trace-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """The `microgpt-trace` script of a fresh venv holding the wheel and its dependencies."""
    venv = tmp_path_factory.mktemp("venv")
    assert run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    pip = run([str(venv / "bin/python"), "-m", "pip", "install", "-q", str(wheel)])
    assert pip.returncode == 0, pip.stderr
    return venv / "bin"


def test_the_wheel_installs_one_top_level_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top == {"microgpt_trace"}


def test_the_wheel_holds_every_module_data_file_and_asset(wheel):
    expected = {f"{FOLDERS[name.split('/')[0]]}/{name.split('/', 1)[1]}"
                for name in tracked_files()
                if name.split("/")[0] in FOLDERS and name.endswith(SHIPPED_SUFFIXES)}
    held = set(zipfile.ZipFile(wheel).namelist())
    assert {"microgpt_trace/data/names.txt", "microgpt_trace/data/names-ja.txt",
            "microgpt_trace/data/checkpoint.json"} <= expected
    assert sorted(expected - held) == []


def test_installed_imports_come_from_the_venv(installed, tmp_path):
    code = ("import microgpt_trace.tracer.graph as g, importlib.util as u; print(g.__file__); "
            "print([n for n in ('microgpt', 'tracer', 'renderers') if u.find_spec(n)])")
    out = run([str(installed / "python"), "-c", code], cwd=tmp_path, check=True).stdout
    where, clashing = out.splitlines()
    assert where.startswith(str(installed.parent)) and clashing == "[]"


COMMANDS = [  # (arguments, file it writes or None)
    (["sample", "-n", "3"], None),
    (["expr", "a*b+a", "-o", "expr.svg"], "expr.svg"),
    (["head", "--text", "anna", "-o", "head.svg"], "head.svg"),
    (["model", "--text", "anna", "-o", "model.svg"], "model.svg"),
    (["scope", "pos3/layer0/mlp", "--text", "anna", "-o", "mlp.svg"], "mlp.svg"),
    (["backward", "a*b+a", "-o", "backward.html"], "backward.html"),
    (["step", "a*b+a", "--no-color"], None),
    (["export", "--text", "anna", "-o", "anna.json"], "anna.json"),
    (["train", "--steps", "3", "--data", "names-ja", "-o", "ja.json"], "ja.json"),
    (["train", "--steps", "6", "-o", "ck.json", "--log", "log.jsonl", "--snapshot-every", "3"],
     "log.jsonl"),
    (["adam", "wte[0][1]", "--steps", "2000"], None),
    (["report", "--log", "log.jsonl", "-o", "report"], "report/report.html"),
]


def test_every_command_runs_from_an_empty_folder(installed, tmp_path):
    """In order: `report` reads the log the second `train` wrote."""
    for args, written in COMMANDS:
        result = run([str(installed / "microgpt-trace"), *args], cwd=tmp_path)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        assert written is None or (tmp_path / written).stat().st_size > 0, args
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["docs"], ["docs", "--check"]])
def test_docs_says_in_one_line_it_needs_a_checkout(installed, tmp_path, args):
    result = run([str(installed / "microgpt-trace"), *args], cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "Error: docs needs a source checkout of microgpt-trace (it draws into its docs/img); "
        "this copy is installed without docs/"]
