"""Shared fixtures: the repository root, the data sets most tests use, and the built site.

The suite runs on two processes (pytest-xdist, ``-n 2 --dist loadgroup`` in
pyproject.toml). Every test that builds the book or reads or writes ``_build/``
runs in one of them (the group "build"), so the book is built once and never
read while it is being written; the other process takes the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_book  # noqa: E402

# Modules that write into _build/ without asking for the built_site fixture.
_WRITES_BUILD = {"test_journey_grading", "test_journey_project"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if "built_site" in getattr(item, "fixturenames", ()) or module in _WRITES_BUILD:
            item.add_marker(pytest.mark.xdist_group("build"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def pop():
    """The popularity data (pupils in classes), as the chapters load it."""
    import helpers as hp

    return hp.load_dataset("popularity")


@pytest.fixture(scope="session")
def sleep():
    """The sleep-deprivation data (lme4's sleepstudy)."""
    import helpers as hp

    return hp.load_dataset("sleepstudy")


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Build the book once per test session (cached outputs make a rebuild quick)."""
    try:
        return build_book.build(ROOT, quiet=True)
    except build_book.BuildError as err:
        pytest.fail(str(err))
