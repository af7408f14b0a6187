"""Journey: a reader clicks a launch or download button of the published book.

Every Binder and Colab button and every entry of the download menu, on every built
page, must point at a file that the published site (``_build/html`` as the Pages
workflow uploads it) or the published ``notebooks`` branch (the repository plus the
notebooks of ``make publish``) will contain.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import build_book
import publish
import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def branch_tree(built_site, tmp_path_factory) -> set[str]:
    """Files of the ``notebooks`` branch: the repository's files and the published notebooks."""
    out = tmp_path_factory.mktemp("publish")
    written = publish.write_notebooks(out)
    assert written, "make publish wrote no notebook"
    install = publish.package_requirement(ROOT, "student")
    for path in written:
        first = json.loads(path.read_text())["cells"][0]
        assert install in "".join(first["source"]), f"{path.name} does not install helpers first"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return set(tracked) | {str(p.relative_to(out)) for p in written}


def _menu_links(page: Path) -> dict[str, list[str]]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    found = {"launch": [], "download": []}
    for kind in found:
        for menu in soup.select(f".dropdown-{kind}-buttons"):
            for a in menu.select("a[href]"):
                found[kind].append(a["href"])
            assert not menu.select("button[onclick]"), f"{page.name}: a {kind} entry runs script"
    return found


def test_every_launch_and_download_link_resolves(built_site, branch_tree):
    org, repo, branch = publish._repo_parts(ROOT)
    assert {"binder/requirements.txt", "binder/postBuild"} <= branch_tree
    workflow = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    assert "make pdf" in workflow and "make publish" in workflow
    assert "git push -f origin notebooks" in workflow
    notebooks = {str(p.relative_to(ROOT)) for p in build_book.executable_pages(ROOT)}
    checked = 0
    for name in build_book.toc_pages(ROOT):
        page = built_site / f"{name}.html"
        links = _menu_links(page)
        launch = links["launch"]
        is_notebook = f"{name}.md" in notebooks or name.startswith("book/assignments/")
        if is_notebook:
            assert any("mybinder.org" in u for u in launch), f"{name}: no Binder button"
            assert any("colab.research.google.com" in u for u in launch), f"{name}: no Colab"
        for url in launch:
            parts = urlparse(url)
            if parts.netloc == "colab.research.google.com":
                m = re.fullmatch(rf"/github/{org}/{repo}/blob/([^/]+)/(.+)", parts.path)
                assert m, url
                ref, path = m.groups()
            elif parts.netloc == "mybinder.org":
                m = re.fullmatch(rf"/v2/gh/{org}/{repo}/([^/]+)", parts.path)
                assert m, url
                ref = m.group(1)
                path = parse_qs(parts.query)["urlpath"][0].split("/tree/", 1)[1]
            else:
                continue
            assert ref == publish.NOTEBOOK_BRANCH, url
            assert path.endswith(".ipynb") and path in branch_tree, f"{name}: {url}"
            assert path == f"{name}.ipynb", f"{name} launches another page's notebook: {url}"
            checked += 1
        downloads = links["download"]
        if is_notebook:
            assert any(u.endswith(".ipynb") for u in downloads), f"{name}: no .ipynb download"
        # The PDF entry links to book.pdf once `make pdf` has put it into the site (the
        # Pages workflow does); before that the menu has no PDF entry at all.
        has_pdf = any(u.endswith(publish.PDF_NAME) for u in downloads)
        assert has_pdf == (built_site / publish.PDF_NAME).is_file(), f"{name}: PDF entry"
        for href in downloads:
            target = urljoin(f"http://site/{name}.html", href)
            rel = urlparse(target).path.lstrip("/")
            assert (built_site / rel).is_file(), f"{name}: download {href} is not in the site"
            checked += 1
    assert checked > 3 * len(notebooks)


