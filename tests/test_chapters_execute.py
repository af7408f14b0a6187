"""Every notebook page in _toc.yml executes top to bottom in its own folder (jupytext + nbclient)."""

from __future__ import annotations

import time
from pathlib import Path

import build_book
import jupytext
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

PAGES = build_book.executable_pages()
# DESIGN.md section 5: every chapter executes in under 30 s on a 2-core machine.
# The hard limit here is the build's per-cell timeout; durations are reported.
CELL_TIMEOUT = 120


def test_there_are_pages_to_execute():
    assert PAGES, "no notebook pages found in _toc.yml"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(build_book.ROOT)) for p in PAGES])
def test_page_executes(page: Path, record_property):
    nb = jupytext.read(page)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(page.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    record_property("seconds", round(elapsed, 2))
    print(f"{page.relative_to(build_book.ROOT)} executed in {elapsed:.1f} s")
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
