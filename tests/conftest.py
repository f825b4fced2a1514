"""Shared fixtures, and the markers every test run can select on.

    exe      needs Graphviz's `dot` on PATH (a render, or an animation's layout)
    browser  needs headless Chromium (/usr/bin/chromium, driven by Playwright)
    slow     takes more than 5 s on a quiet machine

`make test` runs everything. Without Graphviz, `pytest -m "not exe"` passes; without
Chromium, `-m "not browser"`; for a quick loop, `-m "not slow"`. Tests carry their
markers as decorators (or a module's `pytestmark`); doctests cannot, so the root
conftest.py marks the doctests that run `dot` by name, and tests/test_markers.py
checks that list against the doctests that really fail without `dot`.
"""

import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_docs():
    """A small deterministic dataset so tests never need the shipped files."""
    rng = random.Random(0)
    return ["".join(rng.choice("abcdef") for _ in range(rng.randint(2, 8))) for _ in range(40)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (its own download does not work here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and page errors in `page.errors`."""
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()
