"""`make dev` reloads functions on a code change; detached stacks (`make up`, `make e2e`, CI)
never do, so a test run exercises the code it started with."""

from __future__ import annotations

import argparse

import devstack
from settings import Ports


def args(detach: bool, reload: bool | None = None) -> argparse.Namespace:
    return argparse.Namespace(detach=detach, reload=reload, concurrency=4)


def test_the_foreground_stack_reloads_and_a_detached_one_does_not() -> None:
    # given the two ways the stack runs, then only the foreground one watches for changes
    ports = Ports.from_env()
    assert "--ignore-changes" not in devstack.watch_command("cargo-lambda", ports, args(detach=False))
    assert "--ignore-changes" in devstack.watch_command("cargo-lambda", ports, args(detach=True))


def test_an_explicit_choice_wins() -> None:
    # given --reload with --detach, or --no-reload in the foreground, then the choice holds
    ports = Ports.from_env()
    assert "--ignore-changes" not in devstack.watch_command("cl", ports, args(detach=True, reload=True))
    assert "--ignore-changes" in devstack.watch_command("cl", ports, args(detach=False, reload=False))


def test_local_reload_sets_the_default(monkeypatch) -> None:
    # given LOCAL_RELOAD=1, when the command line is parsed for a detached stack, then it reloads
    monkeypatch.setenv("LOCAL_RELOAD", "1")
    captured = {}
    monkeypatch.setattr(devstack, "cmd_up", lambda a: captured.setdefault("args", a) and 0)
    devstack.main(["up", "--detach"])
    assert devstack.reloads(captured["args"])
