"""What the gateway serves itself: the demo page under a CSP derived from the iProov SDK setting,
/web-config.json, and /docs (the API console and its files) under a policy of its own."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import docs_console
import gateway
import iproov_settings as ips
from conftest import serve_in_thread
from iproov_settings import IProovSettings
from routing import Router

ROOT = Path(__file__).resolve().parents[3]
OPENAPI = ROOT / "docs" / "openapi.yaml"
SDK_URL = "https://cdn.jsdelivr.net/npm/@iproov/web-sdk@5.3.0/iProovMe.js"
INTEGRITY = ips.sri(b"iProovMe.js of 5.3.0")


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    web = tmp_path_factory.mktemp("web")
    (web / "index.html").write_text("<h1>demo</h1>")
    (web / "app.js").write_text("'use strict';")
    return web


def fake_console(root: Path, installed: bool = True) -> Path:
    console = root / "console"
    (console / "node_modules" / "swagger-ui-dist").mkdir(parents=True)
    (console / "index.html").write_text("<title>API console</title>")
    (console / "console.js").write_text("'use strict';")
    (console / "console.css").write_text("body{}")
    (console / "node_modules" / "other.js").write_text("secret stuff")
    if installed:
        vendor = console / "node_modules" / "swagger-ui-dist"
        (vendor / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = () => {};")
        (vendor / "swagger-ui.css").write_text(".swagger-ui{}")
        (vendor / "LICENSE").write_text("Apache License 2.0")
        (vendor / "NOTICE").write_text("swagger-ui")
        (vendor / "index.html").write_text("the package's own page")
    return console


def start(web_dir: Path, iproov: IProovSettings, console_dir: Path | None) -> tuple[str, object]:
    config = gateway.GatewayConfig(
        router=Router([]), functions={}, cors=None, lambda_url="http://127.0.0.1:9", port=3000,
        web_dir=web_dir, openapi_file=OPENAPI, iproov=iproov, console_dir=console_dir,
    )
    server = gateway.make_server(config, port=0)
    serve_in_thread(server)
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture(scope="module")
def sandbox_gateway(web_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, server = start(web_dir, IProovSettings(), fake_console(tmp_path_factory.mktemp("c")))
    yield url
    server.shutdown()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def sdk_gateway(web_dir: Path) -> Iterator[str]:
    iproov = IProovSettings.from_env({
        "LOCAL_IPROOV_BASE_URL": "https://eu.rp.secure.iproov.me/api/v2",
        "LOCAL_IPROOV_SDK_URL": SDK_URL,
        "LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY,
    })
    url, server = start(web_dir, iproov, None)
    yield url
    server.shutdown()  # type: ignore[attr-defined]


def test_without_an_sdk_the_page_keeps_its_strict_policy(sandbox_gateway: str) -> None:
    for path in ("/", "/app.js"):
        response = requests.get(sandbox_gateway + path, timeout=5)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == gateway.STRICT_CSP
        assert response.headers["permissions-policy"] == "camera=(self), microphone=(), geolocation=()"
    config = requests.get(f"{sandbox_gateway}/web-config.json", timeout=5)
    assert config.headers["content-type"] == "application/json" and config.headers["cache-control"] == "no-store"
    assert config.json() == {"iproov": {"platform": "sandbox", "sdk": None}}


def test_with_an_sdk_the_page_policy_is_derived_and_the_page_told_where_the_sdk_is(sdk_gateway: str) -> None:
    page = requests.get(f"{sdk_gateway}/", timeout=5)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' https://cdn.jsdelivr.net/npm/@iproov/web-sdk@5.3.0/ 'wasm-unsafe-eval';" in csp
    assert "connect-src 'self' https://eu.rp.secure.iproov.me wss://eu.rp.secure.iproov.me https://cdn.iproov.app;" in csp
    assert csp == IProovSettings.from_env({
        "LOCAL_IPROOV_BASE_URL": "https://eu.rp.secure.iproov.me/api/v2",
        "LOCAL_IPROOV_SDK_URL": SDK_URL, "LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY,
    }).page_csp()
    assert requests.get(f"{sdk_gateway}/web-config.json", timeout=5).json() == {
        "iproov": {"platform": "tenant", "sdk": {"src": SDK_URL, "integrity": INTEGRITY}}
    }
    # the page's policy is for web/ only: the contract and the config keep the strict one
    for path in ("/openapi.yaml", "/web-config.json"):
        assert requests.get(sdk_gateway + path, timeout=5).headers["content-security-policy"] == gateway.STRICT_CSP


def test_docs_serve_the_console_under_its_own_policy(sandbox_gateway: str) -> None:
    page = requests.get(f"{sandbox_gateway}/docs", timeout=5)
    assert page.status_code == 200 and "<title>API console</title>" in page.text
    assert page.headers["content-security-policy"] == docs_console.DOCS_CSP
    assert page.headers["permissions-policy"] == "camera=(), microphone=(), geolocation=()"
    assert page.headers["x-frame-options"] == "DENY"
    assert requests.get(f"{sandbox_gateway}/docs/", timeout=5).text == page.text
    for name, kind in [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css"),
                       ("console.js", "text/javascript"), ("swagger-ui-LICENSE.txt", "text/plain")]:
        asset = requests.get(f"{sandbox_gateway}/docs/{name}", timeout=5)
        assert asset.status_code == 200, name
        assert asset.headers["content-type"].startswith(kind)
        assert asset.headers["content-security-policy"] == docs_console.DOCS_CSP
    spec = requests.get(f"{sandbox_gateway}/docs/openapi.json", timeout=5).json()
    assert "/v1/users/registration" in spec["paths"]


def test_docs_policy_allows_this_origin_only() -> None:
    csp = dict(part.split(" ", 1) for part in docs_console.DOCS_CSP.split("; "))
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["form-action"] == "'none'"


@pytest.mark.parametrize(
    "path",
    ["/docs/other.js", "/docs/node_modules/other.js", "/docs/index.html", "/docs/../console/index.html",
     "/docs/%2e%2e/%2e%2e/etc/passwd", "/docs/swagger-ui-dist/index.html", "/docs/app.js"],
)
def test_docs_serve_only_their_listed_files(sandbox_gateway: str, path: str) -> None:
    response = requests.get(sandbox_gateway + path, timeout=5)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_without_the_console_installed_docs_are_the_plain_reference_saying_how(
    web_dir: Path, tmp_path: Path
) -> None:
    url, server = start(web_dir, IProovSettings(), fake_console(tmp_path, installed=False))
    try:
        page = requests.get(f"{url}/docs", timeout=5)
        assert page.status_code == 200
        assert "make console" in page.text and "POST /v1/users/registration" in page.text
        assert page.headers["content-security-policy"] == docs_console.DOCS_CSP
        assert requests.get(f"{url}/docs/swagger-ui-bundle.js", timeout=5).status_code == 404
        reference = requests.get(f"{url}/docs/reference", timeout=5)
        assert "POST /v1/users/registration" in reference.text and "make console" not in reference.text
        assert "<script" not in reference.text
    finally:
        server.shutdown()  # type: ignore[attr-defined]


# ----- the console as committed ---------------------------------------------------------------
def test_the_console_pins_swagger_ui_exactly_and_loads_it_with_integrity() -> None:
    console = docs_console.CONSOLE_DIR
    package = json.loads((console / "package.json").read_text())
    version = package["dependencies"]["swagger-ui-dist"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "an exact version, no range"
    lock = json.loads((console / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/swagger-ui-dist"]
    assert locked["version"] == version and locked["integrity"].startswith("sha512-")
    assert locked["license"] == "Apache-2.0"
    assert all(entry.get("license") == "Apache-2.0" for name, entry in lock["packages"].items() if name)
    page = (console / "index.html").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        tag = re.search(rf'(?:src|href)="/docs/{re.escape(name)}"[^>]*>', page, re.S)
        assert tag and re.search(r'integrity="sha384-[A-Za-z0-9+/]{64}"', tag.group(0)), name
    assert version in page, "the page names the version it pins"
    # no inline script, style or event handler: the /docs policy allows none
    assert "<script>" not in page and "<style" not in page and "style=" not in page
    assert not re.search(r"\son[a-z]+\s*=", page)


def test_the_installed_console_matches_the_integrity_in_its_page() -> None:
    if not docs_console.installed():
        pytest.skip("Swagger UI is not installed (make console); the e2e suite checks it on the stack")
    page = (docs_console.CONSOLE_DIR / "index.html").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        content, _ = docs_console.asset(name) or (b"", "")
        tag = re.search(rf'(?:src|href)="/docs/{re.escape(name)}"[^>]*>', page, re.S)
        assert tag and f'integrity="{ips.sri(content)}"' in tag.group(0), f"{name} differs from its pinned hash"
