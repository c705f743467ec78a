"""Deliberate breaches, applied after the drain and before the checker (``SOAK_BREAK=<mode>``).

A checker that never fails proves nothing, so ``make soak SOAK_BREAK=<mode>`` damages the stored
state the way a defect would, and the checker must then fail naming the invariant. The damage is
done from here, to the local stack's state, not by a switch in the product code: a switch in the
scan validator would have to be kept out of every deployment by argument, this cannot reach one.

- ``delete-image``: every version of one user's face image is deleted (a user without its image).
- ``double-validate``: one consumed enrol token is sent to the sandbox's enrol-validate again,
  with the credentials the functions use (a second validate of one token).
- ``orphan-claim``: one user item is deleted, its username claim and image left behind.
- ``leak-username``: a line naming one username the soak used is appended to the functions'
  log (personal data in a log).
"""

from __future__ import annotations

import json
from typing import Any

from common import LOGS_DIR, journeys
from settings import SANDBOX_CREDENTIALS

MODES = ("delete-image", "double-validate", "orphan-claim", "leak-username")


def _a_user() -> dict[str, Any]:
    users = [i for i in journeys.items("UsersTable") if i["pk"]["S"].startswith("user#") and "image_key" in i]
    if not users:
        raise SystemExit("SOAK_BREAK: no user to break (did any registration complete?)")
    return users[0]


def apply(mode: str, run: dict[str, Any]) -> str:
    """Damages the state; returns what was done (ids only)."""
    if mode == "delete-image":
        user = _a_user()
        s3, bucket = journeys.aws("s3"), journeys.resource("ImagesBucket")
        listing = s3.list_object_versions(Bucket=bucket, Prefix=user["image_key"]["S"])
        for version in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        return f"deleted every version of user {user['user_id']['S']}'s image"
    if mode == "double-validate":
        registration = next(
            (r for r in journeys.items("RegistrationsTable") if r.get("status", {}).get("S") == "completed"), None)
        if registration is None:
            raise SystemExit("SOAK_BREAK: no completed registration to validate twice")
        body = {"api_key": SANDBOX_CREDENTIALS["api_key"], "secret": SANDBOX_CREDENTIALS["secret"],
                "user_id": registration["iproov_user_id"]["S"], "token": registration["iproov_token"]["S"],
                "client": "soak-break"}
        journeys.requests.post(f"{journeys.SANDBOX}/api/v2/claim/enrol/validate", json=body, timeout=10)
        return f"validated registration {registration['pk']['S']}'s enrol token a second time"
    if mode == "orphan-claim":
        user = _a_user()
        journeys.aws("dynamodb").delete_item(TableName=journeys.table("UsersTable"), Key={"pk": user["pk"]})
        return f"deleted user item {user['pk']['S']} (claim and image left)"
    if mode == "leak-username":
        username = sorted(run["planted"]["username"])[0]
        with open(LOGS_DIR / "functions.log", "a") as log:
            log.write(json.dumps({"level": "INFO", "message": "soak break", "username": username}) + "\n")
        return "appended one username to functions.log"
    raise SystemExit(f"SOAK_BREAK must be one of {', '.join(MODES)}, not {mode!r}")
