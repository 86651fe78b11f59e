"""Every numeric and conversion instruction of the opcode table, run natively and under wasmtime
on edge-case operands; results must agree bit for bit (NaN results need only both be NaN, since
Wasm leaves NaN payloads nondeterministic), and traps must agree in kind.

Floats cross the boundary as integer bit patterns (the test functions reinterpret inside), so NaN
payloads and signed zeros survive the Python round trip exactly.
"""

from __future__ import annotations

import itertools
import random

import pytest
import wasmtime
from wasmc.driver import build_shared
from wasmc.opcodes import OPS, Kind
from wasmc.runtime import Instance, Trap

BITS_TYPE = {"i": "i32", "l": "i64", "f": "i32", "d": "i64"}
WASM_TYPE = {"i": "i32", "l": "i64", "f": "f32", "d": "f64"}

EDGE = {
    "i": [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 31, 32, 33, 0x12345678],
    "l": [0, 1, 2, 2**63 - 1, 2**63, 2**64 - 1, 63, 64, 65, 0x123456789ABCDEF0, 0xFFFFFFFF],
    "f": [0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000,
          0x7FA00000, 0xFFC00001, 0x00000001, 0x7F7FFFFF, 0x4F000000, 0xCF000000, 0x5F000000,
          0x3F000000, 0x3FC00000, 0x40200000, 0xDF000000, 0x4F800000, 0xBF7FFFFF],
    "d": [0, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000, 0x7FF0000000000000,
          0xFFF0000000000000, 0x7FF8000000000000, 0x7FF4000000000000, 0xFFF8000000000001, 1,
          0x41E0000000000000, 0xC1E0000000000000, 0x43E0000000000000, 0xC3E0000000000000,
          0x3FE0000000000000, 0x3FF8000000000000, 0x4004000000000000, 0x41EFFFFFFFE00000,
          0xC1E0000000200000, 0x43F0000000000000],
}


def to_arg(t: str, bits: int) -> str:
    if t in "fd":
        return f"({WASM_TYPE[t]}.reinterpret_{BITS_TYPE[t]} (local.get $p{{i}}))"
    return "(local.get $p{i})"


def make_module(ops) -> str:
    funcs = []
    for n, op in enumerate(ops):
        params, results = op.sig.split(":")
        ps = " ".join(f"(param $p{i} {BITS_TYPE[t]})" for i, t in enumerate(params))
        args = " ".join(to_arg(t, 0).format(i=i) for i, t in enumerate(params))
        r = results[0]
        body = f"({op.name} {args})"
        if r in "fd":
            body = f"({BITS_TYPE[r]}.reinterpret_{WASM_TYPE[r]} {body})"
        funcs.append(f'(func (export "f{n}") {ps} (result {BITS_TYPE[r]}) {body})')
    return "(module " + "\n".join(funcs) + ")"


OPS_UNDER_TEST = [op for op in OPS if op.kind in (Kind.NUMERIC, Kind.CONVERT) and op.sig]


def operand_sets(params: str, rng: random.Random):
    pools = [EDGE[t] + [rng.getrandbits(32 if t in "if" else 64) for _ in range(4)]
             for t in params]
    combos = list(itertools.product(*pools))
    rng.shuffle(combos)
    return combos[:120]


def signed(bits: int, width: int) -> int:
    return bits - (1 << width) if bits >> (width - 1) else bits


def is_nan(t: str, bits: int) -> bool:
    if t == "f":
        return (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF != 0
    if t == "d":
        return (bits & 0x7FF0000000000000) == 0x7FF0000000000000 and bits & (2**52 - 1) != 0
    return False


TRAP_WORDS = {"integer divide by zero": "divide by zero", "integer overflow": "overflow",
              "invalid conversion to integer": "invalid conversion"}


@pytest.fixture(scope="module")
def engines():
    text = make_module(OPS_UNDER_TEST)
    wasm = wasmtime.wat2wasm(text)
    so, module = build_shared(wasm)
    native = Instance(so, module, {})
    store = wasmtime.Store()
    ref = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), [])
    return native, store, ref


@pytest.mark.parametrize("n", range(len(OPS_UNDER_TEST)), ids=[o.name for o in OPS_UNDER_TEST])
def test_instruction_matches_wasmtime(engines, n):
    native, store, ref = engines
    op = OPS_UNDER_TEST[n]
    params, results = op.sig.split(":")
    r = results[0]
    width = 32 if BITS_TYPE[r] == "i32" else 64
    f_native = native.exports[f"f{n}"]
    f_ref = ref.exports(store)[f"f{n}"]
    rng = random.Random(n)
    for operands in operand_sets(params, rng):
        sargs = [signed(b, 32 if BITS_TYPE[t] == "i32" else 64) for t, b in zip(params, operands)]
        try:
            expected = f_ref(store, *sargs) & ((1 << width) - 1)
            want_trap = None
        except wasmtime.Trap as e:
            expected, want_trap = None, str(e)
        try:
            got = f_native.call_raw(list(operands))[0] & ((1 << width) - 1)
            got_trap = None
        except Trap as e:
            got, got_trap = None, e.message
        where = f"{op.name}{tuple(hex(o) for o in operands)}"
        if want_trap or got_trap:
            assert want_trap and got_trap, f"{where}: wasmtime {want_trap!r}, wasmc {got_trap!r}"
            assert TRAP_WORDS.get(got_trap, got_trap) in want_trap, where
        elif is_nan(r, expected):
            assert is_nan(r, got), f"{where}: expected NaN, got {got:#x}"
        else:
            assert got == expected, f"{where}: expected {expected:#x}, got {got:#x}"
