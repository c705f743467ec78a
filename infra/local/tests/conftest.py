"""Shared fixtures for the local tooling's unit tests (run by `make py-unit` / `make test`).

The modules under test live one directory up and import each other by plain name (they are
run as scripts), so that directory goes on sys.path here.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from settings import Ports  # noqa: E402

FIXTURE_TEMPLATE = HERE / "fixtures" / "template.yaml"


@pytest.fixture(scope="session")
def fixture_template() -> Path:
    return FIXTURE_TEMPLATE


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An in-process moto server on a free port (no conflict with a running local stack)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def moto_ports(moto_endpoint: str) -> Ports:
    """Ports whose AWS endpoint is the in-process moto; moto's state is reset for each test."""
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    port = int(moto_endpoint.rsplit(":", 1)[1])
    return Ports(api=3000, aws=port, sandbox=4600, lambda_=9000)


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, so boto3 never looks for real ones."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("LOCAL_VISIBILITY_TIMEOUT", raising=False)


def serve_in_thread(server: object) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)  # type: ignore[attr-defined]
    thread.start()
    return thread
