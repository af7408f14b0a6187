"""Make JupyterLab of this environment open the MyST Markdown chapters as notebooks.

Writes JupyterLab's ``overrides.json`` in ``<sys.prefix>/share/jupyter/lab/settings``:
jupytext's notebook view is the default viewer of ``.md`` files, so a double-click on
``chapters/05-shrinkage.md`` opens a notebook (jupyterlab-myst then renders its MyST:
admonitions, equations, figures; glued numbers, citations and cross-references are
filled in only on the site, see ``book/using-the-book.md``). Run by ``make lab`` and by
``binder/postBuild``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {
        "defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    }
}


def write(prefix: Path = Path(sys.prefix)) -> Path:
    target = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(target.read_text()) if target.exists() else {}
    current.update(SETTINGS)
    target.write_text(json.dumps(current, indent=2) + "\n")
    return target


if __name__ == "__main__":
    print(f"wrote {write()}")
