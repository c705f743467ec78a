"""Registration journey, end to end against the local stack (gateway → cargo-lambda functions →
moto, iProov sandbox, SQS → scan validator)."""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib

import pytest
import requests

from journeys import (
    API,
    Client,
    aws,
    clear_faults,
    inject_fault,
    items,
    registration_item,
    resource,
    scan,
    unique_username,
    validations_of,
)


def users_with_name_claims() -> tuple[int, int]:
    all_items = items("UsersTable")
    return (
        sum(1 for i in all_items if i["pk"]["S"].startswith("user#")),
        sum(1 for i in all_items if i["pk"]["S"].startswith("name#")),
    )


def decode_png(data: bytes) -> tuple[int, int]:
    """Minimal PNG check: signature, chunk CRCs, IHDR size, and that IDAT inflates."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert zlib.decompress(idat)
    return size


def test_happy_path_stores_user_and_encrypted_image_and_opens_a_session():
    # GIVEN a new person
    client, username = Client(), unique_username()
    # WHEN they register, pass the scan and wait
    done = client.register(username, "Ada Lovelace")
    # THEN the registration completes and hands out a login session
    assert done["status"] == "completed"
    assert "session_token" in done["login"]
    me = client.me()
    assert me.status_code == 200, me.text
    assert me.json()["username"] == username
    assert me.json()["display_name"] == "Ada Lovelace"
    user_id = me.json()["user_id"]
    # AND the user is in DynamoDB with its username claim
    user_items = [i for i in items("UsersTable") if i["pk"]["S"] == f"user#{user_id}"]
    assert len(user_items) == 1
    image_key = user_items[0]["image_key"]["S"]
    assert username not in image_key
    # AND the face image is in S3, a decodable image, encrypted with KMS
    obj = aws("s3").get_object(Bucket=resource("ImagesBucket"), Key=image_key)
    assert obj["ServerSideEncryption"] == "aws:kms"
    assert obj["ContentType"] == "image/png"
    width, height = decode_png(obj["Body"].read())
    assert width > 0 and height > 0
    # AND the API never returns the image or iProov data
    assert "frame" not in me.text and "iproov" not in me.text


def test_failed_scan_gives_a_hint_and_a_retry_on_the_same_registration_passes():
    client, username = Client(), unique_username()
    first = client.start_registration(username)
    assert first.status_code == 201, first.text
    registration_id, token1 = first.json()["registration_id"], first.json()["iproov"]["token"]
    # GIVEN a scan that fails because the room is too dark
    scan(token1, "failed", "too_dark")
    assert client.submit_scan().status_code == 202
    failed = client.wait_for_registration("failed")
    # THEN the person is told what happened and what to change
    assert failed["reason"] == "too_dark"
    assert "bright" in failed["hint"].lower()
    # WHEN they retry with the same registration credential
    second = client.start_registration(username)
    assert second.status_code == 201, second.text
    # THEN it is the same registration, with a new token and attempt 2
    assert second.json()["registration_id"] == registration_id
    assert second.json()["attempt"] == 2
    token2 = second.json()["iproov"]["token"]
    assert token2 != token1
    scan(token2, "passed")
    assert client.submit_scan().status_code == 202
    assert client.wait_for_registration("completed")["status"] == "completed"
    # AND each token was validated exactly once
    assert validations_of(token1) == 1
    assert validations_of(token2) == 1


# Exclusive (tests/e2e/conftest.py): it counts a whole table's items, which other tests add to.
@pytest.mark.exclusive
def test_taken_username_is_refused_and_nothing_is_stored():
    username = unique_username()
    assert Client().register(username)["status"] == "completed"
    before = len(items("RegistrationsTable"))
    # WHEN someone else tries the same name, spelt differently
    r = Client().start_registration(f"  {username.upper()} ")
    # THEN 409 username_taken, and no registration was created
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "username_taken"
    assert r.json()["request_id"]
    assert len(items("RegistrationsTable")) == before


# Exclusive (tests/e2e/conftest.py): it counts a whole table's items, which other tests add to.
@pytest.mark.exclusive
@pytest.mark.parametrize(
    "body, content_type, status, error, field",
    [
        ({"username": "", "display_name": "A"}, "application/json", 400, "invalid_request", "username"),
        ({"username": "a" * 40, "display_name": "A"}, "application/json", 400, "invalid_request", "username"),
        ({"username": "okname", "display_name": "bad\u0007"}, "application/json", 400, "invalid_request", "display_name"),
        ({"username": 42, "display_name": "A"}, "application/json", 400, "invalid_request", "username"),
        ({"username": "okname", "display_name": "A", "is_admin": True}, "application/json", 400, "invalid_request", "is_admin"),
        ({"username": "okname"}, "application/json", 400, "invalid_request", "display_name"),
        ("not json at all", "application/json", 400, "invalid_json", None),
        ("[1, 2]", "application/json", 400, "invalid_json", None),
        ({"username": "okname", "display_name": "A"}, "text/plain", 415, "unsupported_media_type", None),
        ({"username": "okname", "display_name": "x" * 1_000_000}, "application/json", 413, "payload_too_large", None),
    ],
)
def test_invalid_registration_input_gets_a_clear_error_and_stores_nothing(body, content_type, status, error, field):
    before = len(items("RegistrationsTable"))
    data = body if isinstance(body, str) else json.dumps(body)
    r = Client().call("POST", "/v1/users/registration", data=data.encode(), headers={"Content-Type": content_type})
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["error"] == error
    assert payload["message"] and payload["request_id"]
    if field:
        assert field in payload["fields"]
    assert len(items("RegistrationsTable")) == before


def test_submit_without_or_with_a_foreign_credential_is_refused():
    # No credential at all
    r = Client().submit_scan()
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    # A well-formed credential that names no registration
    fake = Client(registration="0123456789abcdef0123456789abcdef." + "A" * 43)
    r = fake.submit_scan()
    assert r.status_code == 404, r.text
    # Another registration's id with a wrong secret
    real = Client()
    assert real.start_registration(unique_username()).status_code == 201
    forged = Client(registration=real.registration.split(".")[0] + "." + "B" * 43)
    assert forged.submit_scan().status_code == 404
    assert forged.registration_status().status_code == 404


def test_submitting_twice_is_a_conflict_and_validates_once():
    client = Client()
    r = client.start_registration(unique_username())
    token = r.json()["iproov"]["token"]
    scan(token, "passed")
    assert client.submit_scan().status_code == 202
    second = client.submit_scan()
    assert second.status_code == 409, second.text
    assert client.wait_for_registration("completed")["status"] == "completed"
    assert validations_of(token) == 1


def test_submitting_after_the_token_expired_is_gone():
    client, username = Client(), unique_username()
    r = client.start_registration(username)
    registration_id = r.json()["registration_id"]
    # GIVEN the token's lifetime has passed (moved back in the record: the clock of the test)
    aws("dynamodb").update_item(
        TableName=resource("RegistrationsTable"),
        Key={"pk": {"S": registration_id}},
        UpdateExpression="SET token_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 5)}},
    )
    # THEN the status says expired and submitting is 410
    assert client.registration_status().json()["status"] == "expired"
    s = client.submit_scan()
    assert s.status_code == 410, s.text
    assert s.json()["error"] == "registration_expired"
    # AND a retry on the same registration starts attempt 2
    again = client.start_registration(username)
    assert again.status_code == 201 and again.json()["attempt"] == 2
    assert again.json()["registration_id"] == registration_id


def test_duplicate_deliveries_at_once_validate_once_and_create_one_user():
    client = Client()
    r = client.start_registration(unique_username())
    registration_id, token = r.json()["registration_id"], r.json()["iproov"]["token"]
    scan(token, "passed")
    # GIVEN the registration is submitted
    assert client.submit_scan().status_code == 202
    # WHEN the same message is delivered twice more, at the same time
    queue = resource("RegistrationQueue")
    body = json.dumps({"registration_id": registration_id, "attempt": 1})
    sqs = aws("sqs")
    threads = [threading.Thread(target=sqs.send_message, kwargs={"QueueUrl": queue, "MessageBody": body}) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.wait_for_registration("completed")["status"] == "completed"
    time.sleep(3)  # let the copies be consumed
    # THEN iProov saw one validate, and there is exactly one user for this registration
    assert validations_of(token) == 1
    user_id = registration_item(registration_id)["user_id"]["S"]
    assert sum(1 for i in items("UsersTable") if i.get("user_id", {}).get("S") == user_id) == 2  # account + claim


def test_crash_after_outcome_recorded_finishes_without_a_second_validate():
    client, username = Client(), unique_username()
    r = client.start_registration(username)
    registration_id, token = r.json()["registration_id"], r.json()["iproov"]["token"]
    scan(token, "passed")
    # GIVEN a worker recorded "passed" and then crashed before writing the user
    #       (the exact record such a crash leaves behind)
    aws("dynamodb").update_item(
        TableName=resource("RegistrationsTable"),
        Key={"pk": {"S": registration_id}},
        UpdateExpression="SET #st = :v, outcome = :p, validating_since = :now",
        ExpressionAttributeNames={"#st": "status"},
        ExpressionAttributeValues={":v": {"S": "validating"}, ":p": {"S": "passed"}, ":now": {"N": str(int(time.time()))}},
    )
    # WHEN the message is delivered again
    aws("sqs").send_message(
        QueueUrl=resource("RegistrationQueue"),
        MessageBody=json.dumps({"registration_id": registration_id, "attempt": 1}),
    )
    # THEN the registration completes, with no validate call at all, and one user exists
    assert client.wait_for_registration("completed")["status"] == "completed"
    assert validations_of(token) == 0
    assert client.me().json()["username"] == username


# Exclusive (tests/e2e/conftest.py): it injects iProov faults.
@pytest.mark.exclusive
def test_rate_limited_validation_is_retried_until_it_completes():
    client = Client()
    r = client.start_registration(unique_username())
    token = r.json()["iproov"]["token"]
    scan(token, "passed")
    # GIVEN iProov answers 429 to the next two validate calls
    inject_fault("/claim/enrol/validate", 429, 2, "too_many_requests")
    try:
        assert client.submit_scan().status_code == 202
        # THEN the registration still completes, and the token was validated once
        assert client.wait_for_registration("completed", timeout=60)["status"] == "completed"
        assert validations_of(token) == 1
    finally:
        clear_faults()


def test_registration_status_requires_a_credential():
    r = requests.get(f"{API}/v1/users/registration", timeout=10)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"


def test_a_finished_registration_credential_does_not_block_a_new_registration():
    client = Client()
    assert client.register(unique_username())["status"] == "completed"
    first_id = client.registration_status().json()["registration_id"]
    # WHEN the same device registers another name with the old credential still attached
    r = client.start_registration(unique_username())
    # THEN a new registration starts
    assert r.status_code == 201, r.text
    assert r.json()["registration_id"] != first_id
