"""Every exercise solution's code runs: after each chapter, in the same kernel, the
Python blocks of its solutions run as extra cells, in the order they appear, and no
cell may raise.

A solution's code is what a student copies into the chapter's notebook after reading
it; these blocks are not shown executed on the pages (they sit inside dropdowns), so
this is the only place that proves they still work with the chapter's numbers. The
book build runs them right after the chapter (tools/chapter_runs.py) and these tests
read its record; run without the build, they execute the chapter here.
"""

from __future__ import annotations

from pathlib import Path

import build_book
import pytest
from chapter_runs import solution_blocks

pytestmark = pytest.mark.slow

PAGES = [p for p in build_book.executable_pages() if p.parent.name == "chapters"]


def test_solution_blocks_are_found():
    """The parser sees the blocks (a silent zero would make every test below vacuous)."""
    text = ":::{solution} ex-a\n:class: dropdown\n\ntext\n\n```python\nx = 1\n```\n:::\n"
    assert solution_blocks(text) == [("ex-a", "x = 1\n")]
    assert sum(len(solution_blocks(p.read_text())) for p in PAGES) >= len(PAGES)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_solutions_run(page: Path, chapter_run):
    blocks = solution_blocks(page.read_text())
    if not blocks:
        pytest.skip(f"{page.name} has no solution code")
    run = chapter_run(page)
    assert not run.errors, f"{page.name} itself raises: {run.describe_errors()}"
    # every block ran, in order (none left out of the record)
    assert [s["label"] for s in run.solutions] == [label for label, _ in blocks]
    failed = [
        f"{s['label']}: {e['ename']}: {e['evalue']}" for s in run.solutions for e in s["errors"]
    ]
    assert not failed, "solution code that does not run:\n" + "\n".join(failed)


def test_solutions_run_after_the_chapter_in_its_kernel(tmp_path: Path):
    """A solution sees the chapter's variables; a failing block is reported by its
    label and does not stop the next; the executed page keeps no solution cell."""
    import chapter_runs

    page = tmp_path / "chapters" / "p.md"
    page.parent.mkdir()
    page.write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n"
        "# P\n\n```{code-cell} ipython3\nx = 41\n```\n\n"
        ":::{solution} ex-bad\n:class: dropdown\n\n```python\nundefined_name\n```\n:::\n\n"
        ":::{solution} ex-good\n:class: dropdown\n\n```python\nassert x + 1 == 42\n```\n:::\n"
    )
    (tmp_path / "_config.yml").write_text("title: t\n")
    run, executed = chapter_runs.execute(tmp_path, page, timeout=60)
    assert run.errors == []
    assert [(s["label"], [e["ename"] for e in s["errors"]]) for s in run.solutions] == [
        ("ex-bad", ["NameError"]),
        ("ex-good", []),
    ]
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.source for c in code] == ["x = 41"] and code[0].outputs == []
    assert not any("solution" in c.metadata for c in executed.cells)
