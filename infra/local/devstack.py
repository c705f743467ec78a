"""Bring the whole local stack up (or down): moto, resources, iProov sandbox, functions, gateway.

``up`` installs nothing (Make does that, and builds the workspace first so that cargo-lambda
finds fresh binaries); it starts, in order, each part on the ports of the architecture page,
waits for each to answer, and is ready when ``GET /v1/health`` through the gateway answers 200.
In the foreground it then stays until Ctrl-C/SIGTERM and stops everything it started; with
``--detach`` it returns once ready (for tests) and ``down`` stops it later.

Every process runs in its own session with its output in .local/logs/<name>.log, and carries
the ``ONBOARDING_DEVSTACK=<LOCAL_DIR>`` marker (see processes.py), so a later ``up`` or ``down`` finds
leftovers from a crash - including function processes cargo-lambda spawned - without touching
anybody else's processes.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import processes
from iproov_settings import IProovSettings, SettingsError
from settings import (
    AWS_ENV,
    FUNCTIONS_ENV_FILE,
    LOCAL_DIR,
    LOGS_DIR,
    PIDS_DIR,
    REPO_ROOT,
    STACK_FILE,
    TEMPLATE_FILE,
    Ports,
)

# One stack per LOCAL_DIR: two checkouts (or LOCAL_DIR=/tmp/x with other ports) never collide.
MARKER = str(LOCAL_DIR.resolve())
SUPERVISOR_FILE = PIDS_DIR / "devstack.json"
LOCK_FILE = LOCAL_DIR / "devstack.lock"
HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
SANDBOX_BINARY = REPO_ROOT / "target" / "debug" / "iproov-sandbox"
# Stop order: the front door first, the AWS emulator last.
STOP_ORDER = ["gateway", "sqs", "functions", "webhooks", "sandbox", "aws-faults", "moto"]


class StackError(RuntimeError):
    """Something did not start; the message says what and where its log is."""


def shown(path: Path) -> str:
    """A path as people should read it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def say(message: str) -> None:
    print(f"devstack: {message}", flush=True)


# ----- children -----------------------------------------------------------------------------
@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def record(self) -> None:
        info = processes.proc_info(self.process.pid)
        PIDS_DIR.mkdir(parents=True, exist_ok=True)
        (PIDS_DIR / f"{self.name}.json").write_text(
            json.dumps({"pid": self.process.pid, "sid": info.sid if info else self.process.pid,
                        "start_ticks": info.start_ticks if info else None, "argv": self.process.args})
        )


def child_env(ports: Ports) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AWS_ENV)
    env.update(
        {
            processes.MARKER_VAR: MARKER,
            "PYTHONUNBUFFERED": "1",
            "API_PORT": str(ports.api),
            "AWS_PORT": str(ports.aws),
            "SANDBOX_PORT": str(ports.sandbox),
            "LAMBDA_PORT": str(ports.lambda_),
            "FAULT_PORT": str(ports.faults),
            "WEBHOOK_PORT": str(ports.webhooks),
            "LOCAL_DIR": str(LOCAL_DIR),
            "TEMPLATE_FILE": str(TEMPLATE_FILE),
        }
    )
    env.pop("AWS_PROFILE", None)
    return env


def functions_env(env: dict[str, str]) -> dict[str, str]:
    """cargo-lambda's environment: cargo runs each function through function_runner.py.

    The runner gives every function its own access key id, which the AWS fault proxy maps to
    the function's role in template.yaml (IAM enforcement, iam_enforcer.py). cargo reads the
    runner of the host target from ``CARGO_TARGET_<TRIPLE>_RUNNER``; it splits the value on
    spaces, so neither path may contain one.
    """
    runner = f"{sys.executable} {HERE / 'function_runner.py'}"
    if " " in sys.executable or " " in str(HERE):
        raise StackError(f"the function runner's path has a space, which cargo cannot run: {runner}")
    try:
        info = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise StackError(f"rustc -vV failed ({exc}); the host target is needed for the function runner") from exc
    host = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("host:"))
    variable = "CARGO_TARGET_" + host.upper().replace("-", "_").replace(".", "_") + "_RUNNER"
    return dict(env, **{variable: runner})


