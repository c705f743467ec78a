"""Your own iProov tenant and the demo page's web SDK as settings (iproov_settings.py): what is
refused, and the Content-Security-Policy and page configuration derived from what is accepted."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import iproov_settings as ips
from iproov_settings import IProovSettings, SettingsError
from settings import REPO_ROOT

CREDENTIALS = {
    "api_key": "tenant-key-1f2e",
    "secret": "tenant-secret-9a8b",
    "oauth_client_id": "tenant-oauth-id",
    "oauth_client_secret": "tenant-oauth-secret-7c6d",
}
TENANT = "https://eu.rp.secure.iproov.me/api/v2"
SDK_URL = "https://cdn.jsdelivr.net/npm/@iproov/web-sdk@5.3.0/iProovMe.js"
INTEGRITY = ips.sri(b"the SDK file")
OLD_STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def credentials_file(tmp_path: Path, content: object = CREDENTIALS, mode: int = 0o600, name: str = "creds.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    path.chmod(mode)
    return path


def assert_no_secret(message: str) -> None:
    for value in CREDENTIALS.values():
        assert value not in message


# ----- nothing set: the sandbox, as before ----------------------------------------------------
def test_without_settings_the_stack_is_the_sandbox_with_the_strict_page_policy() -> None:
    # given no LOCAL_IPROOV_* variable, when the settings are read
    settings = IProovSettings.from_env({})
    # then there is no tenant and no SDK, the page's CSP is the strict one it always had,
    # and the page is told it talks to the sandbox
    assert settings.tenant is None and settings.sdk is None
    assert settings.page_csp() == OLD_STRICT_CSP
    assert settings.web_config() == {"iproov": {"platform": "sandbox", "sdk": None}}
    settings.check()  # nothing to read


# ----- the credentials file -------------------------------------------------------------------
def test_a_private_credentials_file_is_read(tmp_path: Path) -> None:
    # given a JSON file with the four fields, readable by its owner only
    path = credentials_file(tmp_path)
    # when read, then the four values come back
    assert ips.read_credentials(path) == CREDENTIALS


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_credentials_file_other_users_may_read_or_change_is_refused(tmp_path: Path, mode: int) -> None:
    # given the credentials in a file that group or others may read or write
    path = credentials_file(tmp_path, mode=mode)
    # when read, then it is refused, saying how to fix it, without a single value
    with pytest.raises(SettingsError) as refused:
        ips.read_credentials(path)
    message = str(refused.value)
    assert f"mode {mode:04o}" in message and "chmod 600" in message
    assert_no_secret(message)


def test_a_missing_credentials_file_names_the_file_and_the_fields(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        ips.read_credentials(tmp_path / "nowhere.json")
    message = str(refused.value)
    assert "nowhere.json does not exist" in message
    assert all(field in message for field in ips.CREDENTIAL_FIELDS)
    assert "LOCAL_IPROOV_CREDENTIALS_FILE" in message and "chmod 600" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({k: v for k, v in CREDENTIALS.items() if k != "secret"}, "lacks secret"),
        ({**CREDENTIALS, "api-key": "x"}, "fields other than"),
        ({**CREDENTIALS, "secret": ""}, "secret must be a non-empty string"),
        ({**CREDENTIALS, "secret": 42}, "secret must be a non-empty string"),
        ({**CREDENTIALS, "secret": CREDENTIALS["secret"] + "\n"}, "spaces or line breaks"),
        (["not", "an", "object"], "one JSON object"),
        ('{"api_key": "tenant-key-1f2e", "secret": "tenant-secret-9a8b",', "is not JSON (line 1"),
    ],
)
def test_a_malformed_credentials_file_is_refused_without_showing_a_value(
    tmp_path: Path, content: object, expected: str
) -> None:
    path = credentials_file(tmp_path, content=content)
    with pytest.raises(SettingsError) as refused:
        ips.read_credentials(path)
    assert expected in str(refused.value)
    assert_no_secret(str(refused.value))


def test_an_unknown_field_that_looks_like_a_value_is_not_named(tmp_path: Path) -> None:
    # given a value pasted where a field name belongs
    path = credentials_file(tmp_path, content={**CREDENTIALS, "AKIA/x+y=z secret!": "v"})
    with pytest.raises(SettingsError) as refused:
        ips.read_credentials(path)
    assert "1 other(s)" in str(refused.value) and "AKIA" not in str(refused.value)


def test_a_credentials_file_git_could_commit_is_refused(tmp_path: Path) -> None:
    # given a repository and the credentials file inside it
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    path = credentials_file(tmp_path, name="iproov.credentials.json")
    # when it is not ignored, then it is refused: a `git add -A` would commit it
    with pytest.raises(SettingsError, match="not ignored by git"):
        ips.read_credentials(path, repo_root=tmp_path)
    # when it is ignored, then it is read
    (tmp_path / ".gitignore").write_text("/iproov.credentials.json\n")
    assert ips.read_credentials(path, repo_root=tmp_path) == CREDENTIALS
    # when it is tracked all the same (added with --force), then it is refused again
    subprocess.run(["git", "-C", str(tmp_path), "add", "-f", "iproov.credentials.json"], check=True)
    with pytest.raises(SettingsError, match="tracked by git"):
        ips.read_credentials(path, repo_root=tmp_path)


def test_the_default_credentials_file_is_ignored_by_this_repository() -> None:
    relative = ips.DEFAULT_CREDENTIALS_FILE.relative_to(REPO_ROOT)
    ignored = subprocess.run(["git", "-C", str(REPO_ROOT), "check-ignore", "-q", str(relative)], check=False)
    assert ignored.returncode == 0, f"{relative} must be in .gitignore"


# ----- the tenant -----------------------------------------------------------------------------
def test_a_tenant_with_its_credentials(tmp_path: Path) -> None:
    path = credentials_file(tmp_path)
    settings = IProovSettings.from_env({"LOCAL_IPROOV_BASE_URL": TENANT + "/", "LOCAL_IPROOV_CREDENTIALS_FILE": str(path)})
    assert settings.tenant is not None
    assert settings.tenant.base_url == TENANT
    # the SDK base URL is the platform root, as the iProov client derives it
    assert settings.tenant.sdk_base_url == "https://eu.rp.secure.iproov.me"
    assert settings.tenant.sdk_base_url_setting is None
    assert settings.tenant.credentials() == CREDENTIALS
    settings.check()
    assert settings.web_config()["iproov"] == {"platform": "tenant", "sdk": None}
    # what devstack prints names the tenant and the file, never a value
    described = "\n".join(settings.describe())
    assert TENANT in described and "creds.json" in described and "no iProov web SDK" in described
    assert_no_secret(described)


def test_the_credentials_file_defaults_to_the_ignored_file_in_the_repository() -> None:
    settings = IProovSettings.from_env({"LOCAL_IPROOV_BASE_URL": TENANT})
    assert settings.tenant is not None and settings.tenant.credentials_file == ips.DEFAULT_CREDENTIALS_FILE
    relative = IProovSettings.from_env({"LOCAL_IPROOV_BASE_URL": TENANT, "LOCAL_IPROOV_CREDENTIALS_FILE": "x/creds.json"})
    assert relative.tenant is not None and relative.tenant.credentials_file == REPO_ROOT / "x" / "creds.json"


def test_a_world_readable_credentials_file_stops_the_check(tmp_path: Path) -> None:
    path = credentials_file(tmp_path, mode=0o644)
    settings = IProovSettings.from_env({"LOCAL_IPROOV_BASE_URL": TENANT, "LOCAL_IPROOV_CREDENTIALS_FILE": str(path)})
    with pytest.raises(SettingsError, match="chmod 600"):
        settings.check()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LOCAL_IPROOV_BASE_URL": "http://eu.rp.secure.iproov.me/api/v2"}, "must use https"),
        ({"LOCAL_IPROOV_BASE_URL": "ftp://eu.rp.secure.iproov.me/api/v2"}, "absolute https:// URL"),
        ({"LOCAL_IPROOV_BASE_URL": "eu.rp.secure.iproov.me/api/v2"}, "absolute https:// URL"),
        ({"LOCAL_IPROOV_BASE_URL": "https://user:hunter2@eu.rp.secure.iproov.me/api/v2"}, "user name or password"),
        ({"LOCAL_IPROOV_BASE_URL": "https://eu.rp.secure.iproov.me"}, "REST API root with its path"),
        ({"LOCAL_IPROOV_BASE_URL": TENANT + "?x=1"}, "query string"),
        ({"LOCAL_IPROOV_BASE_URL": "https://[2001:db8::1]/api/v2"}, "IPv6"),
        ({"LOCAL_IPROOV_BASE_URL": TENANT, "LOCAL_IPROOV_SDK_BASE_URL": "http://proxy.example.com"}, "must use https"),
        ({"LOCAL_IPROOV_SDK_BASE_URL": "https://proxy.example.com"}, "LOCAL_IPROOV_BASE_URL is not"),
        ({"LOCAL_IPROOV_CREDENTIALS_FILE": "/tmp/creds.json"}, "LOCAL_IPROOV_BASE_URL is not"),
    ],
)
def test_bad_tenant_settings_are_refused(env: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as refused:
        IProovSettings.from_env(env)
    assert expected in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_the_sandbox_can_play_the_tenant_over_loopback_http() -> None:
    settings = IProovSettings.from_env({"LOCAL_IPROOV_BASE_URL": "http://127.0.0.1:4600/api/v2"})
    assert settings.tenant is not None and settings.tenant.sdk_base_url == "http://127.0.0.1:4600"


# ----- the web SDK ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        SDK_URL,
        "https://sdk.example.com/iproov/5.3.0/iProovMe.js",
        "https://sdk.example.com/iproov/v5.3.0/iProovMe.js",
        "https://cdn.jsdelivr.net/npm/@iproov/web-sdk@5.3.0-beta.2/iProovMe.js",
        "http://127.0.0.1:8080/web-sdk@5.3.0/iProovMe.js",
    ],
)
def test_a_pinned_sdk_url_with_its_integrity_is_accepted(url: str) -> None:
    settings = IProovSettings.from_env({"LOCAL_IPROOV_SDK_URL": url, "LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY})
    assert settings.sdk == ips.Sdk(url, INTEGRITY)
    assert settings.web_config()["iproov"]["sdk"] == {"src": url, "integrity": INTEGRITY}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.jsdelivr.net/npm/@iproov/web-sdk@latest/iProovMe.js", "'latest', which is not an exact version"),
        ("https://cdn.jsdelivr.net/npm/@iproov/web-sdk@5/iProovMe.js", "not an exact version"),
        ("https://cdn.jsdelivr.net/npm/@iproov/web-sdk@^5.3.0/iProovMe.js", "not an exact version"),
        ("https://cdn.jsdelivr.net/npm/@iproov/web-sdk@5.x/iProovMe.js", "not an exact version"),
        ("https://cdn.jsdelivr.net/npm/@iproov/web-sdk/iProovMe.js", "names no exact version"),
        ("https://sdk.example.com/iproov/latest/5.3.0/iProovMe.js", "names 'latest'"),
        ("https://sdk.example.com/iProovMe.js", "names no exact version"),
        ("http://cdn.example.com/web-sdk@5.3.0/iProovMe.js", "must use https"),
        ("https://cdn.example.com/web-sdk@5.3.0/iProovMe.js?v=1", "query string"),
        ("https://cdn.example.com/web-sdk@5.3.0/", "SDK's script"),
        ("/vendor/web-sdk@5.3.0/iProovMe.js", "absolute https:// URL"),
        ("https://cdn.example.com/web-sdk@5.3.0/iProov;Me.js", "semicolon"),
    ],
)
def test_an_sdk_url_that_is_not_https_or_not_pinned_is_refused(url: str, expected: str) -> None:
    with pytest.raises(SettingsError) as refused:
        IProovSettings.from_env({"LOCAL_IPROOV_SDK_URL": url, "LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY})
    assert expected in str(refused.value)


@pytest.mark.parametrize(
    ("integrity", "expected"),
    [
        ("", "LOCAL_IPROOV_SDK_INTEGRITY is not"),
        ("sha384-abc", "must be the SDK file's Subresource Integrity hash"),
        (INTEGRITY[:-4], "not a whole sha384 digest (45 bytes, not 48)"),
        (ips.sri(b"x", "sha256"), "uses sha256"),
        ("md5-" + INTEGRITY.split("-", 1)[1], "must be the SDK file's Subresource Integrity hash"),
        (f"{INTEGRITY} {ips.sri(b'y')}", "must be the SDK file's Subresource Integrity hash"),
        (INTEGRITY.replace("sha384-", "sha384:"), "must be the SDK file's Subresource Integrity hash"),
    ],
)
def test_a_missing_or_ill_formed_integrity_is_refused(integrity: str, expected: str) -> None:
    with pytest.raises(SettingsError) as refused:
        IProovSettings.from_env({"LOCAL_IPROOV_SDK_URL": SDK_URL, "LOCAL_IPROOV_SDK_INTEGRITY": integrity})
    assert expected in str(refused.value)


def test_sha512_integrity_is_accepted_and_an_integrity_alone_is_refused() -> None:
    sha512 = ips.sri(b"the SDK file", "sha512")
    assert IProovSettings.from_env({"LOCAL_IPROOV_SDK_URL": SDK_URL, "LOCAL_IPROOV_SDK_INTEGRITY": sha512}).sdk
    with pytest.raises(SettingsError, match="LOCAL_IPROOV_SDK_URL is not"):
        IProovSettings.from_env({"LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY})


# ----- the page's Content-Security-Policy -----------------------------------------------------
def directives(csp: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = sources
    return parsed


def test_with_a_tenant_and_an_sdk_the_policy_adds_exactly_what_the_sdk_needs() -> None:
    settings = IProovSettings.from_env(
        {"LOCAL_IPROOV_BASE_URL": TENANT, "LOCAL_IPROOV_SDK_URL": SDK_URL, "LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY}
    )
    csp = directives(settings.page_csp())
    # scripts: this origin and the SDK's release directory on its origin, nothing else
    assert csp["script-src"] == ["'self'", "https://cdn.jsdelivr.net/npm/@iproov/web-sdk@5.3.0/", "'wasm-unsafe-eval'"]
    # the SDK streams to the tenant's platform (https and wss), and fetches its own assets
    assert csp["connect-src"] == [
        "'self'", "https://eu.rp.secure.iproov.me", "wss://eu.rp.secure.iproov.me", "https://cdn.iproov.app",
    ]
    assert csp["media-src"] == ["'self'", "blob:"] and csp["worker-src"] == ["'self'", "blob:"]
    assert csp["style-src"] == ["'self'", "'unsafe-inline'", "https://cdn.iproov.app"]
    # what the strict policy forbids stays forbidden
    for name in ("object-src", "frame-ancestors", "base-uri"):
        assert csp[name] == ["'none'"]
    assert csp["default-src"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert not any(source in ("'unsafe-eval'", "*", "https:", "data:") for source in csp["script-src"])
    assert "frame-src" not in csp


def test_the_platform_in_the_policy_is_the_sdk_base_url() -> None:
    # given a reverse proxy in front of iProov, on a port of its own
    settings = IProovSettings.from_env({
        "LOCAL_IPROOV_BASE_URL": TENANT,
        "LOCAL_IPROOV_SDK_BASE_URL": "https://iproov-proxy.example.com:8443/iproov/",
        "LOCAL_IPROOV_SDK_URL": "https://sdk.example.com:443/iproov/5.3.0/iProovMe.js",
        "LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY,
    })
    assert settings.tenant is not None and settings.tenant.sdk_base_url == "https://iproov-proxy.example.com:8443/iproov"
    csp = directives(settings.page_csp())
    assert csp["connect-src"][1:3] == ["https://iproov-proxy.example.com:8443", "wss://iproov-proxy.example.com:8443"]
    assert csp["script-src"][1] == "https://sdk.example.com/iproov/5.3.0/"  # default port left out


def test_the_sandbox_as_tenant_and_a_loopback_sdk_give_http_and_ws_sources() -> None:
    settings = IProovSettings.from_env({
        "LOCAL_IPROOV_BASE_URL": "http://127.0.0.1:4600/api/v2",
        "LOCAL_IPROOV_SDK_URL": "http://127.0.0.1:8080/web-sdk@5.3.0/iProovMe.js",
        "LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY,
    })
    csp = directives(settings.page_csp())
    assert csp["script-src"][1] == "http://127.0.0.1:8080/web-sdk@5.3.0/"
    assert csp["connect-src"][1:3] == ["http://127.0.0.1:4600", "ws://127.0.0.1:4600"]


def test_an_sdk_without_a_tenant_names_no_platform() -> None:
    settings = IProovSettings.from_env({"LOCAL_IPROOV_SDK_URL": SDK_URL, "LOCAL_IPROOV_SDK_INTEGRITY": INTEGRITY})
    assert directives(settings.page_csp())["connect-src"] == ["'self'", "https://cdn.iproov.app"]
    assert "never loads the SDK" in "\n".join(settings.describe())


def test_the_integrity_helper_matches_openssl() -> None:
    # sha384 of "abc" (FIPS 180-2 test vector), base64
    assert ips.sri(b"abc") == "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"


def test_settings_are_taken_from_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_IPROOV_SDK_URL", SDK_URL)
    monkeypatch.setenv("LOCAL_IPROOV_SDK_INTEGRITY", INTEGRITY)
    assert IProovSettings.from_env().sdk == ips.Sdk(SDK_URL, INTEGRITY)
    assert os.environ["LOCAL_IPROOV_SDK_URL"] == SDK_URL
