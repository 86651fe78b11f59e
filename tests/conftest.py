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


@pytest.fixture
def matches_wasmtime(monkeypatch):
    """`check(wat, plan, features, ...)`: run the module's export calls under wasmtime (with the
    Wasm 3.0 `features` on, e.g. {"wasm_exceptions": True}) and under wasmc, and assert they
    agree (fuzz.differential.compare).  `bounds_checks` compiles with `--bounds-checks`, `opt`
    sets the optimisation level, `expect_trap` asserts the plan's last call traps under wasmtime,
    and `state_after_trap` compares memories and globals after a trap too."""
    import sys

    import wasmtime

    sys.path.insert(0, str(ROOT))
    from fuzz import engines
    from fuzz.differential import compare
    from fuzz.engines import run_wasmc_isolated, run_wasmtime

    def check(wat: str, plan: list, features: dict[str, bool], *, bounds_checks: bool = False,
              opt: str | None = None, expect_trap: bool = False, state_after_trap: bool = True):
        monkeypatch.setattr(engines, "_ENGINE", None)
        monkeypatch.setattr(engines, "_FEATURES", {})
        engines.use_features(**features)
        if bounds_checks:
            monkeypatch.setenv("WASMC_BOUNDS_CHECKS", "1")
        if opt is not None:
            monkeypatch.setenv("WASMC_OPT_LEVEL", opt)
        wasm = wasmtime.wat2wasm(wat)
        exp = run_wasmtime(wasm, plan)
        assert exp.status == "ok", exp
        if expect_trap:
            assert exp.calls[-1].status == "trap", exp.calls
        diffs, skip = compare(exp, run_wasmc_isolated(wasm, plan), state_after_trap=state_after_trap)
        assert skip is None, skip
        assert not diffs, "\n".join(diffs)

    return check