def rotate_log(path: Path) -> None:
    if path.exists():
        path.replace(path.with_suffix(".prev.log"))


def start(name: str, argv: list[str], env: dict[str, str]) -> Child:
    LOGS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOGS_DIR / f"{name}.log"
    rotate_log(log_path)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - argv built here, no shell
            argv, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    child = Child(name, process, log_path)
    child.record()
    return child


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until(what: str, probe: Callable[[], bool], timeout: float, children: list[Child],
               progress: Callable[[float], None] | None = None) -> None:
    """Poll ``probe`` until true; fail early when one of ``children`` has exited."""
    started = time.monotonic()
    next_progress = started + 15
    while True:
        if probe():
            return
        for child in children:
            if child.process.poll() is not None:
                raise StackError(
                    f"{child.name} exited with status {child.process.returncode} while waiting for {what}; "
                    f"last lines of {shown(child.log_path)}:\n{tail(child.log_path)}"
                )
        now = time.monotonic()
        if now - started > timeout:
            raise StackError(f"timed out after {timeout:.0f}s waiting for {what}")
        if progress and now >= next_progress:
            progress(now - started)
            next_progress = now + 15
        time.sleep(0.2)


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


# ----- mutual exclusion -------------------------------------------------------------------
@contextlib.contextmanager
def stack_lock(wait: float) -> Iterator[None]:
    """Only one ``up``/``down`` at a time per LOCAL_DIR (two terminals, or make dev + make e2e)."""
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise StackError(f"another devstack (pid {holder}) is starting or running this stack") from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ----- cleanup ----------------------------------------------------------------------------
def supervisor_alive() -> int | None:
    """Pid of a foreground ``up`` still running for this repository, if any."""
    try:
        data = json.loads(SUPERVISOR_FILE.read_text())
    except (OSError, ValueError):
        return None
    pid = int(data.get("pid", 0))
    if data.get("mode") == "foreground" and pid != os.getpid() and processes.alive(pid, data.get("start_ticks")):
        return pid
    return None


def stop_everything(ports: Ports, quiet: bool = False) -> None:
    """Stop every recorded process (by session), then anything else carrying our marker."""
    stopped: list[int] = []
    for name in STOP_ORDER + sorted(p.stem for p in PIDS_DIR.glob("*.json") if p.stem not in STOP_ORDER):
        path = PIDS_DIR / f"{name}.json"
        if name == "devstack" or not path.exists():
            continue
        try:
            data = json.loads(path.read_text())
        except ValueError:
            data = {}
        pid, sid = int(data.get("pid", 0)), int(data.get("sid", 0))
        if pid and processes.alive(pid, data.get("start_ticks")):
            members = processes.session_pids(sid) if sid else [pid]
            stopped += processes.terminate(members or [pid])
        path.unlink(missing_ok=True)
    leftovers = processes.marked_pids(MARKER)
    if leftovers:
        stopped += processes.terminate(leftovers)
    if stopped and not quiet:
        say(f"stopped {len(stopped)} process(es)")
    busy = wait_ports_free(ports, timeout=10)
    for port in busy:
        owners = processes.port_owners(port)
        described = ", ".join(f"pid {p} ({processes.cmdline(p)[:80]})" for p in owners) or "unknown process"
        say(f"warning: port {port} is still in use by {described}")


def wait_ports_free(ports: Ports, timeout: float) -> list[int]:
    wanted = [ports.api, ports.aws, ports.sandbox, ports.lambda_, ports.faults, ports.webhooks]
    deadline = time.monotonic() + timeout
    while True:
        busy = [p for p in wanted if processes.port_in_use(p)]
        if not busy or time.monotonic() > deadline:
            return busy
        time.sleep(0.2)


