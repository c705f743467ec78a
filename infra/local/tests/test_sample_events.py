"""events/ is what sample_events.py writes: the samples keep the shape of the local stack's own
event builders, and every function of the template has one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sample_events

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_events_folder_is_current() -> None:
    # given the committed events/, when the writer checks them, then nothing is stale
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra/local/sample_events.py"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr


def test_every_function_crate_has_a_sample() -> None:
    # given the function crates, then each has an event named after it
    functions = {p.name for p in (REPO_ROOT / "functions").iterdir() if (p / "Cargo.toml").exists()}
    assert functions == set(sample_events.samples())


def test_api_samples_are_payload_2_and_queue_samples_sqs() -> None:
    # given the samples, then API ones are HTTP API payload 2.0 and queue ones SQS records
    for name, event in sample_events.samples().items():
        if "Records" in event:
            assert event["Records"][0]["eventSource"] == "aws:sqs"
            json.loads(event["Records"][0]["body"])
        else:
            assert event["version"] == "2.0"
            # the route key names the route template; filled with the path parameters, it is the path
            method, _, template = event["routeKey"].partition(" ")
            for name_, value in (event.get("pathParameters") or {}).items():
                template = template.replace("{" + name_ + "}", value)
            assert (method, template) == (event["requestContext"]["http"]["method"], event["rawPath"])
