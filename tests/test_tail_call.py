"""Tail calls (Wasm 3.0) against wasmtime: `return_call` and `return_call_indirect` recursing far
deeper than the stack allows for ordinary calls (so each must reuse its caller's frame), mutual
recursion, calls through tables and imports, a tail call to another signature, and traps in a
tail-called function -- at -O0, -O1 (the spec runner's level) and -O2.

The spec suite (test_spec3.py) checks the typing rules and results; this checks the frames.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz import engines
from fuzz.differential import compare
from fuzz.engines import Call, run_wasmc_isolated, run_wasmtime

WAT = """(module
  (import "env" "log_i32" (func $log (param i32)))
  (type $ii (func (param i32) (result i32)))
  (table $t 3 funcref)
  (elem (table $t) (i32.const 0) func $count_ind $even $odd)
  (func $count (export "count") (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (return (i32.const 7))))
    (return_call $count (i32.sub (local.get 0) (i32.const 1))))
  (func $even (export "even") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
      (else (return_call $odd (i32.sub (local.get 0) (i32.const 1))))))
  (func $odd (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (return_call_indirect $t (type $ii) (i32.sub (local.get 0) (i32.const 1)) (i32.const 1)))))
  (func $count_ind (export "count_ind") (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (return (i32.const 9))))
    (return_call_indirect $t (type $ii) (i32.sub (local.get 0) (i32.const 1)) (i32.const 0)))
  (func $wide (param i64 i32) (result i32)
    (i32.add (i32.wrap_i64 (local.get 0)) (local.get 1)))
  (func (export "other_sig") (param i32) (result i32)
    (return_call $wide (i64.const 40) (local.get 0)))
  (func (export "to_import") (param i32) (return_call $log (local.get 0)))
  (func (export "bad_index") (param i32) (result i32)
    (return_call_indirect $t (type $ii) (local.get 0) (i32.const 5)))
  (func (export "bad_type") (result i32)
    (return_call_indirect $t (type $ii) (i32.const 0) (i32.const 3)))
  (func $trap_deep (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then unreachable))
    (return_call $trap_deep (i32.sub (local.get 0) (i32.const 1))))
  (func (export "trap_deep") (param i32) (result i32) (return_call $trap_deep (local.get 0))))"""

DEEP = 3_000_000  # ordinary calls exhaust wasmc's and wasmtime's stacks long before this
PLAN = [
    Call("count", [DEEP]), Call("even", [DEEP + 1]), Call("even", [DEEP]),
    Call("count_ind", [DEEP]), Call("other_sig", [2]), Call("to_import", [5]),
    Call("bad_index", [0]), Call("bad_type", []), Call("trap_deep", [DEEP]),
]


@pytest.fixture(autouse=True)
def tail_call_oracle(monkeypatch):
    """wasmtime with tail calls on (the fuzzers' engine keeps to Wasm 2.0)."""
    monkeypatch.setattr(engines, "_ENGINE", None)
    engines.use_tail_calls()


@pytest.mark.parametrize("level", ["0", "1", "2"])
def test_tail_calls_match_wasmtime(level, monkeypatch):
    monkeypatch.setenv("WASMC_OPT_LEVEL", level)
    wasm = wasmtime.wat2wasm(WAT)
    exp = run_wasmtime(wasm, PLAN, fuel=10**9)
    assert [c.status for c in exp.calls] == ["ok"] * 6 + ["trap"] * 3, exp.calls
    diffs, skip = compare(exp, run_wasmc_isolated(wasm, PLAN))
    assert skip is None, skip
    assert not diffs, "\n".join(diffs)


HELLO = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "tail\\n")
  (func $write (param i32 i32 i32 i32) (result i32)
    (return_call $fd_write (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 5))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""


def test_tail_call_into_a_wasi_function(build_exe, tmp_path):
    """A `musttail` call through the import's record lands in the C runtime's fd_write (a C
    function with the caller's prototype) and returns its result to the caller's caller."""
    src = tmp_path / "hello.wat"
    src.write_text(HELLO)
    out = subprocess.run([build_exe(src)], capture_output=True, text=True, check=False)
    assert (out.returncode, out.stdout) == (0, "tail\n"), out.stderr
    assert "musttail call" in subprocess.run(["wasmc", str(src), "--emit=llvm", "-O0"],
                                             capture_output=True, text=True, check=True).stdout
