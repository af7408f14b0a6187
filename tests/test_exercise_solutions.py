"""Every exercise solution's code runs: each chapter is executed with the Python blocks
of its solutions appended as cells, in the order they appear, and no cell may raise.

A solution's code is what a student copies into the chapter's notebook after reading
it; these blocks are not executed by the book build (they sit inside dropdowns), so
this is the only place that proves they still work with the chapter's numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import build_book
import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

PAGES = [p for p in build_book.executable_pages() if p.parent.name == "chapters"]
SOLUTION = re.compile(r"^:::\{solution\}.*?\n(.*?)^:::\s*$", re.S | re.M)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```\s*$", re.S | re.M)


def solution_blocks(text: str) -> list[tuple[str, str]]:
    """(label, code) of every ```python block inside a :::{solution} directive."""
    out = []
    for match in SOLUTION.finditer(text):
        label = match.group(0).splitlines()[0].removeprefix(":::{solution}").strip()
        out += [(label, code) for code in PYTHON_BLOCK.findall(match.group(1))]
    return out


def test_solution_blocks_are_found():
    """The parser sees the blocks (a silent zero would make every test below vacuous)."""
    text = ":::{solution} ex-a\n:class: dropdown\n\ntext\n\n```python\nx = 1\n```\n:::\n"
    assert solution_blocks(text) == [("ex-a", "x = 1\n")]
    assert sum(len(solution_blocks(p.read_text())) for p in PAGES) >= len(PAGES)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_solutions_run(page: Path):
    blocks = solution_blocks(page.read_text())
    if not blocks:
        pytest.skip(f"{page.name} has no solution code")
    nb = jupytext.read(page)
    first = len(nb.cells)
    for label, code in blocks:
        cell = nbformat.v4.new_code_cell(code)
        cell.metadata["solution"] = label
        nb.cells.append(cell)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(page.parent)}},
    )
    client.execute()
    chapter_errors = [
        out
        for cell in nb.cells[:first]
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not chapter_errors, f"{page.name} itself raises: {chapter_errors[0]['evalue']}"
    failed = [
        f"{cell.metadata['solution']}: {out['ename']}: {out['evalue']}"
        for cell in nb.cells[first:]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not failed, "solution code that does not run:\n" + "\n".join(failed)
