"""Your own iProov tenant and the demo page's iProov web SDK, as settings of the local stack.

Without any of these variables the local stack is what it always was: the iProov sandbox with
its own credentials, and a demo page that simulates the scan. With them, nobody has to edit code
to scan a real face (infra/local/README.md, "A real iProov tenant"):

  LOCAL_IPROOV_BASE_URL          the tenant's REST API root, e.g. https://eu.rp.secure.iproov.me/api/v2
  LOCAL_IPROOV_SDK_BASE_URL      what the SDK is handed as base_url (default: the root without /api/v2)
  LOCAL_IPROOV_CREDENTIALS_FILE  JSON {api_key, secret, oauth_client_id, oauth_client_secret}
                                 (default: iproov.credentials.json in the repository, git-ignored)
  LOCAL_IPROOV_SDK_URL           where the page loads iProovMe.js from: https, an exact version
  LOCAL_IPROOV_SDK_INTEGRITY     that file's Subresource Integrity hash, sha384-… (or sha512-…)

devstack checks them before anything starts; provision.py puts the tenant and its credentials
into the functions' configuration and IProovSecret; gateway.py derives the demo page's
Content-Security-Policy from them and tells the page where the SDK is (``/web-config.json``).

Every refusal is a ``SettingsError`` whose message says what to change. No message, log line
or generated file ever holds a credential value: the credentials go from the file straight
into the local Secrets Manager (moto), as an operator puts them into the real one.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

from settings import REPO_ROOT

BASE_URL_VAR = "LOCAL_IPROOV_BASE_URL"
SDK_BASE_URL_VAR = "LOCAL_IPROOV_SDK_BASE_URL"
CREDENTIALS_VAR = "LOCAL_IPROOV_CREDENTIALS_FILE"
SDK_URL_VAR = "LOCAL_IPROOV_SDK_URL"
SDK_INTEGRITY_VAR = "LOCAL_IPROOV_SDK_INTEGRITY"

# In the repository but ignored by git (.gitignore), so that it is found without a setting and
# never committed; `make clean-local` (which deletes .local/) leaves it alone.
DEFAULT_CREDENTIALS_FILE = REPO_ROOT / "iproov.credentials.json"
CREDENTIAL_FIELDS = ("api_key", "secret", "oauth_client_id", "oauth_client_secret")
MAX_CREDENTIALS_BYTES = 64 * 1024

# Where iProov's web SDK loads its own assets from unless told otherwise (its `assets_url`):
# WebAssembly, worker scripts, styles and fonts (iProov/web README, "Assets URL", and its wiki
# page on Content-Security-Policy).
IPROOV_ASSETS_ORIGIN = "https://cdn.iproov.app"

# The demo page's policy (web/README.md): no inline script or style, nothing from elsewhere.
STRICT_PAGE_POLICY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default-src", ("'self'",)),
    ("script-src", ("'self'",)),
    ("style-src", ("'self'",)),
    ("img-src", ("'self'",)),
    ("font-src", ("'self'",)),
    ("connect-src", ("'self'",)),
    ("object-src", ("'none'",)),
    ("frame-ancestors", ("'none'",)),
    ("base-uri", ("'none'",)),
    ("form-action", ("'self'",)),
)

_EXACT_VERSION = re.compile(r"v?\d+\.\d+\.\d+(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?(?:\+[0-9A-Za-z.-]+)?")
# A version in a path: after "/", "@", "-", "_" or "v", not followed by more digits.
_VERSION_IN_PATH = re.compile(r"(?:^|[/@_v-])\d+\.\d+\.\d+(?![0-9])")
# Names a CDN or a registry moves from one release to the next.
_FLOATING = {"latest", "next", "beta", "alpha", "canary", "stable", "current", "nightly", "dev", "main", "master"}
_SRI = re.compile(r"^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})$")
_SRI_BYTES = {"sha384": 48, "sha512": 64}
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,39}$")


class SettingsError(ValueError):
    """A setting cannot be used; the message says which and how to fix it (and holds no secret)."""


# ----- URLs ---------------------------------------------------------------------------------
def _is_loopback(host: str) -> bool:
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return bare.lower() == "localhost" or bare.lower().endswith(".localhost")


def _shown(parts: SplitResult) -> str:
    """A URL as it may be printed: any user:password part is left out."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _web_url(var: str, raw: str, *, in_csp: bool) -> SplitResult:
    """An absolute https URL (http only for loopback hosts, as the iProov client allows), with
    no credentials, query or fragment."""
    value = raw.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise SettingsError(f"{var} is not a URL") from None
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise SettingsError(f"{var} must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise SettingsError(f"{var} must not carry a user name or password")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise SettingsError(
            f"{var} must use https (plain http only for 127.0.0.1, ::1 or localhost), got {_shown(parts)}"
        )
    if parts.query or parts.fragment:
        raise SettingsError(f"{var} must not have a query string or fragment, got {_shown(parts)}")
    if any(c.isspace() or c in ";,'\"" or ord(c) < 32 for c in value):
        raise SettingsError(f"{var} has a space, quote, comma or semicolon, which a Content-Security-Policy cannot hold")
    if in_csp and ":" in parts.hostname:
        raise SettingsError(
            f"{var} names an IPv6 address, which a Content-Security-Policy cannot name; use a host name or 127.0.0.1"
        )
    return parts


