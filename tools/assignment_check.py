"""Check an assignment's tests against its solution in one Jupyter kernel (cheap).

The solution (autograder) notebook is executed once; every autograded question's test
file (public and hidden cases, from the autograder zip) is then run against that
namespace with otter's own test runner (``otter.test_files``), and again after each
*typical mistake* of ``chapters/assignments/<name>.mistakes.yml`` has been run in it
(the namespace is restored between mistakes). The result says, per variant, what each
question scored:

- ``solution``: the solved notebook (every autograded point);
- one entry per mistake: exactly the points its ``loses:`` names are lost;
- ``other_id``: the solution's answers with another student's ID (the hidden tests
  recompute from that student's data, so they fail);
- ``blank_with_id`` / ``blank``: the student version as handed out, with an ID
  written in and without (no points).

A master written before the per-student format (no ``STUDENT_ID`` cell, no mistakes
file) gets ``legacy`` instead: the solution notebook with one answer replaced by a
typical wrong one, executed in a fresh namespace.

Usage::

    python tools/assignment_check.py NAME --build   # build, then print the table of
                                                    # scores; exit 1 on a problem
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import assignments as asg

#: The ID whose data the "other student" variant uses (any ID but the solution's).
OTHER_ID = "z9876543"
_MARK = "@@CHECK@@"

# Runs inside the kernel: executes cells in a namespace of its own, runs test files
# against a copy of a namespace (a test's own variables do not leak into the next).
_DRIVER = r"""
import copy as _copy, json as _json
import numpy as _np, pandas as _pd
from IPython import get_ipython as _get_ipython
from otter.test_files.ok_test import OKTestFile as _OKTestFile


def _check_run(cells, ns):
    errors = []
    tm = _get_ipython().input_transformer_manager
    for k, src in cells:
        try:
            exec(compile(tm.transform_cell(src), f"<cell {k}>", "exec"), ns)
        except Exception as e:  # a cell that fails: recorded, the next one runs
            errors.append({"cell": k, "error": f"{type(e).__name__}: {e}"[:300]})
    return errors


def _check_score(ns, tests):
    out = {}
    for q, path in tests.items():
        tf = _OKTestFile.from_file(path)
        tf.run(dict(ns))
        failed = [
            {"hidden": bool(r.test_case.hidden), "message": (r.test_case.failure_message or "")[:200]}
            for r in tf.test_case_results
            if not r.passed
        ]
        hidden = sum(float(c.points or 0) for c in tf.test_cases if c.hidden)
        out[q] = {"score": float(tf.score), "possible": float(tf.possible),
                  "hidden": hidden, "failed": failed}
    return out


def _check_copy(v):
    if isinstance(v, (_pd.DataFrame, _pd.Series, _pd.Index, _np.ndarray)):
        return v.copy()
    if isinstance(v, (list, dict, set)):
        try:
            return _copy.deepcopy(v)
        except Exception:  # holds something that cannot be copied: the object itself
            return _copy.copy(v)
    return v


def _check_snapshot(ns):
    return {k: v if k.startswith("__") else _check_copy(v) for k, v in ns.items()}


def _check_restore(ns, snap):
    ns.clear()
    ns.update({k: v if k.startswith("__") else _check_copy(v) for k, v in snap.items()})


def _check_emit(key, value):
    print("@@CHECK@@" + _json.dumps({"key": key, "value": value}), flush=True)
