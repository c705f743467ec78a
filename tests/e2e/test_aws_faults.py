"""AWS faults — DynamoDB throttling, an SQS outage, Secrets Manager unreachable — answer a clear,
retryable 503 with no internal detail, leave nothing half-written, and lose no queued message.

The functions reach moto through the local fault proxy (infra/local/aws_faults.py), which fails
the chosen calls the way AWS does; the SDKs retry them as they would in AWS before giving up.
"""

from __future__ import annotations

import time

import pytest

from journeys import (
    Client,
    assert_no_biometric_data,
    aws,
    aws_faults_fired,
    clear_aws_faults,
    inject_aws_fault,
    items,
    registration_item,
    scan,
    stack,
    unique_username,
    validations_of,
    wait_for,
)

# Exclusive (tests/e2e/conftest.py): the AWS faults it injects would fail other tests' calls.
pytestmark = pytest.mark.exclusive

# The local stack keeps secrets this long (LOCAL_SECRETS_CACHE_TTL_SECONDS in provision.py).
SECRETS_TTL_SECONDS = 5


@pytest.fixture(autouse=True)
def no_faults_left():
    clear_aws_faults()
    yield
    clear_aws_faults()


def assert_clear_503(response, code: str) -> dict:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"] == code
    assert int(response.headers["Retry-After"]) >= 1
    text = response.text.lower()
    for internal in ("exception", "dynamodb", "throughput", "secretsmanager", "sqs", "injected", "panic"):
        assert internal not in text, f"{internal!r} leaked into {response.text}"
    return body


def queue_depth(logical_id: str) -> int:
    attributes = aws("sqs").get_queue_attributes(
        QueueUrl=stack()["queues"][logical_id]["url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_dynamodb_throttling_on_registration_start_is_a_503_and_stores_nothing():
    before = len(items("RegistrationsTable"))
    username = unique_username()
    # GIVEN DynamoDB throttles every PutItem (the registration's write)
    inject_aws_fault("dynamodb", "PutItem")
    # WHEN someone starts a registration
    r = Client().start_registration(username)
    fired = aws_faults_fired()
    clear_aws_faults()
    # THEN a clear 503 after the SDK's own retries, and no registration stored
    assert fired >= 2, f"the SDK should retry a throttled call (fired {fired})"
    assert_clear_503(r, "storage_unavailable")
    assert len(items("RegistrationsTable")) == before
    # AND once DynamoDB recovers the same username can register
    assert Client().start_registration(username).status_code == 201


def test_dynamodb_throttling_in_the_validator_keeps_the_message_until_it_succeeds():
    client = Client()
    started = client.start_registration(unique_username())
    assert started.status_code == 201, started.text
    token = started.json()["iproov"]["token"]
    scan(token, "passed")
    # GIVEN DynamoDB throttles the user-creating transaction
    inject_aws_fault("dynamodb", "TransactWriteItems")
    # WHEN the scan is submitted and the validator takes the message
    assert client.submit_scan().status_code == 202
    wait_for("the validator to hit the throttled transaction", lambda: aws_faults_fired() >= 2, timeout=60)
    # THEN the registration is not completed, and the message is still in the queue
    assert client.registration_status().json()["status"] in ("submitted", "validating")
    assert queue_depth("RegistrationQueue") >= 1
    # WHEN DynamoDB recovers THEN the retried message completes it, with the one iProov validate
    clear_aws_faults()
    done = client.wait_for_registration("completed", "failed", timeout=60)
    assert done["status"] == "completed", done
    assert validations_of(token) == 1
    assert queue_depth("RegistrationDlq") == 0


def test_sqs_outage_on_submit_is_a_503_and_undoes_the_state_change():
    client = Client()
    started = client.start_registration(unique_username())
    registration_id = started.json()["registration_id"]
    token = started.json()["iproov"]["token"]
    scan(token, "passed")
    # GIVEN SQS fails every SendMessage
    inject_aws_fault("sqs", "SendMessage")
    # WHEN the scan is submitted
    r = client.submit_scan()
    clear_aws_faults()
    # THEN a clear 503, and the registration is back where it was (no half-submitted state)
    assert_clear_503(r, "queue_unavailable")
    assert client.registration_status().json()["status"] == "awaiting_scan"
    assert registration_item(registration_id)["status"]["S"] == "awaiting_scan"
    # AND submitting again once SQS recovers completes it
    assert client.submit_scan().status_code == 202
    assert client.wait_for_registration("completed", "failed")["status"] == "completed"
    assert validations_of(token) == 1


@pytest.mark.parametrize("mode", ["error", "reset"])
def test_secrets_manager_unreachable_is_a_503_and_stores_nothing(mode: str):
    username = unique_username()
    assert Client().start_registration(unique_username()).status_code == 201  # warm, secrets cached
    before = len(items("RegistrationsTable"))
    # GIVEN Secrets Manager answers 503 (or drops the connection) and the cached secrets expire
    inject_aws_fault("secretsmanager", mode=mode)
    time.sleep(SECRETS_TTL_SECONDS + 0.5)
    # WHEN someone starts a registration
    r = Client().start_registration(username)
    fired = aws_faults_fired()
    clear_aws_faults()
    # THEN a clear 503 and nothing stored
    assert fired >= 1
    assert_clear_503(r, "service_unavailable")
    assert len(items("RegistrationsTable")) == before
    # AND it works again as soon as Secrets Manager is back
    assert Client().start_registration(username).status_code == 201


def test_s3_failing_the_image_upload_leaves_no_user_and_the_retry_fails_the_attempt_cleanly():
    """Regression (issue 20): the retry used to write the user pointing at an image key that was
    never stored. The image exists only in iProov's validate answer, so it cannot be fetched
    again: no user may be made, and nothing biometric may be left behind."""
    client = Client()
    started = client.start_registration(unique_username())
    assert started.status_code == 201, started.text
    registration_id = started.json()["registration_id"]
    token = started.json()["iproov"]["token"]
    scan(token, "passed")
    users_before = len(items("UsersTable"))
    # GIVEN S3 refuses every image upload
    inject_aws_fault("s3", "PUT")  # S3 is REST: the proxy matches its HTTP method
    # WHEN the scan is submitted and the validator has validated and tried to store the image
    assert client.submit_scan().status_code == 202
    # (the SDK's standard retry makes 3 attempts; after the third, that delivery has given up)
    wait_for("the validator to give up the upload", lambda: aws_faults_fired() >= 3, timeout=60)
    # THEN no user was written while the image is not stored
    assert len(items("UsersTable")) == users_before
    # WHEN S3 recovers THEN the retried message, which no longer has the image, fails the attempt
    clear_aws_faults()
    done = client.wait_for_registration("completed", "failed", timeout=180)
    assert done["status"] == "failed", done
    assert done["reason"] == "scan_not_stored", done
    # AND no user, no image and no enrolment is left, and iProov validated only once
    assert len(items("UsersTable")) == users_before
    item = registration_item(registration_id)
    assert_no_biometric_data(item["user_id"]["S"], item["iproov_user_id"]["S"])
    assert validations_of(token) == 1