def origin(parts: SplitResult) -> str:
    """``scheme://host[:port]``, the port only when it is not the scheme's default."""
    default = {"https": 443, "http": 80, "wss": 443, "ws": 80}[parts.scheme]
    host = (parts.hostname or "").lower()
    port = parts.port
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def socket_origin(parts: SplitResult) -> str:
    """The WebSocket twin of a platform's origin (the SDK streams over wss://, ws:// on loopback)."""
    return origin(parts._replace(scheme={"https": "wss", "http": "ws"}[parts.scheme]))


def check_pinned(var: str, parts: SplitResult) -> None:
    """The URL names one exact release: a tag (``@latest``), a range (``@5``, ``@^5.1``) or no
    version at all lets the file change under the page, and its integrity hash with it."""
    path = unquote(parts.path)
    for segment in path.split("/"):
        at = segment.find("@", 1)  # "@scope" at a segment's start is an npm scope, not a version
        if at > 0:
            spec = segment[at + 1:]
            if not _EXACT_VERSION.fullmatch(spec):
                raise SettingsError(
                    f"{var} is not version-pinned: '{segment}' asks for '{spec}', which is not an exact "
                    "version (a tag such as latest or a range such as 5 can change what is served); "
                    "name the release, e.g. …/web-sdk@5.3.0/iProovMe.js"
                )
        if segment.lower() in _FLOATING:
            raise SettingsError(f"{var} is not version-pinned: its path names '{segment}'; name the exact release instead")
    if not _VERSION_IN_PATH.search(path):
        raise SettingsError(
            f"{var} is not version-pinned: its path names no exact version (x.y.z); use the URL of one "
            "release, e.g. …/web-sdk@5.3.0/iProovMe.js or …/5.3.0/iProovMe.js"
        )
    if not path.endswith(".js"):
        raise SettingsError(f"{var} must be the URL of the SDK's script (iProovMe.js), got {_shown(parts)}")


