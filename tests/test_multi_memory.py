"""Multi-memory (Wasm 3.0) against wasmtime: loads, stores, SIMD, size, grow, fill, copy and init on
a second memory, with the traps that only that memory's bounds decide -- in the default
(guard-page) mode and with `--bounds-checks`.

Memory 0 has 1 page and memory 1 has 2, so an address in the second page is in bounds in one
memory and out of bounds in the other: an access that went to the wrong memory, or was checked
against the wrong size, shows up as a result or trap that differs from wasmtime's.  The spec suite
(test_spec3.py) covers the decoding and validation rules; this covers the generated code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.engines import Call

WAT = """(module
  (memory $m0 (export "m0") 1 1)
  (memory $m1 (export "m1") 2 4)
  (data (memory $m1) (i32.const 70000) "\\2a\\00\\00\\00")
  (data $passive "\\01\\02\\03\\04")
  (func (export "load1") (param i32) (result i32) (i32.load $m1 (local.get 0)))
  (func (export "load0") (param i32) (result i32) (i32.load $m0 (local.get 0)))
  (func (export "load1_dropped") (param i32) (drop (i64.load $m1 offset=8 (local.get 0))))
  (func (export "store1") (param i32 i32) (i32.store8 $m1 offset=1 (local.get 0) (local.get 1)))
  (func (export "v128_1") (param i32) (result i32)
    (i32x4.extract_lane 1 (v128.load $m1 (local.get 0))))
  (func (export "lane_store1") (param i32)
    (v128.store32_lane $m1 0 (local.get 0) (v128.const i32x4 7 8 9 10)))
  (func (export "size1") (result i32) (memory.size $m1))
  (func (export "grow1") (param i32) (result i32) (memory.grow $m1 (local.get 0)))
  (func (export "fill1") (param i32 i32 i32) (memory.fill $m1 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy10") (param i32 i32 i32)
    (memory.copy $m1 $m0 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy01") (param i32 i32 i32)
    (memory.copy $m0 $m1 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init1") (param i32 i32 i32)
    (memory.init $m1 $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "sum_both") (param i32) (result i32) (local i32 i32)
    ;; a loop reading both memories: the vectorisable shape the witness machinery handles
    (loop $l
      (local.set 1 (i32.add (local.get 1) (i32.load8_u $m0 (local.get 2))))
      (local.set 1 (i32.add (local.get 1) (i32.load8_u $m1 (i32.add (local.get 2) (i32.const 65536)))))
      (local.set 2 (i32.add (local.get 2) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 2) (local.get 0))))
    (local.get 1)))"""

PAGE = 65536
PLAN = [
    Call("load1", [70000]), Call("load1", [PAGE + 100]), Call("load0", [100]),
    Call("store1", [PAGE + 5, 0x77]), Call("load1", [PAGE + 4]),
    Call("v128_1", [70000 - 4]), Call("lane_store1", [2 * PAGE - 4]), Call("load1", [2 * PAGE - 4]),
    Call("size1", []), Call("fill1", [PAGE, 0x11, 16]), Call("load1", [PAGE + 8]),
    Call("copy10", [PAGE + 32, 0, 8]), Call("copy01", [16, PAGE, 8]), Call("load0", [16]),
    Call("init1", [PAGE * 2 - 4, 0, 4]), Call("load1", [PAGE * 2 - 4]),
    Call("sum_both", [4096]),
    Call("grow1", [1]), Call("size1", []), Call("load1", [3 * PAGE - 4]), Call("grow1", [2]),
]
# Each of these traps; each runs as a plan of its own, after the calls that prepare it.
TRAPS = [
    [Call("load0", [PAGE])],  # in bounds in memory 1, not in memory 0
    [Call("load1", [2 * PAGE - 3])],
    [Call("load1_dropped", [2 * PAGE - 8])],  # unused value: the trap must stay
    [Call("store1", [2 * PAGE - 1, 1])],
    [Call("v128_1", [2 * PAGE - 8])],
    [Call("fill1", [2 * PAGE - 1, 0, 2])],
    [Call("copy10", [0, PAGE - 4, 8])],  # the source (memory 0) is out of bounds
    [Call("copy01", [PAGE - 4, 0, 8])],  # the destination (memory 0) is out of bounds
    [Call("init1", [2 * PAGE - 2, 0, 4])],
    [Call("sum_both", [PAGE + 1])],  # memory 0 runs out first
    [Call("grow1", [2]), Call("load1", [4 * PAGE - 4]), Call("load1", [4 * PAGE])],
]


@pytest.mark.parametrize("bounds_checks", [False, True], ids=["guard-pages", "bounds-checks"])
@pytest.mark.parametrize("plan", [PLAN, *TRAPS], ids=["calls", *(p[-1].export for p in TRAPS)])
def test_multi_memory_matches_wasmtime(plan, bounds_checks, matches_wasmtime):
    # In guard-page mode a trap may leave stores LLVM moved before it: state only with checks.
    matches_wasmtime(WAT, plan, {"wasm_multi_memory": True}, bounds_checks=bounds_checks,
                     expect_trap=plan is not PLAN, state_after_trap=bounds_checks)
