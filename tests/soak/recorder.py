"""Every API answer of the soak, and every value the logs must never contain.

The checker's "every answer is documented" invariant and the latency table need each answer's
route, status, error code and time; the log canary needs every username, display name, token
and credential the soak used. Both are collected here, from one place: ``RecordingClient.call``,
the single HTTP choke point of journeys.Client.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from common import journeys


@dataclass
class Recorder:
    """Thread-safe store of answers and planted values; ``phase`` tells soak from drain."""

    phase: str = "soak"
    answers: list[dict[str, Any]] = field(default_factory=list)
    planted: dict[str, set[str]] = field(default_factory=lambda: {
        "username": set(), "display_name": set(), "token": set(), "credential": set()})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, route: str, status: int, error: str | None, ms: float) -> None:
        with self.lock:
            self.answers.append({"route": route, "status": status, "error": error, "ms": round(ms, 1),
                                 "phase": self.phase})

    def plant(self, kind: str, value: str | None) -> None:
        if value:
            with self.lock:
                self.planted[kind].add(value)


@dataclass
class RecordingClient(journeys.Client):
    """journeys.Client whose every call is recorded, and whose credentials are planted."""

    recorder: Recorder | None = None

    def call(self, method: str, path: str, *, credential: str | None = None, **kw) -> requests.Response:
        started = time.monotonic()
        route = f"{method} {path}"
        try:
            response = super().call(method, path, credential=credential, **kw)
        except requests.RequestException as exc:
            # No answer at all (the gateway timed out the connection): recorded as status 0.
            if self.recorder:
                self.recorder.answer(route, 0, exc.__class__.__name__, (time.monotonic() - started) * 1000)
            raise
        if self.recorder:
            error = None
            if response.status_code >= 400:
                try:
                    error = response.json().get("error")
                except ValueError:
                    error = "non_json"
            self.recorder.answer(route, response.status_code, error, (time.monotonic() - started) * 1000)
            self._plant_from(response)
        return response

    def _plant_from(self, response: requests.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        for key in ("session_token", "attempt_token"):
            self.recorder.plant("credential", body.get(key))
        self.recorder.plant("credential", (body.get("login") or {}).get("session_token"))
        self.recorder.plant("token", (body.get("iproov") or {}).get("token"))
