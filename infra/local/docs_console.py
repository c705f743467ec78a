"""/docs on the local gateway: an interactive console of the API (Swagger UI), pinned, under a
Content-Security-Policy of its own.

Swagger UI is not committed: ``make console`` installs ``swagger-ui-dist`` into
``infra/local/console/node_modules`` with ``npm ci --ignore-scripts`` from the lockfile, which pins
its version and sha512; ``console/index.html`` pins the two files the page loads again by their
sha384 (Subresource Integrity). docs/api-console.md argues the choice.

Only the files named in ``ASSETS`` are served, never the rest of node_modules. Without the
install, ``/docs`` is the plain reference (api_docs.py) with a line saying how to get the console;
``/docs/reference`` is always that page.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from iproov_settings import render_policy

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
VENDOR = "node_modules/swagger-ui-dist"

# URL path under /docs/ -> (file under the console directory, content type)
ASSETS: dict[str, tuple[str, str]] = {
    "console.js": ("console.js", "text/javascript; charset=utf-8"),
    "console.css": ("console.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (f"{VENDOR}/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": (f"{VENDOR}/swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-LICENSE.txt": (f"{VENDOR}/LICENSE", "text/plain; charset=utf-8"),
    "swagger-ui-NOTICE.txt": (f"{VENDOR}/NOTICE", "text/plain; charset=utf-8"),
}

# The console's own policy: scripts and styles from this origin only (Swagger UI needs neither
# inline script nor eval), requests to this origin only, its icons as data: images.
DOCS_POLICY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default-src", ("'none'",)),
    ("script-src", ("'self'",)),
    ("style-src", ("'self'",)),
    ("img-src", ("'self'", "data:")),
    ("font-src", ("'self'",)),
    ("connect-src", ("'self'",)),
    ("object-src", ("'none'",)),
    ("frame-ancestors", ("'none'",)),
    ("base-uri", ("'none'",)),
    ("form-action", ("'none'",)),
)
DOCS_CSP = render_policy(DOCS_POLICY)
# Nothing on a docs page needs the camera.
DOCS_PERMISSIONS = "camera=(), microphone=(), geolocation=()"

NOT_INSTALLED = (
    "The interactive console (Swagger UI) is not installed: run `make console` (needs npm), "
    "then reload. This is the plain reference."
)


def installed(console_dir: Path = CONSOLE_DIR) -> bool:
    return (console_dir / ASSETS["swagger-ui-bundle.js"][0]).is_file()


def page(console_dir: Path = CONSOLE_DIR) -> bytes | None:
    """The console's HTML, or None when Swagger UI is not installed."""
    if not installed(console_dir):
        return None
    return (console_dir / "index.html").read_bytes()


def asset(name: str, console_dir: Path = CONSOLE_DIR) -> tuple[bytes, str] | None:
    """(content, content type) of an allow-listed file, or None."""
    entry = ASSETS.get(name)
    if entry is None:
        return None
    path = console_dir / entry[0]
    if not path.is_file():
        return None
    return path.read_bytes(), entry[1]


def spec_json(openapi_file: Path) -> bytes:
    """The OpenAPI document as JSON, for the console (which then needs no YAML parser)."""
    return json.dumps(yaml.safe_load(openapi_file.read_text()), default=str).encode()