def check_ports_free(ports: Ports) -> None:
    busy = wait_ports_free(ports, timeout=3)
    if busy:
        details = []
        for port in busy:
            owners = processes.port_owners(port)
            details.append(f"port {port}: " + (", ".join(f"pid {p} ({processes.cmdline(p)[:80]})" for p in owners)
                                               or "owner not visible"))
        raise StackError(
            "ports needed by the local stack are used by processes this stack did not start:\n  "
            + "\n  ".join(details)
            + "\nstop them, or move the stack with API_PORT/AWS_PORT/SANDBOX_PORT/LAMBDA_PORT/FAULT_PORT/WEBHOOK_PORT"
        )


# ----- up ---------------------------------------------------------------------------------
def find_tool(name: str) -> str:
    for candidate in (VENV_BIN / name, REPO_ROOT / ".venv" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise StackError(f"{name} not found; run `make dev` (it creates .venv with the pinned tools)")
    return found


def configure_provision_logging() -> None:
    LOGS_DIR.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(LOGS_DIR / "provision.log", mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("provision", "template"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


def reloads(args: argparse.Namespace) -> bool:
    """Whether functions rebuild when their code changes. In the foreground (`make dev`), by
    default: a person is editing. Detached (`make up`, `make e2e`, CI), never: a test run must
    exercise the code it started with, and a save during it must not restart functions mid-test.
    `LOCAL_RELOAD=0/1` or `--reload/--no-reload` decide otherwise."""
    if args.reload is not None:
        return bool(args.reload)
    return not args.detach


def watch_command(cargo_lambda: str, ports: Ports, args: argparse.Namespace) -> list[str]:
    """`cargo lambda watch`, the functions' emulator: every function's binary on demand."""
    argv = [cargo_lambda, "lambda", "watch"]
    if not reloads(args):
        argv.append("--ignore-changes")
    return argv + [
        "--invoke-address", "127.0.0.1", "--invoke-port", str(ports.lambda_),
        "--env-file", str(FUNCTIONS_ENV_FILE), "--concurrency", str(args.concurrency),
    ]


def bring_up(ports: Ports, args: argparse.Namespace, iproov: IProovSettings | None = None) -> list[Child]:
    started_at = time.monotonic()
    iproov = IProovSettings() if iproov is None else iproov
    env = child_env(ports)
    children: list[Child] = []
    if not TEMPLATE_FILE.exists():
        raise StackError(f"{TEMPLATE_FILE} does not exist")
    if not SANDBOX_BINARY.exists():
        raise StackError(f"{SANDBOX_BINARY.relative_to(REPO_ROOT)} is missing; build it with `cargo build --workspace`")

    try:
        say(f"starting moto on {ports.aws_endpoint}")
        children.append(start("moto", [find_tool("moto_server"), "-H", "127.0.0.1", "-p", str(ports.aws)], env))
        wait_until("moto", lambda: http_status(f"{ports.aws_endpoint}/moto-api/") is not None, 60, children)

        say(f"starting the AWS fault proxy on {ports.functions_aws_endpoint} (the functions' way to moto)")
        children.append(start("aws-faults", [sys.executable, str(HERE / "aws_faults.py")], env))
        wait_until("the AWS fault proxy", lambda: http_status(f"{ports.functions_aws_endpoint}/_faults") == 200,
                   30, children)

        say("creating resources from template.yaml")
        configure_provision_logging()
        import provision
        import template as tpl

        os.environ.update(AWS_ENV)
        overrides = tpl.parse_overrides(os.environ.get("LOCAL_PARAMETER_OVERRIDES", ""))
        try:
            model = provision.provision(TEMPLATE_FILE, ports, overrides, iproov)
        except SettingsError as exc:  # the credentials file changed since it was checked
            raise StackError(str(exc)) from None
        provision.write_outputs(model, ports, TEMPLATE_FILE, iproov)
        say(f"  {len(model.tables)} tables, {len(model.queues)} queues, {len(model.buckets)} buckets, "
            f"{len(model.keys)} keys, {len(model.secrets)} secrets; {len(model.routes)} routes, "
            f"{len(model.sqs_mappings)} SQS mappings")

        for line in iproov.describe():
            say(line)
        say(f"starting the iProov sandbox on {ports.sandbox_url}"
            + (" (the functions use your tenant; the sandbox only answers /sandbox/*)" if iproov.tenant else ""))
        children.append(start("sandbox", [str(SANDBOX_BINARY), "--port", str(ports.sandbox)], env))
        wait_until("the iProov sandbox", lambda: http_status(f"{ports.sandbox_url}/health") == 200, 60, children)

        say(f"starting the webhook receiver on {ports.webhook_receiver_url} (the customer's backend)")
        children.append(start("webhooks", [sys.executable, str(HERE / "webhook_receiver.py")], env))
        wait_until("the webhook receiver", lambda: http_status(f"{ports.webhook_receiver_url}/health") == 200,
                   30, children)

        say(f"starting cargo lambda watch on {ports.lambda_url}")
        say("functions reload when their code changes (edit, save, call again)" if reloads(args)
            else "functions run the code built at start (`make dev` reloads on change)")
        children.append(start("functions", watch_command(find_tool("cargo-lambda"), ports, args), functions_env(env)))
        wait_until("cargo lambda watch", lambda: processes.port_in_use(ports.lambda_), 120, children)

        say(f"starting the gateway on {ports.api_url} and the SQS event-source emulator")
        python = sys.executable
        children.append(start("gateway", [python, str(HERE / "gateway.py")], env))
        children.append(start("sqs", [python, str(HERE / "sqs_events.py")], env))
        wait_until("the gateway", lambda: processes.port_in_use(ports.api), 30, children)

        health = f"{ports.api_url}/v1/health"
        say(f"waiting for GET {health} (the first call starts the health function)")
        wait_until(
            "GET /v1/health to answer 200",
            lambda: http_status(health, timeout=30) == 200,
            args.ready_timeout,
            children,
            progress=lambda s: say(f"  still waiting ({s:.0f}s); cargo output in {shown(LOGS_DIR / 'functions.log')}"),
        )
    except BaseException:
        for child in reversed(children):
            processes.terminate(processes.session_pids(child.process.pid) or [child.process.pid])
        for left in processes.marked_pids(MARKER):
            processes.terminate([left])
        for path in PIDS_DIR.glob("*.json"):
            path.unlink(missing_ok=True)
        raise

    say(f"ready in {time.monotonic() - started_at:.1f}s")
    iproov_line = (f"iProov tenant            {iproov.tenant.base_url}" if iproov.tenant
                   else f"iProov sandbox           {ports.iproov_base_url}")
    print(
        f"""
  API (gateway emulator)   {ports.api_url}          try: curl {health}
  AWS (moto)               {ports.aws_endpoint}   functions use {ports.functions_aws_endpoint} (fault proxy)
  {iproov_line}
  functions (cargo-lambda) {ports.lambda_url}
  webhook receiver         {ports.webhook_receiver_url}/hooks/{{a,b}}   deliveries: /_control/deliveries
  logs                     {shown(LOGS_DIR)}/{{moto,aws-faults,sandbox,webhooks,functions,gateway,sqs,provision}}.log
  function environment     {shown(FUNCTIONS_ENV_FILE)}     stack summary: {shown(STACK_FILE)}
""",
        flush=True,
    )
    return children


def write_supervisor(mode: str) -> None:
    info = processes.proc_info(os.getpid())
    PIDS_DIR.mkdir(parents=True, exist_ok=True)
    SUPERVISOR_FILE.write_text(json.dumps({"pid": os.getpid(), "mode": mode,
                                           "start_ticks": info.start_ticks if info else None}))


def read_iproov_settings() -> IProovSettings:
    """Your own iProov tenant and the demo page's SDK (iproov_settings.py), checked before
    anything starts: a world-readable credentials file or an unpinned SDK stops `up` here."""
    iproov = IProovSettings.from_env()
    iproov.check()
    return iproov


def cmd_up(args: argparse.Namespace) -> int:
    ports = Ports.from_env()
    try:
        iproov = read_iproov_settings()
    except SettingsError as exc:
        say(f"error: {exc}")
        return 1
    other = supervisor_alive()
    if other:
        say(f"a local stack is already running in the foreground (pid {other}); stop it first (Ctrl-C there)")
        return 1
    try:
        with stack_lock(wait=0):
            return _up_locked(args, ports, iproov)
    except StackError as exc:
        say(f"error: {exc}")
        return 1


def _up_locked(args: argparse.Namespace, ports: Ports, iproov: IProovSettings) -> int:
    stop_everything(ports, quiet=False)
    check_ports_free(ports)

    def on_signal(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    try:
        write_supervisor("foreground" if not args.detach else "starting")
        children = bring_up(ports, args, iproov)
    except StackError as exc:
        say(f"error: {exc}")
        SUPERVISOR_FILE.unlink(missing_ok=True)
        return 1
    except KeyboardInterrupt:
        say("interrupted; stopped what had started")
        SUPERVISOR_FILE.unlink(missing_ok=True)
        return 130

    if args.detach:
        write_supervisor("detached")
        say("running in the background; `make down` (or devstack.py down) stops it")
        return 0

    say("running; Ctrl-C stops everything")
    status = 0
    try:
        while True:
            for child in children:
                if child.process.poll() is not None:
                    say(f"{child.name} exited with status {child.process.returncode}; stopping the stack. "
                        f"Last lines of {shown(child.log_path)}:\n{tail(child.log_path)}")
                    raise StackError(child.name)
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping")
    except StackError:
        status = 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not leave half the stack
        stop_everything(ports)
        for child in children:
            child.process.poll()
        SUPERVISOR_FILE.unlink(missing_ok=True)
        say("stopped")
    return status


def cmd_down(_args: argparse.Namespace) -> int:
    ports = Ports.from_env()
    other = supervisor_alive()
    if other:
        say(f"stopping the foreground stack (pid {other})")
        processes.terminate([other], grace=30)
    try:
        with stack_lock(wait=60):
            stop_everything(ports)
            SUPERVISOR_FILE.unlink(missing_ok=True)
    except StackError as exc:
        say(f"error: {exc}")
        return 1
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    ports = Ports.from_env()
    running = 0
    for path in sorted(PIDS_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        up = processes.alive(int(data["pid"]), data.get("start_ticks"))
        running += up
        print(f"{path.stem:10} pid {data['pid']:>7}  {'running' if up else 'gone'}")
    health = http_status(f"{ports.api_url}/v1/health")
    print(f"GET /v1/health -> {health}")
    return 0 if running and health == 200 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the local stack (moto, sandbox, functions, gateway)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start everything; foreground unless --detach")
    up.add_argument("--detach", action="store_true", help="return once ready; stop later with `down`")
    up.add_argument("--ready-timeout", type=float, default=float(os.environ.get("DEVSTACK_READY_TIMEOUT", "900")),
                    help="seconds to wait for GET /v1/health (first compiles can be slow)")
    up.add_argument(
        "--concurrency", type=int, default=int(os.environ.get("LOCAL_FUNCTION_CONCURRENCY", "4")),
        help="cargo-lambda instances per function (LOCAL_FUNCTION_CONCURRENCY; 1 starts functions faster, "
             "4 lets concurrent deliveries really run concurrently)",
    )
    reload_default = {"1": True, "0": False}.get(os.environ.get("LOCAL_RELOAD", ""))
    up.add_argument("--reload", dest="reload", action="store_true", default=reload_default,
                    help="rebuild a function when its code changes (default in the foreground; LOCAL_RELOAD=1)")
    up.add_argument("--no-reload", dest="reload", action="store_false",
                    help="run the code built at start (default with --detach; LOCAL_RELOAD=0)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop a detached stack (and any leftovers)").set_defaults(func=cmd_down)
    sub.add_parser("status", help="what is running").set_defaults(func=cmd_status)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
