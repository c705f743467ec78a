"""Events look like API Gateway's payload 2.0, and responses convert like API Gateway does."""

from __future__ import annotations

import base64
import json

import pytest

import apigw_events as ev


def request(**overrides: object) -> ev.IncomingRequest:
    values: dict[str, object] = {
        "method": "POST",
        "raw_path": "/v1/users/registration",
        "raw_query": "a=1&a=2&b=&c=x%20y",
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "pytest"),
            ("Accept", "text/html"),
            ("accept", "application/json"),
            ("Cookie", "a=1; b=2"),
            ("Cookie", "c=3"),
            ("Content-Type", "application/json"),
        ],
        "body": b'{"username":"ana"}',
        "source_ip": "203.0.113.7",
        "received_at": 1_700_000_000.123,
    }
    values.update(overrides)
    return ev.IncomingRequest(**values)  # type: ignore[arg-type]


def test_event_shape() -> None:
    event = ev.build_event(
        request(), route_key="POST /v1/users/registration", path_parameters={}, request_id="rid-1"
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/users/registration"
    assert event["rawPath"] == "/v1/users/registration"
    assert event["rawQueryString"] == "a=1&a=2&b=&c=x%20y"
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["accept"] == "text/html,application/json"
    assert event["headers"]["x-forwarded-for"] == "203.0.113.7"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["headers"]["content-length"] == "18"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "", "c": "x y"}
    assert "pathParameters" not in event
    ctx = event["requestContext"]
    assert ctx["requestId"] == "rid-1"
    assert ctx["routeKey"] == "POST /v1/users/registration"
    assert ctx["stage"] == "$default"
    assert ctx["accountId"] == "123456789012"
    assert ctx["domainName"] == "127.0.0.1"
    assert ctx["http"] == {
        "method": "POST",
        "path": "/v1/users/registration",
        "protocol": "HTTP/1.1",
        "sourceIp": "203.0.113.7",
        "userAgent": "pytest",
    }
    assert ctx["timeEpoch"] == 1_700_000_000_123
    assert ctx["time"] == "14/Nov/2023:22:13:20 +0000"
    assert event["body"] == '{"username":"ana"}'
    assert event["isBase64Encoded"] is False
    json.dumps(event)  # serialisable as is


def test_binary_body_is_base64_and_empty_body_absent() -> None:
    event = ev.build_event(request(body=b"\xff\x00\xfe"), route_key="k", path_parameters={"id": "7"}, request_id="r")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00\xfe"
    assert event["pathParameters"] == {"id": "7"}
    empty = ev.build_event(request(body=b"", raw_query=""), route_key="k", path_parameters={}, request_id="r")
    assert "body" not in empty and empty["isBase64Encoded"] is False
    assert "queryStringParameters" not in empty and empty["rawQueryString"] == ""


def test_client_forwarded_for_is_kept_and_peer_appended() -> None:
    headers = [("X-Forwarded-For", "198.51.100.1")]
    event = ev.build_event(request(headers=headers), route_key="k", path_parameters={}, request_id="r")
    assert event["headers"]["x-forwarded-for"] == "198.51.100.1, 203.0.113.7"


def test_request_ids_are_unique() -> None:
    ids = {ev.new_request_id() for _ in range(1000)}
    assert len(ids) == 1000


def test_structured_response() -> None:
    response = ev.convert_response(
        {
            "statusCode": 201,
            "headers": {"content-type": "application/json", "x-one": "1", "content-length": "999"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["s=1; HttpOnly", "t=2"],
            "body": '{"ok":true}',
            "isBase64Encoded": False,
        }
    )
    assert response.status == 201
    assert ("content-type", "application/json") in response.headers
    assert ("x-many", "a") in response.headers and ("x-many", "b") in response.headers
    assert [v for n, v in response.headers if n == "set-cookie"] == ["s=1; HttpOnly", "t=2"]
    assert all(n.lower() != "content-length" for n, _ in response.headers)
    assert response.body == b'{"ok":true}'


def test_base64_response_body() -> None:
    response = ev.convert_response({"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True})
    assert response.body == b"\x89PNG"


def test_unstructured_result_becomes_json_200() -> None:
    response = ev.convert_response({"hello": "world"})
    assert response.status == 200 and json.loads(response.body) == {"hello": "world"}
    assert ev.convert_response("text").body == b'"text"'


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": "abc"},
        {"statusCode": 42},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "headers": {"x": "a\r\nInjected: 1"}},
        {"statusCode": 200, "cookies": "a=1"},
    ],
)
def test_invalid_responses_are_rejected(payload: dict[str, object]) -> None:
    with pytest.raises(ev.InvalidResponse):
        ev.convert_response(payload)
