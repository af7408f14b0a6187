"""Rewrite every executable page in jupytext's canonical form (what JupyterLab saves).

Usage: ``python tools/normalize_pages.py [--check]``. With ``--check`` nothing is
written; the exit status is 1 when a page would change. The content of cells is not
touched: only the header and the wrapping of cell metadata (captions, alt text) follow
jupytext's writer with the project's configuration (``[tool.jupytext]`` in
pyproject.toml). ``tests/test_chapters_roundtrip.py`` checks the result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
from jupytext.config import load_jupytext_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, executable_pages


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print(__doc__, file=sys.stderr)
        return 2
    changed = []
    for path in executable_pages(ROOT):
        config = load_jupytext_config(str(path))
        text = path.read_text()
        nb = jupytext.reads(text, fmt="md:myst")
        again = jupytext.writes(nb, fmt="md:myst", config=config)
        if again != text:
            changed.append(path.relative_to(ROOT))
            if not check:
                path.write_text(again)
    verb = "would change" if check else "rewrote"
    for rel in changed:
        print(f"{verb} {rel}")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
