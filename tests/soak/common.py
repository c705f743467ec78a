"""Where the soak and its checker find the local stack, and the e2e helpers they reuse.

The soak drives the stack through tests/e2e/journeys.py (its Client builds every request body,
so a change there, such as the consent object of POST /v1/users/registration, reaches the soak
without an edit here). journeys.py reads its addresses from the environment when imported, so
they are set from infra/local/settings.py (API_PORT, …) before the import.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "local"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from settings import LOCAL_DIR, LOGS_DIR, Ports  # noqa: E402

PORTS = Ports.from_env()
os.environ.setdefault("API_URL", PORTS.api_url)
os.environ.setdefault("SANDBOX_URL", PORTS.sandbox_url)
os.environ.setdefault("AWS_ENDPOINT_URL", PORTS.aws_endpoint)
os.environ.setdefault("AWS_FAULTS_URL", PORTS.functions_aws_endpoint)

import journeys  # noqa: E402  (after the environment above)

SOAK_DIR = LOCAL_DIR / "soak"
RUN_FILE = SOAK_DIR / "run.json"
# The emulator's duplicate-delivery switch (infra/local/sqs_events.py, DuplicateControl).
DUPLICATES_FILE = LOCAL_DIR / "sqs_duplicates.json"

__all__ = ["DUPLICATES_FILE", "LOCAL_DIR", "LOGS_DIR", "PORTS", "ROOT", "RUN_FILE", "SOAK_DIR", "journeys"]
