"""The soak's invariant checker: reads the local stack's real state and says what must hold.

Runnable alone against a running stack (``.venv/bin/python tests/soak/invariants.py``): it reads
the tables, every object version of the images bucket, the queues and DLQs, the iProov
sandbox's records and every file in .local/logs. With a soak record (.local/soak/run.json, the
default ``--run``) it also checks what only the soak knows: the erasures it asked for, the
values it planted (usernames, display names, tokens, credentials) and every answer's status.
Prints each invariant with its counts; exits 1 on any breach (2 when the stack is unreachable).

Run it after a drain: while work is still queued, "in flight" registrations are not breaches of
the system but of the timing, and the checker cannot tell them apart.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import LOGS_DIR, ROOT, RUN_FILE, journeys

TERMINAL = {"completed", "failed", "expired"}
# The 503 error codes docs/api.md documents; any other 5xx is a breach.
DOCUMENTED_503 = {"verifier_unavailable", "storage_unavailable", "queue_unavailable", "service_unavailable"}
# A second validate call of a token is by design only when the first one's worker vanished or
# its answer was lost: the second is then refused (invalid_token) and the attempt fails with
# one of these reasons (core/src/use_cases/validate_scan.rs).
REFUSED_SECOND_VALIDATE = {"validation_unknown", "scan_expired"}


@dataclass
class Invariant:
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.breaches


# ----- reading the state ----------------------------------------------------------------------
def dlq_bodies(logical_id: str) -> list[dict[str, Any]]:
    """Every message in a DLQ, read without consuming it (visibility 0, deduplicated by id)."""
    sqs, url = journeys.aws("sqs"), journeys.resource(logical_id)
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(50):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                    WaitTimeSeconds=0).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            try:
                seen[message["MessageId"]] = json.loads(message["Body"])
            except ValueError:
                seen[message["MessageId"]] = {"unparsed": True}
    return list(seen.values())


def queue_depth(logical_id: str) -> int:
    attributes = journeys.aws("sqs").get_queue_attributes(
        QueueUrl=journeys.resource(logical_id), AttributeNames=["All"])["Attributes"]
    return sum(int(attributes.get(k, 0)) for k in (
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"))


def image_versions() -> list[dict[str, Any]]:
    s3, bucket = journeys.aws("s3"), journeys.resource("ImagesBucket")
    out, kw = [], {"Bucket": bucket}
    while True:
        page = s3.list_object_versions(**kw)
        out += [dict(v, marker=False) for v in page.get("Versions", [])]
        out += [dict(v, marker=True) for v in page.get("DeleteMarkers", [])]
        if not page.get("IsTruncated"):
            return out
        kw.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])


def s(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value.get("S") if isinstance(value, dict) else None


# ----- the invariants -----------------------------------------------------------------------------
def registrations_terminal(registrations: list[dict], drain: dict | None) -> Invariant:
    bound = f" (drain bound {drain['bound_seconds']}s, settled in {drain['seconds']}s)" if drain else ""
    inv = Invariant("every submitted registration is terminal, or its message is in the DLQ" + bound)
    in_dlq = {body.get("registration_id") for body in dlq_bodies("RegistrationDlq")}
    statuses = Counter(s(r, "status") for r in registrations)
    inv.counts = {f"status {k}": v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))}
    inv.counts["messages in the registration DLQ"] = len(in_dlq)
    for r in registrations:
        status = s(r, "status")
        if status in TERMINAL or status == "awaiting_scan":  # never submitted: nothing in flight
            continue
        if r["pk"]["S"] in in_dlq:
            inv.counts["in flight, message in the DLQ (counted)"] = inv.counts.get("in flight, message in the DLQ (counted)", 0) + 1
            continue
        inv.breaches.append(f"registration {r['pk']['S']} is still {status}")
    for logical_id in ("RegistrationQueue", "ErasureQueue"):
        depth = queue_depth(logical_id)
        inv.counts[f"messages left in {logical_id}"] = depth
        if depth:
            inv.breaches.append(f"{depth} message(s) still in {logical_id} after the drain")
    return inv


def one_validate_per_token(registrations: list[dict]) -> Invariant:
    inv = Invariant("at most one validate per token (enrol: per registration attempt; verify: per attempt)")
    stats = journeys.requests.get(f"{journeys.SANDBOX}/sandbox/stats", timeout=10).json()
    validations: dict[str, int] = stats.get("validations", {})
    by_token = {journeys.token_fingerprint(s(r, "iproov_token")): r for r in registrations if s(r, "iproov_token")}
    inv.counts = {"tokens validated": len(validations),
                  "enrol-validate calls": stats.get("calls", {}).get("POST /claim/enrol/validate", 0),
                  "verify-validate calls": stats.get("calls", {}).get("POST /claim/verify/validate", 0),
                  "tokens validated twice, second refused by design": 0}
    for fingerprint, count in sorted(validations.items()):
        if count <= 1:
            continue
        registration = by_token.get(fingerprint)
        if count == 2 and registration is not None and s(registration, "reason") in REFUSED_SECOND_VALIDATE:
            inv.counts["tokens validated twice, second refused by design"] += 1
            continue
        kind = f"registration {registration['pk']['S']}" if registration else "a verify (login/step-up) token"
        inv.breaches.append(f"token ~{fingerprint} ({kind}) was validated {count} times")
    return inv


def users_images_claims(users: list[dict], registrations: list[dict], versions: list[dict]) -> Invariant:
    inv = Invariant("no user without its image, no image without its user, no username claim without a user")
    records = {i["pk"]["S"][5:]: i for i in users if i["pk"]["S"].startswith("user#")}
    claims = {i["pk"]["S"][5:]: i for i in users if i["pk"]["S"].startswith("name#")}
    current = {v["Key"] for v in versions if v.get("IsLatest") and not v["marker"]}
    inv.counts = {"users": len(records), "username claims": len(claims), "image objects (current)": len(current),
                  "object versions and delete markers": len(versions)}
    for user_id, user in records.items():
        key = s(user, "image_key")
        if not key or key not in current:
            inv.breaches.append(f"user {user_id} has no stored image")
        claim = claims.get(s(user, "name_index") or "")
        if claim is None or s(claim, "user_id") != user_id:
            inv.breaches.append(f"user {user_id} has no username claim of its own")
    for name_index, claim in claims.items():
        if s(claim, "user_id") not in records:
            inv.breaches.append(f"username claim {name_index[:12]}… names no user")
    wanted = {s(u, "image_key") for u in records.values()}
    for version in versions:
        key = version["Key"]
        owner = key.split("/")[1] if key.count("/") >= 2 else "?"
        if owner not in records:
            inv.breaches.append(f"image {'delete marker' if version['marker'] else 'version'} {key} has no user")
        elif key not in wanted:
            inv.breaches.append(f"image {key} is not its user's image (a leftover of another attempt)")
    for r in registrations:
        if s(r, "status") == "completed" and s(r, "user_id") not in records:
            inv.breaches.append(f"completed registration {r['pk']['S']} has no user")
    return inv


def erasures_leave_nothing(erased: list[dict], users: list[dict], registrations: list[dict],
                           versions: list[dict]) -> Invariant:
    inv = Invariant("every erasure leaves nothing (items, object versions, iProov user)")
    in_dlq = {body.get("user_id") for body in dlq_bodies("ErasureDlq")}
    sessions = journeys.items("SessionsTable")
    inv.counts = {"erasures requested (202)": len(erased), "erasure messages in the DLQ": len(in_dlq)}
    for e in erased:
        user_id = e["user_id"]
        left = []
        if any(i["pk"]["S"] == f"user#{user_id}" or s(i, "user_id") == user_id for i in users):
            left.append("user item or username claim")
        if e.get("registration_id") and any(r["pk"]["S"] == e["registration_id"] for r in registrations):
            left.append("registration record")
        if any(s(i, "user_id") == user_id for i in sessions):
            left.append("sessions")
        if any(v["Key"].startswith(f"faces/{user_id}/") for v in versions):
            left.append("image versions")
        if e.get("iproov_user_id"):
            r = journeys.requests.get(f"{journeys.SANDBOX}/sandbox/users/{e['iproov_user_id']}", timeout=10)
            if r.status_code != 404:
                left.append("iProov user")
        if left:
            where = " (its message is in the erasure DLQ)" if user_id in in_dlq else ""
            inv.breaches.append(f"erased user {user_id} left: {', '.join(left)}{where}")
    return inv


def no_secrets_in_logs(planted: dict[str, list[str]], users: list[dict]) -> Invariant:
    inv = Invariant("no PII, token, credential or image bytes in any log line")
    values: dict[str, str] = {}
    for kind, items in planted.items():
        for value in items:
            values[value] = kind
            if kind == "credential" and "." in value:
                values[value.split(".", 1)[1]] = "credential secret"
    secret = json.loads(journeys.aws("secretsmanager").get_secret_value(
        SecretId=journeys.resource("IProovSecret"))["SecretString"])
    values[secret["secret"]] = "iProov secret"
    values[secret["oauth_client_secret"]] = "iProov OAuth secret"
    fragments: dict[str, str] = {}
    s3, bucket = journeys.aws("s3"), journeys.resource("ImagesBucket")
    for user in [u for u in users if "image_key" in u][:25]:
        try:
            raw = s3.get_object(Bucket=bucket, Key=user["image_key"]["S"])["Body"].read()
        except s3.exceptions.NoSuchKey:
            continue  # a user without its image: the image invariant reports it
        data = base64.b64encode(raw).decode()
        fragments[data[:40]] = fragments[data[-40:]] = "image (base64)"
    # Word-like values are matched as whole runs of token characters (fast); values with
    # spaces (display names) and image fragments as substrings.
    words = {v: k for v, k in values.items() if re.fullmatch(r"[A-Za-z0-9_.~-]+", v)}
    phrases = {v: k for v, k in values.items() if v not in words}
    phrases.update(fragments)
    run_of = re.compile(r"[A-Za-z0-9_.~-]{8,}")
    files = sorted(LOGS_DIR.glob("*.log"))
    lines = 0
    found: Counter[str] = Counter()
    for path in files:
        text = path.read_text(errors="replace")
        lines += text.count("\n")
        for run in set(run_of.findall(text)):
            for candidate in {run, *run.split(".")}:
                if candidate in words:
                    found[f"{words[candidate]} in {path.name}"] += 1
        for phrase, kind in phrases.items():
            if phrase in text:
                found[f"{kind} in {path.name}"] += 1
    inv.counts = {"log files": len(files), "log lines": lines, "planted values": len(values) + len(fragments)}
    for leak, n in sorted(found.items()):
        inv.breaches.append(f"{n} planted value(s): {leak}")
    return inv


def documented_statuses() -> dict[str, set[int]]:
    """Per route, the statuses docs/api.md's route table lists (success and errors)."""
    documented: dict[str, set[int]] = {}
    for line in (ROOT / "docs" / "api.md").read_text().splitlines():
        m = re.match(r"\| `(GET|POST|DELETE|PUT)(?:`/`(?:GET|POST))? (/[^ `]+)", line)
        if m:
            documented[f"{m.group(1)} {m.group(2)}"] = {int(n) for n in re.findall(r"\b([1-5]\d\d)\b", line)}
    return documented


