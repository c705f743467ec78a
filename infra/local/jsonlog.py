"""One JSON object per line on stdout, like the functions log in Lambda.

The emulators' logs end up in .local/logs/*.log, where people grep them and the end-to-end
tests parse them; a fixed machine-readable shape serves both. Callers pass only fields that
are safe to keep (no bodies, headers, query strings or credentials).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

_lock = threading.Lock()


def emit(component: str, event: str, level: str = "info", **fields: Any) -> None:
    record = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z",
        "level": level,
        "component": component,
        "event": event,
        **fields,
    }
    line = json.dumps(record, separators=(",", ":"), default=str)
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
