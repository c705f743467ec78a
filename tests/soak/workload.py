"""The soak's journeys: registrations, logins, step-ups and erasures, as many apps would run them.

Every HTTP call goes through journeys.Client (RecordingClient), so request bodies are the e2e
suite's; the person in front of the camera is journeys.scan. Nothing here asserts: under faults
any documented answer may come, and the journey simply ends there, counted by how it ended
("start:503", "completed", …). What must hold afterwards is the checker's business.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common import journeys
from recorder import Recorder, RecordingClient

FAIL_REASONS = ["too_dark", "too_bright", "ambiguous_outcome", "sunglasses", "too_much_movement"]
WEIGHTS = {"registration": 0.5, "login": 0.25, "step_up": 0.13, "erasure": 0.12}
POLL_SECONDS = 60


@dataclass
class Person:
    """A registered user the soak knows: who, from where, and a live session when it has one."""

    username: str
    ip: str
    session: str | None


@dataclass
class Workload:
    recorder: Recorder
    seed: int
    deadline: float
    people: list[Person] = field(default_factory=list)
    journeys_run: Counter[str] = field(default_factory=Counter)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    erased: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ips: Any = field(default_factory=itertools.count)

    # ----- shared state ------------------------------------------------------------------------
    def next_ip(self) -> str:
        """A fresh client address in 198.18.0.0/15 (benchmarking range): every app its own IP,
        so per-IP rate limits do not dominate the soak."""
        with self.lock:
            n = next(self._ips)
        return f"198.{18 + (n // 64516) % 2}.{(n // 254) % 254 + 1}.{n % 254 + 1}"

    def client(self, ip: str | None = None, session: str | None = None) -> RecordingClient:
        return RecordingClient(ip=ip or self.next_ip(), session=session, recorder=self.recorder)

    def count(self, kind: str, outcome: str) -> None:
        with self.lock:
            self.journeys_run[f"{kind} {outcome}"] += 1

    def pick(self, rng: random.Random, need_session: bool, remove: bool = False) -> Person | None:
        with self.lock:
            pool = [p for p in self.people if p.session or not need_session]
            if not pool:
                return None
            person = rng.choice(pool)
            if remove:
                self.people.remove(person)
            return person

    # ----- a worker ----------------------------------------------------------------------------
    def worker(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        kinds, weights = zip(*WEIGHTS.items())
        while time.monotonic() < self.deadline:
            kind = rng.choices(kinds, weights)[0]
            try:
                outcome = getattr(self, kind)(rng)
            except AssertionError:
                outcome = "sandbox_refused_scan"  # journeys.scan asserts on the control's answer
            except journeys.requests.RequestException as exc:
                outcome = f"no_answer:{exc.__class__.__name__}"
            if outcome:
                self.count(kind, outcome)

    # ----- journeys ----------------------------------------------------------------------------
    def registration(self, rng: random.Random) -> str:
        username = f"soak-{rng.getrandbits(48):012x}"
        display_name = f"Soak Person {rng.getrandbits(32):08x}"
        self.recorder.plant("username", username)
        self.recorder.plant("display_name", display_name)
        app = self.client()
        for attempt in (1, 2):
            started = app.start_registration(username, display_name)
            if started.status_code != 201:
                return f"start:{started.status_code}"
            body = started.json()
            passed = rng.random() < 0.85
            journeys.scan(body["iproov"]["token"], "passed" if passed else "failed",
                          None if passed else rng.choice(FAIL_REASONS))
            submitted = app.submit_scan()
            if submitted.status_code != 202:
                return f"submit:{submitted.status_code}"
            record = {"registration_id": body["registration_id"], "attempt": body.get("attempt", attempt)}
            with self.lock:
                self.registrations.append(record)
            status = self._poll(app, record)
            if status == "completed":
                with self.lock:
                    self.people.append(Person(username, app.ip, app.session))
                return "completed"
            if status != "failed" or rng.random() < 0.5:
                return status  # failed (not retried), or still pending when the soak ended
        return "failed_twice"

    def _poll(self, app: RecordingClient, record: dict) -> str:
        until = min(time.monotonic() + POLL_SECONDS, self.deadline)
        status = "pending"
        while time.monotonic() < until:
            answer = app.registration_status()
            if answer.status_code == 200:
                body = answer.json()
                status = body["status"]
                record["seen"] = status
                if status in ("completed", "failed"):
                    if "login" in body:
                        app.session = body["login"].get("session_token")
                    return status
            time.sleep(0.5)
        return f"poll_ended:{status}"

    def login(self, rng: random.Random) -> str | None:
        person = self.pick(rng, need_session=False)
        if person is None:
            return None
        device = self.client()
        verify = device.verify_login(person.username)
        if verify.status_code != 200:
            return f"verify-login:{verify.status_code}"
        passed = rng.random() < 0.9
        journeys.scan(verify.json()["iproov"]["token"], "passed" if passed else "failed",
                      None if passed else rng.choice(FAIL_REASONS))
        login = device.login()
        if login.status_code == 200:
            with self.lock:
                person.session, person.ip = device.session, device.ip
            return "logged_in"
        return f"login:{login.status_code}" + ("" if passed else " (scan failed)")

    def _step_up(self, rng: random.Random, app: RecordingClient, passed: bool) -> str:
        started = app.start_step_up()
        if started.status_code != 200:
            return f"step-up:{started.status_code}"
        journeys.scan(started.json()["iproov"]["token"], "passed" if passed else "failed",
                      None if passed else rng.choice(FAIL_REASONS))
        done = app.complete_step_up(started.json()["attempt_token"])
        return "elevated" if done.status_code == 200 else f"complete:{done.status_code}"

    def step_up(self, rng: random.Random) -> str | None:
        person = self.pick(rng, need_session=True)
        if person is None:
            return None
        return self._step_up(rng, self.client(person.ip, person.session), rng.random() < 0.9)

    def erasure(self, rng: random.Random) -> str | None:
        person = self.pick(rng, need_session=True, remove=True)
        if person is None:
            return None
        app = self.client(person.ip, person.session)
        me = app.me()
        if me.status_code != 200:
            self._return(person)
            return f"me:{me.status_code}"
        user_id = me.json()["user_id"]
        # What must vanish: read now, as the user item (which names it) goes with the erasure.
        item = journeys.aws("dynamodb").get_item(
            TableName=journeys.table("UsersTable"), Key={"pk": {"S": f"user#{user_id}"}}, ConsistentRead=True
        ).get("Item") or {}
        elevated = self._step_up(rng, app, passed=True)
        if elevated != "elevated":
            self._return(person)
            return elevated
        erased = app.erase(step_up=False)
        if erased.status_code != 202:
            self._return(person)
            return f"delete:{erased.status_code}"
        with self.lock:
            self.erased.append({
                "user_id": user_id,
                "iproov_user_id": item.get("iproov_user_id", {}).get("S"),
                "registration_id": item.get("registration_id", {}).get("S"),
                "name_index": item.get("name_index", {}).get("S"),
                "at": time.time(),
            })
        return "erasure_scheduled"

    def _return(self, person: Person) -> None:
        with self.lock:
            self.people.append(person)
