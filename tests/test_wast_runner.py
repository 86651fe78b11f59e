"""The .wast runner end to end on small scripts: every command kind, counting, and failure reporting."""

from __future__ import annotations

import io

from wasmc.wast.runner import run_file, run_files

SMOKE = r'''
(module $M
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "id32") (param f32) (result f32) (local.get 0))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "two") (result i64 f64) (i64.const -1) (f64.const -0x1p-1074))
  (func (export "ext") (param externref) (result externref) (local.get 0))
  (func $rec (export "rec") (param i32) (result i32) (i32.sub (i32.const 1) (call $rec (local.get 0))))
  (global (export "g") i32 (i32.const 42))
)
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke $M "id32" (f32.const nan:0x600000)) (f32.const nan:arithmetic))
(assert_return (invoke $M "id32" (f32.const nan)) (f32.const nan:canonical))
(assert_return (invoke $M "id32" (f32.const -0x1p-149)) (f32.const -0x1p-149))
(assert_return (invoke "two") (i64.const 0xffff_ffff_ffff_ffff) (f64.const -0x0.0000000000001p-1022))
(assert_return (invoke "ext" (ref.extern 0)) (ref.extern 0))
(assert_return (invoke "ext" (ref.null extern)) (ref.null extern))
(assert_return (get "g") (i32.const 42))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_exhaustion (invoke "rec" (i32.const 0)) "call stack exhausted")
(register "M" $M)
(module (import "M" "add" (func $a (param i32 i32) (result i32)))
  (func (export "x") (result i32) (call $a (i32.const 5) (i32.const 6))))
(assert_return (invoke "x") (i32.const 11))
(assert_unlinkable (module (import "M" "nope" (func))) "unknown import")
(assert_unlinkable (module (import "M" "add" (func))) "incompatible import type")
(module (import "spectest" "print_i32" (func $p (param i32)))
  (import "spectest" "global_f32" (global $g f32))
  (func (export "p") (result f32) (call $p (i32.const 1)) (global.get $g)))
(assert_return (invoke "p") (f32.const 666.6))
(assert_trap (module (func $f unreachable) (start $f)) "unreachable")
(assert_uninstantiable (module (func $f unreachable) (start $f)) "unreachable")
(module binary "\00asm" "\01\00\00\00")
(assert_malformed (module quote "(func (i32.const 0x1_))") "unknown operator")
(assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
(assert_invalid (module (func (result i32))) "type mismatch")
(func (export "inline") (result i64) (i64.const 7))
(assert_return (invoke "inline") (i64.const 7))
'''

WRONG = r'''
(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 2))
(assert_trap (invoke "f") "unreachable")
(assert_return (invoke "missing"))
(assert_invalid (module (func (result i32) (i32.const 0))) "type mismatch")
(assert_malformed (module binary "\00asm\01\00\00\00") "unexpected end")
(assert_return (invoke "f") (i32.const 1))
'''

CRASH = r'''
(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1))
(assert_return (invoke "f") (i32.const 1))
(assert_return (invoke "f") (i32.const 1))
'''

HANG = r'''
(module (func (export "loop") (loop (br 0))) (func (export "f") (result i32) (i32.const 1)))
(invoke "loop")
(assert_return (invoke "f") (i32.const 1))
'''


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_smoke_script_passes(tmp_path):
    r = run_file(write(tmp_path, "smoke.wast", SMOKE))
    assert r.failed == 0, "\n".join(r.failures)
    assert r.passed == 20 and r.skipped == 0


def test_wrong_expectations_fail_and_continue(tmp_path):
    r = run_file(write(tmp_path, "wrong.wast", WRONG))
    assert (r.passed, r.failed) == (1, 5), "\n".join(r.failures)
    assert any(":3: assert_return: expected [i32:0x2], got [i32:0x1]" in f for f in r.failures)


def test_crash_is_reported_and_the_script_goes_on(tmp_path, monkeypatch):
    # Make the child die of SIGKILL when it reaches line 4 (the second assertion).
    monkeypatch.setenv("WASMC_WAST_TEST_CRASH_AT", "4")
    r = run_file(write(tmp_path, "crash.wast", CRASH))
    assert (r.passed, r.failed) == (2, 1)
    assert r.note == "killed by SIGKILL at line 4"
    assert r.failures[0].startswith("crash.wast:4: assert_return: killed by SIGKILL")


def test_hung_command_times_out(tmp_path, monkeypatch):
    monkeypatch.setenv("WASMC_WAST_COMMAND_TIMEOUT", "2")
    r = run_file(write(tmp_path, "hang.wast", HANG))
    assert (r.passed, r.failed) == (1, 1), r.failures
    assert "command timed out after 2s at line 3" in r.note


def test_run_files_output(tmp_path):
    out = io.StringIO()
    p = write(tmp_path, "wrong.wast", WRONG)
    s = write(tmp_path, "simd_x.wast", "(assert_return (invoke \"f\"))")
    totals = run_files([p, s], verbose=True, jobs=2, out=out, simd=False)
    lines = out.getvalue().splitlines()
    assert totals == (1, 5, 1)
    assert lines[-1] == "1 passed, 5 failed, 1 skipped"
    assert "wrong.wast: 1 passed, 5 failed, 0 skipped" in lines
    assert any(ln.startswith("simd_x.wast: 0 passed, 0 failed, 1 skipped") for ln in lines)
    assert any(ln.startswith("  FAIL wrong.wast:3:") for ln in lines)
