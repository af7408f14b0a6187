"""What the benchmark scripts share to time lme4: is it there, and run a worker process.

``have_lme4()`` says whether ``Rscript`` is on the path with lme4 installed (the
benchmarks then skip lme4 and say so). ``run_child(cmd)`` runs one worker process --
an ``Rscript`` with the script the benchmark wrote, or the benchmark itself as a
helpers or statsmodels worker -- and returns the JSON object the worker printed on
its last line, with the process's peak resident memory (``peak_mb``, from
``wait4``), or ``{"skipped": why}`` if it failed or ran past ``timeout``.
``run_lme4(script, *args, have_r=...)`` is ``run_child`` of ``Rscript script args``,
or a "skipped" entry without lme4.

Imported by bench_lmm.py, bench_glmm.py, bench_confint_glmm.py and bench_small.py,
which run as scripts from this folder (``python benchmarks/bench_lmm.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

__all__ = ["have_lme4", "run_child", "run_lme4"]


def have_lme4() -> bool:
    """Whether ``Rscript`` is on the path and loads lme4."""
    return (
        shutil.which("Rscript") is not None
        and subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True).returncode == 0
    )


def run_child(cmd: list[str], timeout: float | None, env: dict | None = None) -> dict:
    """Run a worker process; return its JSON, wall time and peak RSS (via wait4).

    With ``env`` the worker runs from "/" (so that a package in the current folder
    is not found before the one ``env``'s PYTHONPATH names).
    """
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=env and "/"
    )
    start = time.monotonic()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if timeout is not None and time.monotonic() - start > timeout:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return {"skipped": f"stopped after {timeout:.0f} s"}
        time.sleep(0.05)
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        return {"skipped": f"failed: {err.strip().splitlines()[-1] if err.strip() else status}"}
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def run_lme4(script: Path, *args: str, have_r: bool) -> dict:
    """``Rscript script args`` as a worker (:func:`run_child`), or skipped without lme4."""
    if not have_r:
        return {"skipped": "Rscript with lme4 not installed"}
    return run_child(["Rscript", str(script), *args], None)