def check_integrity(var: str, raw: str) -> str:
    """One Subresource Integrity hash: ``sha384-<base64 of 48 bytes>`` or ``sha512-…``."""
    value = raw.strip()
    how = (
        "the SDK file's Subresource Integrity hash, sha384-<base64> "
        "(openssl dgst -sha384 -binary iProovMe.js | openssl base64 -A, then prefix sha384-)"
    )
    match = _SRI.fullmatch(value)
    if not match:
        raise SettingsError(f"{var} must be {how}")
    algorithm, digest = match.groups()
    if algorithm not in _SRI_BYTES:
        raise SettingsError(f"{var} uses {algorithm}; use sha384 (or sha512): {how}")
    try:
        decoded = base64.b64decode(digest, validate=True)
    except ValueError:
        raise SettingsError(f"{var} must be {how}") from None
    if len(decoded) != _SRI_BYTES[algorithm]:
        raise SettingsError(
            f"{var} is not a whole {algorithm} digest ({len(decoded)} bytes, not {_SRI_BYTES[algorithm]}): {how}"
        )
    return value


def sri(data: bytes, algorithm: str = "sha384") -> str:
    """The integrity value of some bytes, as a browser checks it."""
    import hashlib

    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


# ----- credentials --------------------------------------------------------------------------
def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _refuse_if_committable(path: Path, shown: str, repo_root: Path) -> None:
    """A credentials file inside the repository must be ignored by git and not tracked."""
    try:
        relative = path.resolve().relative_to(repo_root.resolve())
    except ValueError:
        return  # outside the working tree: git never sees it

    def git(*args: str) -> int | None:
        try:
            return subprocess.run(
                ["git", "-C", str(repo_root), *args, "--", str(relative)],
                capture_output=True, timeout=10, check=False,
            ).returncode
        except (OSError, subprocess.SubprocessError):
            return None

    if git("ls-files", "--error-unmatch") == 0:
        raise SettingsError(
            f"{shown} is tracked by git: credentials must never be committed; "
            f"`git rm --cached {relative}`, then rotate them with iProov"
        )
    if git("check-ignore", "-q") == 1:  # 0: ignored; 128: no repository (then nothing to check)
        raise SettingsError(
            f"{shown} is inside the repository but not ignored by git, so it could be committed; "
            "move it out of the repository or add it to .gitignore"
        )


