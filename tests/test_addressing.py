"""Address folding and covered loads (compiler/lower/addressing.py) against wasmtime.

Folding `p + C` into `base + zext(p) + C` is exact only where an earlier access proved `p` in
bounds and nothing merged control flow since.  Each test builds the cases where a wrong fold would
show: `p + C` wrapping past 2^32 to a valid low address (wasmtime reads it; a wrong fold faults in
the guard region), facts that must not survive an `else`, a merge or a loop back edge, and the
one-page-short memory limit that wide folds buy.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import wasmc
import wasmtime
from test_sandbox import differential

ACCESS = {"i32": ("i32.load", 4), "i64": ("i64.load", 8), "f64": ("f64.load", 8)}


def fold_module(memory: str) -> str:
    """`first_C(p)`: an access at p, then one at p + C; plus variants with control flow between."""
    funcs = []
    for c in (1, 4, 8, 9, 16, 65535, 65536):
        funcs.append(f"""
          (func (export "first_{c}") (param $p i32) (result i64)
            (i64.load (local.get $p))
            (i64.extend_i32_u (i32.load8_u (i32.add (local.get $p) (i32.const {c}))))
            i64.add)""")
    return f"""(module (memory {memory})
      (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
      {''.join(funcs)}
      (func (export "tee_then_reuse") (param $p i32) (result i32) (local $q i32)
        (drop (i64.load (local.get $p)))
        (local.set $q (i32.add (local.get $p) (i32.const 8)))
        (i32.store8 (local.get $q) (i32.const 7))
        (i32.load8_u (local.get $q)))
      (func (export "chained") (param $p i32) (result i32)
        (drop (i64.load (local.get $p)))
        (i32.load8_u (i32.add (i32.add (local.get $p) (i32.const 8)) (i32.const 8))))
      (func (export "only_in_then") (param $p i32) (param $c i32) (result i32)
        (if (local.get $c) (then (drop (i64.load (local.get $p)))))
        (i32.load8_u (i32.add (local.get $p) (i32.const 8))))
      (func (export "only_in_then_else") (param $p i32) (param $c i32) (result i32)
        (if (result i32) (local.get $c)
          (then (i32.wrap_i64 (i64.load (local.get $p))))
          (else (i32.load8_u (i32.add (local.get $p) (i32.const 8))))))
      (func (export "before_branch") (param $p i32) (param $c i32) (result i32)
        (block $out
          (br_if $out (local.get $c))
          (drop (i64.load (local.get $p))))
        (i32.load8_u (i32.add (local.get $p) (i32.const 8))))
      (func (export "across_back_edge") (param $p i32) (param $q i32) (result i32)
        (local $i i32) (local $acc i32)
        (loop $l
          (local.set $acc (i32.add (local.get $acc)
                                   (i32.load8_u (i32.add (local.get $p) (i32.const 8)))))
          (drop (i64.load (local.get $p)))
          (local.set $p (local.get $q))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 2))))
        (local.get $acc))
      (func (export "set_between") (param $p i32) (param $q i32) (result i32)
        (drop (i64.load (local.get $p)))
        (local.set $p (local.get $q))
        (i32.load8_u (i32.add (local.get $p) (i32.const 8))))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""


def calls_near(end: int) -> list[tuple[str, list[int]]]:
    """Every function at addresses around the end of memory and just below 2^32."""
    ps = sorted({0, 8, end - 65536 - 16, end - 24, end - 17, end - 16, end - 9, end - 8, end - 1,
                 0xFFFFFFF8, 0xFFFFFFF0, 0xFFFF0000} - {-1})
    ps = [p & 0xFFFFFFFF for p in ps if p >= 0]
    calls = [("poke", [0, 0x5A]), ("poke", [1, 0x33]), ("poke", [8, 0x44])]
    for p in ps:
        for c in (1, 4, 8, 9, 16, 65535, 65536):
            calls.append((f"first_{c}", [p]))
        calls += [("tee_then_reuse", [p]), ("chained", [p])]
        for f in ("only_in_then", "only_in_then_else", "before_branch"):
            calls += [(f, [p, 0]), (f, [p, 1])]
        for q in (0, 0xFFFFFFF8):
            calls += [("across_back_edge", [p, q]), ("set_between", [p, q])]
    return calls


def test_folds_match_wasmtime_near_the_end_of_a_small_memory():
    differential(fold_module("1"), calls_near(65536))


def test_folds_match_wasmtime_when_the_add_wraps_in_a_4gib_memory():
    # The memory starts at 4 GiB, so only folds exact at 4 GiB are allowed: `p + 8` after an
    # 8-byte access at 0xFFFFFFF8 wraps to address 0, which wasmtime reads.
    differential(fold_module("65536"), calls_near(1 << 32), timeout=300)


