"""The sample events (events/) through `make invoke`, as a person debugging one function would
send them: each reaches its function over cargo lambda invoke and gets the answer a stranger
(API samples) or an unknown id (queue samples) must get."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import PORTS, REPO_ROOT

EXPECTED = {
    "health": (200, None),
    "token-issuer": (404, "not_registered"),
    "registration": (401, "unauthorized"),
    "account": (401, "unauthorized"),
    # Discovery is public; a token request from an unregistered client is RFC 6749's 401.
    "oidc": (200, None),
    "oidc-token": (401, "invalid_client"),
    # An operator asking for a user nobody has.
    "admin": (404, "not_found"),
}


def invoke(function: str) -> dict:
    env = {**os.environ, "LAMBDA_PORT": str(PORTS.lambda_)}
    done = subprocess.run(
        ["make", "-s", "invoke", f"FN={function}"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_an_api_sample_gets_the_answer_a_stranger_gets(function: str) -> None:
    # given the sample API Gateway event of `function`
    # when it is sent with make invoke
    answer = invoke(function)
    # then the function answers it as API Gateway would relay it
    status, error = EXPECTED[function]
    assert answer["statusCode"] == status
    body = json.loads(answer["body"])
    if function == "oidc":
        assert body["issuer"] and body["token_endpoint"].startswith(body["issuer"])
    elif error is None:
        assert body == {"status": "ok"}
    else:
        assert body["error"] == error


@pytest.mark.parametrize("function", ["scan-validator", "erasure"])
def test_a_queue_sample_for_an_unknown_id_is_consumed(function: str) -> None:
    # given the sample SQS event of `function`, naming an id that does not exist
    # when it is sent with make invoke
    answer = invoke(function)
    # then the batch succeeds: nothing to validate or erase, nothing to retry
    assert answer == {"batchItemFailures": []}


def test_make_invoke_without_a_function_says_how_to_use_it() -> None:
    # given no FN, when make invoke runs, then it exits 2 with the usage and the functions
    done = subprocess.run(["make", "-s", "invoke"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "usage: make invoke FN=" in done.stderr and "account" in done.stderr
