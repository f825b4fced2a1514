"""Rebuild the embedded name datasets in data/ from two pinned PyPI packages.

Dev-time only: the project itself never imports either package. Run it in a
throwaway venv from the repository root:

    python -m venv /tmp/dataenv
    /tmp/dataenv/bin/pip install names==0.3.0 japanese-personal-name-dataset==0.4.0
    /tmp/dataenv/bin/python scripts/build_data.py

It rewrites data/names.txt and data/names-ja.txt; the output is deterministic
(sorted, de-duplicated), so a rerun gives byte-identical files.
"""
import csv
import io
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
HIRAGANA = re.compile("[\u3041-\u309f\u30fc]+")  # hiragana block + prolonged mark


def package_text(dist, pkg, name):
    """Read a data file shipped in an installed package, checking the pinned version."""
    from importlib import metadata, resources

    version = metadata.version(dist)
    expected = {"names": "0.3.0", "japanese-personal-name-dataset": "0.4.0"}[dist]
    if version != expected:
        raise SystemExit(f"{dist} {version} installed, need {expected} for identical output")
    return resources.files(pkg).joinpath(name).read_text(encoding="utf-8")


def english_names():
    """US Census 1990 first names: first column of both lists, lowercased."""
    names = set()
    for name in ("dist.male.first", "dist.female.first"):
        for line in package_text("names", "names", name).splitlines():
            if line.strip():
                names.add(line.split()[0].lower())
    return names


def japanese_names():
    """Hiragana readings (column 0) of the full "org" given-name lists, both genders."""
    readings = set()
    for gender in ("man", "woman"):
        text = package_text("japanese-personal-name-dataset", "japanese_personal_name_dataset",
                            f"dataset/first_name_{gender}_org.csv")
        for row in csv.reader(io.StringIO(text)):
            if row and HIRAGANA.fullmatch(row[0]):
                readings.add(row[0])
    return readings


def write(path, lines):
    """Sorted, one per line, UTF-8 with LF and a trailing newline: stable diffs."""
    path.write_text("".join(f"{s}\n" for s in sorted(lines)), encoding="utf-8", newline="\n")
    print(f"{path}: {len(lines)} lines, {len(set(''.join(lines)))} distinct chars, "
          f"longest {max(map(len, lines))}")


if __name__ == "__main__":
    write(DATA / "names.txt", english_names())
    write(DATA / "names-ja.txt", japanese_names())
