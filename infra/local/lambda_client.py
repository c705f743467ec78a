"""Invoke a function through cargo-lambda's runtime emulator (the Lambda Invoke API shape).

Both emulators (HTTP gateway and SQS event source) call functions the way AWS services do:
``POST /2015-03-31/functions/<name>/invocations`` with the event as JSON. cargo-lambda answers
200 with the function's result, 500 with ``{"errorType", "errorMessage"}`` when the function
returned an error or panicked, and 404 when no binary has that name. This module turns those
cases (and "nobody listening", "no answer in time") into distinct exceptions, so callers can
map them to 500/502/504 without looking at details they must not leak.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit


class InvokeError(Exception):
    """Base class; ``str()`` is safe to log (no payloads)."""


class FunctionError(InvokeError):
    """The function ran and reported an error (handler error, panic)."""

    def __init__(self, error_type: str) -> None:
        super().__init__(f"function error: {error_type}")
        self.error_type = error_type


class InvokeTimeout(InvokeError):
    """No result within the deadline."""


class Unavailable(InvokeError):
    """cargo-lambda is not reachable, or does not know the function."""


def invoke(base_url: str, function: str, event: Any, timeout: float) -> Any:
    """Invoke ``function`` with ``event``; returns its decoded JSON result."""
    parts = urlsplit(base_url)
    body = json.dumps(event).encode()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        connection.request(
            "POST",
            f"/2015-03-31/functions/{function}/invocations",
            body=body,
            headers={"content-type": "application/json"},
        )
        response = connection.getresponse()
        data = response.read()
    except (TimeoutError, socket.timeout) as exc:
        raise InvokeTimeout(f"{function} did not answer within {timeout:.0f}s") from exc
    except (ConnectionError, OSError, http.client.HTTPException) as exc:
        raise Unavailable(f"cannot reach cargo-lambda at {base_url}: {exc.__class__.__name__}") from exc
    finally:
        connection.close()

    if response.status == 404:
        raise Unavailable(f"cargo-lambda has no function named {function!r}")
    if response.status != 200:
        error_type = "Unknown"
        try:
            decoded = json.loads(data or b"{}")
            if isinstance(decoded, dict):
                error_type = str(decoded.get("errorType") or error_type)
        except ValueError:
            pass
        raise FunctionError(error_type)
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise FunctionError("InvalidJsonResult") from exc