def test_wide_folds_keep_the_memory_one_page_short_of_4gib(tmp_path):
    """The documented implementation limit: a module whose code folds `p + C` with C at least
    the proven access end (first_8 and the like) cannot grow memory 0 to 65536 pages; one
    without such folds can."""
    folding = wasmc.load(wasmtime.wat2wasm(fold_module("1")))
    assert folding.exports["grow"](65535) == -1
    assert folding.exports["grow"](65534) == 1
    plain = wasmc.load(wasmtime.wat2wasm(
        '(module (memory 1) (func (export "grow") (param i32) (result i32)'
        ' (memory.grow (local.get 0))))'))
    assert plain.exports["grow"](65535) == 1
    obj = tmp_path / "fold.o"
    wasm = tmp_path / "fold.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(fold_module("1")))
    subprocess.run(["wasmc", "compile", str(wasm), "--emit=obj", "-o", str(obj)], check=True)
    syms = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    assert "wasmc_wide_address_folds" in syms


@pytest.mark.parametrize("memory", ["1 1", "1 65535"])
def test_a_memory_bounded_below_4gib_needs_no_cap(memory, tmp_path):
    """With a declared maximum below 65536 pages every fold is exact, so no flag is emitted."""
    wasm = tmp_path / "fold.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(fold_module(memory)))
    obj = tmp_path / "fold.o"
    subprocess.run(["wasmc", "compile", str(wasm), "--emit=obj", "-o", str(obj)], check=True)
    syms = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    assert "wasmc_wide_address_folds" not in syms
    differential(fold_module(memory), calls_near(65536))


NOOP_STORES = """(module (memory 1)
  (func (export "same") (param $p i32)
    (i32.store (local.get $p) (i32.load (local.get $p))))
  (func (export "plus_zero") (param $p i32)
    (i64.store (local.get $p) (i64.add (i64.load (local.get $p)) (i64.const 0))))
  (func (export "times_one") (param $p i32)
    (f64.store (local.get $p) (f64.mul (f64.load (local.get $p)) (f64.const 1))))
  (func (export "narrower_store") (param $p i32)
    (i32.store8 offset=3 (local.get $p) (i32.load (local.get $p))))
  (func (export "v128_same") (param $p i32)
    (v128.store (local.get $p) (v128.load (local.get $p)))))"""


@pytest.mark.parametrize("p", [0, 65532, 65533, 65536, 70000, 0xFFFFFFFC])
def test_a_load_covered_by_a_store_of_its_own_value_still_traps(p):
    """The load's witness is dropped because the store through the same address traps wherever
    the load would; LLVM would delete `store p (load p)` as a no-op, and the load with it, unless
    the stored value is frozen (function.py)."""
    calls = [(name, [p]) for name in ("same", "plus_zero", "times_one", "narrower_store",
                                      "v128_same")]
    differential(NOOP_STORES, calls)


# `ci[j] += a * bk[j]` as clang emits it for wasm32 without SIMD: unrolled by two, through two
# pointer locals the loop advances.  Each pointer gets its own copy of the memory base
# (FunctionLowerer.loop_base), which lets LLVM group `ci` with `ci + 8` and vectorise with run-time
# checks between the two pointers; the checks must fall back to the scalar loop when they overlap.
AXPY2 = """(module (memory (export "memory") 1)
  (func $axpy2 (export "axpy2") (param $c i32) (param $b i32) (param $n i32)
    (local $j i32)
    (loop $l
      (f64.store (local.get $c)
        (f64.add (f64.mul (f64.const 1.5) (f64.load (local.get $b))) (f64.load (local.get $c))))
      (f64.store offset=8 (local.get $c)
        (f64.add (f64.mul (f64.const 1.5) (f64.load offset=8 (local.get $b)))
                 (f64.load offset=8 (local.get $c))))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $j (i32.add (local.get $j) (i32.const 2)))
      (br_if $l (i32.ne (local.get $j) (local.get $n)))))  ;; n even, as clang arranges
  (func (export "fill") (param $n i32) (local $i i32)
    (loop $l
      (f64.store (i32.shl (local.get $i) (i32.const 3))
                 (f64.convert_i32_u (i32.mul (local.get $i) (i32.const 7))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "sum") (param $n i32) (result f64) (local $i i32) (local $s f64)
    (loop $l
      (local.set $s (f64.add (local.get $s) (f64.load (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s)))"""


def test_an_unrolled_loop_over_two_pointers_vectorises_with_one_overlap_check():
    """One run-time check, `c`'s group against `b`'s.  With one memory base for both, LLVM
    checks each written pointer against every other one, `c` against `c + 8` too (5 checks), and
    that one always finds an overlap, so the vector loop never runs."""
    text = wasmc.compile(wasmtime.wat2wasm(AXPY2), emit="llvm", opt_level=2)
    body = text[text.index('@"wasm:0:axpy2"('):]
    body = body[:body.index("\n}\n")]
    assert "vector.body" in body and "x double>" in body
    assert len(re.findall(r"%found\.conflict[\d.]* = ", body)) == 1


@pytest.mark.parametrize("gap", [0, 8, 16, 24, 64, 4096])
def test_an_unrolled_loop_over_overlapping_pointers_matches_wasmtime(gap):
    """c = b + gap: the run-time alias checks must send overlapping cases to the scalar loop."""
    calls = [("fill", [2048])]
    for n in (2, 8, 64, 512):
        calls += [("axpy2", [gap, 0, n]), ("sum", [2048]), ("axpy2", [0, gap, n]), ("sum", [2048])]
    calls.append(("axpy2", [65536 - 64, 0, 8]))  # runs off the end: traps like wasmtime
    differential(AXPY2, calls)
