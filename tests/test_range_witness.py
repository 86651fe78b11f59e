"""Range witnesses: a load through a pointer a loop steps is checked once, at the loop's exits.

In a loop LLVM may vectorise, a load whose trap must survive normally joins a sum (witness.py),
which can cost a vectorised loop dearly (matmul's interleaved loads).  When the load goes through
a pointer `p` that the loop steps by a constant `s` exactly once per iteration, the lowering
instead records where the last such load ended, in a 64-bit copy of `p` that does not wrap, and
checks that end against the memory size wherever the sum would leave the function
(FunctionLowerer.range_witness).  Each case below is a loop shape that does or does not qualify;
each is called with pointers that stay in bounds, leave memory at the first, a middle or the last
iteration, or wrap around 2^32 into bounds again, and must trap (with the same kind) or not
exactly as under wasmtime.  The IR test checks which loads take the range witness.
"""

from __future__ import annotations

import re

import pytest
import wasmtime
from test_sandbox import differential
from test_witness import functions, lowered_ir

LOOPS = r"""
  (func $step_after (export "step_after") (param $p i32) (param $n i32) (local $i i32)
    ;; two loads through p, then p += 16: the shape of a loop clang unrolled by two
    (loop $l
      (drop (f64.load (local.get $p)))
      (drop (f64.load offset=8 (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $step_before (export "step_before") (param $p i32) (param $n i32) (local $i i32)
    ;; p += 4 first, then loads through the new p
    (loop $l
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (drop (i32.load (local.get $p)))
      (drop (i32.load8_u offset=4 (local.get $p)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $axpy (export "axpy") (param $p i32) (param $n i32) (local $q i32) (local $i i32)
    ;; q[j] += 3 * p[j], unrolled by two: p's loads feed stores through q (matmul's inner loop)
    (local.set $q (i32.const 1024))
    (loop $l
      (f64.store (local.get $q) (f64.add (f64.load (local.get $q))
                                         (f64.mul (f64.const 3) (f64.load (local.get $p)))))
      (f64.store offset=8 (local.get $q)
                 (f64.add (f64.load offset=8 (local.get $q))
                          (f64.mul (f64.const 3) (f64.load (i32.add (local.get $p) (i32.const 8))))))
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $exit_first (export "exit_first") (param $p i32) (param $n i32) (local $i i32)
    ;; the exit comes before the load, so the last iteration does not load
    (block $out
      (loop $l
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (drop (i64.load (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))
  (func $exit_between (export "exit_between") (param $p i32) (param $n i32) (local $i i32)
    ;; load, exit, step: the last iteration loads but does not step
    (block $out
      (loop $l
        (drop (i64.load (local.get $p)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $l))))
  (func $exit_splits (export "exit_splits") (param $p i32) (param $n i32) (local $i i32)
    ;; a division between two loads, p stepping by 4, the division trapping in the last
    ;; iteration (i = n): by then the first load may read p..p+8 in bounds while the second read
    ;; past the end at p+8..p+16 in the iteration before, so that the out-of-bounds trap comes
    ;; first; the loads on either side of anything that can leave the iteration form separate
    ;; groups (regions)
    (loop $l
      (drop (i64.load (local.get $p)))
      (drop (i32.div_u (i32.const 1) (i32.sub (local.get $n) (local.get $i))))
      (drop (i64.load offset=8 (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.le_u (local.get $i) (local.get $n)))))
  (func $divides (export "divides") (param $p i32) (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    ;; a division that traps in the last iteration: an earlier out-of-bounds load must win
    (loop $l
      (drop (f32.load (local.get $p)))
      (local.set $acc (i32.add (local.get $acc)
        (i32.div_u (i32.const 1000) (i32.sub (local.get $n) (i32.add (local.get $i) (i32.const 1))))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func $vectors (export "vectors") (param $p i32) (param $n i32) (local $i i32)
    (loop $l
      (drop (v128.load (local.get $p)))
      (drop (v128.load64_splat offset=16 (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $big_step (export "big_step") (param $p i32) (param $n i32) (local $i i32)
    ;; the largest step taken (64 KiB)
    (loop $l
      (drop (i32.load8_s (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 65536)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $five_pointers (export "five_pointers") (param $p i32) (param $n i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $i i32)
    ;; more (pointer, segment) pairs than slots: all summed
    (local.set $a (i32.add (local.get $p) (i32.const 8)))
    (local.set $b (i32.add (local.get $p) (i32.const 16)))
    (local.set $c (i32.add (local.get $p) (i32.const 24)))
    (local.set $d (i32.add (local.get $p) (i32.const 32)))
    (loop $l
      (drop (i64.load (local.get $p))) (drop (i64.load (local.get $a)))
      (drop (i64.load (local.get $b))) (drop (i64.load (local.get $c)))
      (drop (i64.load (local.get $d)))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (local.set $a (i32.add (local.get $a) (i32.const 8)))
      (local.set $b (i32.add (local.get $b) (i32.const 8)))
      (local.set $c (i32.add (local.get $c) (i32.const 8)))
      (local.set $d (i32.add (local.get $d) (i32.const 8)))
      (drop (i64.load (local.get $p))) (drop (i64.load (local.get $a)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $deltas (export "deltas") (param $p i32) (param $n i32) (local $i i32)
    ;; p - 48, p - 40, p + 8 and p, in one group based at p - 48 (nbody's loop reads its
    ;; struct at negative offsets): a small p wraps the first ones around 2^32
    (loop $l
      (drop (f64.load (i32.sub (local.get $p) (i32.const 48))))
      (drop (f32.load offset=4 (i32.sub (local.get $p) (i32.const 40))))
      (drop (i32.load8_u (i32.add (i32.const 8) (local.get $p))))
      (drop (i64.load (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 56)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $unfolded (export "unfolded") (param $p i32) (param $n i32) (local $i i32)
    ;; p + 8 and p + 16 with no earlier access to fold them into: a group based at p + 8
    (loop $l
      (drop (i64.load (i32.add (local.get $p) (i32.const 16))))
      (drop (i64.load (i32.add (local.get $p) (i32.const 8))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $wide_deltas (export "wide_deltas") (param $p i32) (param $n i32) (local $i i32)
    ;; p - 40000 and p + 40000 span more than 64 KiB: with memory near 4 GiB, p + 40000 could
    ;; wrap into bounds while p - 40000 reads in bounds too, so such a group is summed
    (loop $l
      (drop (i32.load8_u (i32.sub (local.get $p) (i32.const 40000))))
      (drop (i32.load8_u (i32.add (local.get $p) (i32.const 40000))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $mixed (export "mixed") (param $p i32) (param $n i32) (local $i i32)
    ;; a load through p and one at 8 * i: the second is summed, so the first is too (a range
    ;; witness only pays when it leaves the loop without a sum)
    (loop $l
      (drop (i64.load (local.get $p)))
      (drop (i64.load (i32.shl (local.get $i) (i32.const 3))))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $late_delta (export "late_delta") (param $p i32) (param $n i32) (local $i i32)
    ;; p + 8, an exit, then p - 8: in one group based at p - 8, the first load would count as
    ;; wrapped when p + 8 wraps into bounds and the iteration leaves before p - 8 (p = 2^32 - 8,
    ;; n = 1), so the exit splits them into two groups (regions)
    (block $out
      (loop $l
        (drop (i64.load (i32.add (local.get $p) (i32.const 8))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (drop (i64.load (i32.sub (local.get $p) (i32.const 8))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $l))))
  (func $old_value (export "old_value") (param $p i32) (param $n i32) (local $o i32) (local $i i32)
    ;; the load goes through p's value from before the step: not the current p, so summed
    (loop $l
      (local.set $o (local.get $p))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (drop (i64.load (local.get $o)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $conditional_step (export "conditional_step") (param $p i32) (param $n i32) (local $i i32)
    ;; p steps only on odd iterations: not an arithmetic sequence, so summed
    (loop $l
      (drop (i64.load (local.get $p)))
      (if (i32.and (local.get $i) (i32.const 1))
        (then (local.set $p (i32.add (local.get $p) (i32.const 8)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $skipped_load (export "skipped_load") (param $p i32) (param $n i32) (local $i i32)
    ;; a `continue` before the load: not every iteration reaches it, so summed
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (br_if $l (i32.and (i32.lt_u (local.get $i) (local.get $n)) (i32.and (local.get $i) (i32.const 1))))
      (drop (i64.load (local.get $p)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $backwards (export "backwards") (param $p i32) (param $n i32) (local $i i32)
    ;; a negative step is not taken
    (loop $l
      (drop (i64.load (local.get $p)))
      (local.set $p (i32.sub (local.get $p) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $derived_after (export "derived_after") (param $p i32) (param $n i32)
        (local $i i32) (local $q i32) (local $k i32)
    ;; clang's vectorised loops: q = i + p (p never set in the loop), loads through q (the first
    ;; through its tee), then i -= -16 (clang's shorter form of i += 16)
    (loop $l
      (drop (i64.load offset=8 (local.tee $q (i32.add (local.get $i) (local.get $p)))))
      (drop (i64.load (local.get $q)))
      (local.set $i (i32.sub (local.get $i) (i32.const -16)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (local.get $n)))))
  (func $derived_before (export "derived_before") (param $p i32) (param $n i32)
        (local $i i32) (local $q i32) (local $k i32)
    ;; i steps first, then q = p + i: q first reads p + 8 (minus 8)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (local.set $q (i32.add (local.get $p) (local.get $i)))
      (drop (i64.load (i32.sub (local.get $q) (i32.const 8))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (local.get $n)))))
  (func $derived_too_early (export "derived_too_early") (param $p i32) (param $n i32)
        (local $i i32) (local $q i32) (local $k i32)
    ;; a load through q before its definition reads the previous iteration's q (0 at first):
    ;; not in the sequence, so summed
    (loop $l
      (drop (i64.load (local.get $q)))
      (local.set $q (i32.add (local.get $i) (local.get $p)))
      (drop (i64.load (local.get $q)))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (local.get $n)))))
  (func $derived_moving_base (export "derived_moving_base") (param $p i32) (param $n i32)
        (local $i i32) (local $q i32) (local $k i32)
    ;; the loop sets the base too (q = i + p is then no sequence in general): summed
    (loop $l
      (local.set $q (i32.add (local.get $i) (local.get $p)))
      (drop (i64.load (local.get $q)))
      (local.set $p (i32.or (local.get $p) (local.get $k)))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (local.get $n)))))
  (func $derived_reset (export "derived_reset") (param $p i32) (param $n i32)
        (local $i i32) (local $q i32) (local $k i32)
    ;; q = i + p, loads, then q = q + 16 (clang reuses the local: saxpy) and a load through it
    (loop $l
      (local.set $q (i32.add (local.get $i) (local.get $p)))
      (drop (i64.load (local.get $q)))
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (drop (i64.load (local.get $q)))
      (local.set $i (i32.add (local.get $i) (i32.const 32)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (local.get $n)))))
  (func $derived_reloaded (export "derived_reloaded") (param $p i32) (param $n i32)
        (local $i i32) (local $q i32) (local $k i32)
    ;; q = i + p, then q = load(q) and a load through that: not in the sequence, so summed
    (loop $l
      (local.set $q (i32.add (local.get $i) (local.get $p)))
      (local.set $q (i32.load (local.get $q)))
      (drop (i64.load (local.get $q)))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (local.get $n)))))
  (func $then_call (export "then_call") (param $p i32) (param $n i32)
    ;; after the loop, a call: the range is checked before it
    (call $step_after (local.get $p) (local.get $n))
    (call $step_after (i32.const 0) (i32.const 1)))
"""

