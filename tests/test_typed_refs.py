"""Typed function references (Wasm 3.0) against wasmtime: `call_ref`, `return_call_ref`,
`ref.as_non_null`, `br_on_null`, `br_on_non_null`, typed locals, globals and tables, and table
initialisers, with the null traps -- in the default mode and with `--bounds-checks`.

The exports take and return i32s (the fuzzers' engines exchange only numbers and plain
references); which function a reference holds shows in the result, since `$inc` and `$dbl`
compute different values.  The spec suite (test_spec3.py) covers the typing rules; this covers
the generated code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.engines import Call

WAT = """(module
  (type $ii (func (param i32) (result i32)))
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (global $g (ref $ii) (ref.func $inc))
  (global $m (mut (ref null $ii)) (ref.null $ii))
  (table $t 4 (ref null $ii) (ref.func $dbl))
  (table $nn 2 (ref $ii) (ref.func $inc))
  (elem declare func $inc $dbl)
  (func $pick (param i32) (result (ref null $ii))
    (if (result (ref null $ii)) (i32.eqz (local.get 0))
      (then (ref.null $ii))
      (else (select (result (ref null $ii)) (ref.func $inc) (ref.func $dbl)
                    (i32.eq (local.get 0) (i32.const 1))))))
  (func (export "call") (param i32 i32) (result i32)
    (call_ref $ii (local.get 1) (call $pick (local.get 0))))
  (func $tail (param i32 i32) (result i32)
    (return_call_ref $ii (local.get 1) (call $pick (local.get 0))))
  (func (export "tail") (param i32 i32) (result i32) (call $tail (local.get 0) (local.get 1)))
  (func (export "non_null") (param i32) (result i32)
    (ref.is_null (ref.as_non_null (call $pick (local.get 0)))))
  (func (export "on_null") (param i32 i32) (result i32)
    (block $null (result i32)
      (local.get 1)
      (br_on_null $null (call $pick (local.get 0)))
      (call_ref $ii)
      (i32.const 1000)
      (i32.add)))
  (func (export "on_non_null") (param i32 i32) (result i32)
    (block $some (result i32 (ref $ii))
      (local.get 1)
      (br_on_non_null $some (call $pick (local.get 0)))
      (return (i32.const -1)))
    (call_ref $ii))
  (func (export "typed_local") (param i32) (result i32) (local $f (ref $ii))
    (local.set $f (ref.func $dbl))
    (if (local.get 0) (then (local.set $f (ref.func $inc))))
    (call_ref $ii (i32.const 20) (local.get $f)))
  (func (export "table") (param i32 i32) (result i32)
    (call_ref $ii (local.get 1) (table.get $t (local.get 0))))
  (func (export "table_nn") (param i32) (result i32)
    (call_ref $ii (local.get 0) (table.get $nn (i32.const 1))))
  (func (export "set_null") (param i32) (table.set $t (local.get 0) (ref.null $ii)))
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.func $inc) (local.get 0)))
  (func (export "global") (param i32) (result i32) (call_ref $ii (local.get 0) (global.get $g)))
  (func (export "global_m") (param i32) (result i32) (call_ref $ii (local.get 0) (global.get $m)))
  (func (export "set_global_m") (global.set $m (ref.func $dbl)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0))))"""

PLAN = [
    Call("call", [1, 5]), Call("call", [2, 5]), Call("tail", [1, 7]), Call("tail", [2, 7]),
    Call("non_null", [1]), Call("on_null", [0, 3]), Call("on_null", [1, 3]), Call("on_null", [2, 3]),
    Call("on_non_null", [0, 4]), Call("on_non_null", [1, 4]), Call("on_non_null", [2, 4]),
    Call("typed_local", [0]), Call("typed_local", [1]), Call("table", [0, 9]), Call("table", [3, 9]),
    Call("table_nn", [9]), Call("global", [9]), Call("set_global_m", []), Call("global_m", [9]),
    Call("indirect", [2, 6]), Call("grow", [2]), Call("table", [5, 9]), Call("indirect", [4, 6]),
]
# Each of these traps; each runs as a plan of its own, after the calls that prepare it.
TRAPS = [
    [Call("call", [0, 5])],  # a null call_ref
    [Call("tail", [0, 5])],  # a null return_call_ref
    [Call("non_null", [0])],  # ref.as_non_null of null
    [Call("set_null", [1]), Call("table", [1, 9])],
    [Call("global_m", [9])],  # the mutable global starts null
    [Call("table", [4, 9])],  # past the table's end
    [Call("set_null", [2]), Call("indirect", [2, 6])],  # call_indirect of a null element
]


FEATURES = {"wasm_function_references": True, "wasm_tail_call": True}


@pytest.mark.parametrize("bounds_checks", [False, True], ids=["guard-pages", "bounds-checks"])
@pytest.mark.parametrize("plan", [PLAN, *TRAPS],
                         ids=["calls", *(f"{p[-1].export}-{p[-1].args[0]}" for p in TRAPS)])
def test_typed_refs_match_wasmtime(plan, bounds_checks, matches_wasmtime):
    matches_wasmtime(WAT, plan, FEATURES, bounds_checks=bounds_checks, expect_trap=plan is not PLAN)


def test_null_call_ref_in_an_executable(build_exe, tmp_path):
    """A null `call_ref` in an executable: wasmtime's message and exit status."""
    src = tmp_path / "m.wat"
    src.write_text("""(module (type $v (func))
      (func (export "_start") (call_ref $v (ref.null $v))))""")
    proc = subprocess.run([str(build_exe(src, "-O2"))], capture_output=True, text=True, check=False)
    assert proc.returncode == 134
    assert proc.stderr.splitlines()[-1] == "wasm trap: null reference"


