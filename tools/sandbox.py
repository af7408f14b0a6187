"""Run one untrusted command (a student's notebook under the grader) in a sealed sandbox.

The sandbox is an allowlist, built with bubblewrap (``bwrap``, the unprivileged sandbox
Flatpak uses): the command starts in new user, mount, PID, IPC, UTS and network
namespaces, with no capabilities, and sees only

* the system's programs and libraries (``/usr`` and the ``/bin``, ``/lib*`` links or
  folders), a few files of ``/etc`` the dynamic loader and Python read, a fresh
  ``/proc`` and ``/dev``;
* the folders given as ``visible`` (the Python environment, the interpreter it points
  to, the installed package and its data), read-only;
* its scratch folder, the only place it can write (working directory, ``HOME`` and
  ``TMPDIR``); ``/tmp`` is an empty read-only folder of its own.

Everything else — the rest of the home folder, the repository with its masters,
``_build``, tests and the other submissions, sibling folders, other users' files under
``/tmp`` — is not there at all, and there is no network: a network namespace of its
own holds only a loopback interface that nothing outside it can reach.

Also, on every system: its own process session, killed as a whole tree on a time-out;
resource limits set with ``setrlimit`` before the command starts and inherited by every
process it starts (address space, CPU seconds, size of a written file, no core dumps).

Where bubblewrap is missing or the kernel refuses unprivileged namespaces (Ubuntu 24.04
by default, some hardened kernels), :func:`unavailable` says why, and the grader refuses
to run unconfined unless asked to (``book/instructors.md``). For students at scale, use
otter's container grading (``otter grade``, Docker) or Gradescope.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GIB = 1024**3

# What the dynamic loader, Python and the Jupyter kernel read from /etc; nothing else of
# it (no certificates, no credentials, no configuration of other programs).
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
)
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What a command that started inside the sandbox writes first to standard error
# (tools/grade_worker.py does); before it, standard error holds only bwrap's own words.
STARTED = "sandbox: started"


@dataclass
class Limits:
    """Per-submission limits: wall-clock seconds, CPU seconds, memory and file size in bytes."""

    wall_seconds: float = 120.0
    cpu_seconds: int = 180
    memory_bytes: int = 4 * GIB
    file_bytes: int = 1 * GIB


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool


class SandboxError(RuntimeError):
    """The sandbox could not be set up; the message names the folder and the error."""


def _base(bwrap: str) -> list[str]:
    """bwrap with new namespaces, no capabilities and the system's programs, read-only."""
    args = [
        bwrap,
        "--unshare-all",  # user, mount, PID, IPC, UTS, cgroup and network namespaces
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for top in SYSTEM_LINKS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return [*args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why this machine cannot seal a submission, or None where it can."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed (Debian and Ubuntu: apt-get install bubblewrap)"
    try:
        probe = subprocess.run(
            [*_base(exe), "--remount-ro", "/", "true"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap could not be run: {err}"
    if probe.returncode != 0:
        why = probe.stderr.strip().splitlines()[-1:] or [f"exit code {probe.returncode}"]
        return f"the kernel refuses the namespaces bwrap needs ({why[0]})"
    return None


def available() -> bool:
    """Whether :func:`run` seals the command (bubblewrap works on this machine)."""
    return unavailable() is None


def isolation() -> str:
    """One line saying which confinement :func:`run` applies on this machine."""
    base = "own process tree, time, CPU, memory and file-size limits"
    if available():
        return (
            base + "; sealed by bubblewrap: no network, only the Python environment visible "
            "(read-only) and the submission's scratch folder writable"
        )
    return base + f" only: NOT SEALED, {unavailable()}"


def command(cmd: list[str], scratch: Path, visible: list[Path]) -> list[str]:
    """``cmd`` wrapped in bwrap: ``visible`` read-only, ``scratch`` writable, nothing else."""
    exe = shutil.which("bwrap") or "bwrap"
    args = _base(exe)
    for folder in visible:
        args += ["--ro-bind", str(folder), str(folder)]
    args += ["--bind", str(scratch), str(scratch), "--remount-ro", "/tmp", "--remount-ro", "/"]
    return [*args, "--chdir", str(scratch), "--", *cmd]


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


def setup_failure(outcome: Outcome) -> str | None:
    """bwrap's own error when the sandbox was not set up (the command never started)."""
    if outcome.timed_out or outcome.returncode == 0 or STARTED in outcome.stderr:
        return None
    lines = [ln for ln in outcome.stderr.splitlines() if ln.startswith("bwrap:")]
    return lines[0] if lines else None


def run(
    cmd: list[str],
    *,
    scratch: Path,
    limits: Limits,
    visible: list[Path] = (),
    env: dict[str, str] | None = None,
    sealed: bool = True,
) -> Outcome:
    """Run ``cmd`` in ``scratch`` under ``limits``, sealed in bubblewrap unless ``sealed`` is
    False; raise :class:`SandboxError` if the sandbox cannot be set up."""
    scratch = Path(scratch).resolve()
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    full_env = dict(env if env is not None else os.environ)
    full_env.update(
        HOME=str(scratch),
        TMPDIR=str(scratch / "tmp"),
        IPYTHONDIR=str(scratch / ".ipython"),
        MPLCONFIGDIR=str(scratch / ".matplotlib"),
        JUPYTER_RUNTIME_DIR=str(scratch / ".jupyter-runtime"),
    )
    if sealed:
        if not available():
            raise SandboxError(f"cannot seal the submission: {unavailable()}")
        cmd = command(cmd, scratch, [Path(p) for p in visible])
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
        outcome = Outcome(proc.returncode, out, err, timed_out=False)
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        out, err = proc.communicate()
        outcome = Outcome(None, out, err, timed_out=True)
    failure = setup_failure(outcome) if sealed else None
    if failure:
        raise SandboxError(f"the grading sandbox could not be set up: {failure}")
    return outcome
