"""Helpers that drive the public API and the iProov sandbox the way an app and a person would.

Every helper talks HTTP to the running local stack; nothing here reaches into the code under test.
Each test client gets its own documentation-range source address (RFC 5737) through
X-Forwarded-For, which the local gateway honours in test mode, so per-IP rate limits of one test
never leak into another.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests

API = os.environ.get("API_URL", "http://127.0.0.1:3000")
SANDBOX = os.environ.get("SANDBOX_URL", "http://127.0.0.1:4600")
MOTO = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
# The fault-injecting proxy the functions reach moto through (infra/local/aws_faults.py).
AWS_FAULTS = os.environ.get("AWS_FAULTS_URL", "http://127.0.0.1:4567")
ROOT = Path(__file__).resolve().parents[2]


def stack() -> dict:
    """The local stack's resource names, as the provisioner wrote them."""
    return json.loads((ROOT / ".local" / "stack.json").read_text())


def aws(service: str):
    return boto3.client(
        service,
        endpoint_url=MOTO,
        region_name=os.environ.get("AWS_REGION", "eu-west-1"),
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def unique_username(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def random_ip() -> str:
    return f"{random.choice(['198.51.100', '203.0.113'])}.{random.randint(1, 254)}"


def token_fingerprint(token: str) -> str:
    """How the sandbox names a token in its stats (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


# Consent (docs/consent.md) ---------------------------------------------------------------------
_CONSENT_VERSIONS: dict[str, str] = {}


def current_consent(api: str = API) -> dict:
    """The answer that accepts the stack's current consent version, as the demo page sends it
    after the person ticks the box (the version is read once per stack from GET /v1/consent)."""
    if api not in _CONSENT_VERSIONS:
        r = requests.get(api + "/v1/consent", timeout=10)
        assert r.status_code == 200, r.text
        _CONSENT_VERSIONS[api] = r.json()["version"]
    return {"version": _CONSENT_VERSIONS[api], "accepted": True}


# What `start_registration` sends unless told otherwise: the current version, accepted.
ACCEPT_CURRENT = "accept-current"


@dataclass
class Client:
    """One app installation: its own source IP and the credentials the API gave it, talking to
    one stack (the main local stack unless told otherwise)."""

    ip: str = field(default_factory=random_ip)
    api: str = API
    sandbox: str = SANDBOX
    registration: str | None = None
    session: str | None = None
    attempt: str | None = None

    def call(self, method: str, path: str, *, credential: str | None = None, **kw) -> requests.Response:
        headers = {"X-Forwarded-For": self.ip, **kw.pop("headers", {})}
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        return requests.request(method, self.api + path, headers=headers, timeout=30, **kw)

    # Registration journey -------------------------------------------------------------------
    def start_registration(
        self, username: str, display_name: str = "Test Person", consent: dict | str | None = ACCEPT_CURRENT, **kw
    ) -> requests.Response:
        """Starts (or retries) a registration; `consent` is the answer sent (`None`: none at all)."""
        body: dict = {"username": username, "display_name": display_name}
        if consent == ACCEPT_CURRENT:
            body["consent"] = current_consent(self.api)
        elif consent is not None:
            body["consent"] = consent
        r = self.call("POST", "/v1/users/registration", credential=self.registration, json=body, **kw)
        if r.status_code == 201:
            self.registration = r.json()["session_token"]
        return r

    def registration_status(self) -> requests.Response:
        return self.call("GET", "/v1/users/registration", credential=self.registration)

    def submit_scan(self) -> requests.Response:
        return self.call("POST", "/v1/users", credential=self.registration)

    def wait_for_registration(self, *states: str, timeout: float = 45) -> dict:
        """Polls like the app does until the registration reaches one of `states`."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = self.registration_status()
            assert r.status_code == 200, r.text
            last = r.json()
            if last["status"] in states:
                if "login" in last:
                    self.session = last["login"]["session_token"]
                return last
            time.sleep(0.3)
        raise AssertionError(f"registration stayed {last} (wanted {states})")

    def register(self, username: str, display_name: str = "Test Person") -> dict:
        """The whole happy path: start, scan passed, submit, wait for completion."""
        r = self.start_registration(username, display_name)
        assert r.status_code == 201, r.text
        scan(r.json()["iproov"]["token"], "passed", sandbox=self.sandbox)
        s = self.submit_scan()
        assert s.status_code == 202, s.text
        return self.wait_for_registration("completed", "failed")

    # Login journey ------------------------------------------------------------------------------
    def verify_login(self, username: str) -> requests.Response:
        r = self.call("POST", "/v1/verify-login", json={"username": username})
        if r.status_code == 200:
            self.attempt = r.json()["attempt_token"]
        return r

    def login(self) -> requests.Response:
        r = self.call("POST", "/v1/login", credential=self.attempt)
        if r.status_code == 200:
            self.session = r.json()["session_token"]
        return r

    def me(self) -> requests.Response:
        return self.call("GET", "/v1/users", credential=self.session)

    def logout(self) -> requests.Response:
        return self.call("POST", "/v1/logout", credential=self.session)

    # Step-up ------------------------------------------------------------------------------------
    def start_step_up(self) -> requests.Response:
        return self.call("POST", "/v1/step-up", credential=self.session)

    def complete_step_up(self, attempt_token: str) -> requests.Response:
        return self.call(
            "POST", "/v1/step-up/complete", credential=self.session, json={"attempt_token": attempt_token}
        )

    def step_up(self, outcome: str = "passed", reason: str | None = None) -> requests.Response:
        """The whole step-up: a token for this session's user, the scan, the completion."""
        started = self.start_step_up()
        assert started.status_code == 200, started.text
        scan(started.json()["iproov"]["token"], outcome, reason, sandbox=self.sandbox)
        return self.complete_step_up(started.json()["attempt_token"])

    def erase(self, step_up: bool = True) -> requests.Response:
        """Erasure as the demo page does it: a passed step-up first (unless told not to)."""
        if step_up:
            elevated = self.step_up()
            assert elevated.status_code == 200, elevated.text
        return self.call("DELETE", "/v1/users", credential=self.session)


def registered(username: str | None = None) -> tuple[Client, str]:
    """A completed registration: the client that made it, and its username."""
    client, username = Client(), username or unique_username()
    assert client.register(username)["status"] == "completed"
    return client, username


def scanned_login_attempt(username: str) -> tuple[Client, str]:
    """A device with a login attempt for `username` whose scan passed: (device, iProov token)."""
    device = Client()
    token = device.verify_login(username).json()["iproov"]["token"]
    scan(token, "passed")
    return device, token


# iProov sandbox control surface -------------------------------------------------------------------
def scan(token: str, outcome: str, reason: str | None = None, sandbox: str = SANDBOX) -> None:
    body = {"outcome": outcome}
    if reason:
        body["reason"] = reason
    r = requests.post(f"{sandbox}/sandbox/claims/{token}/scan", json=body, timeout=10)
    assert r.status_code == 200, r.text


def sandbox_stats() -> dict:
    return requests.get(f"{SANDBOX}/sandbox/stats", timeout=10).json()


def validations_of(token: str) -> int:
    return sandbox_stats().get("validations", {}).get(token_fingerprint(token), 0)


def inject_fault(path: str, status: int | None, count: int, error: str | None = None, delay_ms: int = 0) -> None:
    """The next `count` iProov calls on `path` fail with `status`, after `delay_ms`; with no
    status they are only delayed, then answered normally (a slow iProov)."""
    body = {"path": path, "count": count, "delay_ms": delay_ms}
    if status is not None:
        body["status"] = status
    if error:
        body["error"] = error
    r = requests.post(f"{SANDBOX}/sandbox/faults", json=body, timeout=10)
    assert r.status_code in (200, 201, 204), r.text


def clear_faults() -> None:
    requests.delete(f"{SANDBOX}/sandbox/faults", timeout=10)


# AWS fault proxy (between the functions and moto) ---------------------------------------------------
def inject_aws_fault(service: str, operation: str | None = None, **rule) -> None:
    """Makes matching AWS calls of the functions fail (see infra/local/aws_faults.py)."""
    body = {"service": service, **rule}
    if operation:
        body["operation"] = operation
    r = requests.post(f"{AWS_FAULTS}/_faults", json=body, timeout=10)
    assert r.status_code == 201, r.text


def aws_faults_fired() -> int:
    """How many calls the registered AWS fault rules have failed so far."""
    rules = requests.get(f"{AWS_FAULTS}/_faults", timeout=10).json()["rules"]
    return sum(rule["fired"] for rule in rules)


def clear_aws_faults() -> None:
    requests.delete(f"{AWS_FAULTS}/_faults", timeout=10)


def within_one_rate_window(seconds_needed: float = 40, window_seconds: int = 600) -> None:
    """Wait for a fresh rate-limit window if the current one ends within `seconds_needed`.

    The limiter counts in fixed windows aligned on the epoch (core/src/domain/rate_limits.rs), so
    a test that counts answers up to a limit fails by chance when its calls straddle a window's
    end: the count restarts and the expected 429 never comes. Tests that count call this first.
    """
    left = window_seconds - time.time() % window_seconds
    if left < seconds_needed:
        time.sleep(left + 0.5)


def wait_for(what: str, probe, timeout: float = 30, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# Direct looks at the AWS emulator, to check what was (not) stored ------------------------------
def table(kind: str) -> str:
    """Local physical name of a table by logical id (e.g. 'UsersTable')."""
    return _resource(kind)


def _resource(logical_id: str) -> str:
    s = stack()
    for section in ("tables", "queues", "buckets", "secrets", "resources"):
        entry = s.get(section, {})
        if isinstance(entry, dict) and logical_id in entry:
            value = entry[logical_id]
            if isinstance(value, dict):
                return value.get("name") or value.get("url") or value.get("physical_id")
            return value
    raise KeyError(f"{logical_id} not in .local/stack.json")


def resource(logical_id: str) -> str:
    return _resource(logical_id)


def session_key(credential: str) -> dict:
    """The SessionsTable key of the session a `<id>.<secret>` credential names."""
    return {"pk": {"S": credential.split(".")[0]}}


def set_last_seen(credential: str, at: int) -> None:
    """Moves the session's last recorded activity to `at` (epoch seconds), as if unused since."""
    aws("dynamodb").update_item(
        TableName=resource("SessionsTable"), Key=session_key(credential),
        UpdateExpression="SET last_seen = :at", ExpressionAttributeValues={":at": {"N": str(at)}},
    )


def last_seen(credential: str) -> int:
    """The session's last recorded activity (epoch seconds), read consistently."""
    item = aws("dynamodb").get_item(TableName=resource("SessionsTable"), Key=session_key(credential),
                                    ConsistentRead=True)["Item"]
    return int(item["last_seen"]["N"])


def items(table_logical_id: str) -> list[dict]:
    ddb = aws("dynamodb")
    out, start = [], None
    while True:
        kw = {"TableName": table(table_logical_id)}
        if start:
            kw["ExclusiveStartKey"] = start
        page = ddb.scan(**kw)
        out.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return out


def assert_no_biometric_data(user_id: str, iproov_user_id: str) -> None:
    """Neither a face image (any version, any delete marker) under the user's prefix nor an
    enrolment at iProov is left for this user."""
    listing = aws("s3").list_object_versions(Bucket=resource("ImagesBucket"), Prefix=f"faces/{user_id}/")
    assert not listing.get("Versions") and not listing.get("DeleteMarkers"), listing
    r = requests.get(f"{SANDBOX}/sandbox/users/{iproov_user_id}", timeout=10)
    assert r.status_code == 404, r.text


def audit_records() -> list[dict]:
    """The audit trail's records (AuditTable), in sequence order, each with its event decoded."""
    out = []
    for item in items("AuditTable"):
        if item["pk"]["S"].startswith("record#"):
            out.append({"item": item, "seq": int(item["seq"]["N"]), "event": json.loads(item["event"]["S"])})
    return sorted(out, key=lambda r: r["seq"])


def registration_item(registration_id: str) -> dict | None:
    return aws("dynamodb").get_item(
        TableName=table("RegistrationsTable"), Key={"pk": {"S": registration_id}}, ConsistentRead=True
    ).get("Item")


@contextlib.contextmanager
def another_stack(local_dir: Path, ports: dict[str, str], overrides: str, **env: str) -> Iterator[Path]:
    """A local stack of its own beside the suite's (other `ports`, its own `local_dir`), started
    with the template parameter `overrides`: for deployment settings the main stack does not
    use. The same binaries, moto and sandbox; always stopped. Yields its state directory."""
    full_env = {
        **os.environ, **ports, **env,
        "LOCAL_DIR": str(local_dir),
        "LOCAL_PARAMETER_OVERRIDES": overrides,
        "LOCAL_FUNCTION_CONCURRENCY": "1",
    }

    def devstack(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "infra" / "local" / "devstack.py"), command,
             *(["--detach"] if command == "up" else [])],
            env=full_env, cwd=ROOT, capture_output=True, text=True, timeout=900,
        )

    started = devstack("up")
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield local_dir
    finally:
        devstack("down")
