"""Exception handling (Wasm 3.0) against wasmtime: `throw`, `throw_ref`, `try_table` with every kind
of catch clause, at -O0 and -O2, in the default mode and with `--bounds-checks`.

wasmc lowers try_table to _setjmp and a throw to a longjmp (compiler/lower/exceptions.py), so the
cases aim at what that can get wrong: locals changed in the try body before the throw (a register
restored by longjmp would show the old value), handlers left linked after control leaves a
try_table by a branch, a return, a loop's back edge or a tail call (a later throw would jump into
a dead frame), payloads of every value type, exceptions crossing calls, rethrows through
catch_ref/throw_ref, and exceptions nobody catches.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.engines import Call

WAT = """(module
  (tag $e0)
  (tag $ei (param i32))
  (tag $emix (param i64 f32 f64 v128 i32))
  (global $g (mut i32) (i32.const 0))
  (func $thrower (param i32)
    (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $e0)))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $ei (i32.const 42))))
    (if (i32.eq (local.get 0) (i32.const 3))
      (then (throw $emix (i64.const -7) (f32.const 1.5) (f64.const -2.25)
                         (v128.const i32x4 1 2 3 4) (i32.const 9)))))
  (func $deep (param i32) (call $thrower (local.get 0)))
  ;; which clause catches an exception thrown two calls down
  (func (export "classify") (param i32) (result i32) (local $t i32)
    (block $none
      (block $all
        (block $i (result i32)
          (block $mix (result i64 f32 f64 v128 i32)
            (try_table (catch $ei $i) (catch $emix $mix) (catch_all $all)
              (call $deep (local.get 0)))
            (br $none))
          ;; $emix: its last payload value
          (local.set $t)
          (drop) (drop) (drop) (drop)
          (return (i32.add (local.get $t) (i32.const 300))))
        (return (i32.add (i32.const 200))))
      (return (i32.const 100)))
    (i32.const 0))
  (func (export "mix_payload") (result i32) (local $i i32) (local $v v128) (local $d f64)
    (local $f f32)
    (block $mix (result i64 f32 f64 v128 i32)
      (try_table (catch $emix $mix) (call $thrower (i32.const 3)))
      (unreachable))
    (local.set $i) (local.set $v) (local.set $d) (local.set $f)
    ;; i64 -7, f32 1.5 (x2 = 3), f64 -2.25 (x4 = -9), lane 2 = 3, i32 9: -7 + 3 - 9 + 3 + 9 = -1
    (i32.wrap_i64)
    (i32.add (i32.trunc_f32_s (f32.mul (local.get $f) (f32.const 2))))
    (i32.add (i32.trunc_f64_s (f64.mul (local.get $d) (f64.const 4))))
    (i32.add (i32x4.extract_lane 2 (local.get $v)))
    (i32.add (local.get $i)))
  ;; a local changed inside the try body, after _setjmp, must read as changed in the handler
  (func (export "local_after_throw") (param i32) (result i32) (local i32 i64)
    (local.set 1 (i32.const 1))
    (local.set 2 (i64.const 10))
    (block $h
      (try_table (catch_all $h)
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (local.set 2 (i64.mul (local.get 2) (i64.const 3)))
        (call $thrower (i32.const 1))
        (local.set 1 (i32.const -1))))
    (i32.add (local.get 1) (i32.wrap_i64 (local.get 2))))
  ;; the handler is unlinked when a br leaves its try_table: the later throw is not caught
  (func (export "br_out_then_throw") (param i32) (result i32)
    (block $h
      (block $out
        (try_table (catch_all $h) (br $out)))
      (call $thrower (local.get 0))
      (return (i32.const 1)))
    (i32.const 2))
  ;; and when a loop's back edge leaves it, many times over
  (func (export "loop") (param i32) (result i32) (local i32)
    (block $h (result i32)
      (try_table (catch $ei $h)
        (loop $l
          (block $inner
            (try_table (catch $e0 $inner)
              (local.set 1 (i32.add (local.get 1) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get 1) (local.get 0)))
              (call $thrower (i32.const 2))))
          (br $l)))
      (return (i32.const -1)))
    (drop)
    (local.get 1))
  ;; a function that returns from inside a try_table, then its caller throws: uncaught
  (func $returns_inside (result i32)
    (block $h
      (try_table (catch_all $h) (return (i32.const 5))))
    (i32.const 6))
  (func (export "return_then_throw") (result i32)
    (drop (call $returns_inside))
    (call $thrower (i32.const 1))
    (i32.const 7))
  ;; a tail call from inside a try_table leaves it: the callee's throw is not caught there
  (func $tail_from_try (result i32)
    (block $h
      (try_table (catch_all $h) (return_call $throws_i32)))
    (i32.const 8))
  (func $throws_i32 (result i32) (call $thrower (i32.const 2)) (i32.const 9))
  (func (export "tail_call") (result i32)
    (block $h (result i32)
      (try_table (catch $ei $h) (return (call $tail_from_try)))
      (unreachable))
    (i32.const 1000)
    (i32.add))
  ;; catch_ref, then throw_ref to an outer catch
  (func (export "rethrow") (param i32) (result i32)
    (block $outer (result i32)
      (try_table (catch $ei $outer)
        (block $r (result i32 exnref)
          (try_table (catch_ref $ei $r) (call $thrower (local.get 0)))
          (return (i32.const 0)))
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (throw_ref))
      (unreachable))
    (i32.add (global.get $g)))
  (func (export "catch_all_ref") (param i32) (result i32)
    (block $r (result exnref)
      (try_table (catch_all_ref $r) (call $thrower (local.get 0)))
      (return (i32.const 0)))
    (ref.is_null))
  ;; locals set around a try_table but never in its body stay in registers (only what a try body
  ;; sets is kept in memory): after each landing they hold what they held at its _setjmp (odd
  ;; iterations throw $ei, whose payload is 42; even ones do not throw)
  (func (export "set_around") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.set $sum (i32.add (local.get $sum)
        (block $h (result i32)
          (try_table (catch $ei $h)
            (call $thrower (i32.shl (i32.and (local.get $i) (i32.const 1)) (i32.const 1))))
          (i32.const 1000))))
      (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $i) (local.get $i))))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (func (export "throw_null") (throw_ref (ref.null exn)))
  (func (export "uncaught") (param i32) (result i32) (call $thrower (local.get 0)) (i32.const 3)))"""

PLAN = [
    Call("classify", [0]), Call("classify", [1]), Call("classify", [2]), Call("classify", [3]),
    Call("mix_payload", []), Call("local_after_throw", [5]), Call("br_out_then_throw", [0]),
    Call("loop", [100_000]), Call("loop", [1]), Call("tail_call", []), Call("rethrow", [0]),
    Call("rethrow", [2]), Call("rethrow", [2]), Call("catch_all_ref", [1]),
    Call("catch_all_ref", [0]), Call("uncaught", [0]), Call("set_around", [1001]),
]
# Each of these ends in a trap or an uncaught exception; each runs as a plan of its own.
TRAPS = [
    [Call("br_out_then_throw", [2])],  # thrown after the handler was left: uncaught
    [Call("return_then_throw", [])],
    [Call("uncaught", [3])],
    [Call("rethrow", [1])],  # $e0 is caught by catch_ref? no: not $ei, so it escapes both
    [Call("throw_null", [])],
    [Call("classify", [2]), Call("uncaught", [2])],  # a caught exception leaves nothing behind
]


FEATURES = {"wasm_exceptions": True, "wasm_function_references": True, "wasm_tail_call": True}


@pytest.mark.parametrize("opt", ["0", "2"])
@pytest.mark.parametrize("bounds_checks", [False, True], ids=["guard-pages", "bounds-checks"])
@pytest.mark.parametrize("plan", [PLAN, *TRAPS], ids=["calls", *(p[-1].export for p in TRAPS)])
def test_exceptions_match_wasmtime(plan, bounds_checks, opt, matches_wasmtime):
    matches_wasmtime(WAT, plan, FEATURES, bounds_checks=bounds_checks, opt=opt,
                     expect_trap=plan is not PLAN)


def test_uncaught_exception_in_an_executable(build_exe, tmp_path):
    """An exception nothing catches ends an executable as a trap does, with wasmtime's words."""
    src = tmp_path / "m.wat"
    src.write_text("""(module (tag $e (param i32))
      (func $f (throw $e (i32.const 1)))
      (func (export "_start") (call $f)))""")
    proc = subprocess.run([str(build_exe(src, "-O2"))], capture_output=True, text=True, check=False)
    assert proc.returncode == 134
    assert proc.stderr.splitlines()[-1] == "wasm trap: thrown Wasm exception"


