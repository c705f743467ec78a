"""Fixtures for the end-to-end tests: they drive the local stack over HTTP, as a client would.

`make e2e` / `make test` start the stack before pytest and stop it after. Run on its own
(`.venv/bin/python -m pytest tests/e2e`), this conftest starts a detached stack when none
answers and stops it at the end; a stack that was already running is left alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "infra" / "local"))

from settings import AWS_ENV, LOGS_DIR, REGION, STACK_FILE, Ports  # noqa: E402

PORTS = Ports.from_env()
# Helpers that read these (tests/e2e/journeys.py) follow the stack wherever its ports are.
os.environ.setdefault("API_URL", PORTS.api_url)
os.environ.setdefault("SANDBOX_URL", PORTS.sandbox_url)
os.environ.setdefault("AWS_ENDPOINT_URL", PORTS.aws_endpoint)


def _healthy() -> bool:
    try:
        return requests.get(f"{PORTS.api_url}/v1/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "exclusive: changes what the whole stack does for everyone (injected faults, rotated "
        "secrets, a queue's settings, edited audit records) or times calls; `make e2e` runs "
        "these alone, after the others have run in parallel (pytest-xdist)",
    )
    config.addinivalue_line(
        "markers",
        "own_stack: exclusive because it starts a second stack of its own (other ports, its own "
        "moto and sandbox), so it changes nothing the other exclusive tests see; `make e2e` runs "
        "these beside them",
    )


@pytest.fixture(scope="session", autouse=True)
def local_stack() -> Iterator[None]:
    """Make sure the stack answers; start (and later stop) one if it does not."""
    if _healthy():
        yield
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Parallel workers would each start a stack on the same ports: they only wait for one
        # (a loaded machine can take a while to answer the first health check).
        deadline = time.monotonic() + 60
        while not _healthy():
            if time.monotonic() > deadline:
                pytest.exit(f"no local stack answers at {PORTS.api_url}: start one (make up), then pytest -n",
                            returncode=1)
            time.sleep(1)
        yield
        return
    devstack = [sys.executable, str(REPO_ROOT / "infra" / "local" / "devstack.py")]
    # Tests simulate many clients with X-Forwarded-For; the gateway honours it only when told.
    env = dict(os.environ, GATEWAY_TRUST_FORWARDED_FOR="1")
    started = subprocess.run([*devstack, "up", "--detach"], cwd=REPO_ROOT, env=env, check=False)
    if started.returncode != 0:
        pytest.exit("the local stack did not start; see .local/logs/", returncode=1)
    try:
        yield
    finally:
        subprocess.run([*devstack, "down"], cwd=REPO_ROOT, env=env, check=False)


@pytest.fixture(scope="session")
def api() -> str:
    """Base URL of the gateway emulator."""
    return PORTS.api_url


@pytest.fixture(scope="session")
def stack(local_stack: None) -> dict[str, Any]:
    """.local/stack.json: the template model the provisioner used (routes, mappings, names)."""
    return json.loads(STACK_FILE.read_text())


@pytest.fixture(scope="session")
def aws() -> Callable[[str], Any]:
    """aws("sqs") -> a boto3 client for moto (dummy credentials, never real AWS)."""
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"})

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=PORTS.aws_endpoint,
            region_name=REGION,
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            config=config,
        )

    return client


class Logs:
    """Reads .local/logs/<name>.log (moto, sandbox, functions, gateway, sqs, provision)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def text(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def json_lines(self, name: str) -> list[dict[str, Any]]:
        """Every line of the log that is a JSON object (other lines are skipped)."""
        records = []
        for line in self.text(name).splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

    def wait_for(self, name: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        """The first JSON line satisfying ``predicate``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.json_lines(name):
                if predicate(record):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching line in {name}.log within {timeout}s")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def logs() -> Logs:
    return Logs(LOGS_DIR)


def assert_error_shape(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The API's error shape: JSON {error, message, request_id}, id equal to the header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["request_id"] == response.headers["apigw-requestid"]
    return body


@pytest.fixture(scope="session", autouse=True)
def iam_enforced(local_stack: None) -> Iterator[None]:
    """After the last test: fail the run if a function's role in template.yaml denied a call.

    moto does not enforce IAM; the AWS fault proxy does (infra/local/iam_enforcer.py), per
    function, and lists denials at GET /_iam. Torn down before `local_stack`, so the stack is up.
    """
    yield
    try:
        report = requests.get(f"{PORTS.functions_aws_endpoint}/_iam", timeout=10).json()
    except (requests.RequestException, ValueError):
        return  # a stack without IAM enforcement (LOCAL_IAM=off): nothing to check
    problems = [f"{d['function']}: {d['action']} on {d['resource']} ({d['detail']})" for d in report.get("denied", [])]
    problems += [f"{u['function']}: {u['action']} on {u['resource']} not evaluable ({u['why']})"
                 for u in report.get("unevaluable", [])]
    if problems:
        pytest.fail("template.yaml's roles would deny these calls in AWS (local IAM enforcement):\n  "
                    + "\n  ".join(problems), pytrace=False)
