"""The book builds with warnings as errors, and a broken chapter fails the build by name."""

from __future__ import annotations

import textwrap
from pathlib import Path

import build_book
import pytest

pytestmark = pytest.mark.slow


def test_every_toc_entry_has_a_page(built_site: Path, root: Path):
    pages = build_book.toc_pages(root)
    assert "book/intro" in pages and "book/bibliography" in pages
    for page in pages:
        assert (built_site / f"{page}.html").is_file(), page
    assert (built_site / "index.html").is_file()


def test_executable_pages_are_offered_as_ipynb(built_site: Path, root: Path):
    import nbformat

    for page in build_book.executable_pages(root):
        rel = page.relative_to(root).with_suffix(".ipynb")
        assert (built_site / "_sources" / rel).is_file(), rel
        # the executed notebook: the outputs the page shows, no solution cell
        nb = nbformat.read(built_site / "_sources" / rel, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if page.parent.name == "chapters":
            assert any(c.outputs for c in code), f"{rel} is offered without its outputs"
        assert not any("solution" in c.metadata for c in code), rel


HEADER = """\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---
    """

BROKEN = {
    "failing-cell": "# Broken\n\n```{code-cell} ipython3\n1 / 0\n```\n",
    "broken-xref": "# Broken\n\nSee {ref}`a-label-that-does-not-exist`.\n",
    "missing-citation": "# Broken\n\nAs shown by {cite:t}`nobody1999`.\n",
}


def make_fixture_book(folder: Path, chapter_body: str) -> None:
    (folder / "_config.yml").write_text(
        textwrap.dedent(
            """\
            title: Fixture book
            execute:
              execute_notebooks: cache
              timeout: 60
            bibtex_bibfiles: [refs.bib]
            sphinx:
              config:
                nb_execution_raise_on_error: true
            """
        )
    )
    (folder / "refs.bib").write_text(
        "@book{somebody2000, author={Somebody, A.}, title={T}, year={2000}}\n"
    )
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: chapter-under-test\n"
    )
    (folder / "intro.md").write_text("# Intro\n\nA page that is fine.\n")
    (folder / "chapter-under-test.md").write_text(textwrap.dedent(HEADER) + chapter_body)


def test_fixture_book_without_defects_builds(tmp_path: Path):
    make_fixture_book(tmp_path, "# Fine\n\n```{code-cell} ipython3\n1 + 1\n```\n")
    html = build_book.build(tmp_path, quiet=True)
    assert (html / "chapter-under-test.html").is_file()


@pytest.mark.parametrize("defect", sorted(BROKEN))
def test_a_defective_chapter_fails_the_build_and_is_named(tmp_path: Path, defect: str):
    make_fixture_book(tmp_path, BROKEN[defect])
    with pytest.raises(build_book.BuildError) as info:
        build_book.build(tmp_path, quiet=True)
    assert "chapter-under-test" in str(info.value)


def test_a_failed_build_fails_again_when_nothing_changed(tmp_path: Path):
    """Sphinx re-reads only changed pages; the warnings of a failed build must not vanish."""
    make_fixture_book(tmp_path, BROKEN["broken-xref"])
    for _ in range(2):
        with pytest.raises(build_book.BuildError):
            build_book.build(tmp_path, quiet=True)


def test_editing_helpers_invalidates_the_execution_cache(tmp_path: Path):
    """Outputs computed by an older helpers/ must not survive: the cache is keyed on its source."""
    build_dir = tmp_path / "_build"
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("X = 1\n")
    assert build_book.invalidate_if_sources_changed(tmp_path, build_dir) is True
    (build_dir / ".jupyter_cache").mkdir()
    assert build_book.invalidate_if_sources_changed(tmp_path, build_dir) is False
    assert (build_dir / ".jupyter_cache").exists()
    (tmp_path / "helpers" / "__init__.py").write_text("X = 2\n")
    assert build_book.invalidate_if_sources_changed(tmp_path, build_dir) is True
    assert not (build_dir / ".jupyter_cache").exists()


def test_make_notebooks_writes_a_plain_ipynb_per_chapter(tmp_path: Path, root: Path):
    import subprocess
    import sys

    import nbformat

    out = tmp_path / "notebooks"
    proc = subprocess.run(
        [sys.executable, str(root / "tools" / "notebooks.py"), str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    for page in build_book.executable_pages(root):
        nb_path = out / page.relative_to(root).with_suffix(".ipynb")
        nb = nbformat.read(nb_path, as_version=4)
        nbformat.validate(nb)
        assert any(c.cell_type == "code" for c in nb.cells)


def test_hidden_cells_are_not_in_the_search_index(built_site: Path):
    """A word that a page holds only in hidden cells (the ``share(...)`` and ``assert``
    checks behind its text) does not find that page in the site's search."""
    import json
    import re

    from bs4 import BeautifulSoup

    raw = (built_site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(raw[raw.index("(") + 1 : raw.rindex(")")])
    hidden_only = 0
    for word in ("share", "assert"):
        found = index["terms"].get(word, [])
        found = {found} if isinstance(found, int) else set(found)
        for i, doc in enumerate(index["docnames"]):
            html = (built_site / f"{doc}.html").read_text(encoding="utf-8")
            article = BeautifulSoup(html, "html.parser").select_one("article")
            boxes = article.select("details.hide")
            in_hidden = any(re.search(rf"\b{word}\b", b.get_text(" ")) for b in boxes)
            for box in boxes:
                box.decompose()
            visible = re.search(rf"\b{word}", article.get_text(" ").lower())
            if i in found:
                assert visible, f"{doc} is found by {word!r}, which only its hidden cells hold"
            hidden_only += bool(in_hidden and not visible)
    assert hidden_only > 0  # the check meets pages whose hidden cells hold the words