LEGACY_WAT = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (tag $e (param i32))
  (tag $other)
  (global $log (mut i32) (i32.const 0))
  (func $note (param i32) (global.set $log (i32.add (i32.mul (global.get $log) (i32.const 10))
                                                    (local.get 0))))
  (func $thrower (param i32) (if (local.get 0) (then (throw $e (local.get 0)))) (call $note (i32.const 9)))
  ;; catch by tag with a payload, catch_all, rethrow from a catch, delegate past a try
  (func $run (param $n i32) (result i32) (local $i i32)
    (try (result i32)
      (do (call $thrower (local.get $n)) (i32.const 0))
      (catch $other (i32.const -1))
      (catch $e (local.set $i) (call $note (i32.const 1)) (local.get $i))
      (catch_all (i32.const -2))))
  (func $nested (param $n i32) (result i32)
    (try $outer (result i32)
      (do (try (result i32)
            (do (try (result i32) (do (call $thrower (local.get $n)) (i32.const 5))
                                  (delegate $outer)))
            (catch $e (drop) (i32.const -3))))  ;; skipped by the delegate
      (catch $e (drop) (call $note (i32.const 2)) (i32.const 7))))
  (func $again (param $n i32) (result i32)
    (try (result i32)
      (do (try (result i32) (do (call $thrower (local.get $n)) (i32.const 0))
                            (catch_all (call $note (i32.const 3)) (rethrow 0))))
      (catch $e)))
  (func $escape (param $n i32) (result i32)  ;; no catch matches: on to the caller
    (try (result i32) (do (call $thrower (local.get $n)) (i32.const 0)) (catch $other (i32.const 1))))
  (func (export "_start")
    (if (i32.ne (call $run (i32.const 4)) (i32.const 4)) (then (unreachable)))
    (if (i32.ne (call $run (i32.const 0)) (i32.const 0)) (then (unreachable)))
    (if (i32.ne (call $nested (i32.const 6)) (i32.const 7)) (then (unreachable)))
    (if (i32.ne (call $again (i32.const 8)) (i32.const 8)) (then (unreachable)))
    (if (i32.ne (global.get $log) (i32.const 1923)) (then (unreachable)))
    (try (do (drop (call $escape (i32.const 1)))) (catch_all (call $exit (i32.const 42))))))"""


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_legacy_exceptions_in_an_executable(build_exe, tmp_path, opt):
    """The legacy instructions (try, catch, catch_all, rethrow, delegate; assembled by wabt, as
    wasmtime cannot read them): each case checks its result and the order of its side effects
    (a wrong one traps), then an exception no catch in its function matches reaches the
    caller's catch_all, which exits with 42."""
    from wasmc.wast.script import wabt_wat2wasm

    wasm = wabt_wat2wasm(LEGACY_WAT.encode())
    if wasm is None:
        pytest.skip("wabt's wat2wasm is not installed")
    proc = subprocess.run([str(build_exe(wasm, opt))], capture_output=True, text=True, check=False)
    assert proc.returncode == 42, proc.stderr
