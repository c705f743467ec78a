"""The soak's fault schedule: one thread firing a random fault every few seconds.

Every fault is one the local stack can really produce, through its own controls:
- iProov (the sandbox's ``/sandbox/faults``, via journeys.inject_fault): 429, 5xx, timeouts and
  slow answers. A timeout on a *validate* path is a dropped connection (the caller cannot know
  the outcome, but the sandbox provably did nothing), never a delay past the client's 10 s
  timeout: that would consume the token while the caller saw a timeout, and the validator is
  designed to retry then, which the "one validate per token" invariant would count as a breach
  it is not. Delays past the timeout are used on the token and user calls instead.
- AWS (the fault proxy's ``/_faults``, via journeys.inject_aws_fault): DynamoDB throttling and
  500s, S3 errors, KMS errors, Secrets Manager outages. Rules have counts, so they clear
  themselves after firing; whatever has not fired is removed when the soak ends.
- SQS duplicate deliveries (sqs_events.DuplicateControl): a window in which batches of the
  registration and erasure queues are delivered twice at once.
- ``kill -9`` of one scan-validator or erasure instance, restarted a few seconds later
  (infra/local/function_instances.py says why the soak restarts it).

Which fault, with which parameters, and when, comes from one seeded random.Random, so a seed
replays the same schedule (the workload's timing, on a shared machine, does not replay exactly).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from typing import Any

from common import DUPLICATES_FILE, journeys  # first: puts infra/local on sys.path

import function_instances  # noqa: E402  (infra/local)

IPROOV_PATHS = ["/claim/enrol/token", "/claim/verify/token", "/claim/enrol/validate",
                "/claim/verify/validate", "/users/*", "/*/access_token"]
VALIDATE_PATHS = {"/claim/enrol/validate", "/claim/verify/validate"}
DYNAMODB_OPERATIONS = [None, "GetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "Query"]
S3_OPERATIONS = [None, "PUT", "GET", "HEAD", "DELETE"]
KILLABLE = ["scan-validator", "erasure"]
# Relative weights of the fault kinds.
KINDS = {
    "iproov_429": 3, "iproov_5xx": 3, "iproov_timeout": 2, "iproov_slow": 2,
    "dynamodb_throttle": 3, "dynamodb_5xx": 2, "s3_error": 2, "kms_error": 1.5,
    "secretsmanager_outage": 1.5, "sqs_duplicates": 2, "kill_scan_validator": 1.5, "kill_erasure": 1,
}


class FaultSchedule(threading.Thread):
    def __init__(self, seed: int, deadline: float, queue_names: list[str], interval=(1.5, 4.0)) -> None:
        super().__init__(name="fault-schedule", daemon=True)
        self.rng = random.Random(seed)
        self.deadline = deadline
        self.queue_names = queue_names
        self.interval = interval
        self.injected: Counter[str] = Counter()
        self.events: list[dict[str, Any]] = []
        self.errors: Counter[str] = Counter()
        self.killed: list[function_instances.Killed] = []
        self.restarted = 0
        self.lock = threading.Lock()
        self.stop_event = threading.Event()

    # ----- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        kinds, weights = zip(*KINDS.items())
        while not self.stop_event.is_set() and time.monotonic() < self.deadline:
            self.stop_event.wait(self.rng.uniform(*self.interval))
            if self.stop_event.is_set() or time.monotonic() >= self.deadline:
                break
            kind = self.rng.choices(kinds, weights)[0]
            try:
                detail = getattr(self, kind)()
            except Exception as exc:  # a control that did not answer: say so, keep going
                self.errors[f"{kind}:{exc.__class__.__name__}"] += 1
                continue
            if detail is None:
                continue
            self.injected[kind] += 1
            self.events.append({"t": round(time.time(), 1), "kind": kind, **detail})
        self.restart_all()

    # ----- iProov -----------------------------------------------------------------------------
    def iproov_429(self) -> dict:
        path, count = self.rng.choice(IPROOV_PATHS), self.rng.randint(1, 3)
        journeys.inject_fault(path, 429, count)
        return {"path": path, "count": count}

    def iproov_5xx(self) -> dict:
        path, count, status = self.rng.choice(IPROOV_PATHS), self.rng.randint(1, 3), self.rng.choice([500, 502, 503])
        journeys.inject_fault(path, status, count)
        return {"path": path, "count": count, "status": status}

    def iproov_timeout(self) -> dict:
        path = self.rng.choice(IPROOV_PATHS)
        if path in VALIDATE_PATHS:
            body = {"path": path, "count": 1, "drop_connection": True, "delay_ms": self.rng.randint(0, 2000)}
        else:
            body = {"path": path, "count": 1, "delay_ms": 11_000}  # past the client's 10 s timeout
        r = journeys.requests.post(f"{journeys.SANDBOX}/sandbox/faults", json=body, timeout=10)
        r.raise_for_status()
        return body

    def iproov_slow(self) -> dict:
        path, count, delay = self.rng.choice(IPROOV_PATHS), self.rng.randint(1, 4), self.rng.randint(300, 4000)
        journeys.inject_fault(path, None, count, delay_ms=delay)
        return {"path": path, "count": count, "delay_ms": delay}

    # ----- AWS --------------------------------------------------------------------------------
    def _aws(self, service: str, operation: str | None, count: int, **rule) -> dict:
        journeys.inject_aws_fault(service, operation, count=count, **rule)
        return {"service": service, "operation": operation, "count": count, **rule}

    def dynamodb_throttle(self) -> dict:
        return self._aws("dynamodb", self.rng.choice(DYNAMODB_OPERATIONS), self.rng.randint(1, 5))

    def dynamodb_5xx(self) -> dict:
        return self._aws("dynamodb", self.rng.choice(DYNAMODB_OPERATIONS), self.rng.randint(1, 3),
                         status=500, code="InternalServerError")

    def s3_error(self) -> dict:
        status, code = self.rng.choice([(503, "SlowDown"), (500, "InternalError")])
        return self._aws("s3", self.rng.choice(S3_OPERATIONS), self.rng.randint(1, 3), status=status, code=code)

    def kms_error(self) -> dict:
        return self._aws("kms", None, self.rng.randint(1, 3))

    def secretsmanager_outage(self) -> dict:
        return self._aws("secretsmanager", None, self.rng.randint(2, 6))

    # ----- SQS and processes --------------------------------------------------------------
    def sqs_duplicates(self) -> dict:
        seconds = self.rng.uniform(5, 15)
        probability = self.rng.choice([0.5, 1.0])
        until = time.time() + seconds
        rules = {name: {"probability": probability, "until": until} for name in self.queue_names}
        tmp = DUPLICATES_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps({"queues": rules}))
        tmp.replace(DUPLICATES_FILE)  # atomic: the emulator never reads half a file
        return {"seconds": round(seconds, 1), "probability": probability}

    def _kill(self, binary: str) -> dict | None:
        killed = function_instances.kill_one(binary, self.rng.choice)
        if killed is None:
            return None
        with self.lock:
            self.killed.append(killed)
        delay = self.rng.uniform(1, 5)
        threading.Timer(delay, self._restart, args=(killed,)).start()
        return {"binary": binary, "restart_after_s": round(delay, 1)}

    def kill_scan_validator(self) -> dict | None:
        return self._kill("scan-validator")

    def kill_erasure(self) -> dict | None:
        return self._kill("erasure")

    def _restart(self, killed: function_instances.Killed) -> None:
        with self.lock:
            if killed not in self.killed:
                return
            self.killed.remove(killed)
            self.restarted += 1
        function_instances.restart(killed)

    def restart_all(self) -> None:
        with self.lock:
            pending, self.killed = self.killed, []
            self.restarted += len(pending)
        for killed in pending:
            function_instances.restart(killed)

    # ----- the end ------------------------------------------------------------------------------
    def clear(self) -> dict[str, Any]:
        """Stops the schedule, reads how often the faults fired, and removes every fault left."""
        self.stop_event.set()
        self.join(timeout=15)
        self.restart_all()
        fired: dict[str, Any] = {}
        try:
            stats = journeys.requests.get(f"{journeys.SANDBOX}/sandbox/stats", timeout=10).json()
            fired["iproov_faults_triggered"] = stats.get("faults_triggered", 0)
            rules = journeys.requests.get(f"{journeys.AWS_FAULTS}/_faults", timeout=10).json()["rules"]
            by_service: Counter[str] = Counter()
            for rule in rules:
                by_service[rule["service"]] += rule["fired"]
            fired["aws_calls_failed"] = dict(by_service)
        finally:
            journeys.clear_faults()
            journeys.clear_aws_faults()
            DUPLICATES_FILE.unlink(missing_ok=True)
        return fired