FUNCS = re.findall(r'\(export "([^"]+)"\)', LOOPS)
RANGE_TAKEN = {"step_after", "step_before", "axpy", "exit_first", "exit_between", "exit_splits",
               "divides", "late_delta",
               "vectors", "big_step", "deltas", "unfolded", "then_call", "derived_after",
               "derived_before", "derived_reset"}
RANGE_NOT_TAKEN = {"five_pointers", "wide_deltas", "mixed", "old_value", "conditional_step", "skipped_load",
                   "backwards", "derived_too_early", "derived_moving_base",
                   "derived_reloaded"}

MEMORIES = {
    "grows to 4 GiB": "(memory 1)",  # capped at 65,535 pages once a range witness is used
    "maximum 2 pages": "(memory 1 2)",  # below 4 GiB - 64 KiB by declaration
}


def module(memory: str) -> str:
    grow = '(func (export "grow") (drop (memory.grow (i32.const 1))))'
    return f"(module {memory}\n  {grow}\n{LOOPS})"


def starts(mem_bytes: int) -> list[int]:
    """Pointers that stay in bounds, leave memory after a few iterations, start out of bounds,
    or start just below 2^32 and wrap into bounds."""
    return [0, 8, 40, 48, 1000, mem_bytes - 64, mem_bytes - 40, mem_bytes - 20, mem_bytes - 17,
            mem_bytes - 15, mem_bytes - 13, mem_bytes - 8,
            mem_bytes - 1, mem_bytes, mem_bytes + 65536, 0x7FFFFFF8, 0xFFFFFFF8, 0xFFFFFFE0,
            0xFFFF0000, 0xFFFFFFFC, 0xFFFFFFF0]  # (the last two: stepped first, into bounds)


