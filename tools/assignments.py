"""Build and grade the course assignments (otter-grader).

The instructor masters are ``chapters/assignments/*.py`` (Jupytext percent format, so
they diff and review as text). ``build`` turns each into an otter master notebook and
runs ``otter assign``, which checks that the solutions pass every test and writes

    _build/assignments/<name>/student/<name>.ipynb     (no solutions, public tests)
    _build/assignments/<name>/autograder/<name>.ipynb  (solutions)
    _build/assignments/<name>/autograder/<name>-autograder_*.zip  (all tests)

``grade`` grades a folder of submitted notebooks locally with ``otter run`` (no Docker)
and writes one row per submission; a submission that cannot be graded gets a message
saying why, and the rest of the batch goes on.

Usage::

    python tools/assignments.py build [NAME ...] [--out _build/assignments]
    python tools/assignments.py grade NAME SUBMISSIONS_DIR [--out grades.csv]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_book import ROOT, BuildError, env_tool, source_key

MASTERS = ROOT / "chapters" / "assignments"
OUT = ROOT / "_build" / "assignments"


class AssignmentError(RuntimeError):
    """An assignment could not be built; the message says which and why."""


def masters() -> dict[str, Path]:
    return {p.stem: p for p in sorted(MASTERS.glob("a*.py"))}


def _digest(path: Path) -> str:
    """Key of a built assignment: its master and what its tests compute with."""
    return hashlib.sha256(path.read_bytes() + source_key(ROOT).encode()).hexdigest()


def autograder_zip(folder: Path) -> Path:
    zips = sorted((folder / "autograder").glob("*-autograder_*.zip"))
    if not zips:
        raise AssignmentError(f"No autograder zip in {folder / 'autograder'}: run the build first.")
    return zips[-1]


def build_one(name: str, out: Path = OUT, force: bool = False) -> Path:
    """Run otter assign on one master; skipped when master, helpers and data are unchanged."""
    src = masters().get(name)
    if src is None:
        raise AssignmentError(f"No assignment {name!r}; available: {', '.join(masters())}.")
    target = out / name
    stamp = target / ".source-key"
    key = _digest(src)
    if not force and stamp.exists() and stamp.read_text() == key:
        return target
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        nb_path = Path(tmp) / f"{name}.ipynb"
        convert = subprocess.run(
            [env_tool("jupytext"), "--to", "ipynb", str(src), "-o", str(nb_path)],
            capture_output=True,
            text=True,
        )
        if convert.returncode != 0:
            raise AssignmentError(f"{name}: could not convert the master: {convert.stderr}")
        proc = subprocess.run(
            [env_tool("otter"), "assign", str(nb_path), str(target)],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise AssignmentError(f"otter assign failed for {name} (its solutions must pass):\n{tail}")
    stamp.write_text(key)
    return target


def build(names=None, out: Path = OUT, force: bool = False) -> list[Path]:
    return [build_one(n, out, force) for n in (names or list(masters()))]


# --------------------------------------------------------------------------- grading


def _check_submission(path: Path, name: str) -> str | None:
    """Why the file cannot be graded as assignment `name`, or None if it can."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "not a Jupyter notebook (the file is not valid notebook JSON)"
    if not isinstance(nb, dict) or "cells" not in nb:
        return "not a Jupyter notebook (no cells)"
    meta = nb.get("metadata", {}).get("otter", {})
    other = meta.get("assignment_name")
    if other is None:
        return "not an assignment notebook of this book (no otter metadata): was the wrong file submitted?"
    if other != name:
        return f"belongs to assignment {other!r}, not {name!r}"
    return None


def grade_one(path: Path, name: str, ag_zip: Path, timeout: float = 600) -> dict:
    row = {"submission": path.name, "status": "graded", "message": ""}
    reason = _check_submission(path, name)
    if reason:
        row.update(status="not graded", message=reason)
        return row
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = subprocess.run(
                [env_tool("otter"), "run", "-a", str(ag_zip), str(path), "-o", tmp],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            row.update(status="not graded", message=f"did not finish within {timeout:.0f} s")
            return row
        results = Path(tmp) / "results.json"
        if proc.returncode != 0 or not results.exists():
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            row.update(status="not graded", message=f"the autograder failed: {last[0]}")
            return row
        tests = json.loads(results.read_text())["tests"]
    total = possible = 0.0
    failed = []
    for t in tests:
        if t.get("max_score") is None:
            continue
        row[t["name"]] = t.get("score", 0.0)
        total += t.get("score", 0.0) or 0.0
        possible += t["max_score"]
        if (t.get("score") or 0.0) < t["max_score"]:
            failed.append(t["name"])
    row.update(score=total, max_score=possible)
    if failed:
        row["message"] = "lost points on " + ", ".join(failed)
    return row


def grade(name: str, folder: Path, out: Path = OUT) -> list[dict]:
    """Grade every .ipynb in folder; one dict per submission, errors included."""
    if not Path(folder).is_dir():
        raise AssignmentError(f"{folder} is not a folder of submissions.")
    ag = autograder_zip(out / name)
    subs = sorted(Path(folder).glob("*.ipynb"))
    if not subs:
        raise AssignmentError(f"No .ipynb files in {folder}.")
    return [grade_one(p, name, ag) for p in subs]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build or grade the course assignments.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="student and autograder versions of the assignments")
    b.add_argument("names", nargs="*")
    b.add_argument("--out", default=str(OUT))
    b.add_argument("--force", action="store_true", help="rebuild even if unchanged")
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    g.add_argument("name")
    g.add_argument("folder")
    g.add_argument("--out", default="grades.csv", help="CSV with one row per submission")
    g.add_argument("--assignments", default=str(OUT))
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            for path in build(args.names, Path(args.out), args.force):
                print(f"{path.name}: student {path / 'student'}, autograder {path / 'autograder'}")
            return 0
        import pandas as pd

        rows = grade(args.name, Path(args.folder), Path(args.assignments))
        table = pd.DataFrame(rows)
        table.to_csv(args.out, index=False)
        print(table.to_string(index=False))
        print(f"\nwrote {args.out}")
        return 0
    except (AssignmentError, BuildError) as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