def test_binder_environment_is_the_pinned_one_plus_the_package():
    """What Binder (repo2docker) reads from the branch: the lock, Python, the post-build step."""
    binder = ROOT / "binder"
    reqs = (binder / "requirements.txt").read_text().split("\n")
    assert "-r ../requirements.lock" in reqs
    assert (binder / "../requirements.lock").resolve() == ROOT / "requirements.lock"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    post = binder / "postBuild"
    assert post.stat().st_mode & 0o111, "postBuild must be executable"
    steps = post.read_text()
    assert "pip install --no-deps --no-build-isolation ." in steps
    assert "tools/lab_settings.py" in steps
    lock = (ROOT / "requirements.lock").read_text()
    for needed in ("jupyterlab==", "jupytext==", "jupyterlab_myst==", "otter-grader=="):
        assert needed in lock, needed


def test_the_pdf_entry_appears_only_with_the_pdf(tmp_path):
    """`make book` leaves the theme's print entry out of the download menu until `make
    pdf` has put book.pdf into the site and rewritten the links again."""
    entry = (
        '<li>\n<button onclick="window.print()"\n  class="btn btn-sm btn-download-pdf-button '
        'dropdown-item"\n  title="Print to PDF"\n>\n<span>.pdf</span>\n</button>\n</li>'
    )
    page = tmp_path / "chapters" / "x.html"
    page.parent.mkdir()
    page.write_text(f'<ul class="dropdown-download-buttons">{entry}</ul>', encoding="utf-8")
    publish.rewrite_links(tmp_path, ROOT)
    first = page.read_text(encoding="utf-8")
    assert "book.pdf" not in first and "<!--book-pdf<li>" in first
    publish.rewrite_links(tmp_path, ROOT)  # again without the PDF: nothing changes
    assert page.read_text(encoding="utf-8") == first
    (tmp_path / publish.PDF_NAME).write_bytes(b"%PDF-1.4\n")
    publish.rewrite_links(tmp_path, ROOT)
    links = _menu_links(page)["download"]
    assert links == ["../book.pdf"]
    assert "<!--book-pdf" not in page.read_text(encoding="utf-8")


def test_the_download_menu_offers_the_launch_notebook(built_site, tmp_path):
    """The ``.ipynb`` of every page's download menu opens like the launch notebook: the
    install cell first (Colab, a bare Jupyter), and Markdown those show (no MyST fence,
    which Colab and classic Jupyter print as text); a chapter keeps its outputs and an
    assignment its otter metadata (``grader.check`` finds the notebook by it)."""
    import nbformat

    launch = tmp_path / "launch"
    publish.write_notebooks(launch)
    install = publish.INSTALL_CELL.format(requirement=publish.package_requirement(ROOT, "student"))
    fence = re.compile(r"^:{3,}\{", re.M)
    rels = publish.published_notebooks(ROOT)
    assert any(r.startswith("book/assignments/") for r in rels)
    for rel in rels:
        download = nbformat.read(built_site / "_sources" / rel, as_version=4)
        launched = nbformat.read(launch / rel, as_version=4)
        for kind, nb in (("download", download), ("launch", launched)):
            first = nb.cells[0]
            assert first.cell_type == "code" and first.source == install, f"{rel} ({kind})"
            assert [c for c in nb.cells if c.source == install] == [first], f"{rel} ({kind})"
            myst = [
                c.source[:60]
                for c in nb.cells
                if c.cell_type == "markdown" and fence.search(c.source)
            ]
            assert not myst, f"{rel} ({kind}): MyST directives {myst}"
        if rel.startswith("chapters/"):
            assert any(c.get("outputs") for c in download.cells), f"{rel}: no outputs"
        if rel.startswith("book/assignments/"):
            name = Path(rel).stem
            assert download.metadata["otter"]["assignment_name"] == name
            notes = [c.source for c in download.cells if c.source.startswith("> **Note.**")]
            assert notes and "student version" in notes[0], f"{rel}: no note as a blockquote"
