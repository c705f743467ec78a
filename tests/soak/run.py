"""``make soak``: concurrent journeys through the local stack under a random fault schedule,
then a drain with every fault cleared, then a record of it all for the checker (invariants.py).

Bounded: SOAK_SECONDS of load (default 180), then at most SOAK_DRAIN_SECONDS (default 300) for
queued work to settle; it talks to the loopback stack only and stops by itself. The seed
(SOAK_SEED, printed first) fixes the fault schedule and each worker's choices.

Environment: SOAK_SECONDS, SOAK_WORKERS (default 6), SOAK_SEED, SOAK_DRAIN_SECONDS,
SOAK_BREAK (breakage.py). Writes .local/soak/run.json (holds the soak's synthetic names and
tokens, for the log canary; .local is git-ignored).
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from collections import Counter
from typing import Any

import breakage
from common import LOGS_DIR, RUN_FILE, SOAK_DIR, journeys
from faults import FaultSchedule
from recorder import Recorder
from workload import Workload

IN_FLIGHT = ("submitted", "validating")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def queue_depth(logical_id: str) -> int:
    attributes = journeys.aws("sqs").get_queue_attributes(
        QueueUrl=journeys.resource(logical_id), AttributeNames=["All"])["Attributes"]
    return sum(int(attributes.get(k, 0)) for k in (
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"))


def unsettled() -> dict[str, int]:
    """What is still moving: registrations in flight, messages in the two work queues."""
    statuses = Counter(i.get("status", {}).get("S") for i in journeys.items("RegistrationsTable"))
    return {"registrations_in_flight": sum(statuses[s] for s in IN_FLIGHT),
            "registration_queue": queue_depth("RegistrationQueue"), "erasure_queue": queue_depth("ErasureQueue")}


def drain(bound: float) -> dict[str, Any]:
    started = time.monotonic()
    state = unsettled()
    while any(state.values()) and time.monotonic() - started < bound:
        time.sleep(2)
        state = unsettled()
    return {"seconds": round(time.monotonic() - started, 1), "bound_seconds": bound,
            "settled": not any(state.values()), "left": state}


def sqs_log_facts() -> dict[str, int]:
    """From the SQS emulator's log: duplicated batches, and batches whose function never
    answered (killed mid-batch, or too slow), per function."""
    facts: Counter[str] = Counter()
    path = LOGS_DIR / "sqs.log"
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "duplicate_delivery":
            facts[f"duplicated batches ({record['function']})"] += 1
        elif record.get("event") == "batch" and record.get("outcome") in ("timeout", "unavailable") \
                or str(record.get("outcome", "")).startswith("duplicate:") and "timeout" in record.get("outcome", ""):
            facts[f"batches unanswered, killed or timed out ({record['function']})"] += 1
    return dict(facts)


def main() -> int:
    seed = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(1, 2**31))
    seconds, workers = env_int("SOAK_SECONDS", 180), env_int("SOAK_WORKERS", 6)
    drain_bound = env_int("SOAK_DRAIN_SECONDS", 300)
    print(f"soak: seed {seed} (SOAK_SEED={seed} replays the schedule), {seconds}s, {workers} workers", flush=True)
    if journeys.requests.get(f"{journeys.API}/v1/health", timeout=10).status_code != 200:
        print("soak: the local stack does not answer GET /v1/health", file=sys.stderr)
        return 2
    began = time.time()
    deadline = time.monotonic() + seconds
    recorder = Recorder()
    workload = Workload(recorder, seed, deadline)
    stack = journeys.stack()
    queue_names = [stack["queues"][q]["name"] for q in ("RegistrationQueue", "ErasureQueue")]
    schedule = FaultSchedule(seed, deadline, queue_names)
    threads = [threading.Thread(target=workload.worker, args=(i,), daemon=True) for i in range(workers)]
    schedule.start()
    for thread in threads:
        thread.start()
    last = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        if time.monotonic() - last >= 30:
            last = time.monotonic()
            print(f"soak: {sum(workload.journeys_run.values())} journeys, "
                  f"{sum(schedule.injected.values())} faults so far", flush=True)
    fired = schedule.clear()
    recorder.phase = "drain"
    print("soak: load over, faults cleared; draining", flush=True)
    drained = drain(drain_bound)
    print(f"soak: drain {'settled' if drained['settled'] else 'did NOT settle'} in {drained['seconds']}s "
          f"(bound {drain_bound}s) {drained['left']}", flush=True)
    run = {
        "seed": seed, "seconds": seconds, "workers": workers, "started_at": began,
        "wall_seconds": round(time.time() - began, 1), "drain": drained,
        "journeys": dict(sorted(workload.journeys_run.items())),
        "faults": {"injected": dict(sorted(schedule.injected.items())), "fired": fired,
                   "control_errors": dict(schedule.errors), "restarted_instances": schedule.restarted,
                   "sqs": sqs_log_facts(), "events": schedule.events},
        "registrations": workload.registrations, "erased": workload.erased,
        "answers": recorder.answers,
        "planted": {k: sorted(v) for k, v in recorder.planted.items()},
    }
    mode = os.environ.get("SOAK_BREAK", "").strip()
    if mode:
        run["break"] = {"mode": mode, "done": breakage.apply(mode, run)}
        print(f"soak: SOAK_BREAK={mode}: {run['break']['done']}", flush=True)
    SOAK_DIR.mkdir(parents=True, exist_ok=True)
    RUN_FILE.write_text(json.dumps(run))
    print(f"soak: {sum(workload.journeys_run.values())} journeys, {sum(schedule.injected.values())} faults, "
          f"{len(recorder.answers)} answers; record in {RUN_FILE}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
