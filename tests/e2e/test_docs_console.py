"""/docs on the running stack: the interactive console (Swagger UI, pinned), under its own CSP,
loading exactly the files its page pins by their sha384 (the browser test opens it and tries an
operation)."""

from __future__ import annotations

import re
import sys

import requests
import yaml

from conftest import PORTS, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "infra" / "local"))
import docs_console  # noqa: E402
from iproov_settings import sri  # noqa: E402

API = PORTS.api_url


def test_docs_is_the_console_under_its_own_policy() -> None:
    page = requests.get(f"{API}/docs", timeout=10)
    assert page.status_code == 200
    assert "<title>API console" in page.text, (
        "/docs is not the console: install it with `make console` (make dev/up/e2e do) and restart the stack"
    )
    assert page.headers["content-security-policy"] == docs_console.DOCS_CSP
    assert page.headers["content-security-policy"] != requests.get(f"{API}/", timeout=10).headers["content-security-policy"]


def test_every_file_the_console_pins_is_served_with_that_hash() -> None:
    page = requests.get(f"{API}/docs", timeout=10).text
    pinned = re.findall(r'(?:src|href)="(/docs/[^"]+)"\s+(?:defer\s+)?integrity="(sha384-[^"]+)"', page)
    assert {path for path, _ in pinned} == {"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"}
    for path, integrity in pinned:
        asset = requests.get(API + path, timeout=30)
        assert asset.status_code == 200, path
        assert sri(asset.content) == integrity, f"{path} is not the file the page pins"
        assert asset.headers["content-security-policy"] == docs_console.DOCS_CSP
        assert asset.headers["x-content-type-options"] == "nosniff"


def test_the_console_reads_the_contract_and_the_reference_stays() -> None:
    spec = requests.get(f"{API}/docs/openapi.json", timeout=10).json()
    assert spec == yaml.safe_load((REPO_ROOT / "docs" / "openapi.yaml").read_text())
    reference = requests.get(f"{API}/docs/reference", timeout=10)
    assert "POST /v1/verify-login" in reference.text and "<script" not in reference.text
    assert requests.get(f"{API}/docs/node_modules/swagger-ui-dist/index.html", timeout=10).status_code == 404
