"""Function instances of the local stack: killing one with SIGKILL and starting a replacement
(the soak's process faults, tests/soak/faults.py), and replacing every instance of a function
with one whose environment differs (what a redeploy with another parameter does: the signing-key
rotation drill, tests/e2e/test_oidc_key_rotation.py).

How the local stack runs functions (infra/local/README.md): ``cargo lambda watch`` starts up to
LOCAL_FUNCTION_CONCURRENCY instances per function, each ``function_runner.py`` exec'd into the
function's binary (``<target>/debug/<binary>``), each carrying the stack's marker
``ONBOARDING_DEVSTACK=<LOCAL_DIR>`` and its own ``AWS_LAMBDA_RUNTIME_API`` (``…/.rt/<binary>``).
Exactly one function's process is found by both: the marker of *this* stack (never another
checkout's) and ``/proc/<pid>/exe`` naming that binary.

Measured with cargo-lambda 1.9.x: after a ``kill -9`` it logs ``command killed code=ForceStop``,
does **not** start a new instance on the next invoke, and the invocation the dead instance held
is never answered (the SQS emulator gives up after the function's timeout plus its grace; the
batch comes back after the visibility timeout). With every instance killed, the function stays
down. So the soak restarts the instance itself, the way Lambda replaces a crashed execution
environment: the same binary with the dead process's environment (a new instance id), in its
own session, writing to .local/logs/functions.log. It polls the same runtime API, so
cargo-lambda hands it the next invocations; it carries the marker, so ``devstack down`` stops it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import processes
from settings import LOCAL_DIR, LOGS_DIR

MARKER = str(LOCAL_DIR.resolve())


@dataclass
class Killed:
    binary: str
    pid: int
    exe: str
    environ: dict[str, str]


def instances(binary: str) -> list[int]:
    """Pids of this stack's running instances of `binary`."""
    found = []
    for pid in processes.marked_pids(MARKER):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if Path(exe).name == binary:
            found.append(pid)
    return sorted(found)


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def kill_one(binary: str, choose) -> Killed | None:
    """SIGKILL one instance (`choose` picks from the pids); None when none runs."""
    pids = instances(binary)
    return _kill(binary, choose(pids)) if pids else None


def _kill(binary: str, pid: int) -> Killed | None:
    """SIGKILL `pid`, an instance of `binary`; None when it has already ended."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        environ = _environ(pid)
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, FileNotFoundError):
        return None
    return Killed(binary, pid, exe, environ)


def restart(killed: Killed, **changes: str) -> int:
    """A replacement instance of the killed binary, its environment with `changes`; its pid."""
    env = dict(killed.environ, **changes, AWS_LAMBDA_INSTANCE_ID=str(uuid.uuid4()))
    with open(LOGS_DIR / "functions.log", "ab") as log:
        child = subprocess.Popen(  # noqa: S603 - our own binary, no shell
            [killed.exe], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return child.pid


def redeploy(binary: str, **changes: str) -> dict[str, str]:
    """Every running instance of `binary` replaced by one whose environment has `changes`, as
    Lambda replaces a function's execution environments after a deploy; the environment the old
    instances had (to deploy it back). Raises when no instance runs: call the function first."""
    pids = instances(binary)
    if not pids:
        raise RuntimeError(f"no instance of {binary} runs: invoke it once first")
    killed = [k for pid in pids if (k := _kill(binary, pid)) is not None]
    if not killed:
        raise RuntimeError(f"the instances of {binary} ended before they could be replaced")
    restart(killed[0], **changes)
    return {name: killed[0].environ[name] for name in changes if name in killed[0].environ}
