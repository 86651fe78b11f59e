"""The threads proposal (shared memories, atomic memory instructions): its spec tests as a ratchet,
and the generated code against wasmtime.

`proposals/threads/` predates Wasm 2.0's multiple tables and 3.0's multiple memories and u64
memory limits, so a few of its assertions contradict the rules wasmc (and wasmtime) follow; they
are listed in KNOWN_FAILURES with that reason, and every other assertion must pass.  The
differential tests cover every atomic instruction at every width on i32 and i64 memories, the
alignment-then-bounds trap order, the value wrapping of narrow cmpxchg, and wait and notify.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wasmc.wast.runner import run_file

from fuzz.engines import Call

REPO = Path(__file__).resolve().parent.parent
SPEC_DIR = Path(os.environ.get("WASMC_THREADS_SPEC_DIR",
                               REPO.parent / "shared" / "spec" / "proposals" / "threads"))
FILES = sorted(SPEC_DIR.glob("*.wast")) if SPEC_DIR.is_dir() else []

OUTDATED = ("the proposal's tests predate multiple tables (Wasm 2.0) and memories (3.0), which "
            "they expect to be invalid")
U64_LIMITS = ("the 3.0 text assembler (wasmtime's) reads memory limits as u64, so these quoted "
              "modules are not malformed to it")
KNOWN_FAILURES: dict[str, tuple] = {
    "imports.wast": (6, OUTDATED),
    "memory.wast": (5, OUTDATED, U64_LIMITS),
}


@pytest.mark.skipif(not FILES, reason=f"threads tests not found in {SPEC_DIR}")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_threads_spec_file(path: Path) -> None:
    result = run_file(path, simd=True, wasm="3.0")
    known, *reasons = KNOWN_FAILURES.get(path.name, (0,))
    why = "; ".join(reasons) or "none expected"
    report = "\n".join(result.failures[:30])
    assert result.failed <= known, f"{result.summary()}: more than the {known} known ({why})\n{report}"
    assert result.failed == known, f"{result.summary()}: fewer than {known}; lower the entry"


FEATURES = {"wasm_threads": True, "shared_memory": True, "wasm_memory64": True,
            "wasm_multi_memory": True}

WAT = """(module
  (memory $m 1 1 shared)
  (memory $big i64 1 1)
  (func (export "init") (param i64) (i64.store (i32.const 0) (local.get 0))
    (i64.store (i32.const 8) (i64.const 0x0123456789abcdef)))
  (func (export "load") (param i32) (result i64)
    (i64.add (i64.extend_i32_u (i32.atomic.load (local.get 0)))
      (i64.add (i64.atomic.load8_u (i32.add (local.get 0) (i32.const 3)))
               (i64.extend_i32_u (i32.atomic.load16_u offset=2 (local.get 0))))))
  (func (export "load64") (param i32) (result i64) (i64.atomic.load (local.get 0)))
  (func (export "load32") (param i32) (result i64) (i64.atomic.load32_u offset=4 (local.get 0)))
  (func (export "store") (param i32 i64) (result i64)
    (i64.atomic.store32 (local.get 0) (local.get 1))
    (i32.atomic.store8 offset=1 (local.get 0) (i32.wrap_i64 (local.get 1)))
    (i64.atomic.load (i32.const 0)))
  RMW
  (func (export "cmpxchg8") (param i32 i32 i32) (result i32)
    (i32.atomic.rmw8.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "cmpxchg16") (param i32 i64 i64) (result i64)
    (i64.atomic.rmw16.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "cmpxchg64") (param i32 i64 i64) (result i64)
    (i64.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
  (func (export "after") (result i64) (i64.load (i32.const 0)))
  (func (export "fence") (atomic.fence))
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
  (func (export "wait_unshared") (result i32)
    (memory.atomic.wait32 $big (i64.const 0) (i32.const 0) (i64.const 0)))
  (func (export "rmw_big") (param i64 i64) (result i64)
    (drop (i64.atomic.rmw.add $big (local.get 0) (local.get 1)))
    (i64.atomic.rmw.xchg $big offset=8 (local.get 0) (i64.const 5))))"""

# (export suffix, value type, instruction) of each read-modify-write width
RMW_FORMS = [("32", "i32", "i32.atomic.rmw.{}"), ("8", "i32", "i32.atomic.rmw8.{}_u"),
             ("16_64", "i64", "i64.atomic.rmw16.{}_u"), ("32_64", "i64", "i64.atomic.rmw32.{}_u"),
             ("64", "i64", "i64.atomic.rmw.{}")]
RMW = [f'(func (export "{op}{suffix}") (param i32 {t}) (result {t}) '
       f"({instr.format(op)} (local.get 0) (local.get 1)))"
       for op in ("add", "sub", "and", "or", "xor", "xchg") for suffix, t, instr in RMW_FORMS]
WAT = WAT.replace("RMW", "\n  ".join(RMW))

PLAN = [Call("init", [0x1122334455667788]), Call("load", [0]), Call("load", [4]),
        Call("load64", [8]), Call("load32", [0]), Call("store", [16, -2])]
for op in ("add", "sub", "and", "or", "xor", "xchg"):
    PLAN += [Call("init", [0x80FF7FFF_FFFF0180]), Call(f"{op}32", [0, 0x12345681]),
             Call(f"{op}8", [1, 0x1FF]), Call(f"{op}16_64", [2, -1]),
             Call(f"{op}32_64", [4, 0x1_0000_0001]), Call(f"{op}64", [8, 7]), Call("after", [])]
PLAN += [Call("init", [0x1FF]), Call("cmpxchg8", [0, 0x1FF, 7]), Call("after", []),  # wrapped
         Call("cmpxchg8", [0, 8, 9]), Call("cmpxchg16", [0, 0x10007, 0x12345]), Call("after", []),
         Call("cmpxchg64", [8, 0x0123456789ABCDEF, -1]), Call("cmpxchg64", [8, 0, 1]),
         Call("fence", []), Call("wait32", [0, 0, 0]), Call("wait32", [0, 0x2345, 0]),
         Call("wait64", [8, -1, 1000]), Call("wait64", [8, 5, -1]), Call("notify", [0, 10]),
         Call("rmw_big", [16, 3]), Call("rmw_big", [65528, 1])]

TRAPS = [
    [Call("load", [1])],  # unaligned
    [Call("load64", [65532])],  # unaligned and out of bounds: "unaligned atomic" first
    [Call("load64", [65536])],  # aligned, out of bounds
    [Call("load32", [65532])],  # the offset takes it out of bounds
    [Call("add16_64", [65535, 1])], [Call("xchg64", [4, 0])], [Call("add8", [65536, 0])],
    [Call("cmpxchg16", [1, 0, 0])], [Call("cmpxchg64", [65536, 0, 0])],
    [Call("wait32", [2, 0, 0])], [Call("wait64", [4, 0, 0])], [Call("notify", [65536, 1])],
    [Call("notify", [3, 1])],
    [Call("wait_unshared", [])],  # "atomic wait on non-shared memory"
    [Call("rmw_big", [65536, 0])], [Call("rmw_big", [-8, 0])],
]


@pytest.mark.parametrize("opt", ["0", "2"])
@pytest.mark.parametrize("plan", [PLAN, *TRAPS],
                         ids=["calls", *(f"{p[0].export}-{'-'.join(map(str, p[0].args))}"
                                         for p in TRAPS)])
def test_atomics_match_wasmtime(plan, opt, matches_wasmtime):
    matches_wasmtime(WAT, plan, FEATURES, opt=opt, expect_trap=plan is not PLAN,
                     state_after_trap=False)
