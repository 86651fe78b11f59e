"""Memory64 and table64 (Wasm 3.0) against wasmtime: every memory and table instruction with i64
addresses, at the addresses where 64-bit arithmetic goes wrong, in the default mode and with
`--bounds-checks`.

An i64 memory cannot use the guard region, so wasmc checks each access explicitly
(compiler/lower/memory.py, effective_address64).  The arguments below aim at the edges of that
check: the last bytes of memory, one past them, 2^32 (where a truncated address would land back in
bounds), 2^63 (where a signed compare would flip) and 2^64 - k (where `addr + offset + width`
wraps to a small number).  Random arguments from those edges, with a fixed seed, are added to the
hand-written plan.  A separate module grows past 4 GiB and uses addresses above 2^32.
The spec suite (test_spec3.py) covers decoding and validation; this covers the generated code.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.engines import Call

WAT = """(module
  (memory $m (export "mem") i64 1 3)
  (memory $m32 (export "mem32") 1 1)
  (table $t i64 4 8 funcref)
  (type $ii (func (param i32) (result i32)))
  (elem (table $t) (i64.const 1) func $inc $dbl)
  (data (i64.const 100) "\\2a\\00\\00\\00")
  (data $passive "\\01\\02\\03\\04")
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "load") (param i64) (result i32) (i32.load (local.get 0)))
  (func (export "load8_off") (param i64) (result i32) (i32.load8_u offset=65535 (local.get 0)))
  (func (export "load_huge_off") (param i64) (result i32)
    (i32.load offset=0xffff_ffff_ffff_fff0 (local.get 0)))
  (func (export "load_dropped") (param i64) (drop (i64.load offset=8 (local.get 0))))
  (func (export "store") (param i64 i32) (i32.store16 offset=1 (local.get 0) (local.get 1)))
  (func (export "v128") (param i64) (result i32) (i32x4.extract_lane 1 (v128.load (local.get 0))))
  (func (export "lane_store") (param i64)
    (v128.store32_lane 0 (local.get 0) (v128.const i32x4 7 8 9 10)))
  (func (export "splat") (param i64) (result i64) (i64x2.extract_lane 1 (v128.load16_splat (local.get 0))))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_to32") (param i32 i64 i32)
    (memory.copy $m32 $m (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (memory.init $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "sum") (param i64 i64) (result i32) (local i32)
    ;; bytes [p, p + n): the loop shape whose i32 form gets witnesses and loop bases
    (block $done
      (loop $l
        (br_if $done (i64.eqz (local.get 1)))
        (local.set 2 (i32.add (local.get 2) (i32.load8_u (local.get 0))))
        (local.set 0 (i64.add (local.get 0) (i64.const 1)))
        (local.set 1 (i64.sub (local.get 1) (i64.const 1)))
        (br $l)))
    (local.get 2))
  (func (export "call") (param i64 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "tsize") (result i64) (table.size $t))
  (func (export "tgrow") (param i64) (result i64) (table.grow $t (ref.func $dbl) (local.get 0)))
  (func (export "tget_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "tset") (param i64) (table.set $t (local.get 0) (ref.func $inc)))
  (func (export "tfill") (param i64 i64) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
  (func (export "tcopy") (param i64 i64 i64) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2))))"""

PAGE = 65536
U64 = 2**64
PLAN = [
    Call("load", [100]), Call("load", [PAGE - 4]), Call("load8_off", [0]), Call("store", [PAGE - 3, 0x1234]),
    Call("load", [PAGE - 4]), Call("v128", [PAGE - 16]), Call("lane_store", [PAGE - 4]),
    Call("splat", [PAGE - 2]), Call("size", []), Call("fill", [200, 0x55, 64]), Call("load", [240]),
    Call("copy", [300, 100, 8]), Call("load", [300]), Call("copy_to32", [8, 300, 4]),
    Call("init", [PAGE - 4, 0, 4]), Call("load", [PAGE - 4]), Call("sum", [0, 4096]),
    Call("fill", [PAGE, 0, 0]), Call("copy", [PAGE, PAGE, 0]),  # zero lengths at the end: no trap
    Call("call", [1, 5]), Call("call", [2, 5]), Call("tsize", []), Call("tgrow", [2]),
    Call("call", [5, 7]), Call("tset", [0]), Call("call", [0, 1]), Call("tcopy", [3, 0, 3]),
    Call("call", [3, 9]), Call("tfill", [1, 2]), Call("tget_null", [2]), Call("tgrow", [U64 - 1]),
    Call("grow", [1]), Call("size", []), Call("load", [2 * PAGE - 4]), Call("grow", [U64 - 1]),
    Call("grow", [5]), Call("size", []),
]
# Each of these traps; each runs as a plan of its own, after the calls that prepare it.
TRAPS = [
    [Call("load", [PAGE - 3])],
    [Call("load", [2**32])],  # a truncated address would be 0, in bounds
    [Call("load", [2**63])],  # negative as a signed number
    [Call("load", [U64 - 2])],  # addr + 4 wraps to 2
    [Call("load8_off", [2])],  # offset 65535 + 2 + 1 byte is one past the end
    [Call("load8_off", [U64 - 65535])],  # addr + offset wraps to 0
    [Call("load_huge_off", [0x10])],  # offset + addr wraps to 0
    [Call("load_dropped", [PAGE - 8])],  # unused value: the trap must stay
    [Call("store", [PAGE - 2, 1])],
    [Call("v128", [PAGE - 15])],
    [Call("lane_store", [U64 - 1])],
    [Call("splat", [PAGE - 1])],
    [Call("fill", [PAGE - 1, 0, 2])],
    [Call("fill", [1, 0, U64 - 1])],  # d + n wraps
    [Call("copy", [0, PAGE - 4, 8])],
    [Call("copy", [U64 - 4, 0, 8])],
    [Call("copy_to32", [PAGE - 2, 0, 4])],  # the i32 destination is out of bounds
    [Call("init", [PAGE - 2, 0, 4])],
    [Call("init", [2**32, 0, 0])],  # zero length, but past the end
    [Call("sum", [PAGE - 8, 16])],
    [Call("call", [4, 1])],  # past the table's end
    [Call("call", [2**32 + 1, 1])],  # 1 if truncated
    [Call("call", [0, 1])],  # a null element
    [Call("tget_null", [U64 - 1])],
    [Call("tset", [4])],
    [Call("tfill", [3, U64 - 1])],
    [Call("tcopy", [0, 1, 2**32 + 1])],
]

EDGES = [0, 1, 100, PAGE - 17, PAGE - 4, PAGE - 1, PAGE, 2**32 - 1, 2**32, 2**32 + 4, 2**63 - 1, 2**63,
         U64 - 16, U64 - 4, U64 - 1]
ADDRESSED = {"load": 1, "load8_off": 1, "load_dropped": 1, "v128": 1, "lane_store": 1, "splat": 1}


def random_plan(seed: int) -> list[Call]:
    """Single-address calls at random edges (each may trap; later calls still run)."""
    rng = random.Random(seed)
    plan = []
    for _ in range(40):
        export = rng.choice(sorted(ADDRESSED))
        addr = rng.choice(EDGES) + rng.choice([0, 0, 1, -1, 2, -8]) if rng.random() < 0.9 \
            else rng.randrange(U64)
        plan.append(Call(export, [addr % U64]))
    return plan


FEATURES = {"wasm_memory64": True, "wasm_multi_memory": True}


# Every i64 access is checked before it touches memory, so the state after a trap is exact in both
# modes.
@pytest.mark.parametrize("bounds_checks", [False, True], ids=["guard-pages", "bounds-checks"])
@pytest.mark.parametrize("plan", [PLAN, *TRAPS],
                         ids=["calls", *(f"{p[-1].export}-{p[-1].args[0]:#x}" for p in TRAPS)])
def test_memory64_matches_wasmtime(plan, bounds_checks, matches_wasmtime):
    matches_wasmtime(WAT, plan, FEATURES, bounds_checks=bounds_checks, expect_trap=plan is not PLAN)


@pytest.mark.parametrize("seed", range(4))
def test_memory64_random_edges(seed, matches_wasmtime):
    matches_wasmtime(WAT, random_plan(seed), FEATURES)


BIG_WAT = """(module
  (memory i64 1 65540)
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load_low") (param i64) (result i64)
    (i64.load (i64.and (local.get 0) (i64.const 0xffff_ffff)))))"""

BIG_PLAN = [
    Call("load", [2**32]),  # traps: memory is 1 page
    Call("grow", [65536]), Call("store", [2**32 + 8, 0x1122334455667788]),
    Call("load", [2**32 + 8]), Call("load_low", [2**32 + 8]),  # the same address mod 2^32 reads 0
    Call("load", [(65537 * PAGE) - 8]), Call("load", [(65537 * PAGE) - 7]),
]


def test_memory64_beyond_4gib(matches_wasmtime):
    """A memory grown past 4 GiB: addresses above 2^32 reach their own bytes, not aliases."""
    matches_wasmtime(BIG_WAT, BIG_PLAN, FEATURES, expect_trap=True)


EXE_WAT = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") i64 1)
  (data (i64.const 65532) "\\05\\00\\00\\00")
  (func (export "_start") (local $p i64)
    (local.set $p (i64.const 65532))
    (i32.store offset=4 (i64.const 0) (i32.load (local.get $p)))
    (drop (memory.grow (i64.const 1)))
    (i32.store (i64.const 70000) (i32.add (i32.load (i64.const 4)) (i32.const 37)))
    (if (i32.eqz (global.get $trap)) (then (call $exit (i32.load (i64.const 70000)))))
    (drop (i32.load (i64.sub (i64.shl (memory.size) (i64.const 16)) (i64.const 3)))))
  (global $trap (mut i32) (i32.const TRAP)))"""


@pytest.mark.parametrize("trap", [0, 1])
def test_memory64_executable_matches_wasmtime(build_exe, tmp_path, trap):
    """A memory64 program as an executable: its exit code, or its trap message and wasmtime's
    exit status for a trap (134), as `wasmtime run` gives them."""
    wat = EXE_WAT.replace("TRAP", str(trap))
    src = tmp_path / "m.wat"
    src.write_text(wat)
    proc = subprocess.run([str(build_exe(src, "-O2"))], capture_output=True, text=True, check=False)
    cfg = wasmtime.Config()
    cfg.wasm_memory64 = True
    engine = wasmtime.Engine(cfg)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    start = linker.instantiate(store, wasmtime.Module(engine, wasmtime.wat2wasm(wat)))
    if trap:
        with pytest.raises(wasmtime.Trap) as oracle:
            start.exports(store)["_start"](store)
        assert oracle.value.trap_code == wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS
        assert proc.returncode == 134
        assert proc.stderr.splitlines()[-1] == "wasm trap: out of bounds memory access"
    else:
        with pytest.raises(wasmtime.ExitTrap) as exit_:
            start.exports(store)["_start"](store)
        assert proc.returncode == exit_.value.code == 42, proc.stderr