def test_wasm_2_0_rejects_typed_references(tmp_path):
    """The same bytes are malformed under Wasm 2.0's rules (`--wasm 2.0`)."""
    from wasmc.decode import decode_module
    from wasmc.errors import DecodeError
    from wasmc.features import WASM_2_0

    with pytest.raises(DecodeError, match="malformed value type|illegal opcode"):
        decode_module(wasmtime.wat2wasm(WAT), features=WASM_2_0)


SUBTYPES_WAT = """(module
  (type $top (sub (func (param i32) (result i32))))
  (type $mid (sub $top (func (param i32) (result i32))))
  (type $leaf (sub final $mid (func (param i32) (result i32))))
  (type $other (sub (func (param i32) (result i32))))
  (rec (type $r1 (func (param i32) (result i32))) (type $r2 (struct)))
  (func $f_top (type $top) (i32.add (local.get 0) (i32.const 1)))
  (func $f_mid (type $mid) (i32.add (local.get 0) (i32.const 2)))
  (func $f_leaf (type $leaf) (i32.add (local.get 0) (i32.const 3)))
  (func $f_other (type $other) (i32.add (local.get 0) (i32.const 4)))
  (func $f_plain (param i32) (result i32) (i32.add (local.get 0) (i32.const 5)))
  (func $f_rec (type $r1) (i32.add (local.get 0) (i32.const 6)))
  (table $t 6 funcref)
  (elem (table $t) (i32.const 0) func $f_top $f_mid $f_leaf $f_other $f_plain $f_rec)
  (func (export "as_top") (param i32 i32) (result i32)
    (call_indirect $t (type $top) (local.get 1) (local.get 0)))
  (func (export "as_mid") (param i32 i32) (result i32)
    (call_indirect $t (type $mid) (local.get 1) (local.get 0)))
  (func (export "as_leaf") (param i32 i32) (result i32)
    (call_indirect $t (type $leaf) (local.get 1) (local.get 0)))
  (func (export "as_plain") (param i32 i32) (result i32)
    (call_indirect $t (param i32) (result i32) (local.get 1) (local.get 0))))"""

# Each call either returns (the callee's type is the expected one or a declared subtype of it) or
# traps with "indirect call type mismatch" (an unrelated type: other supertypes, a plain function
# type, the same signature in another recursion group).
SUBTYPE_CALLS = [[Call(export, [slot, 10])] for export in ("as_top", "as_mid", "as_leaf", "as_plain")
                 for slot in range(6)]


@pytest.mark.parametrize("plan", SUBTYPE_CALLS, ids=[f"{p[0].export}-{p[0].args[0]}"
                                                     for p in SUBTYPE_CALLS])
def test_call_indirect_accepts_declared_subtypes(plan, matches_wasmtime):
    """GC's declared function subtypes: call_indirect through a type accepts its subtypes'
    functions (the runtime's supertype record, wasmc_rt_type_sub) and nothing else."""
    matches_wasmtime(SUBTYPES_WAT, plan, {**FEATURES, "wasm_gc": True})


