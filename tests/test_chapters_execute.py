"""Every notebook page in _toc.yml executes top to bottom in its own folder, in time.

The pages are executed once per run (tools/chapter_runs.py): by the book build when
the run builds the book, whose record these tests read, otherwise here, page by
page (``pytest tests/test_chapters_execute.py -k 05`` executes chapter 5 alone and
reports its time).
"""

from __future__ import annotations

from pathlib import Path

import build_book
import pytest

pytestmark = pytest.mark.slow

PAGES = build_book.executable_pages()
# DESIGN.md section 5: every chapter executes in under 30 s on a 2-core machine. On a
# shared machine the wall clock counts other people's work too, so the kernel's own
# CPU time (user + system) is the measure when the wall clock is over the budget.
BUDGET_SECONDS = 30


def test_there_are_pages_to_execute():
    assert PAGES, "no notebook pages found in _toc.yml"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(build_book.ROOT)) for p in PAGES])
def test_page_executes(page: Path, chapter_run, record_property):
    run = chapter_run(page)
    record_property("seconds", run.seconds)
    record_property("cpu_seconds", run.cpu_seconds)
    print(f"{run.page} executed in {run.seconds:.1f} s (kernel CPU {run.cpu_seconds} s)")
    assert not run.errors, run.describe_errors()
    spent = min(run.seconds, run.cpu_seconds if run.cpu_seconds is not None else run.seconds)
    assert spent < BUDGET_SECONDS, (
        f"{run.page} took {run.seconds:.1f} s (kernel CPU {run.cpu_seconds} s), "
        f"over the {BUDGET_SECONDS} s budget"
    )


def test_a_failing_cell_is_recorded_with_its_line(tmp_path: Path):
    """The record names the failing cell and its line, and stops the page there."""
    import chapter_runs

    page = tmp_path / "chapters" / "p.md"
    page.parent.mkdir()
    page.write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n"
        "# P\n\n```{code-cell} ipython3\nx = 1\n```\n\n```{code-cell} ipython3\n1 / 0\n```\n\n"
        "```{code-cell} ipython3\nnever = True\n```\n"
    )
    (tmp_path / "_config.yml").write_text("title: t\n")
    run, executed = chapter_runs.execute(tmp_path, page, timeout=60)
    assert [(e["cell"], e["line"], e["ename"]) for e in run.errors] == [
        (3, 18, "ZeroDivisionError")
    ]
    assert "p.md, cell 3 (line 18)" in run.describe_errors()
    assert executed.cells[-1].outputs == []  # the page stopped at the failing cell
