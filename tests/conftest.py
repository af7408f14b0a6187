"""Shared fixtures: the repository root, the data sets most tests use, and the built site.

The suite runs on two processes (pytest-xdist, ``-n 2`` in pyproject.toml). Every
test that builds the book or reads or writes ``_build/`` runs in one of them (the
work unit "build" of the scheduler below), so the book is built once and never read
while it is being written; the other process takes the rest, a test at a time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_book  # noqa: E402

# Test files that build the book or read or write _build/: one work unit, one process.
BUILD_GROUP = {
    "test_book_build.py",
    "test_journey_grading.py",
    "test_journey_links.py",
    "test_journey_pdf.py",
    "test_journey_project.py",
    "test_journey_student.py",
    "test_site_browser.py",
    "test_site_charts.py",
    "test_site_offline.py",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Schedule the build group as one unit and every other test on its own.

    (xdist's own ``--dist loadgroup`` does not take effect with pytest 9, whose
    node ids it can no longer suffix.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class BuildGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0].rpartition("/")[2]
            return "build" if file in BUILD_GROUP else nodeid

    return BuildGroupScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Refuse a stray user of the built site; do not execute the chapters twice.

    The book build behind ``built_site`` executes every chapter in its own folder
    and fails on any error in any cell (``nb_execution_raise_on_error``), and its
    log gives each chapter's time. When a run builds the book, the separate
    execution of the same chapters (tests/test_chapters_execute.py) would repeat
    that work, so it is deselected; run that file alone to execute chapters
    without building the book.
    """
    if any("built_site" in getattr(item, "fixturenames", ()) for item in items):
        again = [item for item in items if item.path.name == "test_chapters_execute.py"]
        if again:
            config.hook.pytest_deselected(items=again)
            items[:] = [item for item in items if item.path.name != "test_chapters_execute.py"]
    stray = sorted(
        {
            item.path.name
            for item in items
            if "built_site" in getattr(item, "fixturenames", ())
            and item.path.name not in BUILD_GROUP
        }
    )
    if stray:
        raise pytest.UsageError(
            f"{', '.join(stray)} use(s) the built_site fixture: add the file(s) to "
            "BUILD_GROUP in tests/conftest.py, or two processes build the book at once."
        )


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