GC_REFS_WAT = """(module
  (type $t (sub (func (param i32) (result i32))))
  (type $u (sub $t (func (param i32) (result i32))))
  (func $f_t (type $t) (local.get 0))
  (func $f_u (type $u) (i32.add (local.get 0) (i32.const 1)))
  (func $plain (param i32) (result i32) (local.get 0))
  (table $tab 3 funcref)
  (elem (table $tab) (i32.const 0) func $f_t $f_u $plain)
  (global $g (ref i31) (ref.i31 (i32.const -5)))
  (func (export "i31_s") (param i32) (result i32) (i31.get_s (ref.i31 (local.get 0))))
  (func (export "i31_u") (param i32) (result i32) (i31.get_u (ref.i31 (local.get 0))))
  (func (export "global_s") (result i32) (i31.get_s (global.get $g)))
  (func (export "null_i31") (result i32) (i31.get_u (ref.null i31)))
  ;; i31 -> extern -> any -> i31 keeps the value
  (func (export "round_trip") (param i32) (result i32)
    (i31.get_s (ref.cast (ref i31)
      (any.convert_extern (extern.convert_any (ref.i31 (local.get 0)))))))
  (func (export "eq") (param i32 i32) (result i32)
    (ref.eq (ref.i31 (local.get 0)) (ref.i31 (local.get 1))))
  ;; what a funcref from the table is, by ref.test against the three function types
  (func (export "test_func") (param i32) (result i32)
    (i32.add
      (i32.add (ref.test (ref $t) (table.get $tab (local.get 0)))
               (i32.shl (ref.test (ref $u) (table.get $tab (local.get 0))) (i32.const 1)))
      (i32.shl (ref.test (ref null func) (table.get $tab (local.get 0))) (i32.const 2))))
  (func (export "cast_to_u") (param i32) (result i32)
    (call_ref $u (i32.const 10) (ref.cast (ref $u) (table.get $tab (local.get 0)))))
  (func (export "test_i31_or_null") (param i32) (result i32)
    (ref.test (ref null i31)
      (select (result anyref) (ref.null any) (ref.i31 (i32.const 1)) (local.get 0))))
  (func (export "br_on_cast") (param i32) (result i32) (local $r (ref null $u))
    (local.set $r
      (block $is_u (result (ref $u))
        (br_on_cast $is_u funcref (ref $u) (table.get $tab (local.get 0)))
        (drop)
        (return (i32.const -1))))
    (call_ref $u (i32.const 20) (local.get $r)))
  (func (export "br_on_cast_fail") (param i32) (result i32)
    (block $not_i31 (result anyref)
      (br_on_cast_fail $not_i31 anyref (ref i31)
        (select (result anyref) (ref.i31 (i32.const 7)) (ref.null any) (local.get 0)))
      (return (i31.get_u)))
    (drop)
    (i32.const -1)))"""

GC_REFS_PLAN = [
    Call("i31_s", [0x7FFFFFFF]), Call("i31_s", [0x40000000]), Call("i31_u", [0x40000000]),
    Call("i31_u", [0xFFFFFFFF]), Call("global_s", []), Call("round_trip", [-3]),
    Call("round_trip", [0x3FFFFFFF]), Call("eq", [5, 5]), Call("eq", [5, 0x80000005]),
    Call("eq", [1, 2]), Call("test_func", [0]), Call("test_func", [1]), Call("test_func", [2]),
    Call("cast_to_u", [1]), Call("test_i31_or_null", [0]), Call("test_i31_or_null", [1]),
    Call("br_on_cast", [0]), Call("br_on_cast", [1]), Call("br_on_cast", [2]),
    Call("br_on_cast_fail", [0]), Call("br_on_cast_fail", [1]),
]
GC_REFS_TRAPS = [[Call("null_i31", [])], [Call("cast_to_u", [0])], [Call("cast_to_u", [2])]]


@pytest.mark.parametrize("plan", [GC_REFS_PLAN, *GC_REFS_TRAPS],
                         ids=["calls", *(f"{p[0].export}-{p[0].args}" for p in GC_REFS_TRAPS)])
def test_gc_references_match_wasmtime(plan, matches_wasmtime):
    """GC's instructions that need no heap objects: i31 (31-bit wrapping, sign), ref.eq,
    ref.test / ref.cast / br_on_cast(_fail) against abstract and declared function types, and
    the extern/any conversions' round trip."""
    matches_wasmtime(GC_REFS_WAT, plan, {**FEATURES, "wasm_gc": True},
                     expect_trap=plan is not GC_REFS_PLAN)


