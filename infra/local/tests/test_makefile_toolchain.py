"""`make` names a missing toolchain in one clear line before it builds anything."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
MAKE = shutil.which("make") or "/usr/bin/make"


def run_toolchain(tmp_path: Path, tools: list[str]) -> subprocess.CompletedProcess[str]:
    """`make toolchain` with a PATH holding only `tools` (and bash, which the Makefile runs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ["bash", *tools]:
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run this test"
        (bin_dir / tool).symlink_to(found)
    return subprocess.run(
        [MAKE, "-s", "-C", str(REPO_ROOT), "toolchain"],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True, text=True, check=False,
    )


def test_a_missing_cargo_is_named_with_where_to_get_it(tmp_path: Path) -> None:
    # given a PATH without cargo, when make checks the toolchain, then it says so and stops
    done = run_toolchain(tmp_path, ["gcc"])
    assert done.returncode != 0
    assert "cargo not found" in done.stderr and "rustup.rs" in done.stderr


def test_a_missing_c_compiler_is_named(tmp_path: Path) -> None:
    # given cargo but no C compiler, then the message names the compiler and why it is needed
    done = run_toolchain(tmp_path, ["cargo"])
    assert done.returncode != 0
    assert "no C compiler found" in done.stderr


def test_a_complete_toolchain_passes(tmp_path: Path) -> None:
    # given cargo and gcc, then the check is silent and succeeds
    done = run_toolchain(tmp_path, ["cargo", "gcc"])
    assert done.returncode == 0, done.stderr