def plan(mem_bytes: int) -> list[tuple[str, list[int]]]:
    calls = []
    for p in starts(mem_bytes):
        for n in (1, 2, 3, 5, 9):
            calls += [(f, [p, n]) for f in FUNCS]
    return calls


@pytest.mark.parametrize("memory", list(MEMORIES), ids=list(MEMORIES))
def test_range_witnesses_trap_like_wasmtime(memory):
    wat = module(MEMORIES[memory])
    calls = plan(65536)
    # Grown by a page, the same loops meet the new end of memory.
    calls += [("grow", [])] + plan(2 * 65536)
    differential(wat, calls)


def test_which_loads_take_a_range_witness():
    text = lowered_ir(wasmtime.wat2wasm(module("(memory 1)")))
    funcs = functions(text)

    def ranged(name: str) -> bool:  # some load records its end in a range slot
        return re.search(r"store i64 %[\w.]+, ptr %range_end", funcs[name]) is not None

    def summed(name: str) -> bool:
        return re.search(r"%witness[.\d]* = add ", funcs[name]) is not None

    for name in RANGE_TAKEN - {"then_call"}:
        assert ranged(name) and not summed(name), name
    for name in RANGE_NOT_TAKEN:
        assert not ranged(name) and summed(name), name
    # Each function checks its own ranges (`then_call` has none of its own until LLVM inlines),
    # and the module is capped below 4 GiB.
    assert not ranged("then_call")
    assert "wasmc_wide_address_folds" in text


def test_imported_memory_takes_no_range_witness():
    """A memory the module does not define may reach 4 GiB: no cap, so no range witnesses."""
    wat = module('(import "env" "memory" (memory 1))')
    text = lowered_ir(wasmtime.wat2wasm(wat))
    assert "%unwrapped" not in text and "%witness" in text
