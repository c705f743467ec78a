"""Privacy canary: run the full registration and login journeys with planted values, then check
that none of them appears in any log line of any process of the stack (gateway, functions, SQS
emulator, moto, iProov sandbox)."""

from __future__ import annotations

import base64
import json

from journeys import Client, aws, resource, scan, sandbox_stats, unique_username


def all_log_text(logs) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(logs.directory.glob("*.log")))


def test_no_personal_data_token_credential_secret_or_image_reaches_any_log(logs):
    # GIVEN planted values that are easy to spot
    username = unique_username("canary")
    display_name = "Canary Zebediah Quux"
    client = Client()
    # WHEN the person registers (with one failed scan), logs in, reads the account and logs out
    first = client.start_registration(username, display_name)
    assert first.status_code == 201, first.text
    tokens = [first.json()["iproov"]["token"]]
    scan(tokens[0], "failed", "too_dark")
    assert client.submit_scan().status_code == 202
    client.wait_for_registration("failed")
    retry = client.start_registration(username, display_name)
    tokens.append(retry.json()["iproov"]["token"])
    scan(tokens[1], "passed")
    assert client.submit_scan().status_code == 202
    done = client.wait_for_registration("completed")
    credentials = [client.registration, done["login"]["session_token"]]
    me = client.me().json()
    device = Client()
    v = device.verify_login(username)
    assert v.status_code == 200, v.text
    tokens.append(v.json()["iproov"]["token"])
    credentials.append(device.attempt)
    scan(tokens[-1], "passed")
    assert device.login().status_code == 200
    credentials.append(device.session)
    assert device.me().status_code == 200
    assert device.logout().status_code == 204
    # AND the face image that was stored
    image_key = next(
        i["image_key"]["S"]
        for i in aws("dynamodb").scan(TableName=resource("UsersTable"))["Items"]
        if i.get("user_id", {}).get("S") == me["user_id"] and "image_key" in i
    )
    image = aws("s3").get_object(Bucket=resource("ImagesBucket"), Key=image_key)["Body"].read()
    secret = json.loads(
        aws("secretsmanager").get_secret_value(SecretId=resource("IProovSecret"))["SecretString"]
    )
    assert sandbox_stats()  # the sandbox ran and logged
    # THEN no log line anywhere contains any of them
    text = all_log_text(logs)
    assert text, "no logs were written"
    planted = {
        "username": username,
        "display name": display_name,
        "display name (part)": "Zebediah",
        "iProov secret": secret["secret"],
        "iProov OAuth secret": secret["oauth_client_secret"],
        "image (base64)": base64.b64encode(image).decode()[:40],
        "image (base64, tail)": base64.b64encode(image).decode()[-40:],
    }
    for i, token in enumerate(tokens):
        planted[f"iProov token {i}"] = token
    for i, credential in enumerate(credentials):
        planted[f"credential {i}"] = credential
        planted[f"credential secret {i}"] = credential.split(".", 1)[1]
    leaks = [name for name, value in planted.items() if value and value in text]
    assert not leaks, f"found in logs: {leaks}"


def test_function_log_lines_are_json_with_a_request_id_and_cold_start_flag(logs):
    assert Client().call("GET", "/v1/health").status_code == 200
    served = [r for r in logs.json_lines("functions") if r.get("message") == "request served"]
    assert served
    for record in served:
        assert record["span"]["request_id"]
        assert isinstance(record["span"]["cold_start"], bool)


def test_journeys_emit_emf_metrics_and_pii_free_analytics_events(logs):
    # GIVEN a completed registration
    client = Client()
    assert client.register(unique_username("metrics"))["status"] == "completed"
    # THEN the functions wrote CloudWatch EMF metric lines for it
    emf = [r for r in logs.json_lines("functions") if "_aws" in r]
    names = {m["Name"] for r in emf for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"RegistrationsStarted", "RegistrationsCompleted", "IProovCalls"} <= names
    for record in emf:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"]
            for metric in directive["Metrics"]:
                assert isinstance(record[metric["Name"]], (int, float))
    # AND analytics events with ids only
    events = [r for r in logs.json_lines("functions") if r.get("analytics") == "onboarding_event"]
    types = {e["event_type"] for e in events}
    assert {"registration_started", "scan_submitted", "registration_completed"} <= types
    allowed = {"analytics", "schema_version", "event_id", "occurred_at", "environment", "event_type",
               "registration_id", "attempt", "user", "reason"}
    for event in events:
        assert set(event) <= allowed, event
