"""What the book build and the assignment tools both need: paths, the source key,
the pages of the table of contents and the lookup of installed commands.

This module imports nothing from the other tools, so ``build_book`` and
``assignments`` can both import it without importing each other.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


class BuildError(RuntimeError):
    """The book (or a part of it) did not build; the message says why."""


def source_key(book: Path) -> str:
    """A digest of what the pages depend on besides their own text (package, data, extensions)."""
    h = hashlib.sha256()
    for folder in ("helpers", "data", "book/_ext"):
        base = book / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(book)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def env_tool(name: str) -> str:
    """Path of a command installed in this Python environment (e.g. .venv/bin/otter)."""
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found is None:
        raise BuildError(f"{name} is not installed in this environment; run `make setup`.")
    return found


def repository(book: Path = ROOT) -> tuple[str, str]:
    """The book's repository address and branch, from ``_config.yml`` (``repository:``)."""
    config = yaml.safe_load((book / "_config.yml").read_text())
    repo = config.get("repository") or {}
    return repo.get("url", "").rstrip("/"), repo.get("branch", "main")


def package_requirement(book: Path = ROOT, extra: str = "") -> str:
    """The pip requirement that installs helpers (with ``extra``) from the book's repository."""
    url, branch = repository(book)
    return f"multilevel-book-helpers{f'[{extra}]' if extra else ''} @ git+{url}@{branch}"


def toc_pages(book: Path = ROOT) -> list[str]:
    """Every document named in ``_toc.yml`` (root, chapters, sections), in order."""
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return [str(Path(p).with_suffix("")) for p in pages]


def executable_pages(book: Path = ROOT) -> list[Path]:
    """The pages of ``_toc.yml`` that are notebooks (MyST Markdown with a kernelspec)."""
    import jupytext

    pages = []
    for page in toc_pages(book):
        path = book / f"{page}.md"
        if path.exists() and jupytext.read(path).metadata.get("kernelspec"):
            pages.append(path)
    return pages