STRUCTS_WAT = """(module
  (type $point (sub (struct (field $x (mut i32)) (field $y i64))))
  (type $point3 (sub $point (struct (field $x (mut i32)) (field $y i64) (field $z (mut f64)))))
  (type $packed (struct (field $b (mut i8)) (field $h (mut i16)) (field $r (mut anyref))))
  (global $origin (ref $point) (struct.new $point (i32.const 7) (i64.const -9)))
  (func (export "new_get") (param i32) (result i32)
    (struct.get $point $x (struct.new $point (local.get 0) (i64.const 3))))
  (func (export "set_get") (param i32 i32) (result i32) (local $p (ref null $point))
    (local.set $p (struct.new_default $point))
    (struct.set $point $x (local.get $p) (local.get 0))
    (i32.add (struct.get $point $x (local.get $p))
             (i32.wrap_i64 (struct.get $point $y (local.get $p)))))
  (func (export "global_y") (result i64) (struct.get $point $y (global.get $origin)))
  (func (export "packed") (param i32) (result i32) (local $s (ref null $packed))
    (local.set $s (struct.new $packed (local.get 0) (local.get 0) (ref.i31 (local.get 0))))
    (i32.add (i32.add (struct.get_s $packed $b (local.get $s)) (struct.get_u $packed $h (local.get $s)))
             (i31.get_s (ref.cast (ref i31) (struct.get $packed $r (local.get $s))))))
  ;; subtype objects through the supertype: casts, ref.test by kind, ref.eq by identity
  (func (export "casts") (param i32) (result i32) (local $a anyref)
    (local.set $a (select (result anyref)
      (struct.new $point3 (i32.const 1) (i64.const 2) (f64.const 3.5))
      (struct.new $point (i32.const 4) (i64.const 5)) (local.get 0)))
    (i32.add (i32.add (ref.test (ref $point) (local.get $a))
                      (i32.shl (ref.test (ref $point3) (local.get $a)) (i32.const 1)))
             (i32.add (i32.shl (ref.test (ref struct) (local.get $a)) (i32.const 2))
                      (i32.shl (ref.test (ref i31) (local.get $a)) (i32.const 3)))))
  (func (export "z") (param i32) (result f64)
    (struct.get $point3 $z (ref.cast (ref $point3)
      (select (result (ref $point)) (struct.new $point3 (i32.const 1) (i64.const 2) (f64.const 3.5))
              (struct.new $point (i32.const 4) (i64.const 5)) (local.get 0)))))
  (func (export "eq") (result i32) (local $p (ref null $point))
    (local.set $p (struct.new_default $point))
    (i32.add (ref.eq (local.get $p) (local.get $p))
             (i32.shl (ref.eq (local.get $p) (struct.new_default $point)) (i32.const 1))))
  (func (export "null_get") (result i32) (struct.get $point $x (ref.null $point))))"""

STRUCTS_PLAN = [
    Call("new_get", [42]), Call("set_get", [5, 0]), Call("global_y", []), Call("packed", [-1]),
    Call("packed", [0x1FF80]), Call("casts", [0]), Call("casts", [1]), Call("z", [1]),
    Call("eq", []),
]
STRUCTS_TRAPS = [[Call("null_get", [])], [Call("z", [0])]]


@pytest.mark.parametrize("plan", [STRUCTS_PLAN, *STRUCTS_TRAPS],
                         ids=["calls", *(f"{p[0].export}-{p[0].args}" for p in STRUCTS_TRAPS)])
def test_structs_match_wasmtime(plan, matches_wasmtime):
    """GC's structs: new / new_default / get(_s/_u) / set with packed and reference fields, a
    struct in a global's initialiser, casts and tests along declared subtypes, identity."""
    matches_wasmtime(STRUCTS_WAT, plan, {**FEATURES, "wasm_gc": True},
                     expect_trap=plan is not STRUCTS_PLAN)


def test_structs_survive_collections(matches_wasmtime, monkeypatch):
    """The same calls with a collection before every allocation (runtime_c/gc.c's stress mode)."""
    monkeypatch.setenv("WASMC_GC_STRESS", "1")
    matches_wasmtime(STRUCTS_WAT, STRUCTS_PLAN, {**FEATURES, "wasm_gc": True})
