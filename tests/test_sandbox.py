"""Sandbox tests: every escape hatch of the isolation model traps exactly as wasmtime does.

Sandbox-critical.  Each test runs a module under wasmtime and under wasmc (in a subprocess, so a
fault outside the guard region fails the test instead of killing pytest) with the same calls, and
compares results, trap classes, host calls and final memory (`fuzz.differential.compare`).  The
last test runs in-process and checks that host memory around an instance (sentinel buffers) is
untouched by everything the other tests do.
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import pytest
import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.differential import compare
from fuzz.engines import Call, run_wasmc_isolated, run_wasmtime

LOADS = [("i32.load", 4, "i32"), ("i32.load8_s", 1, "i32"), ("i32.load8_u", 1, "i32"),
         ("i32.load16_s", 2, "i32"), ("i32.load16_u", 2, "i32"), ("i64.load", 8, "i64"),
         ("i64.load8_s", 1, "i64"), ("i64.load8_u", 1, "i64"), ("i64.load16_s", 2, "i64"),
         ("i64.load16_u", 2, "i64"), ("i64.load32_s", 4, "i64"), ("i64.load32_u", 4, "i64"),
         ("f32.load", 4, "f32"), ("f64.load", 8, "f64")]
STORES = [("i32.store", 4, "i32"), ("i32.store8", 1, "i32"), ("i32.store16", 2, "i32"),
          ("i64.store", 8, "i64"), ("i64.store8", 1, "i64"), ("i64.store16", 2, "i64"),
          ("i64.store32", 4, "i64"), ("f32.store", 4, "f32"), ("f64.store", 8, "f64")]
OFFSETS = [0, 1, 7, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF]
VALUE = {"i32": "i32.const 0x11223344", "i64": "i64.const 0x1122334455667788",
         "f32": "f32.const -0x1.234p5", "f64": "f64.const 0x1.23456789p-3"}


def differential(wat: str, calls: list[tuple[str, list[int]]], timeout: float = 120) -> None:
    wasm = wasmtime.wat2wasm(wat)
    plan = [Call(name, args) for name, args in calls]
    exp = run_wasmtime(wasm, plan)
    assert exp.status == "ok", exp.detail
    got = run_wasmc_isolated(wasm, plan, timeout)
    diffs, skip = compare(exp, got)
    assert skip is None, skip
    assert not diffs, "\n".join(diffs)
    return exp


def access_module(pages: int, export_memory: bool) -> tuple[str, list[str]]:
    """One function per (load/store form, offset, alignment) taking the address."""
    funcs, names = [], []
    for op, size, t in LOADS:
        for off in OFFSETS:
            for align in [a for a in (1, 2, 4, 8) if a <= size]:
                name = f"{op}_o{off}_a{align}"
                funcs.append(f'(func (export "{name}") (param i32) (result {t}) '
                             f'(local.get 0) ({op} offset={off} align={align}))')
                names.append(name)
    for op, size, t in STORES:
        for off in OFFSETS:
            for align in [a for a in (1, 2, 4, 8) if a <= size]:
                name = f"{op}_o{off}_a{align}"
                funcs.append(f'(func (export "{name}") (param i32) (local.get 0) ({VALUE[t]}) '
                             f'({op} offset={off} align={align}))')
                names.append(name)
    exp = ' (export "memory")' if export_memory else ""
    return f"(module (memory{exp} {pages} {pages})\n" + "\n".join(funcs) + ")", names


def edge_addresses(mem_bytes: int, size: int, off: int) -> list[int]:
    """Addresses around the last in-bounds access (end - size - off) and the 32-bit wrap."""
    last = mem_bytes - size - off
    cands = {0, 1, 0xFFFFFFFF, 0xFFFFFFFF - size + 1, 0x80000000, mem_bytes - 1, mem_bytes}
    for k in range(-1, size + 1):
        cands.add(last + k)
    return sorted(a for a in cands if 0 <= a <= 0xFFFFFFFF)


@pytest.mark.parametrize("pages", [1, 65536], ids=["64KiB", "4GiB"])
def test_every_access_form_at_the_memory_edge(pages):
    wat, names = access_module(pages, export_memory=pages == 1)
    size_of = {op: size for op, size, _ in LOADS + STORES}
    calls = []
    for name in names:
        op, off = name.split("_o")[0], int(name.split("_o")[1].split("_a")[0])
        for addr in edge_addresses(pages * 65536, size_of[op], off):
            calls.append((name, [addr]))
    differential(wat, calls, timeout=300)


def test_memory_grow_to_the_limit_and_past():
    wat = """(module (memory 0)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size))
      (func (export "last") (result i32) (i32.load8_u (i32.const 0xffffffff)))
      (func (export "store_last") (i32.store8 (i32.const 0xffffffff) (i32.const 0x5a)))
      (func (export "load_at") (param i32) (result i64) (i64.load (local.get 0))))"""
    differential(wat, [("grow", [0]), ("last", []), ("grow", [1]), ("size", []), ("load_at", [65528]),
                       ("load_at", [65529]), ("grow", [0xFFFFFFFF]), ("grow", [0x10000]),
                       ("grow", [0x8000]), ("size", []), ("last", []), ("grow", [0x7FFF]),
                       ("size", []), ("store_last", []), ("last", []), ("grow", [1]), ("grow", [0]),
                       ("load_at", [0xFFFFFFF8]), ("load_at", [0xFFFFFFF9]), ("size", [])])


def test_memory_grow_respects_declared_max():
    wat = """(module (memory (export "memory") 1 3)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"""
    differential(wat, [("grow", [3]), ("grow", [2]), ("grow", [1]), ("peek", [3 * 65536 - 4]),
                       ("peek", [3 * 65536 - 3]), ("grow", [0])])


def test_table_accesses_out_of_range():
    wat = """(module
      (type $v (func (result i32))) (type $w (func (param i32) (result i32)))
      (table 3 5 funcref)
      (elem (i32.const 0) $a $b)
      (func $a (result i32) (i32.const 1))
      (func $b (param i32) (result i32) (local.get 0))
      (elem declare func $a)
      (func (export "call") (param i32) (result i32) (call_indirect (type $v) (local.get 0)))
      (func (export "call_w") (param i32) (result i32)
        (call_indirect (type $w) (i32.const 9) (local.get 0)))
      (func (export "get") (param i32) (result i32) (ref.is_null (table.get (local.get 0))))
      (func (export "set") (param i32) (table.set (local.get 0) (ref.func $a)))
      (func (export "fill") (param i32 i32) (table.fill (local.get 0) (ref.null func) (local.get 1)))
      (func (export "copy") (param i32 i32 i32) (table.copy (local.get 0) (local.get 1) (local.get 2)))
      (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
      (func (export "size") (result i32) (table.size)))"""
    calls = [("call", [0]), ("call", [1]), ("call", [2]), ("call", [3]), ("call", [0xFFFFFFFF]),
             ("call_w", [0]), ("call_w", [1]), ("call_w", [5]), ("get", [2]), ("get", [3]),
             ("get", [0x80000000]), ("set", [3]), ("set", [2]), ("call", [2]), ("fill", [2, 2]),
             ("fill", [3, 0]), ("fill", [4, 0]), ("copy", [0, 1, 3]), ("copy", [1, 0, 2]),
             ("copy", [0xFFFFFFFF, 0, 1]), ("grow", [3]), ("grow", [2]), ("size", []), ("call", [4]),
             ("get", [5]), ("grow", [0xFFFFFFFF]), ("size", [])]
    differential(wat, [(n, a) for n, a in calls])


def test_call_indirect_with_wrong_types():
    wat = """(module
      (type $ii (func (param i32) (result i32))) (type $ll (func (param i64) (result i64)))
      (type $ii2 (func (param i32) (result i32)))
      (type $multi (func (result i32 i32)))
      (table 4 funcref)
      (elem (i32.const 0) $fii $fll $fmulti)
      (func $fii (param i32) (result i32) (local.get 0))
      (func $fll (param i64) (result i64) (local.get 0))
      (func $fmulti (result i32 i32) (i32.const 1) (i32.const 2))
      (func (export "as_ii") (param i32) (result i32) (call_indirect (type $ii) (i32.const 5) (local.get 0)))
      (func (export "as_ii2") (param i32) (result i32) (call_indirect (type $ii2) (i32.const 6) (local.get 0)))
      (func (export "as_ll") (param i32) (result i64) (call_indirect (type $ll) (i64.const 7) (local.get 0)))
      (func (export "as_multi") (param i32) (result i32)
        (i32.add (call_indirect (type $multi) (local.get 0)))))"""
    calls = [(f, [i]) for f in ("as_ii", "as_ii2", "as_ll", "as_multi") for i in range(5)]
    differential(wat, calls)


@pytest.mark.parametrize("level", ["0", "1"])
def test_stack_exhaustion_deep_and_wide(level, monkeypatch):
    """At -O0 a small function's stack check reads a frame slot's address, not the stack pointer
    (function.emit_stack_check); `wide`'s frame is too big for that."""
    monkeypatch.setenv("WASMC_OPT_LEVEL", level)
    locals_ = " ".join(["i64"] * 300)
    sum_ = "(local.get 1)" + "".join(f" (i64.add (local.get {k}))" for k in range(2, 300))
    wat = f"""(module (memory (export "memory") 1)
      (func $deep (export "deep") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
      (func $wide (export "wide") (param i32) (result i64) (local {locals_})
        (local.set 1 (i64.extend_i32_u (local.get 0)))
        {"".join(f"(local.set {k} (i64.mul (local.get {k - 1}) (i64.const 3)))" for k in range(2, 300))}
        (if (result i64) (i32.eqz (local.get 0)) (then (i64.const 0))
          (else (i64.add {sum_} (call $wide (i32.sub (local.get 0) (i32.const 1)))))))
      (func $forever (export "forever") (call $forever))
      (func (export "after") (result i32) (i32.store (i32.const 0) (i32.const 42)) (i32.const 7)))"""
    differential(wat, [("deep", [100]), ("wide", [10]), ("forever", []), ("after", []),
                       ("deep", [100_000_000]), ("after", []), ("wide", [10_000_000]), ("after", []),
                       ("deep", [1000])])


@pytest.mark.parametrize("level", ["0", "1"])
def test_stack_exhaustion_at_the_frame_slot_checks_bound(level, monkeypatch):
    """At -O0 a function whose `frame_bound` is just under FAST_STACK_CHECK_FRAME checks a frame
    slot's address, not the stack pointer; recursing with a frame full of v128 values it still
    stops with wasmtime's trap, not a fault past the end of the stack."""
    from test_witness import lowered_ir
    from wasmc.driver import front_end
    from wasmc.lower.function import FAST_STACK_CHECK_FRAME, frame_bound

    n = 28
    sets = "".join(f"(local.set {k} (i32x4.add (local.get {k - 1}) (local.get {k - 2})))"
                   for k in range(3, n + 1))
    wat = f"""(module
      (func $r (export "r") (param i32) (result i32) (local {" ".join(["v128"] * n)})
        (local.set 1 (i32x4.splat (local.get 0))) (local.set 2 (v128.const i32x4 1 2 3 4))
        {sets} {sets}
        (if (result i32) (i32.eqz (local.get 0)) (then (i32x4.extract_lane 3 (local.get {n})))
          (else (i32.add (i32x4.extract_lane 0 (local.get {n}))
                         (call $r (i32.sub (local.get 0) (i32.const 1))))))))"""
    wasm = wasmtime.wat2wasm(wat)
    bound = frame_bound(len(front_end(wasm).codes[0].body), n + 1)
    assert FAST_STACK_CHECK_FRAME * 3 // 4 < bound <= FAST_STACK_CHECK_FRAME, bound
    text = lowered_ir(wasm, fast_isel=True)
    assert "%frame" in text and "={rsp}" not in text  # the frame-slot check, not the asm
    monkeypatch.setenv("WASMC_OPT_LEVEL", level)
    differential(wat, [("r", [10]), ("r", [100_000_000]), ("r", [1000])])


def test_trap_inside_imported_host_call():
    wat = """(module
      (import "env" "trap_now" (func $trap (param i32)))
      (import "env" "log" (func $log (param i32)))
      (memory (export "memory") 1)
      (func (export "f") (param i32) (result i32)
        (i32.store (i32.const 16) (i32.const 0xdead))
        (call $log (local.get 0))
        (if (local.get 0) (then (call $trap (local.get 0))))
        (i32.store (i32.const 32) (i32.const 0xbeef))
        (i32.const 5))
      (func (export "g") (result i32) (call $log (i32.const 99)) (i32.load (i32.const 16))))"""
    differential(wat, [("f", [0]), ("f", [1]), ("g", []), ("f", [2]), ("g", [])])


def test_nothing_outside_the_instance_is_written():
    """In-process: host sentinel buffers around an instance survive every trapping access."""
    from wasmc.driver import build_shared
    from wasmc.runtime import Instance, Trap

    before = ctypes.create_string_buffer(b"\xa5" * 65536, 65536)
    wat, names = access_module(1, export_memory=True)
    so, module = build_shared(wasmtime.wat2wasm(wat))
    inst = Instance(so, module, {})
    after = ctypes.create_string_buffer(b"\x5a" * 65536, 65536)
    mem = inst.exports["memory"]
    size_of = {op: size for op, size, _ in LOADS + STORES}
    trapped = 0
    for name in names:
        op, off = name.split("_o")[0], int(name.split("_o")[1].split("_a")[0])
        for addr in edge_addresses(65536, size_of[op], off):
            try:
                inst.exports[name].call_raw([addr])
            except Trap as e:
                assert e.message == "out of bounds memory access"
                trapped += 1
    assert trapped > 1000
    assert before.raw == b"\xa5" * 65536 and after.raw == b"\x5a" * 65536
    data = mem.read(0, 65536)
    # in-bounds stores land only within 16 bytes of either end (addresses 0/1 + offsets <= 7, or the
    # last in-bounds address); everything between stays zero
    assert data[16:65536 - 16] == bytes(65536 - 32)