def answers_documented(answers: list[dict]) -> Invariant:
    inv = Invariant("every API answer is documented (no 5xx but the documented 503s)")
    documented = documented_statuses()
    by_status = Counter(a["status"] for a in answers)
    inv.counts = {"answers": len(answers), **{f"status {k}": v for k, v in sorted(by_status.items())}}
    bad: Counter[str] = Counter()
    for a in answers:
        status, route = a["status"], a["route"]
        if status == 503 and a.get("error") in DOCUMENTED_503:
            continue
        if status >= 500 or status == 0:
            bad[f"{route} -> {status} {a.get('error')}"] += 1
        elif route in documented and status not in documented[route]:
            bad[f"{route} -> {status} {a.get('error')} (not in docs/api.md's table for the route)"] += 1
    for what, n in sorted(bad.items()):
        inv.breaches.append(f"{n}x {what}")
    return inv


# ----- running ---------------------------------------------------------------------------------------
def check(run: dict[str, Any] | None) -> list[Invariant]:
    registrations = journeys.items("RegistrationsTable")
    users = journeys.items("UsersTable")
    versions = image_versions()
    result = [
        registrations_terminal(registrations, run.get("drain") if run else None),
        one_validate_per_token(registrations),
        users_images_claims(users, registrations, versions),
    ]
    if run:
        result += [
            erasures_leave_nothing(run["erased"], users, registrations, versions),
            no_secrets_in_logs(run["planted"], users),
            answers_documented(run["answers"]),
        ]
    else:
        result.append(no_secrets_in_logs({}, users))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=RUN_FILE, help="the soak's record (default %(default)s)")
    parser.add_argument("--markdown", type=Path, help="write the report's generated section into this file")
    args = parser.parse_args(argv)
    run = json.loads(args.run.read_text()) if args.run.exists() else None
    if run is None:
        print(f"invariants: no soak record at {args.run}; checking the stored state only")
    try:
        invariants = check(run)
    except journeys.requests.RequestException as exc:
        print(f"invariants: the stack did not answer ({exc.__class__.__name__})", file=sys.stderr)
        return 2
    for inv in invariants:
        print(f"[{'held' if inv.held else 'BREACHED'}] {inv.name}")
        print("    " + ", ".join(f"{k}: {v}" for k, v in inv.counts.items()))
        for breach in inv.breaches[:20]:
            print(f"    breach: {breach}")
        if len(inv.breaches) > 20:
            print(f"    … and {len(inv.breaches) - 20} more")
    breached = [inv.name for inv in invariants if not inv.held]
    if args.markdown and run:
        import report

        report.write(args.markdown, run, invariants)
        print(f"invariants: report written to {args.markdown}")
    if breached:
        print(f"invariants: {len(breached)} BREACHED: " + "; ".join(breached))
        return 1
    print(f"invariants: all {len(invariants)} held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
