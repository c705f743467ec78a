"""The README's walkthrough (examples/walkthrough.sh) runs as a newcomer would paste it: every
journey with curl against the local stack, ending logged out."""

from __future__ import annotations

import os
import subprocess
import uuid

from conftest import REPO_ROOT
from journeys import API, SANDBOX


def test_the_walkthrough_registers_logs_in_reads_the_account_and_logs_out() -> None:
    # given the running stack and a fresh username
    username = f"walk-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "API": API, "SANDBOX": SANDBOX}
    # when the walkthrough runs
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "examples/walkthrough.sh"), username],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    # then every step answered below 400 and it ends logged out
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"walkthrough: {username} registered, logged in, read the account and logged out" in done.stderr
    assert "204" in done.stderr.splitlines()[-2]
