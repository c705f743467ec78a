"""`UnknownUsernameResponse=uniform`: verify-login cannot be used to learn who has an account.

This mode is a deployment parameter, read by the token issuer at start, so it runs on a second
local stack of its own (other ports, its own state directory) started with that parameter
override — the same binaries, moto and sandbox as the main stack, only configured differently.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from journeys import Client, another_stack, within_one_rate_window

# Exclusive (tests/e2e/conftest.py): it starts a second stack, whose functions' first starts (a `cargo run` each) queue on cargo's locks with everyone else's and slowed other tests' first calls past their timeouts. Its stack is its own (own_stack), so it runs beside the other exclusive tests. One test also compares timings, which other tests' load would blur.
pytestmark = [pytest.mark.exclusive, pytest.mark.own_stack]

PORTS = {"API_PORT": "3100", "AWS_PORT": "4666", "FAULT_PORT": "4667", "SANDBOX_PORT": "4700", "LAMBDA_PORT": "9100",
         "WEBHOOK_PORT": "4750"}
API = f"http://127.0.0.1:{PORTS['API_PORT']}"
SANDBOX = f"http://127.0.0.1:{PORTS['SANDBOX_PORT']}"



@pytest.fixture(scope="module")
def uniform_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with another_stack(tmp_path_factory.mktemp("uniform-stack"), PORTS, "UnknownUsernameResponse=uniform",
                       GATEWAY_TRUST_FORWARDED_FOR="1"):
        yield


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
    # AND the decoy attempt can never log in (it fails as a verification, see below)
    login = guesser.login()
    assert login.status_code == 401, login.text


def test_the_per_username_limit_applies_to_unknown_usernames_too(uniform_stack: None):
    nobody = f"nobody-{uuid.uuid4().hex[:10]}"
    # GIVEN twelve guesses at one unknown username, inside one rate-limit window
    within_one_rate_window()
    answers = [device(f"192.0.2.{30 + i}").verify_login(nobody).status_code for i in range(12)]
    # THEN guessing is slowed exactly as for a real account (10 per 10 minutes by default)
    assert answers[:10] == [200] * 10 and answers[10:] == [429, 429], answers


def test_a_decoy_attempt_fails_at_login_exactly_like_a_real_one_never_scanned(uniform_stack: None):
    known = f"known-{uuid.uuid4().hex[:10]}"
    assert device("192.0.2.60").register(known, "Known Person")["status"] == "completed"
    # GIVEN a real login attempt whose scan never reached iProov, and a decoy attempt
    real = device("192.0.2.61")
    assert real.verify_login(known).status_code == 200
    guesser = device("192.0.2.62")
    assert guesser.verify_login(f"nobody-{uuid.uuid4().hex[:10]}").status_code == 200
    # WHEN both try to log in
    real_answer, decoy_answer = real.login(), guesser.login()
    # THEN both are the same failed verification: status, code, reason, hint and fields
    assert real_answer.status_code == decoy_answer.status_code == 401, (real_answer.text, decoy_answer.text)
    r, d = real_answer.json(), decoy_answer.json()
    assert set(r) == set(d)
    assert (r["error"], r.get("reason"), r.get("hint")) == (d["error"], d.get("reason"), d.get("hint"))
    assert d["error"] == "verification_failed"
    # AND a second try is refused the same way for both (the attempts are used up)
    assert real.login().json()["error"] == guesser.login().json()["error"] == "attempt_used"


def test_a_decoy_takes_as_long_as_a_real_verify_token_call(uniform_stack: None):
    known = f"known-{uuid.uuid4().hex[:10]}"
    assert device("192.0.2.70").register(known, "Known Person")["status"] == "completed"
    # GIVEN iProov answering every call after 400 ms, and as many real verify-logins as the token
    #       issuer remembers (16, core/src/latency_mirror.rs), from as many networks (so the
    #       per-network username limit does not interfere)
    assert requests.put(f"{SANDBOX}/sandbox/latency", json={"ms": 400}, timeout=10).status_code == 200
    try:
        for i in range(16):
            assert device(f"198.18.{i}.1").verify_login(known).status_code == 200
        # WHEN an unknown username is asked for
        started = time.monotonic()
        decoy = device("192.0.2.79").verify_login(f"nobody-{uuid.uuid4().hex[:10]}")
        took = time.monotonic() - started
    finally:
        requests.put(f"{SANDBOX}/sandbox/latency", json={"ms": 0}, timeout=10)
    # THEN it answers 200 no sooner than a real call could have (no iProov call was made)
    assert decoy.status_code == 200
    assert took >= 0.4, f"decoy answered in {took:.3f}s, a real call needs at least 0.4s"
