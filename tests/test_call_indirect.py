"""`call_indirect` through fixed-size and growable tables (control.lower_call_indirect).

A table whose declared maximum equals its minimum can never change size, so its bound is a
constant and its element array never moves: the lowering compares with the constant and lets
LLVM hoist the (invariant) table loads out of loops.  A growable table must be re-read after
anything that may grow it.  Both must trap exactly like wasmtime: index past the end, null slot,
wrong signature, including after `table.grow` and `table.set` inside the calling loop.
"""

from __future__ import annotations

import re

import pytest
import wasmc
import wasmtime
from test_sandbox import differential

FUNCS = """
  (type $bin (func (param i32 i32) (result i32)))
  (type $un (func (param i32) (result i32)))
  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $xor (type $bin) (i32.xor (local.get 0) (local.get 1)))
  (func $mul (type $bin) (i32.mul (local.get 0) (local.get 1)))
  (func $neg (type $un) (i32.sub (i32.const 0) (local.get 0)))
"""


def module(limits: str) -> str:
    return f"""(module
  {FUNCS}
  (table $t {limits} funcref)
  (elem (table $t) (i32.const 0) func $add $xor $mul $neg)
  ;; a loop of calls through slots picked from `$sel` (4 bits per call)
  (func (export "run") (param $sel i32) (param $n i32) (result i32) (local $acc i32)
    (local.set $acc (i32.const 1))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (call_indirect $t (type $bin) (local.get $acc) (local.get $n)
                                         (i32.and (local.get $sel) (i32.const 15))))
      (local.set $sel (i32.rotr (local.get $sel) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $acc))
  (func (export "unary") (param $i i32) (result i32)
    (call_indirect $t (type $un) (i32.const 7) (local.get $i)))
  (func (export "size") (result i32) (table.size $t))
  ;; Grows the table (if it can) by one slot holding $mul, then calls through the new slot.
  (func (export "grow_then_call") (result i32) (local $old i32)
    (local.set $old (table.grow $t (ref.func $mul) (i32.const 1)))
    (if (i32.lt_s (local.get $old) (i32.const 0)) (then (return (i32.const -1))))
    (call_indirect $t (type $bin) (i32.const 6) (i32.const 7) (local.get $old)))
  ;; Calls in a loop while the loop itself rewrites the slot it calls through.
  (func (export "set_in_loop") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (table.set $t (i32.const 1)
        (if (result funcref) (i32.and (local.get $n) (i32.const 1))
          (then (ref.func $add)) (else (ref.func $xor))))
      (local.set $acc (call_indirect $t (type $bin) (local.get $acc) (local.get $n) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $acc))
  (func (export "clear") (param $i i32) (table.set $t (local.get $i) (ref.null func)))
  (elem declare func $add $xor $mul)
)"""


CALLS = [("size", []), ("run", [0x2102_1021, 8]), ("run", [0x0000_0012, 3]),
         ("run", [0x0000_0003, 1]),       # slot 3 is $neg: signature mismatch
         ("run", [0x0000_0004, 1]),       # slot 4: null in a 6-slot table, past the end in 4
         ("run", [0x0000_000F, 1]),       # past the end either way
         ("unary", [3]), ("unary", [0]), ("unary", [-1]),
         ("set_in_loop", [9]), ("grow_then_call", []), ("size", []), ("run", [0x4, 1]),
         ("clear", [0]), ("run", [0x10, 2]), ("run", [0, 1])]


@pytest.mark.parametrize("limits", ["4 4", "6 6", "4", "4 10"])
def test_call_indirect_like_wasmtime(limits):
    differential(module(limits), CALLS)


def blocks_of(text: str, func_index: int) -> dict[str, str]:
    """Function `func_index`'s optimised IR: block label -> its instructions."""
    body = re.search(r'define [^@]*@"wasm:%d:[^"]*"[^{]*\{(.*?)\n\}' % func_index, text,
                     re.DOTALL).group(1)
    return dict(re.findall(r"^([-\w.]+):[^\n]*\n(.*?)(?=^[-\w.]+:|\Z)", body, re.M | re.S))


