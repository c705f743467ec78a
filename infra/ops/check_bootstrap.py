#!/usr/bin/env python3
"""Checks that a built `bootstrap` can start on the Lambda runtime the template names.

`sam build` succeeding only says cargo-lambda produced a file. What Lambda needs is an ELF
executable for the function's architecture whose glibc symbol versions the runtime's glibc
provides; a binary linked against a newer glibc builds fine and then fails at init, in AWS,
with "version `GLIBC_2.xx' not found". This reads the ELF header and the GLIBC_x.y version
names in the binary, without running it (it is built for another architecture). The names are
searched in the whole file rather than in the version-needs section: simpler, and a stray
string could only cause a false failure, never a false pass.

Usage: check_bootstrap.py BOOTSTRAP [--arch arm64|x86_64] [--max-glibc 2.34] [--max-bytes N]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

# e_machine values from the ELF specification.
MACHINES = {"x86_64": 62, "arm64": 183}
# provided.al2023 ships glibc 2.34.
AL2023_GLIBC = (2, 34)
ELF_TYPES = {2: "EXEC", 3: "DYN"}
GLIBC_VERSION = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?")


class BootstrapError(Exception):
    """The file would not start on the runtime; the message says why."""


def parse_version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def required_glibc(data: bytes) -> tuple[int, int] | None:
    """The newest GLIBC_x.y version name in the binary, or None for a static binary."""
    found = {(int(m.group(1)), int(m.group(2))) for m in GLIBC_VERSION.finditer(data)}
    return max(found) if found else None


def check(data: bytes, arch: str, max_glibc: tuple[int, int], max_bytes: int | None) -> str:
    """Raises BootstrapError when `data` cannot run; returns a one-line summary otherwise."""
    if len(data) < 20 or data[:4] != b"\x7fELF":
        raise BootstrapError("not an ELF file")
    if data[4] != 2:
        raise BootstrapError("not a 64-bit ELF file")
    if data[5] != 1:
        raise BootstrapError("not little-endian")
    elf_type = int.from_bytes(data[16:18], "little")
    if elf_type not in ELF_TYPES:
        raise BootstrapError(f"ELF type {elf_type} is not an executable")
    machine = int.from_bytes(data[18:20], "little")
    if machine != MACHINES[arch]:
        names = {v: k for k, v in MACHINES.items()}
        raise BootstrapError(
            f"built for {names.get(machine, f'machine {machine}')}, the template says {arch}"
        )
    glibc = required_glibc(data)
    if glibc is not None and glibc > max_glibc:
        raise BootstrapError(
            f"needs GLIBC_{glibc[0]}.{glibc[1]}, the runtime has {max_glibc[0]}.{max_glibc[1]}"
        )
    if max_bytes is not None and len(data) > max_bytes:
        raise BootstrapError(f"{len(data)} bytes, over the limit of {max_bytes}")
    needs = "static" if glibc is None else f"needs glibc >= {glibc[0]}.{glibc[1]}"
    return f"{arch} {ELF_TYPES[elf_type]}, {len(data)} bytes, {needs}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap", type=Path)
    parser.add_argument("--arch", choices=sorted(MACHINES), default="arm64")
    parser.add_argument("--max-glibc", type=parse_version, default=AL2023_GLIBC)
    parser.add_argument("--max-bytes", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        data = args.bootstrap.read_bytes()
        summary = check(data, args.arch, args.max_glibc, args.max_bytes)
    except (OSError, BootstrapError) as err:
        print(f"{args.bootstrap}: {err}", file=sys.stderr)
        return 1
    print(f"{args.bootstrap}: ok, {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
