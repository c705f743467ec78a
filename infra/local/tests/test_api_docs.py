"""The docs page lists every operation and schema of the OpenAPI document, escaped."""

from pathlib import Path

import api_docs

ROOT = Path(__file__).resolve().parents[3]


def test_docs_page_lists_every_operation_and_schema():
    page = api_docs.render(ROOT / "docs" / "openapi.yaml").decode()
    for op in ("GET /v1/health", "POST /v1/users/registration", "POST /v1/verify-login", "DELETE /v1/users"):
        assert op in page
    for schema in ("RegistrationStarted", "Error", "User"):
        assert f"id='{schema}'" in page
    assert "<script" not in page and "style=" not in page
