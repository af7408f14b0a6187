"""Shared fixtures: the repository root, the data sets most tests use, and the built site.

The suite runs on two processes (pytest-xdist, ``-n 2`` in pyproject.toml). Every
test that builds the book or reads or writes ``_build/`` runs in one of them (the
work unit "build" of the scheduler below), so the book is built once and never read
while it is being written; the other process takes the rest, a test at a time (with
the tests of those files that build only fixture books, BUILD_FREE), except that the
files that grade in sandboxes run as one unit too (SANDBOX_GROUP).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_book  # noqa: E402
import chapter_runs  # noqa: E402

# Test files that build the book or read or write _build/: one work unit, one process.
BUILD_GROUP = {
    "test_book_build.py",
    "test_chapters_execute.py",
    "test_exercise_solutions.py",
    "test_journey_links.py",
    "test_journey_pdf.py",
    "test_journey_project.py",
    "test_journey_student.py",
    "test_site_browser.py",
    "test_site_charts.py",
    "test_site_offline.py",
}

# Tests of those files that neither use the built site nor read or write _build/ (they
# build fixture books and run kernels in their own tmp_path): each is a work unit of its
# own, so the process that builds the book does not also run them one after the other.
# pytest_collection_modifyitems refuses one that uses built_site or chapter_run.
BUILD_FREE = {
    "test_book_build.py::test_fixture_book_without_defects_builds",
    "test_book_build.py::test_a_defective_chapter_fails_the_build_and_is_named",
    "test_book_build.py::test_a_failed_build_fails_again_when_nothing_changed",
    "test_book_build.py::test_editing_helpers_invalidates_the_execution_cache",
    "test_book_build.py::test_make_notebooks_writes_a_plain_ipynb_per_chapter",
    "test_chapters_execute.py::test_a_failing_cell_is_recorded_with_its_line",
    "test_exercise_solutions.py::test_solutions_run_after_the_chapter_in_its_kernel",
}


# Files that grade in sandboxes run in one process, as one work unit, in order: the
# graded batch (a module fixture, about 60 s) is then computed once, and the test that
# counts the sandboxes still running after its own batch sees no other process's.
SANDBOX_GROUP = {"test_assignments.py", "test_journey_grading.py"}


def work_unit(nodeid: str) -> str:
    """The scheduler's work unit of a test: "build" for the build group, "sandboxes" for
    the files that grade, else the test itself."""
    file, _, name = nodeid.partition("::")
    file = file.rpartition("/")[2]
    if file in BUILD_GROUP and f"{file}::{name.partition('[')[0]}" not in BUILD_FREE:
        return "build"
    if file in SANDBOX_GROUP:
        return "sandboxes"
    return nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Schedule the build group as one unit and every other test on its own.

    (xdist's own ``--dist loadgroup`` does not take effect with pytest 9, whose
    node ids it can no longer suffix.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class BuildGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return BuildGroupScheduling(config, log)


BUILDS_BOOK = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(config, items):
    """Refuse a stray user of the built site; note whether this run builds the book.

    The book build behind ``built_site`` executes every page once, with the
    chapter's exercise solutions after it in the same kernel, and keeps a record
    (tools/chapter_runs.py). When a run builds the book, the chapter and solution
    tests read that record (``chapter_run``); run alone, they execute the pages
    themselves.
    """
    config.stash[BUILDS_BOOK] = any(
        "built_site" in getattr(item, "fixturenames", ()) for item in items
    )
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
    free = sorted(
        item.nodeid
        for item in items
        if work_unit(item.nodeid) != "build"
        and item.path.name in BUILD_GROUP
        and {"built_site", "chapter_run"} & set(getattr(item, "fixturenames", ()))
    )
    if free:
        raise pytest.UsageError(
            f"{', '.join(free)} use(s) the built site or a chapter's record: take it out "
            "of BUILD_FREE in tests/conftest.py."
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
def contra():
    """Bangladesh contraception data (women in districts); shared read-only (tests use .assign for variants)."""
    import helpers as hp

    return hp.load_dataset("contraception")


@pytest.fixture(scope="session")
def counts():
    """The simulated count data (with exposure and trials); shared read-only (tests use .assign for variants)."""
    import helpers as hp

    return hp.load_dataset("sim_counts")


@pytest.fixture(scope="session")
def binary():
    """The simulated binary data; shared read-only (tests use .assign for variants)."""
    import helpers as hp

    return hp.load_dataset("sim_binary")


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


@pytest.fixture(scope="session")
def chapter_run(request):
    """``chapter_run(page)``: the record of the page's one execution with its solutions.

    In a run that builds the book, the build's record (checked against the current
    key of the page, helpers/, data/ and book/_ext/: a stale one fails); otherwise the
    page is executed here, once per session, without building the book.
    """
    runs: dict[Path, chapter_runs.Record] = {}
    builds = request.config.stash.get(BUILDS_BOOK, False)
    if builds:
        request.getfixturevalue("built_site")
    sources = build_book.source_key(ROOT)

    def get(page: Path) -> chapter_runs.Record:
        if page not in runs:
            key = chapter_runs.page_key(ROOT, page, sources)
            if builds:
                record = chapter_runs.load(ROOT, ROOT, page, key)
                assert record is not None, f"the build left no current record of {page}"
            else:
                timeout = chapter_runs.cell_timeout(ROOT)
                record, _ = chapter_runs.execute(ROOT, page, timeout=timeout, key=key)
            runs[page] = record
        return runs[page]

    return get
