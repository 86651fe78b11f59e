"""benchmarks/scale/measure.py, the compile-scale harness (issue 7): it must time a run to the
exit of its process, sample the memory of the whole process tree, refuse a failed run, and read
wasmc's phase table; `--wasm2c` times wasm2c + clang on a real module."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "scale"))
import measure


def test_wall_time_ends_at_the_exit_not_at_the_next_sample():
    # The samples pause up to a second; a 0.3 s run must not be reported as one of them.
    wall, peak, _, _ = measure.run_measured([sys.executable, "-c", "import time; time.sleep(0.3)"])
    assert 0.3 <= wall < 0.95  # the old sampling gave 1.0
    assert peak > 0


def test_memory_of_the_process_tree_is_sampled():
    # A child that holds 200 MB for a while: the tree's PSS and the largest RSS both see it.
    code = "import time; b = bytearray(200 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {code!r}])"
    _, peak, tree, _ = measure.run_measured([sys.executable, "-c", parent])
    assert peak >= 200 and tree >= 200


def test_a_failed_run_is_refused():
    with pytest.raises(SystemExit, match="boom"):
        measure.run_measured([sys.executable, "-c", "import sys; sys.exit('boom')"])


MODULE = """(module (memory 1) (func $f (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "_start") (drop (call $f (i32.const 2)))))"""


def test_wasmc_row_reads_the_phase_table(tmp_path):
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(MODULE))
    row = measure.measure_wasmc(wasm, 1)
    assert all(row[p] is not None for p in ("decode", "validate", "lower", "optimise", "codegen"))
    assert row["wall"] > 0 and row["peak"] > 0
    table = measure.table(wasm, [row])
    assert "| wasmc -O1 |" in table


@pytest.mark.skipif(shutil.which("wasm2c") is None or shutil.which("clang-16") is None,
                    reason="wabt's wasm2c or clang-16 not installed")
def test_wasm2c_row(tmp_path):
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(MODULE))
    row = measure.measure_wasm2c(wasm)
    assert row["level"] == "wasm2c + clang-16 -O2" and row["wall"] > 0
    assert "wasm2c + clang-16 -O2" in measure.table(wasm, [row]) and "clang" in row["split"]
