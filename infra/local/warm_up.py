"""Starts one instance of every API function of the running local stack, one after the other.

`cargo lambda watch` starts a function's instance with `cargo run` at the first request that
finds none free, and those starts queue on cargo's locks. When the parallel end-to-end phase
(make e2e) opens with a dozen clients at once, every function starts together and first calls
waited over 10 s (clean-clone runs of 2026-12-02). One request per function first, in turn,
spreads those starts out (two at once per function, so two instances each are up before the
tests; more start later, as the load asks for them). Each request is whatever the route's method and path give without a
body or credential: the answer (often 400 or 401) does not matter, only that the function ran.
Functions behind an authorizer are reached only with a signature, so they are left out.

    python infra/local/warm_up.py            # the stack of .local/stack.json, on API_PORT
"""

from __future__ import annotations

import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from settings import STACK_FILE, Ports


def first_route_per_function(stack: dict) -> list[dict]:
    seen: dict[str, dict] = {}
    for route in stack["routes"]:
        if route.get("authorizer") or route["binary"] in seen:
            continue
        seen[route["binary"]] = route
    return list(seen.values())


INSTANCES = 2


def call(method: str, url: str) -> str:
    try:
        return str(requests.request(method, url, timeout=60).status_code)
    except requests.RequestException as err:
        return f"no answer ({type(err).__name__})"


def main() -> int:
    api = Ports.from_env().api_url
    stack = json.loads(STACK_FILE.read_text())
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=INSTANCES) as pool:
        for route in first_route_per_function(stack):
            path = re.sub(r"\{[^}]+\}", "warm-up", route["path"])
            statuses = list(pool.map(lambda _: call(route["method"], api + path), range(INSTANCES)))
            print(f"warm-up: {route['binary']}: {route['method']} {route['path']} -> {', '.join(statuses)}")
    print(f"warm-up: {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
