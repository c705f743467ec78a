"""infra/ops/check_bootstrap.py on synthetic ELF headers: each way a bootstrap can fail to start
on Lambda is refused with a reason, and a good one passes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import check_bootstrap  # noqa: E402

AL2023 = check_bootstrap.AL2023_GLIBC


def elf(machine: int = 183, elf_type: int = 3, symbols: bytes = b"", bits: int = 2) -> bytes:
    header = b"\x7fELF" + bytes([bits, 1, 1]) + bytes(9)
    header += elf_type.to_bytes(2, "little") + machine.to_bytes(2, "little")
    return header + bytes(44) + symbols


def test_given_an_arm64_binary_with_old_glibc_when_checked_then_it_passes() -> None:
    data = elf(symbols=b"\0GLIBC_2.17\0GLIBC_2.28\0GLIBC_2.30\0")

    summary = check_bootstrap.check(data, "arm64", AL2023, None)

    assert "needs glibc >= 2.30" in summary


def test_given_a_static_binary_when_checked_then_it_passes_as_static() -> None:
    assert "static" in check_bootstrap.check(elf(), "arm64", AL2023, None)


def test_given_a_binary_needing_newer_glibc_than_the_runtime_when_checked_then_it_is_refused() -> None:
    data = elf(symbols=b"\0GLIBC_2.17\0GLIBC_2.35\0")

    with pytest.raises(check_bootstrap.BootstrapError, match="GLIBC_2.35"):
        check_bootstrap.check(data, "arm64", AL2023, None)


def test_given_glibc_2_4_and_2_34_when_compared_then_versions_compare_as_numbers() -> None:
    data = elf(symbols=b"\0GLIBC_2.4\0GLIBC_2.34\0")

    assert "2.34" in check_bootstrap.check(data, "arm64", AL2023, None)


def test_given_an_x86_binary_when_the_template_says_arm64_then_it_is_refused() -> None:
    with pytest.raises(check_bootstrap.BootstrapError, match="built for x86_64"):
        check_bootstrap.check(elf(machine=62), "arm64", AL2023, None)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"#!/bin/sh\necho hi\n" + bytes(20), "not an ELF"),
        (elf(bits=1), "64-bit"),
        (elf(elf_type=1), "not an executable"),
    ],
)
def test_given_something_that_is_not_a_64_bit_executable_when_checked_then_it_is_refused(
    data: bytes, reason: str
) -> None:
    with pytest.raises(check_bootstrap.BootstrapError, match=reason):
        check_bootstrap.check(data, "arm64", AL2023, None)


def test_given_a_size_limit_when_the_binary_is_larger_then_it_is_refused() -> None:
    with pytest.raises(check_bootstrap.BootstrapError, match="over the limit"):
        check_bootstrap.check(elf(symbols=bytes(100)), "arm64", AL2023, 64)


def test_given_a_missing_file_when_run_then_it_exits_non_zero(tmp_path: Path) -> None:
    assert check_bootstrap.main([str(tmp_path / "bootstrap")]) == 1


def test_given_the_real_file_layout_when_run_then_it_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bootstrap"
    path.write_bytes(elf(symbols=b"\0GLIBC_2.28\0"))

    assert check_bootstrap.main([str(path), "--arch", "arm64"]) == 0
