"""Datasets (one document per line) and the character tokenizer of microgpt.py."""

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from .exceptions import DataError
from .runs.files import read_input

__all__ = ["SHIPPED", "DEFAULT_DATA", "shipped_file", "dataset_path", "load_docs", "Tokenizer"]

# Datasets that ship inside the package, by the name `--data` takes.
SHIPPED = {"names": "names.txt", "names-ja": "names-ja.txt"}
DEFAULT_DATA = "names"


def shipped_file(filename) -> Path:
    """A file of the package's data folder (microgpt_trace.data), wherever it is installed."""
    return Path(str(files("microgpt_trace.data").joinpath(filename)))


def dataset_path(dataset) -> Path:
    """A shipped dataset's name (`names`, `names-ja`) or a path, as a path.

    A name wins over a file of the same name in the working folder: write `./names`
    for that file.
    """
    return shipped_file(SHIPPED[dataset]) if dataset in SHIPPED else Path(dataset)


def load_docs(dataset):
    """Lines of a UTF-8 file (or a shipped dataset by name), stripped, blank lines dropped."""
    path = dataset_path(dataset)
    try:
        text = read_input(path).decode("utf-8")
    except FileNotFoundError:
        names = ", ".join(SHIPPED)
        raise DataError(f"dataset not found: {str(path)!r} is neither a file nor a shipped "
                        f"dataset ({names})") from None
    except IsADirectoryError:
        raise DataError(f"dataset is a directory, not a file: {str(path)!r}") from None
    except OSError as e:
        raise DataError(f"cannot read dataset {str(path)!r}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        line = text_line_of(path, e.start)
        raise DataError(f"dataset is not UTF-8: {str(path)!r}, line {line}, "
                        f"byte {e.start}") from None
    # Text mode in microgpt.py ends a line at \n, \r\n and a lone \r alike.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    docs = [line.strip() for line in lines if line.strip()]
    if not docs:
        raise DataError(f"dataset has no non-blank lines: {str(path)!r}")
    return docs


def text_line_of(path, byte_offset):
    return path.read_bytes()[:byte_offset].count(b"\n") + 1


@dataclass(frozen=True)
class Tokenizer:
    """Characters sorted by code point get ids 0..n-1; BOS (begin/end) is id n."""

    chars: str

    @classmethod
    def from_docs(cls, docs):
        return cls("".join(sorted(set("".join(docs)))))

    @property
    def bos(self):
        return len(self.chars)

    @property
    def vocab_size(self):
        return len(self.chars) + 1

    def encode(self, text):
        index = {ch: i for i, ch in enumerate(self.chars)}
        unknown = sorted(set(text) - index.keys())
        if unknown:
            raise DataError(f"characters not in the vocabulary: {''.join(unknown)!r}")
        return [index[ch] for ch in text]

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)

    def token_text(self, token_id):
        """A printable name for one token: its character, or BOS."""
        return "BOS" if token_id == self.bos else self.chars[token_id]


def check_text(text, chars, block_size):
    """Refuse a text the model cannot take whole: empty, unknown characters, or no room
    for BOS at both ends (the reference would silently truncate it)."""
    if not text:
        raise DataError("the text is empty: give at least one character")
    unknown = "".join(sorted(set(text) - set(chars)))
    if unknown:
        raise DataError(f"text {text!r} has characters not in the vocabulary: "
                        f"{unknown!r} (the vocabulary is {chars!r})")
    if len(text) > block_size - 1:
        raise DataError(f"text {text!r} has {len(text)} characters; the model's "
                        f"block_size {block_size} allows at most {block_size - 1}")
