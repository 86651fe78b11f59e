"""Shared fixtures: paths to the spec suite and a compile-and-run helper for executables."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def spec_dir() -> Path:
    return Path(os.environ.get("WASMC_SPEC_DIR", ROOT.parent / "shared" / "spec"))


@pytest.fixture
def build_exe(tmp_path):
    """Compile a .wasm/.wat file (or wasm bytes) with the `wasmc` CLI; return the executable."""

    def build(src, *flags: str) -> Path:
        if isinstance(src, (bytes, bytearray)):
            p = tmp_path / "module.wasm"
            p.write_bytes(src)
            src = p
        out = tmp_path / (Path(src).stem + ".exe")
        proc = subprocess.run(["wasmc", str(src), "-o", str(out), *flags], capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
        return out

    return build
