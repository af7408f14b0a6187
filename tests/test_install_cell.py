"""The first cell of every published notebook, and the install line the package prints.

The cell (tools/publish.py) installs the book's package where it is missing and says
so, by name, when a local ``helpers.py`` hides the package. The line the data loader
prints when it finds no data names the configured repository (``_config.yml``), which
``pyproject.toml``'s ``[project.urls]`` repeats.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

import helpers as hp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import publish  # noqa: E402


def _cell_as_python() -> str:
    cell = publish.INSTALL_CELL.format(requirement="multilevel-book-helpers[student]")
    return TransformerManager().transform_cell(cell)


def test_a_local_helpers_module_is_named_not_misread(tmp_path):
    (tmp_path / "helpers.py").write_text("x = 1\n")  # a student's own helpers.py
    run = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, '.')\n" + _cell_as_python()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "which is not the book's package" in run.stderr
    assert str(tmp_path / "helpers.py") in run.stderr


def test_the_cell_passes_quietly_where_the_package_is_installed(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", _cell_as_python()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""


def test_install_line_names_the_configured_repository(tmp_path, monkeypatch):
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Repository"] == url
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        hp.load_dataset("popularity")
    assert f'pip install "multilevel-book-helpers[student] @ git+{url}@main"' in str(err.value)


def test_myst_fences_become_blockquotes_a_notebook_shows():
    """Colab and classic Jupyter show ``:::{note}`` as text; the published notebooks
    carry a blockquote headed by the directive's name or title, options dropped."""
    source = (
        "Before.\n\n:::{note}\nRead **this**.\nTwo lines.\n:::\nAfter.\n\n"
        "::::{exercise}\n:label: ex-1\n\nDo it.\n:::{hint}\nLook.\n:::\n::::\n\n"
        ":::{admonition} Key points\n:class: tip\n- one\n:::\n"
    )
    assert publish.plain_markdown(source) == (
        "Before.\n\n> **Note.** Read **this**.\n> Two lines.\n\nAfter.\n\n"
        "> **Exercise.** Do it.\n> > **Hint.** Look.\n\n\n"
        "> **Key points.**\n>\n> - one\n\n"
    )
