import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_docs():
    """A small deterministic dataset so tests never need the shipped files."""
    rng = random.Random(0)
    return ["".join(rng.choice("abcdef") for _ in range(rng.randint(2, 8))) for _ in range(40)]
