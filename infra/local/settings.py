"""Addresses, names and credentials of the local stack, in one place.

Every tool in infra/local (and the end-to-end tests) reads these instead of repeating literals,
so the ports in docs/architecture ("The local stack") are defined once. Ports can be moved with
environment variables, which the tools pass on to each other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = Path(os.environ.get("LOCAL_DIR", REPO_ROOT / ".local"))
LOGS_DIR = LOCAL_DIR / "logs"
PIDS_DIR = LOCAL_DIR / "pids"
STACK_FILE = LOCAL_DIR / "stack.json"
FUNCTIONS_ENV_FILE = LOCAL_DIR / "functions.env"
TEMPLATE_FILE = Path(os.environ.get("TEMPLATE_FILE", REPO_ROOT / "template.yaml"))
WEB_DIR = REPO_ROOT / "web"

STACK_NAME = "onboarding-local"
REGION = "eu-west-1"
# moto's default account; ARNs it returns use it, so ours must too.
ACCOUNT_ID = "123456789012"
HOST = "127.0.0.1"

# Dummy credentials: moto accepts anything, and the AWS SDKs stall on instance metadata
# lookups when no credentials are configured at all.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}



@dataclass(frozen=True)
class LocalCaller:
    """An IAM principal that may call the operator API (``AWS_IAM`` routes) of the local stack.

    In AWS an operator signs with their own credentials (a role the deployer attached the
    template's ``OperatorApiPolicy`` to); they are never the stack's secrets, so they live here,
    not in Secrets Manager. ``managed_policies`` names ``AWS::IAM::ManagedPolicy`` resources of
    template.yaml attached to the principal: the gateway evaluates their documents.
    """

    name: str
    access_key: str
    secret_key: str
    arn: str
    user_id: str
    managed_policies: tuple[str, ...]


# One operator with the operator policy, and one principal without it (the gateway must refuse
# it), for `make admin LOCAL=1` and the end-to-end tests.
LOCAL_CALLERS = (
    LocalCaller("operator", "AKIALOCALOPERATOR", "local-operator-secret",
                f"arn:aws:iam::{ACCOUNT_ID}:user/local-operator", "AIDALOCALOPERATOR", ("OperatorApiPolicy",)),
    LocalCaller("no-policy", "AKIALOCALNOPOLICY", "local-no-policy-secret",
                f"arn:aws:iam::{ACCOUNT_ID}:user/local-no-policy", "AIDALOCALNOPOLICY", ()),
)


def local_caller(name: str) -> LocalCaller:
    return next(c for c in LOCAL_CALLERS if c.name == name)


def function_access_key(logical_id: str) -> str:
    """A function's own access key id: ``ScanValidatorFunction`` -> ``LOCALSCANVALIDATORFUNCTION``.

    moto accepts any key; the AWS fault proxy maps this one to the function's role in
    template.yaml to enforce IAM (iam_enforcer.py). ``function_runner.py`` sets it per function.
    """
    return "LOCAL" + "".join(c for c in logical_id.upper() if c.isalnum())


# The iProov sandbox's built-in credentials (its defaults); the provisioner stores exactly these
# in the IProovSecret so that the functions authenticate against the sandbox.
SANDBOX_CREDENTIALS = {
    "api_key": "sandbox-api-key",
    "secret": "sandbox-secret",
    "oauth_client_id": "sandbox-oauth-id",
    "oauth_client_secret": "sandbox-oauth-secret",
}


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a port number, got {raw!r}") from exc
    if not 0 < port < 65536:
        raise SystemExit(f"{name} must be a port number, got {raw!r}")
    return port


@dataclass(frozen=True)
class Ports:
    """TCP ports of the local stack (see the architecture page)."""

    api: int
    aws: int
    sandbox: int
    lambda_: int
    faults: int = 4567
    # The local webhook receiver (webhook_receiver.py), the customer's backend stand-in.
    webhooks: int = 4650

    @classmethod
    def from_env(cls) -> "Ports":
        return cls(
            api=_port("API_PORT", 3000),
            aws=_port("AWS_PORT", 4566),
            sandbox=_port("SANDBOX_PORT", 4600),
            lambda_=_port("LAMBDA_PORT", 9000),
            faults=_port("FAULT_PORT", 4567),
            webhooks=_port("WEBHOOK_PORT", 4650),
        )

    @property
    def aws_endpoint(self) -> str:
        return f"http://{HOST}:{self.aws}"

    @property
    def functions_aws_endpoint(self) -> str:
        """Where the functions reach AWS: moto through the fault-injecting proxy (aws_faults.py)."""
        return f"http://{HOST}:{self.faults}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api}"

    @property
    def sandbox_url(self) -> str:
        return f"http://{HOST}:{self.sandbox}"

    @property
    def iproov_base_url(self) -> str:
        return f"{self.sandbox_url}/api/v2"

    @property
    def lambda_url(self) -> str:
        return f"http://{HOST}:{self.lambda_}"

    @property
    def webhook_receiver_url(self) -> str:
        return f"http://{HOST}:{self.webhooks}"

    def webhook_endpoints(self) -> list[str]:
        """The two endpoints the local stack delivers webhooks to (both on the receiver)."""
        return [f"{self.webhook_receiver_url}/hooks/a", f"{self.webhook_receiver_url}/hooks/b"]

    def local_origins(self) -> list[str]:
        """CORS origins allowed locally: the gateway's own address, by IP and by name."""
        return [f"http://{HOST}:{self.api}", f"http://localhost:{self.api}"]