def read_credentials(path: Path, *, repo_root: Path = REPO_ROOT) -> dict[str, str]:
    """The tenant's four credentials from a JSON file only its owner may read.

    Refused: a missing or non-regular file, one that group or others may read or write
    (``mode & 0o077``), one owned by another user, one inside the repository that git tracks or
    does not ignore, anything but a JSON object of exactly the four fields as non-empty strings.
    """
    shown = _display(path)
    fields = ", ".join(CREDENTIAL_FIELDS)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SettingsError(
            f"{shown} does not exist. With {BASE_URL_VAR} set, the stack needs your tenant's credentials "
            f"in that file (or the one {CREDENTIALS_VAR} names): a JSON object with {fields}, "
            f"readable by you only (chmod 600 {shown})"
        ) from None
    except OSError as exc:
        raise SettingsError(f"{shown} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise SettingsError(f"{shown} is not a regular file")
    if info.st_mode & 0o077:
        raise SettingsError(
            f"{shown} holds iProov credentials but other users may read or change it "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); make it yours only: chmod 600 {shown}"
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise SettingsError(f"{shown} belongs to another user (uid {info.st_uid}); use a file of your own")
    if info.st_size > MAX_CREDENTIALS_BYTES:
        raise SettingsError(f"{shown} is larger than {MAX_CREDENTIALS_BYTES} bytes; it should hold four short values")
    _refuse_if_committable(path, shown, repo_root)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise SettingsError(f"{shown} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        # The message names the place only; exc.doc (the file's text) is never shown.
        raise SettingsError(f"{shown} is not JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{shown} must hold one JSON object with {fields}")
    missing = [name for name in CREDENTIAL_FIELDS if name not in data]
    if missing:
        raise SettingsError(f"{shown} lacks {', '.join(missing)} (it needs {fields})")
    unknown = [name for name in data if name not in CREDENTIAL_FIELDS]
    if unknown:
        named = [name for name in unknown if _FIELD_NAME.fullmatch(name)]
        described = ", ".join(sorted(named)) + (f" and {len(unknown) - len(named)} other(s)" if len(named) < len(unknown) else "")
        raise SettingsError(f"{shown} has fields other than {fields}: {described}; remove them")
    for name in CREDENTIAL_FIELDS:
        value = data[name]
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(f"{shown}: {name} must be a non-empty string")
        if value != value.strip():
            raise SettingsError(f"{shown}: {name} has spaces or line breaks around it; remove them")
    return {name: data[name] for name in CREDENTIAL_FIELDS}


# ----- the settings -------------------------------------------------------------------------
@dataclass(frozen=True)
class Tenant:
    """A real iProov platform the functions talk to instead of the sandbox."""

    base_url: str  # REST API root, as the functions get it (IPROOV_BASE_URL)
    sdk_base_url_setting: str | None  # LOCAL_IPROOV_SDK_BASE_URL, if given (IPROOV_SDK_BASE_URL)
    credentials_file: Path

    @property
    def sdk_base_url(self) -> str:
        """What the SDK is handed: the setting, or the API root without /api/v2 (as the iProov
        client derives it, iproov/src/config.rs)."""
        if self.sdk_base_url_setting:
            return self.sdk_base_url_setting
        return self.base_url.removesuffix("/api/v2")

    def credentials(self, *, repo_root: Path = REPO_ROOT) -> dict[str, str]:
        return read_credentials(self.credentials_file, repo_root=repo_root)


@dataclass(frozen=True)
class Sdk:
    """iProov's web SDK script for the demo page: a pinned URL and its integrity hash."""

    url: str
    integrity: str

    @property
    def origin(self) -> str:
        return origin(urlsplit(self.url))

    @property
    def script_source(self) -> str:
        """The CSP source for the SDK: its origin, narrowed to the pinned release's directory
        (``https://cdn.example/npm/@iproov/web-sdk@5.3.0/``). A bare origin would be too wide on
        a shared CDN, which serves every package; the directory still lets the release load
        files of its own next to iProovMe.js."""
        path = urlsplit(self.url).path
        return self.origin + path[: path.rfind("/") + 1]


@dataclass(frozen=True)
class IProovSettings:
    tenant: Tenant | None = None
    sdk: Sdk | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, repo_root: Path = REPO_ROOT) -> "IProovSettings":
        """Read and check the variables (not the credentials file's content: see ``check``)."""
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return (env.get(name) or "").strip()

        tenant = None
        base = get(BASE_URL_VAR)
        if base:
            parts = _web_url(BASE_URL_VAR, base, in_csp=True)
            if parts.path.rstrip("/") in {"", "/"}:
                raise SettingsError(
                    f"{BASE_URL_VAR} must be the REST API root with its path, e.g. https://eu.rp.secure.iproov.me/api/v2"
                )
            sdk_base = get(SDK_BASE_URL_VAR)
            if sdk_base:
                sdk_base = _web_url(SDK_BASE_URL_VAR, sdk_base, in_csp=True).geturl().rstrip("/")
            credentials = get(CREDENTIALS_VAR)
            path = Path(credentials).expanduser() if credentials else DEFAULT_CREDENTIALS_FILE
            if not path.is_absolute():
                path = repo_root / path
            tenant = Tenant(parts.geturl().rstrip("/"), sdk_base or None, path)
        else:
            for name in (SDK_BASE_URL_VAR, CREDENTIALS_VAR):
                if get(name):
                    raise SettingsError(
                        f"{name} is set but {BASE_URL_VAR} is not: it only applies to your own tenant "
                        "(the sandbox has its own base URL and credentials); set both, or neither"
                    )

        sdk = None
        url, integrity = get(SDK_URL_VAR), get(SDK_INTEGRITY_VAR)
        if url or integrity:
            if not url:
                raise SettingsError(f"{SDK_INTEGRITY_VAR} is set but {SDK_URL_VAR} is not: set both, or neither")
            if not integrity:
                raise SettingsError(
                    f"{SDK_URL_VAR} is set but {SDK_INTEGRITY_VAR} is not: the page loads the SDK only "
                    "with its integrity hash (sha384-…), so that a changed file is refused"
                )
            parts = _web_url(SDK_URL_VAR, url, in_csp=True)
            check_pinned(SDK_URL_VAR, parts)
            sdk = Sdk(parts.geturl(), check_integrity(SDK_INTEGRITY_VAR, integrity))
        return cls(tenant, sdk)

    def check(self, *, repo_root: Path = REPO_ROOT) -> None:
        """Everything ``from_env`` checks, plus the credentials file (read, checked, dropped)."""
        if self.tenant is not None:
            self.tenant.credentials(repo_root=repo_root)

    # ----- what the gateway serves ----------------------------------------------------------
    def page_policy(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The demo page's CSP as (directive, sources): the strict policy when no SDK is
        configured; with one, the SDK's origin (narrowed to its release's directory) in
        script-src, and what iProov's SDK needs by iProov's CSP guidance for web SDK 3.1+, with
        the platform named exactly (https and wss origins of the SDK base URL)."""
        if self.sdk is None:
            return STRICT_PAGE_POLICY
        platform: list[str] = []
        if self.tenant is not None:
            parts = urlsplit(self.tenant.sdk_base_url)
            platform = [origin(parts), socket_origin(parts)]
        additions = {
            # WebAssembly is compiled, never eval'd JavaScript: 'wasm-unsafe-eval', not 'unsafe-eval'.
            "script-src": [self.sdk.script_source, "'wasm-unsafe-eval'"],
            # The SDK's critical styles are inline (iProov/web README, "CSP Nonce").
            "style-src": ["'unsafe-inline'", IPROOV_ASSETS_ORIGIN],
            "img-src": ["data:", "blob:"],
            "font-src": [IPROOV_ASSETS_ORIGIN],
            "connect-src": [*platform, IPROOV_ASSETS_ORIGIN],
        }
        policy: list[tuple[str, tuple[str, ...]]] = []
        for directive, sources in STRICT_PAGE_POLICY:
            if directive == "object-src":
                # Camera frames and workers (the cross-origin worker pattern needs blob:).
                policy.append(("media-src", ("'self'", "blob:")))
                policy.append(("worker-src", ("'self'", "blob:")))
            extra = [s for s in additions.get(directive, []) if s not in sources]
            policy.append((directive, tuple(dict.fromkeys([*sources, *extra]))))
        return tuple(policy)

    def page_csp(self) -> str:
        return render_policy(self.page_policy())

    def web_config(self) -> dict[str, object]:
        """What the demo page learns at ``/web-config.json`` (web/README.md)."""
        return {
            "iproov": {
                "platform": "tenant" if self.tenant is not None else "sandbox",
                "sdk": None if self.sdk is None else {"src": self.sdk.url, "integrity": self.sdk.integrity},
            }
        }

    def describe(self) -> list[str]:
        """Lines for devstack's output (URLs and a path; never a credential)."""
        lines = []
        if self.tenant is not None:
            lines.append(f"iProov: your tenant at {self.tenant.base_url} "
                         f"(SDK base URL {self.tenant.sdk_base_url}; credentials from {_display(self.tenant.credentials_file)})")
        if self.sdk is not None:
            lines.append(f"demo page: iProov web SDK from {self.sdk.url} ({self.sdk.integrity.split('-', 1)[0]} integrity)")
            if self.tenant is None:
                lines.append("  (the functions use the sandbox, so the page simulates scans and never loads the SDK)")
        elif self.tenant is not None:
            lines.append(f"demo page: no iProov web SDK ({SDK_URL_VAR}, {SDK_INTEGRITY_VAR}); "
                         "the page says so and cannot scan a face")
        return lines


def render_policy(policy: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy)
