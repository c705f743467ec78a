"""Real credentials for schemathesis, so the authenticated routes are tested past the 401.

Each security scheme of docs/openapi.yaml gets a provider that obtains a genuine credential the
way an app does, through the public API and the iProov sandbox's control surface:

- registration credential: start a registration (a fresh username each time);
- login attempt: verify-login for a registered user, with the sandbox told the scan passed;
- login session: a whole registration journey, whose first poll after completion opens a session.

Credentials are cached for a few seconds, so schemathesis also replays used and revoked ones
(after a logout, a DELETE /v1/users, a finished login) — which must answer the documented 401/409.
Every provider call comes from its own documentation-range address (X-Forwarded-For, honoured by
the local gateway in test mode), so the per-IP rate limits do not starve the run.

Loaded by tests/schemathesis/run.sh through SCHEMATHESIS_HOOKS.
"""

from __future__ import annotations

import os
import random
import time
import uuid

import requests
import schemathesis

API = os.environ.get("API_URL", "http://127.0.0.1:3000")
SANDBOX = os.environ.get("SANDBOX_URL", "http://127.0.0.1:4600")
# schemathesis seeds the `random` module (--seed), which would replay the same addresses on every
# run and exhaust their per-IP limits: the addresses come from the OS instead.
_ADDRESSES = random.SystemRandom()
# verify-login is limited per username (RateLimitPerUsername, 10 per 10 minutes): stay below it.
ATTEMPTS_PER_USER = 8


def _headers(credential: str | None = None) -> dict[str, str]:
    headers = {"X-Forwarded-For": f"198.51.100.{_ADDRESSES.randint(1, 254)}"}
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    return headers


def _call(method: str, path: str, credential: str | None = None, **kw) -> requests.Response:
    """One API call; a 429 (this address used up its per-IP budget in an earlier run within
    the limit's window) is repeated from other addresses, as a different app would be."""
    for _ in range(3):
        response = requests.request(method, API + path, headers=_headers(credential), timeout=30, **kw)
        if response.status_code != 429:
            break
    return response


def _scan_passed(iproov_token: str) -> None:
    r = requests.post(f"{SANDBOX}/sandbox/claims/{iproov_token}/scan", json={"outcome": "passed"}, timeout=10)
    r.raise_for_status()


def _expect(response: requests.Response, status: int) -> dict:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.path_url}: {response.status_code}")
    return response.json() if response.content else {}


def start_registration() -> tuple[str, str, str]:
    """A new registration: (username, registration credential, iProov token)."""
    username = f"st-{uuid.uuid4().hex[:12]}"
    consent = {"version": _expect(_call("GET", "/v1/consent"), 200)["version"], "accepted": True}
    body = _expect(
        _call("POST", "/v1/users/registration", json={"username": username, "display_name": "Fuzz", "consent": consent}),
        201,
    )
    return username, body["session_token"], body["iproov"]["token"]


def register() -> tuple[str, str]:
    """A completed registration: (username, its first login session)."""
    username, credential, token = start_registration()
    _scan_passed(token)
    _expect(_call("POST", "/v1/users", credential), 202)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = _expect(_call("GET", "/v1/users/registration", credential), 200)
        if status["status"] == "completed":
            return username, status["login"]["session_token"]
        if status["status"] in ("failed", "expired"):
            raise RuntimeError(f"registration ended {status['status']}")
        time.sleep(0.2)
    raise RuntimeError("registration did not complete in 30 s")


class _Bearer:
    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.auth(refresh_interval=3).apply_to(path="/v1/users/registration", method="GET").apply_to(
    path="/v1/users", method="POST"
)
class RegistrationCredential(_Bearer):
    def get(self, case, context) -> str:
        return start_registration()[1]


@schemathesis.auth(refresh_interval=5).apply_to(path="/v1/login")
class LoginAttempt(_Bearer):
    def __init__(self) -> None:
        self.username: str | None = None
        self.attempts = 0

    def get(self, case, context) -> str:
        if self.username is None or self.attempts >= ATTEMPTS_PER_USER:
            self.username, _ = register()
            self.attempts = 0
        self.attempts += 1
        body = _expect(_call("POST", "/v1/verify-login", json={"username": self.username}), 200)
        _scan_passed(body["iproov"]["token"])
        return body["attempt_token"]


@schemathesis.auth(refresh_interval=5).apply_to(path="/v1/users", method=["GET", "DELETE"]).apply_to(
    path="/v1/logout"
)
class LoginSession(_Bearer):
    def get(self, case, context) -> str:
        return register()[1]
