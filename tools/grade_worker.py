"""Grade one notebook with otter, inside the sandbox started by ``tools/assignments.py``.

Usage: ``python grade_worker.py AUTOGRADER_ZIP NOTEBOOK RESULT_JSON [EXECUTED]``. Writes
the score of every test case and every error a cell of the notebook raised, and the
executed notebook to EXECUTED. Run by the grader, not by hand: it executes the
student's code.
"""

from __future__ import annotations

import json
import sys

# First words on standard error: the sandbox was set up and this script started
# (tools/sandbox.py tells bwrap's own errors from the submission's by it).
print("sandbox: started", file=sys.stderr, flush=True)

import nbformat  # noqa: E402
from otter.run import main as otter_run  # noqa: E402

# Cells the grader adds to the student's notebook start with these (otter's own cells).
_OTTER_CELLS = ("import sys\nsys.path.append", "import otter\n", "from otter.")


def cell_errors(nb) -> list[dict]:
    """Errors raised by the student's cells of the executed notebook, in order."""
    errors = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source.startswith(_OTTER_CELLS):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
                errors.append(
                    {"cell": first[:60], "ename": out["ename"], "evalue": out["evalue"][:200]}
                )
    return errors


def main(argv: list[str]) -> int:
    ag_zip, notebook, out, *executed = argv
    results = otter_run(notebook, autograder=ag_zip, output_dir=None, no_logo=True)
    tests = {
        name: {"score": float(tf.score), "possible": float(tf.possible)}
        for name, tf in results.results.items()
    }
    errors = cell_errors(results.notebook) if results.notebook is not None else []
    crash = results.catastrophic_error
    if executed and results.notebook is not None:
        nbformat.write(results.notebook, executed[0])
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"tests": tests, "errors": errors, "crash": repr(crash) if crash else None}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
