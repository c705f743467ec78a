"""Stopping finds every process of a session (and marked stragglers), and nothing else."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import processes

# A parent that starts a child in a new process group (as watchexec does for `cargo run`).
SPAWNER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], process_group=0)
print(child.pid, flush=True)
time.sleep(60)
"""


def test_session_members_are_found_and_terminated() -> None:
    parent = subprocess.Popen([sys.executable, "-c", SPAWNER], stdout=subprocess.PIPE, start_new_session=True)
    assert parent.stdout is not None
    grandchild = int(parent.stdout.readline())
    members = processes.session_pids(parent.pid)
    assert {parent.pid, grandchild} <= set(members)
    assert processes.proc_info(grandchild).pgid != processes.proc_info(parent.pid).pgid  # type: ignore[union-attr]
    processes.terminate(members, grace=3)
    parent.wait(timeout=5)
    deadline = time.monotonic() + 5
    while processes.alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes.alive(grandchild)


def test_marker_identifies_our_processes_only() -> None:
    env = dict(os.environ, **{processes.MARKER_VAR: "/tmp/some-repo-under-test"})
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    theirs = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        marked = processes.marked_pids("/tmp/some-repo-under-test")
        assert ours.pid in marked and theirs.pid not in marked
        assert processes.marked_pids("/tmp/other-repo") == []
    finally:
        for process in (ours, theirs):
            process.kill()
            process.wait()


def test_port_owner() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert processes.port_in_use(port)
        assert os.getpid() in processes.port_owners(port)
    assert not processes.port_in_use(port)


def test_alive_checks_start_time() -> None:
    me = processes.proc_info(os.getpid())
    assert me is not None
    assert processes.alive(os.getpid(), me.start_ticks)
    assert not processes.alive(os.getpid(), me.start_ticks + 1)  # a recycled pid is not "ours"
