"""GC's arrays (Wasm 3.0) against wasmtime: every array instruction over every element type
(packed i8/i16, numbers, v128, references), the bounds and null traps in the spec's order, element
segments whose items are allocations (evaluated by generated init code), arrays in globals and
tables, casts along declared array subtypes, a loop over a big array at each optimisation level,
and an executable's trap message.

The exports exchange numbers only (the engines' plans), so each reads back what it built.  The
spec suite (test_spec3.py) covers the typing rules; this covers the generated code and runtime.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.engines import Call

FEATURES = {"wasm_function_references": True, "wasm_gc": True}

WAT = """(module
  (type $bytes (array (mut i8)))
  (type $shorts (array (mut i16)))
  (type $ints (array (mut i32)))
  (type $longs (array (mut i64)))
  (type $floats (array (mut f32)))
  (type $doubles (array (mut f64)))
  (type $vecs (array (mut v128)))
  (type $refs (sub (array (mut anyref))))
  (type $frozen (array i32))
  (type $point (struct (field i32)))
  (type $points (sub $refs (array (mut anyref))))

  (data $hello "hello, world! 0123456789abcdef")
  (elem $objects anyref
    (ref.i31 (i32.const 5))
    (struct.new $point (i32.const 17))
    (array.new_fixed $ints 3 (i32.const 1) (i32.const 2) (i32.const 3))
    (ref.null any)
    (array.new $bytes (i32.const 9) (i32.const 4)))
  (elem $dropped anyref (ref.i31 (i32.const 1)))

  (global $primes (ref $frozen) (array.new_fixed $frozen 5 (i32.const 2) (i32.const 3)
    (i32.const 5) (i32.const 7) (i32.const 11)))
  (global $scratch (mut (ref null $ints)) (ref.null $ints))
  (table $arrays 2 (ref null array))

  ;; new, new_default, get, set, len for each element type
  (func (export "bytes") (param i32 i32) (result i32) (local $a (ref $bytes))
    (local.set $a (array.new $bytes (local.get 0) (i32.const 8)))
    (array.set $bytes (local.get $a) (i32.const 3) (local.get 1))
    (i32.add (i32.mul (array.get_s $bytes (local.get $a) (i32.const 3)) (i32.const 1000))
      (i32.add (array.get_u $bytes (local.get $a) (i32.const 0)) (array.len (local.get $a)))))
  (func (export "shorts") (param i32) (result i32) (local $a (ref $shorts))
    (local.set $a (array.new_default $shorts (i32.const 5)))
    (array.set $shorts (local.get $a) (i32.const 4) (local.get 0))
    (i32.add (i32.mul (array.get_s $shorts (local.get $a) (i32.const 4)) (i32.const 3))
             (array.get_u $shorts (local.get $a) (i32.const 4))))
  (func (export "longs") (param i64 i32) (result i64) (local $a (ref $longs))
    (local.set $a (array.new $longs (local.get 0) (local.get 1)))
    (array.set $longs (local.get $a) (i32.const 0) (i64.const -1))
    (i64.add (array.get $longs (local.get $a) (i32.const 0))
             (array.get $longs (local.get $a) (i32.sub (local.get 1) (i32.const 1)))))
  (func (export "floats") (param f32 f64) (result f64) (local $f (ref $floats)) (local $d (ref $doubles))
    (local.set $f (array.new $floats (local.get 0) (i32.const 3)))
    (local.set $d (array.new_default $doubles (i32.const 2)))
    (array.set $doubles (local.get $d) (i32.const 1) (local.get 1))
    (f64.add (f64.promote_f32 (array.get $floats (local.get $f) (i32.const 2)))
             (array.get $doubles (local.get $d) (i32.const 1))))
  (func (export "vecs") (param i64) (result i64) (local $v (ref $vecs))
    (local.set $v (array.new $vecs (i64x2.splat (local.get 0)) (i32.const 3)))
    (array.set $vecs (local.get $v) (i32.const 1) (v128.const i64x2 7 8))
    (i64.add (i64x2.extract_lane 1 (array.get $vecs (local.get $v) (i32.const 1)))
             (i64x2.extract_lane 0 (array.get $vecs (local.get $v) (i32.const 2)))))
  (func (export "get") (param i32) (result i32)
    (array.get $frozen (global.get $primes) (local.get 0)))
  (func (export "set") (param i32 i32) (result i32)
    (global.set $scratch (array.new_default $ints (i32.const 4)))
    (array.set $ints (global.get $scratch) (local.get 0) (local.get 1))
    (array.get $ints (global.get $scratch) (local.get 0)))

  ;; fill and copy: returns a digest of the array after the operation
  (func $digest (param $a (ref $bytes)) (result i32) (local $i i32) (local $h i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
      (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
                             (array.get_u $bytes (local.get $a) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $h))
  (func $counting (result (ref $bytes)) (local $a (ref $bytes)) (local $i i32)
    (local.set $a (array.new_default $bytes (i32.const 16)))
    (block $done (loop $next
      (br_if $done (i32.eq (local.get $i) (i32.const 16)))
      (array.set $bytes (local.get $a) (local.get $i) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $a))
  (func (export "fill") (param i32 i32 i32) (result i32) (local $a (ref $bytes))
    (local.set $a (call $counting))
    (array.fill $bytes (local.get $a) (local.get 0) (local.get 1) (local.get 2))
    (call $digest (local.get $a)))
  (func (export "fill_longs") (param i32 i64 i32) (result i64) (local $a (ref $longs))
    (local.set $a (array.new_default $longs (i32.const 6)))
    (array.fill $longs (local.get $a) (local.get 0) (local.get 1) (local.get 2))
    (i64.add (array.get $longs (local.get $a) (i32.const 5))
             (array.get $longs (local.get $a) (local.get 0))))
  (func (export "copy_self") (param i32 i32 i32) (result i32) (local $a (ref $bytes))
    (local.set $a (call $counting))
    (array.copy $bytes $bytes (local.get $a) (local.get 0) (local.get $a) (local.get 1)
                (local.get 2))
    (call $digest (local.get $a)))
  (func (export "copy_refs") (param i32) (result i32) (local $p (ref $points)) (local $r (ref $refs))
    (local.set $p (array.new_elem $points $objects (i32.const 0) (i32.const 5)))
    (local.set $r (array.new_default $refs (i32.const 6)))
    (array.copy $refs $points (local.get $r) (i32.const 1) (local.get $p) (i32.const 0)
                (local.get 0))
    (i32.add (ref.test (ref struct) (array.get $refs (local.get $r) (i32.const 2)))
             (i32.shl (ref.is_null (array.get $refs (local.get $r) (i32.const 4))) (i32.const 1))))

  ;; segments: new_data / new_elem / init_data / init_elem, and dropped segments
  (func (export "new_data") (param i32 i32) (result i32)
    (call $digest (array.new_data $bytes $hello (local.get 0) (local.get 1))))
  (func (export "new_data_ints") (param i32 i32) (result i32) (local $a (ref $ints))
    (local.set $a (array.new_data $ints $hello (local.get 0) (local.get 1)))
    (i32.xor (array.get $ints (local.get $a) (i32.const 0)) (array.len (local.get $a))))
  (func (export "init_data") (param i32 i32 i32) (result i32) (local $a (ref $bytes))
    (local.set $a (call $counting))
    (array.init_data $bytes $hello (local.get $a) (local.get 0) (local.get 1) (local.get 2))
    (call $digest (local.get $a)))
  (func (export "new_elem") (param i32) (result i32) (local $a (ref $refs)) (local $x anyref)
    (local.set $a (array.new_elem $refs $objects (i32.const 0) (i32.const 5)))
    (local.set $x (array.get $refs (local.get $a) (local.get 0)))
    (if (result i32) (ref.test (ref i31) (local.get $x))
      (then (i31.get_s (ref.cast (ref i31) (local.get $x))))
      (else (if (result i32) (ref.test (ref $point) (local.get $x))
        (then (struct.get $point 0 (ref.cast (ref $point) (local.get $x))))
        (else (if (result i32) (ref.test (ref $ints) (local.get $x))
          (then (array.get $ints (ref.cast (ref $ints) (local.get $x)) (i32.const 2)))
          (else (if (result i32) (ref.test (ref $bytes) (local.get $x))
            (then (array.get_u $bytes (ref.cast (ref $bytes) (local.get $x)) (i32.const 3)))
            (else (i32.const -1))))))))))
  (func (export "init_elem") (param i32 i32 i32) (result i32) (local $a (ref $refs))
    (local.set $a (array.new_default $refs (i32.const 8)))
    (array.init_elem $refs $objects (local.get $a) (local.get 0) (local.get 1) (local.get 2))
    (i32.add (ref.test (ref i31) (array.get $refs (local.get $a) (i32.const 0)))
             (i32.shl (ref.test (ref array) (array.get $refs (local.get $a) (i32.const 7)))
                      (i32.const 1))))
  (func (export "drop_data") (data.drop $hello))
  (func (export "drop_elem") (elem.drop $dropped))
  (func (export "new_dropped") (param i32) (result i32)
    (array.len (array.new_elem $refs $dropped (i32.const 0) (local.get 0))))

  ;; casts, identity, tables
  (func (export "casts") (param i32) (result i32) (local $x anyref)
    (local.set $x (select (result anyref)
      (array.new_default $points (i32.const 1)) (array.new_default $ints (i32.const 1))
      (local.get 0)))
    (i32.add (i32.add (ref.test (ref array) (local.get $x))
                      (i32.shl (ref.test (ref $refs) (local.get $x)) (i32.const 1)))
             (i32.add (i32.shl (ref.test (ref $points) (local.get $x)) (i32.const 2))
                      (i32.add (i32.shl (ref.test (ref struct) (local.get $x)) (i32.const 3))
                               (i32.shl (ref.test (ref eq) (local.get $x)) (i32.const 4))))))
  (func (export "cast_len") (param i32) (result i32)
    (array.len (ref.cast (ref $ints) (select (result anyref)
      (array.new_default $ints (i32.const 7)) (struct.new $point (i32.const 0)) (local.get 0)))))
  (func (export "table") (param i32) (result i32)
    (table.set $arrays (i32.const 1) (array.new_default $longs (local.get 0)))
    (i32.add (array.len (table.get $arrays (i32.const 1)))
             (ref.eq (table.get $arrays (i32.const 1)) (table.get $arrays (i32.const 1)))))

  ;; a loop over a big array (the optimiser's view of element addresses and lengths)
  (func (export "sum") (param i32) (result i64) (local $a (ref $ints)) (local $i i32) (local $s i64)
    (local.set $a (array.new $ints (i32.const 3) (local.get 0)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get 0)))
      (array.set $ints (local.get $a) (local.get $i)
        (i32.add (array.get $ints (local.get $a) (local.get $i)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.set $i (i32.const 0))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
      (local.set $s (i64.add (local.get $s)
        (i64.extend_i32_u (array.get $ints (local.get $a) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $s))

  ;; null arrays
  (func (export "null_get") (result i32) (array.get $ints (ref.null $ints) (i32.const 0)))
  (func (export "null_set") (array.set $ints (ref.null $ints) (i32.const 0) (i32.const 0)))
  (func (export "null_len") (result i32) (array.len (ref.null array)))
  (func (export "null_fill") (array.fill $ints (ref.null $ints) (i32.const 0) (i32.const 0)
                                        (i32.const 0)))
  (func (export "null_copy") (array.copy $ints $ints (array.new_default $ints (i32.const 1))
                                        (i32.const 0) (ref.null $ints) (i32.const 0) (i32.const 0)))
  ;; a destination range out of bounds and a null source: the destination's trap (wasmtime)
  (func (export "copy_order") (array.copy $ints $ints (array.new_default $ints (i32.const 1))
                                         (i32.const 1) (ref.null $ints) (i32.const 0) (i32.const 1)))
  (func (export "null_init") (array.init_data $bytes $hello (ref.null $bytes) (i32.const 0)
                                              (i32.const 0) (i32.const 0)))
  (func (export "huge") (param i32) (result i32)
    (array.len (array.new_default $longs (local.get 0)))))"""

PLAN = [
    Call("bytes", [7, 0x1FE]), Call("bytes", [-1, 0x80]), Call("shorts", [0x18001]),
    Call("longs", [0x123456789, 3]), Call("floats", [0x3FC00000, 0x4004000000000000]),
    Call("vecs", [-5]), Call("get", [4]), Call("set", [3, 99]),
    Call("fill", [0, 0xAB, 16]), Call("fill", [16, 1, 0]), Call("fill", [5, -1, 3]),
    Call("fill_longs", [2, -77, 4]), Call("fill_longs", [6, 1, 0]),
    Call("copy_self", [0, 4, 12]), Call("copy_self", [4, 0, 12]), Call("copy_self", [16, 0, 0]),
    Call("copy_refs", [5]), Call("copy_refs", [2]),
    Call("new_data", [0, 30]), Call("new_data", [7, 5]), Call("new_data", [30, 0]),
    Call("new_data_ints", [2, 7]), Call("init_data", [3, 10, 13]), Call("init_data", [16, 30, 0]),
    *(Call("new_elem", [i]) for i in range(5)),
    Call("init_elem", [0, 0, 5]), Call("init_elem", [3, 0, 5]),
    Call("new_dropped", [1]), Call("drop_elem", []), Call("new_dropped", [0]),
    Call("casts", [0]), Call("casts", [1]), Call("cast_len", [1]), Call("table", [9]),
    Call("sum", [1_000_000]), Call("sum", [0]), Call("huge", [1 << 20]),
    Call("drop_data", []), Call("new_data", [0, 0]), Call("init_data", [0, 0, 0]),
]

# Each ends with the call that traps (wasmtime's trap class is compared).
TRAPS = [
    [Call("bytes", [1, 1]), Call("get", [5])],  # index == length
    [Call("get", [-1])],  # an index that is negative as i32: unsigned, out of bounds
    [Call("set", [4, 0])],
    [Call("fill", [15, 0, 2])], [Call("fill", [17, 0, 0])],  # d + n past the end; d past it
    [Call("fill", [1, 0, -1])],  # n wraps as i32: 64-bit sums in the runtime
    [Call("copy_self", [10, 0, 7])], [Call("copy_self", [0, 10, 7])],
    [Call("copy_self", [-1, 0, 1])],
    [Call("new_data", [26, 5])], [Call("new_data", [-1, 2])], [Call("new_data_ints", [0, 8])],
    [Call("init_data", [10, 0, 7])],  # the array's range first ...
    [Call("init_data", [0, 25, 6])],  # ... then the segment's
    [Call("init_data", [20, 40, 1])],  # both out of bounds: the array's trap (spec order)
    [Call("init_elem", [4, 0, 5])], [Call("init_elem", [0, 1, 5])],
    [Call("drop_elem", []), Call("new_dropped", [1])],
    [Call("drop_data", []), Call("new_data", [0, 1])],
    [Call("cast_len", [0])],
    [Call("null_get", [])], [Call("null_set", [])], [Call("null_len", [])], [Call("null_fill", [])],
    [Call("null_copy", [])], [Call("copy_order", [])], [Call("null_init", [])],
    [Call("huge", [0x20000000])],  # 4 GiB of elements: "allocation size too large"
]


@pytest.mark.parametrize("opt", ["0", "2"])
@pytest.mark.parametrize("plan", [PLAN, *TRAPS],
                         ids=["calls", *(f"{p[-1].export}-{'-'.join(map(str, p[-1].args))}"
                                         for p in TRAPS)])
def test_arrays_match_wasmtime(plan, opt, matches_wasmtime):
    matches_wasmtime(WAT, plan, FEATURES, opt=opt, expect_trap=plan is not PLAN)


@pytest.mark.parametrize("opt", ["0", "2"])
def test_arrays_survive_collections(opt, matches_wasmtime, monkeypatch):
    """The same calls with a collection before every allocation (WASMC_GC_STRESS=1; freed
    objects are poisoned): any reference the generated code failed to root shows as a wrong
    result or a crash."""
    monkeypatch.setenv("WASMC_GC_STRESS", "1")
    matches_wasmtime(WAT, PLAN, FEATURES, opt=opt)


def test_array_trap_in_an_executable(build_exe, tmp_path):
    """An index out of bounds in an executable: wasmtime's message, the trap's exit status."""
    src = tmp_path / "m.wat"
    src.write_text("""(module (type $a (array (mut i32)))
      (func (export "_start")
        (drop (array.get $a (array.new_default $a (i32.const 3)) (i32.const 3)))))""")
    proc = subprocess.run([str(build_exe(src, "-O2"))], capture_output=True, text=True, check=False)
    assert proc.returncode == 134
    assert "wasm trap: out of bounds array access" in proc.stderr
