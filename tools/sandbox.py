"""Run one untrusted command (a student's notebook under the grader) in a confined process.

What the confinement gives, on every POSIX system:

* its own process session; on a time-out the whole process tree is killed (the
  Jupyter kernel too, which Jupyter starts in a session of its own);
* resource limits set with ``setrlimit`` before the command starts and inherited by
  every process it starts: address space (memory), CPU seconds, size of a written
  file, no core dumps;
* a scratch folder as working directory, ``HOME`` and ``TMPDIR``.

On Linux, where unprivileged user namespaces are allowed (``unshare --user``), it also
runs the command in a mount namespace of its own in which the folders given as
``readonly`` (the repository, the user's home) cannot be written and the folders given
as ``hidden`` (the autograder zips and solutions, the instructor masters, the other
submissions, the grades) are replaced by an empty read-only folder. Where that is not
allowed (some distributions forbid it), :func:`isolation` says so and only the limits
above apply. None of this is a container: for untrusted students at scale, use otter's
Docker-based grading or Gradescope (``book/instructors.md``).
"""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GIB = 1024**3


@dataclass
class Limits:
    """Per-submission limits: wall-clock seconds, CPU seconds, memory and file size in bytes."""

    wall_seconds: float = 600.0
    cpu_seconds: int = 900
    memory_bytes: int = 4 * GIB
    file_bytes: int = 1 * GIB


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool


@lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """Whether this machine lets an ordinary process create user and mount namespaces."""
    exe = shutil.which("unshare")
    if exe is None:
        return False
    try:
        probe = subprocess.run(
            [exe, "--user", "--map-root-user", "--mount", "--propagation", "private", "true"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def isolation() -> str:
    """One line saying which confinement :func:`run` applies on this machine."""
    base = "own process tree, time, CPU, memory and file-size limits, scratch folder"
    if namespaces_available():
        return base + "; repository and home read-only, tests, solutions and submissions hidden"
    return base + " (no mount namespace on this machine: files are not protected)"


def _limiter(limits: Limits):
    def apply():
        os.setsid()
        for what, value in (
            (resource.RLIMIT_AS, limits.memory_bytes),
            (resource.RLIMIT_CPU, limits.cpu_seconds),
            (resource.RLIMIT_FSIZE, limits.file_bytes),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(what, (value, value))

    return apply


def _confined(cmd: list[str], readonly: list[Path], hidden: list[Path]) -> list[str]:
    """``cmd`` wrapped so that it starts in a mount namespace with the given folders protected."""
    steps = []
    for folder in readonly:
        q = shlex.quote(str(folder))
        steps.append(f"mount --bind {q} {q} && mount -o remount,bind,ro {q}")
    for folder in hidden:
        q = shlex.quote(str(folder))
        steps.append(f"mount -t tmpfs -o ro,size=4k,mode=0555 none {q}")
    script = " && ".join([*steps, 'exec "$@"'])
    return [
        shutil.which("unshare") or "unshare",
        "--user",
        "--map-root-user",
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        script,
        "sandbox",
        *cmd,
    ]


def _kill_tree(pid: int) -> None:
    import psutil

    try:
        parent = psutil.Process(pid)
        family = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        family = []
    for proc in family:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    psutil.wait_procs(family, timeout=10)


def run(
    cmd: list[str],
    *,
    scratch: Path,
    limits: Limits,
    readonly: list[Path] = (),
    hidden: list[Path] = (),
    env: dict[str, str] | None = None,
) -> Outcome:
    """Run ``cmd`` in ``scratch`` under ``limits``; protect folders where the system allows it."""
    scratch = Path(scratch)
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    full_env = dict(env if env is not None else os.environ)
    full_env.update(
        HOME=str(scratch),
        TMPDIR=str(scratch / "tmp"),
        IPYTHONDIR=str(scratch / ".ipython"),
        MPLCONFIGDIR=str(scratch / ".matplotlib"),
        JUPYTER_RUNTIME_DIR=str(scratch / ".jupyter-runtime"),
    )
    inside = scratch.resolve()

    def usable(folder) -> bool:
        # Never protect a folder that holds the scratch folder itself.
        folder = Path(folder).resolve()
        return folder.is_dir() and not inside.is_relative_to(folder)

    readonly = [Path(p).resolve() for p in readonly if usable(p)]
    hidden = [Path(p).resolve() for p in hidden if usable(p)]
    if namespaces_available() and (readonly or hidden):
        cmd = _confined(cmd, readonly, hidden)
    proc = subprocess.Popen(
        cmd,
        cwd=scratch,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limiter(limits),
    )
    try:
        out, err = proc.communicate(timeout=limits.wall_seconds)
        return Outcome(proc.returncode, out, err, timed_out=False)
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        out, err = proc.communicate()
        return Outcome(None, out, err, timed_out=True)
