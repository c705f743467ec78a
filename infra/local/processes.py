"""Find and stop the local stack's processes without touching anyone else's (Linux /proc).

``make dev`` must survive being run twice, or after a crash that left processes behind, and
must leave no orphans or busy ports when it stops. Killing by name (pkill) could hit another
project's moto; instead every process the stack starts carries an environment marker naming
its state directory (.local of this checkout, or LOCAL_DIR), which its descendants (cargo run,
the function binaries) inherit. Stopping
means: each recorded session, then anything still carrying the marker.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MARKER_VAR = "ONBOARDING_DEVSTACK"

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    pgid: int
    sid: int
    start_ticks: int


def proc_info(pid: int) -> ProcInfo | None:
    """Parsed /proc/<pid>/stat, or None when the process is gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    if fields[0] == "Z":  # zombie: already dead, only waiting to be reaped
        return None
    return ProcInfo(pid=pid, ppid=int(fields[1]), pgid=int(fields[2]), sid=int(fields[3]), start_ticks=int(fields[19]))


def all_pids() -> list[int]:
    return [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]


def cmdline(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def has_marker(pid: int, marker: str) -> bool:
    try:
        environ = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False
    return f"{MARKER_VAR}={marker}".encode() in environ.split(b"\0")


def marked_pids(marker: str) -> list[int]:
    me = os.getpid()
    return [pid for pid in all_pids() if pid != me and has_marker(pid, marker)]


def session_pids(sid: int) -> list[int]:
    out = []
    for pid in all_pids():
        info = proc_info(pid)
        if info and info.sid == sid:
            out.append(pid)
    return out


def alive(pid: int, start_ticks: int | None = None) -> bool:
    info = proc_info(pid)
    return info is not None and (start_ticks is None or info.start_ticks == start_ticks)


def terminate(pids: Iterable[int], grace: float = 5.0) -> list[int]:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL what is left; returns killed pids."""
    targets = {pid: proc_info(pid) for pid in pids}
    targets = {pid: info for pid, info in targets.items() if info is not None and pid != os.getpid()}
    for pid in targets:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(alive(pid, info.start_ticks) for pid, info in targets.items()):
            break
        time.sleep(0.1)
    for pid, info in targets.items():
        if alive(pid, info.start_ticks):
            _signal(pid, signal.SIGKILL)
    return list(targets)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _listen_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(inode)
    return inodes


def port_owners(port: int) -> list[int]:
    """Pids with a listening socket on ``port`` (any local address)."""
    inodes = _listen_inodes(port)
    if not inodes:
        return []
    owners = []
    for pid in all_pids():
        fd_dir = _PROC / str(pid) / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(fd_dir / fd)
            except OSError:  # closed meanwhile
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                owners.append(pid)
                break
    return owners


def port_in_use(port: int) -> bool:
    return bool(_listen_inodes(port))
