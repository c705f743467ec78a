"""API Gateway HTTP API (payload format 2.0) events and responses, built like AWS builds them.

The functions run with lambda_http, which parses exactly this event shape; getting a field
wrong here would make the local stack accept code that fails in AWS (or the reverse). The
shapes follow the "Working with AWS Lambda proxy integrations for HTTP APIs" page of the API
Gateway developer guide: lower-cased headers with repeated values joined by commas, cookies
moved out of the headers into ``cookies``, repeated query parameters joined by commas, and
binary bodies base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from settings import ACCOUNT_ID

API_ID = "local"
STAGE = "$default"


def new_request_id() -> str:
    """An id in API Gateway's style (base64 of 10 random bytes, e.g. ``Ab3dEfGhIjKlMg=``)."""
    return base64.b64encode(os.urandom(10)).decode()


def trace_id(now: float) -> str:
    return f"Root=1-{int(now):08x}-{os.urandom(12).hex()}"


@dataclass(frozen=True)
class IncomingRequest:
    """What the gateway knows about one HTTP request, before any API Gateway processing."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]  # in arrival order, names as sent
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    port: int = 3000
    received_at: float = field(default_factory=time.time)


def combined_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names; repeated headers joined with commas, as API Gateway does."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def split_cookies(header_values: Iterable[str]) -> list[str]:
    cookies: list[str] = []
    for value in header_values:
        cookies.extend(part.strip() for part in value.split(";") if part.strip())
    return cookies


def query_parameters(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def encode_body(body: bytes) -> tuple[str, bool]:
    """UTF-8 text travels as is; anything else base64-encoded with ``isBase64Encoded``."""
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def format_time(epoch: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))


def build_event(
    request: IncomingRequest,
    *,
    route_key: str,
    path_parameters: Mapping[str, str],
    request_id: str,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event for ``request`` routed to ``route_key``; ``authorizer`` is the
    authorizer's context (``{"iam": {...}}`` for an ``AWS_IAM`` route), as API Gateway adds it."""
    cookie_values = [v for n, v in request.headers if n.lower() == "cookie"]
    headers = combined_headers((n, v) for n, v in request.headers if n.lower() != "cookie")
    host = headers.get("host", f"127.0.0.1:{request.port}")
    domain_name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    headers["x-forwarded-proto"] = "http"
    headers["x-forwarded-port"] = str(request.port)
    headers.setdefault("x-amzn-trace-id", trace_id(request.received_at))
    if request.body:
        headers["content-length"] = str(len(request.body))

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    cookies = split_cookies(cookie_values)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        **({"authorizer": dict(authorizer)} if authorizer else {}),
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": format_time(request.received_at),
        "timeEpoch": int(request.received_at * 1000),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if request.body:
        body, is_base64 = encode_body(request.body)
        event["body"] = body
        event["isBase64Encoded"] = is_base64
    else:
        event["isBase64Encoded"] = False
    return event


class InvalidResponse(ValueError):
    """The function's answer is not something API Gateway could turn into HTTP."""


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


# Hop-by-hop or recomputed headers that a function's response must not dictate.
_DROPPED_RESPONSE_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}


def convert_response(payload: Any) -> HttpResponse:
    """Turn a payload 2.0 function result into an HTTP response.

    A result with ``statusCode`` is used as given. Anything else is, as in API Gateway,
    taken to be the JSON body of a 200 response.
    """
    if not isinstance(payload, dict) or "statusCode" not in payload:
        body = json.dumps(payload).encode()
        return HttpResponse(200, [("content-type", "application/json")], body)

    try:
        status = int(payload["statusCode"])
    except (TypeError, ValueError) as exc:
        raise InvalidResponse("statusCode is not an integer") from exc
    if not 100 <= status <= 599:
        raise InvalidResponse(f"statusCode {status} out of range")

    headers: list[tuple[str, str]] = []
    single = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise InvalidResponse("headers must be objects")
    for name, value in single.items():
        if str(name).lower() not in _DROPPED_RESPONSE_HEADERS and str(name).lower() not in {k.lower() for k in multi}:
            headers.append((str(name), _header_value(value)))
    for name, values in multi.items():
        if str(name).lower() in _DROPPED_RESPONSE_HEADERS:
            continue
        for value in values if isinstance(values, list) else [values]:
            headers.append((str(name), _header_value(value)))
    cookies = payload.get("cookies") or []
    if not isinstance(cookies, list):
        raise InvalidResponse("cookies must be a list")
    headers.extend(("set-cookie", _header_value(cookie)) for cookie in cookies)

    raw_body = payload.get("body")
    if raw_body is None:
        body = b""
    elif payload.get("isBase64Encoded"):
        try:
            body = base64.b64decode(str(raw_body), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidResponse("body is not valid base64") from exc
    else:
        body = (raw_body if isinstance(raw_body, str) else json.dumps(raw_body)).encode("utf-8")
    return HttpResponse(status, headers, body)


def _header_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value) if not isinstance(value, (int, float)) else str(value)
    if "\r" in text or "\n" in text:
        raise InvalidResponse("header values must not contain line breaks")
    return text
