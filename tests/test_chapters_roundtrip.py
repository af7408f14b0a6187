"""Opening a chapter in JupyterLab and saving it unedited leaves the file as it was.

JupyterLab opens the MyST chapters through jupytext's contents manager, which reads a
page into a notebook and, on save, writes it back with jupytext's writer and the
project's jupytext configuration (``[tool.jupytext]`` in pyproject.toml). Each
executable page must therefore be a fixed point of read-then-write with that
configuration; otherwise a reader's "save" rewrites the file (and the next build
executes the chapter again).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import pytest
from jupytext.config import (
    find_jupytext_configuration_file,
    load_jupytext_config,
    load_jupytext_configuration_file,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from _common import executable_pages  # noqa: E402

PAGES = [p.relative_to(ROOT).as_posix() for p in executable_pages(ROOT)]


def test_the_project_configuration_is_the_one_lab_finds():
    found = find_jupytext_configuration_file(str(ROOT / "chapters"))
    assert found is not None and Path(found).resolve() == ROOT / "pyproject.toml"
    config = load_jupytext_configuration_file(found)
    assert "-jupytext.text_representation.jupytext_version" in config.notebook_metadata_filter


@pytest.mark.parametrize("page", PAGES)
def test_read_then_write_is_the_identity(page):
    path = ROOT / page
    config = load_jupytext_config(str(path))
    text = path.read_text()
    again = jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="md:myst", config=config)
    if again != text:
        import difflib

        diff = "".join(
            list(
                difflib.unified_diff(
                    text.splitlines(True), again.splitlines(True), "stored", "saved", n=0
                )
            )[:40]
        )
        pytest.fail(
            f"Saving {page} unedited in JupyterLab would change it:\n{diff}\n"
            "Rewrite the page in jupytext's canonical form: "
            "python tools/normalize_pages.py"
        )
