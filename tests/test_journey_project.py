"""The repository as a project people can cite and reuse: licences, citation, version,
changelog, and a `make book` that says what it does and ends with one clear line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import build_book
import pytest
import yaml

import helpers

ROOT = Path(__file__).resolve().parents[1]


def test_licences_citation_changelog_and_version_agree():
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text()
    text = (ROOT / "LICENSE-text").read_text()
    assert "Attribution 4.0 International Public License" in text
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["title"] and cff["authors"]
    assert cff["version"] == helpers.__version__
    assert set(cff["license"]) == {"BSD-3-Clause", "CC-BY-4.0"}
    first = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.M).group(1)
    assert first == helpers.__version__
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "BSD-3-Clause"  # an SPDX expression (PEP 639)
    assert meta["license-files"] == ["LICENSE", "LICENSE-text"]
    assert {"student", "lab"} <= set(meta["optional-dependencies"])


def test_install_line_of_the_pages_is_the_configured_repository():
    """The pages print the install line as text: it must name `_config.yml`'s repository,
    as the published notebooks' install cell and the autograder's requirement do."""
    from _common import package_requirement

    wanted = f'pip install "{package_requirement(ROOT, "student")}"'
    for page in ("book/using-the-book.md", "book/instructors.md"):
        lines = [ln for ln in (ROOT / page).read_text().splitlines() if "pip install" in ln]
        assert wanted in lines, f"{page}: the install line should read {wanted}"
        assert all("git+" not in ln or ln == wanted for ln in lines), (page, lines)


def test_build_progress_names_each_page_being_executed():
    book = Path("/repo")
    lines = [
        "/repo/chapters/01-complete-pooling.md: Executing notebook using local CWD [mystnb]",
        "/repo/chapters/01-complete-pooling.md: Executed notebook in 13.19 seconds [mystnb]",
        "reading sources... [ 40%] chapters/02-no-pooling",
        "some line sphinx prints that says nothing to a reader",
    ]
    notes = [build_book.progress(line, book, 5.0) for line in lines]
    assert "executing chapters/01-complete-pooling.md" in notes[0]
    assert "executed chapters/01-complete-pooling.md in 13.2 s" in notes[1]
    assert "reading chapters/02-no-pooling (40%)" in notes[2]
    assert notes[3] is None


def test_build_progress_reports_the_writing_stage_once():
    """Sphinx logs one "writing output" line per page (and an empty one for message
    catalogues); the progress says it once, with the time the first page is written."""
    lines = [
        "writing output... ",
        "reading sources... [100%] book/intro",
        "writing output... [ 10%] book/assignments/a1-complete-pooling",
        "writing output... [ 20%] book/assignments/a2-no-pooling",
        "writing output... [100%] book/intro",
        "build succeeded.",
    ]
    stages = set()
    notes = [build_book.progress(line, Path("/repo"), 7.0, stages) for line in lines]
    said = [n for n in notes if n]
    assert sum("writing output" in n for n in said) == 1, said
    assert notes[2] == "[book]     7 s  writing output"
    assert notes[0] is None and notes[3] is None and notes[4] is None
    assert "build succeeded" in notes[5]


@pytest.mark.slow
def test_make_book_ends_with_one_clear_line(built_site, capsys):
    assert build_book.main([]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == f"BOOK BUILT: {built_site}/index.html"
    assert sum(line.startswith("BOOK BUILT") for line in out) == 1
    assert all(line.startswith("[book]") for line in out[:-2])
