"""Cargo runner for the local stack's functions: gives each function its own AWS identity.

cargo-lambda watch starts every function with ``cargo run --bin <binary>`` and one shared
``--env-file``. devstack sets this script as cargo's runner for the host target
(``CARGO_TARGET_<TRIPLE>_RUNNER``), so cargo executes ``function_runner.py <path/to/binary>``;
the script looks the binary up in .local/stack.json (the template's functions, by
``Metadata.BuildProperties.Binary``), sets ``AWS_ACCESS_KEY_ID`` to that function's own key
(``settings.function_access_key``) and replaces itself with the binary. The AWS fault proxy
maps the key back to the function's role (iam_enforcer.py).

A runner, rather than per-package ``[package.metadata.lambda.env]`` in each function's
Cargo.toml, keeps the mapping in the template (no second list) and local-only (nothing in the
crates the deployment builds). A binary not in the template runs unchanged.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from settings import STACK_FILE, function_access_key


def access_key_for_binary(binary: str, stack_file: Path = STACK_FILE) -> str | None:
    try:
        functions = json.loads(stack_file.read_text())["functions"]
    except (OSError, ValueError, KeyError):
        return None
    for logical_id, function in functions.items():
        if function.get("binary") == binary:
            return function_access_key(logical_id)
    return None


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: function_runner.py <executable> [args...]", file=sys.stderr)
        return 2
    executable = argv[1]
    key = access_key_for_binary(Path(executable).name)
    env = dict(os.environ)
    if key is not None:
        env["AWS_ACCESS_KEY_ID"] = key
    os.execve(executable, argv[1:], env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv))