"""


class CheckError(RuntimeError):
    """The check itself could not run (no build, a malformed mistakes file)."""


def mistakes_file(name: str) -> Path:
    return asg.MASTERS / f"{name}.mistakes.yml"


def load_mistakes(name: str) -> list[dict] | None:
    """The typical mistakes of an assignment, validated; None if it has no file."""
    import yaml

    path = mistakes_file(name)
    if not path.is_file():
        return None
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise CheckError(f"{path.name}: not valid YAML: {err}") from None
    qs = {q["name"]: q for q in asg.questions(name)}
    if not isinstance(entries, list) or not entries:
        raise CheckError(f"{path.name}: a list of mistakes (question, mistake, code, loses).")
    for k, e in enumerate(entries, 1):
        where = f"{path.name}, entry {k}"
        if not isinstance(e, dict) or {"question", "mistake", "code", "loses"} - set(e):
            raise CheckError(f"{where}: needs question, mistake, code and loses.")
        if e["question"] not in qs:
            raise CheckError(f"{where}: no question {e['question']!r} in the master.")
        if not isinstance(e["loses"], dict) or not e["loses"]:
            raise CheckError(f"{where}: loses is a mapping such as {{q2: 2}}.")
        for q, pts in e["loses"].items():
            if q not in qs or qs[q]["manual"]:
                raise CheckError(f"{where}: loses names {q!r}, not an autograded question.")
            if not isinstance(pts, int | float) or not 0 < pts <= qs[q]["points"]:
                raise CheckError(f"{where}: loses {pts!r} of {q}, worth {qs[q]['points']:g}.")
    return entries


def _code_cells(nb: dict) -> list[tuple[int, str]]:
    """The notebook's code cells a student runs, without otter's own (init, checks)."""
    cells = []
    for k, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        if "otter.Notebook(" in src:
            continue
        lines = [ln for ln in src.splitlines() if ln.strip() and not ln.startswith("#")]
        if lines and all(ln.strip().startswith("grader.") for ln in lines):
            continue
        cells.append((k, src))
    return cells


def _with_id(cells: list[tuple[int, str]], sid: str) -> list[tuple[int, str]]:
    pattern = re.compile(r"^STUDENT_ID\s*=.*$", re.M)
    return [(k, pattern.sub(f"STUDENT_ID = {sid!r}", s, count=1)) for k, s in cells]


def _solution_id(cells) -> str | None:
    for _, src in cells:
        m = re.search(r"^STUDENT_ID\s*=\s*(['\"])(.*?)\1", src, re.M)
        if m:
            return m.group(2)
    return None


def run(name: str, out: Path = asg.OUT, legacy_wrong: tuple | None = None) -> dict:
    """Run every variant of assignment ``name`` in one kernel; the scores per variant.

    ``legacy_wrong`` = (question, solution text, wrong text) for a master without a
    mistakes file: the solution notebook with that text replaced is run as the
    ``legacy`` variant.
    """
    from jupyter_client.manager import start_new_kernel

    folder = Path(out) / name
    solution = json.loads((folder / "autograder" / f"{name}.ipynb").read_text())
    student = json.loads((folder / "student" / f"{name}.ipynb").read_text())
    mistakes = load_mistakes(name)
    auto = [q["name"] for q in asg.questions(name) if not q["manual"]]
    sol_cells = _code_cells(solution)
    stu_cells = _code_cells(student)
    sid = _solution_id(sol_cells)
    result: dict = {"name": name, "student_id": sid, "mistakes": mistakes or []}
    with tempfile.TemporaryDirectory(prefix="asg-check-") as tmp:
        with zipfile.ZipFile(asg.autograder_zip(folder)) as zf:
            zf.extractall(tmp)
        tests = {q: str(Path(tmp) / "tests" / f"{q}.py") for q in auto}
        missing = [q for q, p in tests.items() if not Path(p).is_file()]
        if missing:
            raise CheckError(f"{name}: no test file for {', '.join(missing)} in the zip.")
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        env.pop("HELPERS_BOOK_BUILD", None)
        km, kc = start_new_kernel(kernel_name="python3", cwd=tmp, env=env)
        try:
            emitted: dict = {}

            def execute(code: str, timeout: float = 600) -> None:
                def hook(msg):
                    if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                        for line in msg["content"]["text"].splitlines():
                            if line.startswith(_MARK):
                                item = json.loads(line[len(_MARK) :])
                                emitted[item["key"]] = item["value"]

                reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
                if reply["content"]["status"] != "ok":
                    c = reply["content"]
                    raise CheckError(f"{name}: the check failed: {c['ename']}: {c['evalue']}")

            execute(_DRIVER)
            t = json.dumps(tests)
            code = [
                f"_check_tests = _json.loads({t!r})",
                "_check_ns = {'__name__': '__main__'}",
                f"_check_emit('errors', _check_run(_json.loads({json.dumps(sol_cells)!r}), _check_ns))",
                "_check_emit('solution', _check_score(_check_ns, _check_tests))",
                "_check_snap = _check_snapshot(_check_ns)",
            ]
            for k, m in enumerate(mistakes or []):
                code += [
                    "_check_restore(_check_ns, _check_snap)",
                    f"exec({m['code']!r}, _check_ns)",
                    f"_check_emit('mistake{k}', _check_score(_check_ns, _check_tests))",
                ]
            if sid is not None:
                code += [
                    "_check_restore(_check_ns, _check_snap)",
                    f"_check_ns['STUDENT_ID'] = {OTHER_ID!r}",
                    "_check_emit('other_id', _check_score(_check_ns, _check_tests))",
                ]
                blank_id = json.dumps(_with_id(stu_cells, sid))
                code += [
                    "_check_b = {'__name__': '__main__'}",
                    f"_check_run(_json.loads({blank_id!r}), _check_b)",
                    "_check_emit('blank_with_id', _check_score(_check_b, _check_tests))",
                ]
            code += [
                "_check_b = {'__name__': '__main__'}",
                f"_check_run(_json.loads({json.dumps(stu_cells)!r}), _check_b)",
                "_check_emit('blank', _check_score(_check_b, _check_tests))",
            ]
            if legacy_wrong is not None and mistakes is None:
                q, right, wrong = legacy_wrong
                changed = [(k, s.replace(right, wrong)) for k, s in sol_cells]
                if changed == sol_cells:
                    raise CheckError(f"{name}: the solution no longer contains {right!r}.")
                code += [
                    "_check_b = {'__name__': '__main__'}",
                    f"_check_run(_json.loads({json.dumps(changed)!r}), _check_b)",
                    "_check_emit('legacy', _check_score(_check_b, _check_tests))",
                ]
            execute("\n".join(code))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    result.update(emitted)
    if "legacy" in result:
        result["legacy_question"] = legacy_wrong[0]
    return result


def problems(result: dict) -> list[str]:
    """What the scores of :func:`run` show to be wrong, one line each (empty: all good)."""
    name = result["name"]
    qs = {q["name"]: q for q in asg.questions(name) if not q["manual"]}
    found = []
    if result.get("errors"):
        found.append(f"the solution raised errors: {result['errors']}")
    sol = result["solution"]
    for q, spec in qs.items():
        r = sol[q]
        if r["possible"] != spec["points"]:
            found.append(
                f"{q}: its tests are worth {r['possible']:g}, the master says {spec['points']:g}"
            )
        if r["score"] != r["possible"]:
            found.append(f"solution: {q} scores {r['score']:g}/{r['possible']:g} ({r['failed']})")
    for k, m in enumerate(result["mistakes"]):
        got = result[f"mistake{k}"]
        for q in qs:
            expected = sol[q]["score"] - m["loses"].get(q, 0)
            if abs(got[q]["score"] - expected) > 1e-9:
                found.append(
                    f"mistake {m['mistake']!r}: {q} scores {got[q]['score']:g}, expected "
                    f"{expected:g} (loses {m['loses']})"
                )
    for variant in ("blank", "blank_with_id"):
        if variant in result:
            earned = {q: r["score"] for q, r in result[variant].items() if r["score"] > 0}
            if earned:
                found.append(f"the {variant.replace('_', ' ')} student version earns {earned}")
    if "other_id" in result:
        hidden = sum(sol[q]["hidden"] for q in qs)
        lost = sum(sol[q]["score"] - result["other_id"][q]["score"] for q in qs)
        if lost <= 0 or lost < 0.5 * hidden:
            found.append(
                f"another student's ID ({OTHER_ID}) with these answers loses only {lost:g} "
                f"of {hidden:g} hidden points: the hidden tests must recompute from "
                "STUDENT_ID's data"
            )
    if "legacy" in result:
        q = result["legacy_question"]
        if result["legacy"][q]["score"] >= sol[q]["score"]:
            found.append(f"the typical wrong answer to {q} keeps its points")
    return found


def table(result: dict) -> str:
    """Scores per question and variant, as text."""
    qs = [q["name"] for q in asg.questions(result["name"]) if not q["manual"]]
    variants = ["solution"] + [f"mistake{k}" for k in range(len(result["mistakes"]))]
    variants += [v for v in ("other_id", "blank_with_id", "blank", "legacy") if v in result]
    lines = ["variant".ljust(16) + "".join(q.rjust(7) for q in qs) + "  total"]
    for v in variants:
        r = result[v]
        row = v.ljust(16) + "".join(f"{r[q]['score']:7g}" for q in qs)
        lines.append(row + f"{sum(r[q]['score'] for q in qs):7g}")
    for k, m in enumerate(result["mistakes"]):
        lines.append(f"mistake{k}: {m['question']}: {m['mistake']} (loses {m['loses']})")
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Check an assignment's tests in one kernel.")
    parser.add_argument("names", nargs="*", help="assignments (all by default)")
    parser.add_argument("--out", default=str(asg.OUT), help="the built assignments")
    parser.add_argument("--build", action="store_true", help="build them first")
    args = parser.parse_args(argv)
    names = args.names or list(asg.masters())
    if args.build:
        asg.build(names, Path(args.out))
    bad = 0
    for name in names:
        result = run(name, Path(args.out))
        print(table(result))
        found = problems(result)
        for line in found:
            print("PROBLEM:", line)
        bad += bool(found)
        print()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
