"""The local stack on your own iProov tenant: the functions' configuration and IProovSecret come
from the settings, the credentials go nowhere else, and bad settings stop `devstack up` first."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import provision
from iproov_settings import IProovSettings
from settings import SANDBOX_CREDENTIALS, Ports

HERE = Path(__file__).resolve().parent
CREDENTIALS = {
    "api_key": "tenant-key-5e4d",
    "secret": "tenant-secret-3c2b",
    "oauth_client_id": "tenant-oauth-id-1a",
    "oauth_client_secret": "tenant-oauth-secret-0f",
}
TENANT = "https://eu.rp.secure.iproov.me/api/v2"


def tenant(tmp_path: Path, mode: int = 0o600, **extra: str) -> IProovSettings:
    path = tmp_path / "iproov.credentials.json"
    path.write_text(json.dumps(CREDENTIALS))
    path.chmod(mode)
    return IProovSettings.from_env(
        {"LOCAL_IPROOV_BASE_URL": TENANT, "LOCAL_IPROOV_CREDENTIALS_FILE": str(path), **extra}
    )


def test_the_functions_talk_to_the_tenant(fixture_template: Path, tmp_path: Path) -> None:
    ports = Ports(api=3000, aws=4566, sandbox=4600, lambda_=9000)
    model = provision.tpl.load_model(fixture_template, ports=ports)
    # without settings: the sandbox, as always
    assert provision.function_environment(model, ports)["IPROOV_BASE_URL"] == "http://127.0.0.1:4600/api/v2"
    # with a tenant: its API root; the SDK base URL left to the client's own default
    env = provision.function_environment(model, ports, tenant(tmp_path))
    assert env["IPROOV_BASE_URL"] == TENANT
    assert env["IPROOV_SDK_BASE_URL"] == ""
    # with a reverse proxy for the SDK: handed to the functions as IPROOV_SDK_BASE_URL
    proxied = tenant(tmp_path, LOCAL_IPROOV_SDK_BASE_URL="https://iproov.example.com/")
    assert provision.function_environment(model, ports, proxied)["IPROOV_SDK_BASE_URL"] == "https://iproov.example.com"
    # and no credential is ever part of the functions' environment file
    rendered = provision.render_env_file(env)
    assert not any(value in rendered for value in CREDENTIALS.values())


def test_iproov_secret_holds_the_tenants_credentials_and_no_log_does(
    fixture_template: Path, moto_ports: Ports, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = provision.aws_client("secretsmanager", moto_ports)

    def iproov_secret() -> dict[str, str]:
        return json.loads(secrets.get_secret_value(SecretId="onboarding-local-iproov-secret")["SecretString"])

    # provision.log gets the records of these loggers, at every level (devstack.configure_provision_logging)
    for name in ("provision", "template"):
        caplog.set_level(logging.DEBUG, logger=name)
    # given a stack provisioned for the sandbox, when it is provisioned again for a tenant
    provision.provision(fixture_template, moto_ports, {})
    assert iproov_secret() == SANDBOX_CREDENTIALS
    provision.provision(fixture_template, moto_ports, {}, tenant(tmp_path))
    # then IProovSecret holds the file's credentials
    assert iproov_secret() == CREDENTIALS
    # and going back to the sandbox puts the sandbox's back
    provision.provision(fixture_template, moto_ports, {})
    assert iproov_secret() == SANDBOX_CREDENTIALS
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name in {"provision", "template"})
    assert "created secret onboarding-local-iproov-secret" in logged
    assert not any(value in logged for value in CREDENTIALS.values())


def test_a_world_readable_credentials_file_is_refused_by_provisioning(fixture_template: Path, moto_ports: Ports, tmp_path: Path) -> None:
    with pytest.raises(provision.SettingsError, match="chmod 600"):
        provision.provision(fixture_template, moto_ports, {}, tenant(tmp_path, mode=0o644))


def devstack_up(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`devstack.py up --detach` in a directory and on ports of its own (nothing else is touched)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_IPROOV_")}
    env.update(
        LOCAL_DIR=str(tmp_path / "local"), API_PORT="3990", AWS_PORT="3991", SANDBOX_PORT="3992",
        LAMBDA_PORT="3993", FAULT_PORT="3994", **settings,
    )
    return subprocess.run(
        [sys.executable, str(HERE.parent / "devstack.py"), "up", "--detach"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def test_devstack_refuses_a_world_readable_credentials_file_before_starting_anything(tmp_path: Path) -> None:
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps(CREDENTIALS))
    creds.chmod(0o644)
    done = devstack_up(tmp_path, LOCAL_IPROOV_BASE_URL=TENANT, LOCAL_IPROOV_CREDENTIALS_FILE=str(creds))
    assert done.returncode == 1
    assert "devstack: error:" in done.stdout and "chmod 600" in done.stdout
    assert not any(value in done.stdout + done.stderr for value in CREDENTIALS.values())
    assert not (tmp_path / "local").exists(), "nothing was started, not even the state directory"


def test_devstack_refuses_an_unpinned_sdk_before_starting_anything(tmp_path: Path) -> None:
    done = devstack_up(
        tmp_path,
        LOCAL_IPROOV_SDK_URL="https://cdn.jsdelivr.net/npm/@iproov/web-sdk@latest/iProovMe.js",
        LOCAL_IPROOV_SDK_INTEGRITY="sha384-" + "A" * 64,
    )
    assert done.returncode == 1
    assert "not version-pinned" in done.stdout
    assert not (tmp_path / "local").exists()
