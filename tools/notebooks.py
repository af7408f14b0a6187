"""Write a plain Jupyter notebook (.ipynb) for every chapter listed in _toc.yml.

Usage: ``python tools/notebooks.py OUTPUT_DIR``. The notebooks are unexecuted:
open them in Jupyter and run them, or use the executed copies the site offers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, executable_pages


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    for src in executable_pages():
        rel = src.relative_to(ROOT).with_suffix(".ipynb")
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(jupytext.read(src), target)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