def test_a_fixed_table_has_a_constant_bound_and_hoisted_loads():
    """In `run` (function 4), the loop calling through a fixed table compares the index with a
    constant and loads neither the element array nor the expected type id: LLVM hoisted them."""
    def run_blocks(limits: str) -> dict[str, str]:
        return blocks_of(wasmc.compile(wasmtime.wat2wasm(module(limits)), emit="llvm"), 4)

    fixed = run_blocks("6 6")
    in_loop = "".join(body for label, body in list(fixed.items())[1:]  # past the entry block
                      if "phi " in body or "notail call" in body)
    assert re.search(r"icmp (samesign )?u(gt|ge) i32 %[^,]+, [56]\n", in_loop), in_loop
    assert "table.size" not in "".join(fixed.values())
    for name in ("table.elems", "expected_type", "table0", "tables", "type_ids"):
        assert not re.search(rf"%{name}\.\d+ = load", in_loop), name
    growable = "".join(run_blocks("6").values())
    assert re.search(r"%table\.size\.\d+ = load", growable)


# A table no instruction changes, filled only by active segments: its elements are known when
# compiling (ModuleLowerer.static_table), so calls load the code pointer from a constant array.
STATIC = """(module
  {imports}
  {funcs}
  (type $none (func))
  (table $t 8 {max} funcref)
  (elem (table $t) (i32.const 0) func $add $xor $mul $neg)
  (elem (table $t) (i32.const 2) func $xor)           ;; overwrites $mul: segments apply in order
  (elem (table $t) (i32.const 5) funcref (ref.null func) (ref.func $neg) {extra})
  (elem $passive func $mul)                          ;; never applied: no table.init
  (func (export "bin") (param $i i32) (param $a i32) (result i32)
    (call_indirect $t (type $bin) (local.get $a) (i32.const 3) (local.get $i)))
  (func (export "un") (param $i i32) (result i32)
    (call_indirect $t (type $un) (i32.const 7) (local.get $i)))
  (func (export "loop") (param $sel i32) (param $n i32) (result i32) (local $acc i32)
    (local.set $acc (i32.const 1))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (call_indirect $t (type $bin) (local.get $acc) (local.get $n)
                                         (i32.and (local.get $sel) (i32.const 3))))
      (local.set $sel (i32.rotr (local.get $sel) (i32.const 2)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $acc))
  {more}
)"""

STATIC_CALLS = [("bin", [0, 5]), ("bin", [1, 5]), ("bin", [2, 5]),  # $add, $xor, $xor
                ("un", [3]), ("un", [6]),                             # $neg twice
                ("loop", [0x1B, 9]), ("loop", [0xE4E4, 12]),
                ("bin", [3, 1]),         # $neg: signature mismatch
                ("un", [0]),             # $add: signature mismatch
                ("bin", [4, 1]),         # never filled: null
                ("un", [5]),             # explicitly null
                ("bin", [8, 1]), ("un", [-1]), ("bin", [0x7FFF_FFFF, 1])]  # past the end


def static_module(variant: str = "") -> str:
    parts = {"imports": "", "funcs": FUNCS, "max": "8", "extra": "", "more": ""}
    if variant == "growable":
        parts["max"] = ""  # no maximum, but nothing grows it: still static
    elif variant == "imported_func":
        parts["imports"] = '(import "m" "f" (func $imp (param i32) (result i32)))'
        parts["extra"] = "(ref.func $imp)"
    elif variant == "exported":
        parts["more"] = '(export "t" (table $t))'
    elif variant == "table_set":  # a write to any table, even one never called through
        parts["more"] = "(table $u 1 funcref) (func (table.set $u (i32.const 0) (ref.null func)))"
    elif variant == "global_offset":
        parts["imports"] = '(import "m" "g" (global $g i32))'
        parts["more"] = "(elem (table $t) (global.get $g) func $add)"
    return STATIC.format(**parts)


@pytest.mark.parametrize("variant", ["", "growable", "exported", "table_set"])
def test_static_table_calls_like_wasmtime(variant):
    differential(static_module(variant), STATIC_CALLS)


@pytest.mark.parametrize("variant,static", [("", True), ("growable", True), ("exported", False),
                                            ("table_set", False), ("global_offset", False),
                                            ("imported_func", False)])
def test_which_tables_are_static(variant, static):
    """A static table's calls read the constant code array and no runtime table; the others
    keep the general path (element record, type id)."""
    text = wasmc.compile(wasmtime.wat2wasm(static_module(variant)), emit="llvm", opt_level=0)
    assert ("table0.code" in text) == static, variant
    assert ('"funcref' in text or "%funcref" in text) != static, variant
