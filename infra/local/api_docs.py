"""Renders the OpenAPI document as one plain HTML page for people (served at /docs/reference
locally, and at /docs when the interactive console is not installed: docs_console.py).

No JavaScript and no inline styles, so the page works under the same strict CSP as the demo.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import yaml

METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(schema: dict | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return schema.get("type", "")


def _schema_block(name: str, schema: dict) -> str:
    rows = []
    required = set(schema.get("required", []))
    for field, spec in (schema.get("properties") or {}).items():
        kind = _ref_name(spec) or spec.get("type", "")
        notes = spec.get("description", "")
        if "enum" in spec:
            notes = (notes + " One of: " + ", ".join(map(str, spec["enum"]))).strip()
        if "const" in spec:
            notes = (notes + f" Always {spec['const']}.").strip()
        rows.append(
            f"<tr><td><code>{html.escape(field)}</code></td><td>{html.escape(str(kind))}</td>"
            f"<td>{'yes' if field in required else ''}</td><td>{html.escape(notes)}</td></tr>"
        )
    description = html.escape(schema.get("description", ""))
    if not rows:
        detail = {k: v for k, v in schema.items() if k != "description"}
        return f"<h3 id='{html.escape(name)}'>{html.escape(name)}</h3><p>{description}</p><pre>{html.escape(json.dumps(detail, indent=2))}</pre>"
    return (
        f"<h3 id='{html.escape(name)}'>{html.escape(name)}</h3><p>{description}</p>"
        "<table><thead><tr><th>field</th><th>type</th><th>required</th><th>notes</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def render(path: Path, notice: str | None = None) -> bytes:
    """The page; ``notice``, if given, is a line of text shown first."""
    spec = yaml.safe_load(path.read_text())
    info = spec.get("info", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(info.get('title', 'API'))} — reference</title>",
        "<link rel='stylesheet' href='/app.css'></head><body><main>",
        f"<p class='notice notice-info' role='note'>{html.escape(notice)}</p>" if notice else "",
        f"<h1>{html.escape(info.get('title', 'API'))} <small>v{html.escape(str(info.get('version', '')))}</small></h1>",
        f"<p>{html.escape(info.get('description', ''))}</p>",
        "<p>Machine-readable: <a href='/openapi.yaml'>/openapi.yaml</a>; interactive: <a href='/docs'>/docs</a></p>",
        "<h2>Operations</h2>",
    ]
    for route, ops in spec.get("paths", {}).items():
        for method in METHODS:
            op = ops.get(method)
            if not op:
                continue
            auth = ", ".join(sorted({k for s in op.get("security", []) for k in s})) or "none"
            body = _ref_name(((op.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema"))
            responses = "".join(
                f"<li><strong>{html.escape(code)}</strong> {html.escape(resp.get('description', '') if 'description' in resp else _ref_name(resp))}</li>"
                for code, resp in op.get("responses", {}).items()
            )
            parts.append(
                f"<section><h3><code>{method.upper()} {html.escape(route)}</code></h3>"
                f"<p>{html.escape(op.get('summary', ''))}</p>"
                f"<p>Credential: {html.escape(auth)}{'; body: <a href=#' + html.escape(body) + '>' + html.escape(body) + '</a>' if body else ''}</p>"
                f"<ul>{responses}</ul></section>"
            )
    parts.append("<h2>Schemas</h2>")
    for name, schema in (spec.get("components", {}).get("schemas") or {}).items():
        parts.append(_schema_block(name, schema))
    parts.append("</main></body></html>")
    return "".join(parts).encode()
