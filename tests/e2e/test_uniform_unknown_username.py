"""`UnknownUsernameResponse=uniform`: verify-login cannot be used to learn who has an account.

This mode is a deployment parameter, read by the token issuer at start, so it runs on a second
local stack of its own (other ports, its own state directory) started with that parameter
override — the same binaries, moto and sandbox as the main stack, only configured differently.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from journeys import Client

ROOT = Path(__file__).resolve().parents[2]
PORTS = {"API_PORT": "3100", "AWS_PORT": "4666", "FAULT_PORT": "4667", "SANDBOX_PORT": "4700", "LAMBDA_PORT": "9100"}
API = f"http://127.0.0.1:{PORTS['API_PORT']}"
SANDBOX = f"http://127.0.0.1:{PORTS['SANDBOX_PORT']}"


def devstack(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "infra" / "local" / "devstack.py"), command, *(["--detach"] if command == "up" else [])],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=900,
    )


@pytest.fixture(scope="module")
def uniform_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    env = {
        **os.environ,
        **PORTS,
        "LOCAL_DIR": str(tmp_path_factory.mktemp("uniform-stack")),
        "LOCAL_PARAMETER_OVERRIDES": "UnknownUsernameResponse=uniform",
        "LOCAL_FUNCTION_CONCURRENCY": "1",
        "GATEWAY_TRUST_FORWARDED_FOR": "1",
    }
    started = devstack("up", env)
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield
    finally:
        devstack("down", env)


def device(ip: str) -> Client:
    """An app talking to the uniform-mode stack."""
    return Client(ip=ip, api=API, sandbox=SANDBOX)


def iproov_calls() -> int:
    stats = requests.get(f"{SANDBOX}/sandbox/stats", timeout=10).json()
    return sum(count for route, count in stats["calls"].items() if "verify/token" in route)


def test_unknown_and_known_usernames_get_the_same_answer(uniform_stack: None):
    known = f"known-{uuid.uuid4().hex[:10]}"
    assert device("192.0.2.10").register(known, "Known Person")["status"] == "completed"
    # WHEN verify-login is asked about a registered and an unregistered username
    before = iproov_calls()
    real = device("192.0.2.20").verify_login(known)
    guesser = device("192.0.2.21")
    decoy = guesser.verify_login(f"nobody-{uuid.uuid4().hex[:10]}")
    # THEN both answer 200 with the same fields, cookie and value shapes
    assert real.status_code == decoy.status_code == 200, (real.text, decoy.text)
    r, d = real.json(), decoy.json()
    assert set(r) == set(d) and set(r["iproov"]) == set(d["iproov"])
    assert len(d["attempt_token"]) == len(r["attempt_token"])
    assert len(d["iproov"]["token"]) == len(r["iproov"]["token"])
    assert ("set-cookie" in real.headers) == ("set-cookie" in decoy.headers)
    # AND only the real one cost an iProov call
    assert iproov_calls() == before + 1
    # AND the decoy attempt can never log in: it answers like any unknown credential
    login = guesser.login()
    assert login.status_code == 401, login.text


def test_the_per_username_limit_applies_to_unknown_usernames_too(uniform_stack: None):
    nobody = f"nobody-{uuid.uuid4().hex[:10]}"
    answers = [device(f"192.0.2.{30 + i}").verify_login(nobody).status_code for i in range(12)]
    # THEN guessing is slowed exactly as for a real account (10 per 10 minutes by default)
    assert answers[:10] == [200] * 10 and answers[10:] == [429, 429], answers
