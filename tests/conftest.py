"""Shared fixtures: the repository root, the data sets most tests use, and the built site."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_book  # noqa: E402


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
