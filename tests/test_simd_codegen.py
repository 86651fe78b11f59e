"""SIMD128 lowering emits SSE/AVX vector instructions, never scalar loops or calls to helpers.

A kernel loop must use packed arithmetic (`paddd`, `mulps` or their AVX `v` forms); every SIMD
instruction compiled on its own must call nothing (no runtime helper, no libm) and must not be
scalarised into per-lane conversions; the instructions with hand-written lowerings (swizzle,
q15mulr, narrow, dot, trunc_sat, ...) must select the x86 instruction they were written for.
"""

from __future__ import annotations

import re

import pytest
import wasmtime
from wasmc.driver import Options, compile_module
from wasmc.opcodes import OPS, Imm, Kind

KERNEL = """
(module
  (memory 1)
  (func (export "kernel") (param $n i32)
    (local $i i32)
    (loop $top
      (v128.store (local.get $i)
        (i32x4.add (v128.load (local.get $i)) (v128.load offset=4096 (local.get $i))))
      (v128.store offset=8192 (local.get $i)
        (f32x4.mul (v128.load offset=8192 (local.get $i)) (v128.load offset=12288 (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $top (i32.lt_u (local.get $i) (local.get $n))))))
"""

LETTER_TYPE = {"i": "i32", "l": "i64", "f": "f32", "d": "f64", "v": "v128"}
CPU = "x86-64-v3"  # a fixed AVX2 target, so the expected mnemonics do not depend on the host


def call_targets(asm: str) -> set[str]:
    return {m.strip('"') for m in re.findall(r"^\s*call\w*\s+\*?(\S+)", asm, re.MULTILINE)}


def asm_of(wat: str, cpu: str | None = None) -> str:
    asm, _ = compile_module(wasmtime.wat2wasm(wat), Options(target_cpu=cpu), "asm")
    return asm  # type: ignore[return-value]


def test_kernel_loop_uses_packed_instructions() -> None:
    asm = asm_of(KERNEL)
    assert re.search(r"\bv?paddd\b", asm), asm
    assert re.search(r"\bv?mulps\b", asm), asm
    assert not re.search(r"\b(addl|imull)\b.*\(", asm)  # no per-lane scalar arithmetic on memory
    # No helper is called; the trap (the range witness's check after the loop) is not one.
    assert all(t.startswith(("wasm:", "wasmc_rt_trap")) for t in call_targets(asm)), \
        call_targets(asm)


def single_op_func(op) -> str | None:
    """A function applying `op` to its parameters (None for memory and const instructions)."""
    if op.imm in (Imm.MEMARG, Imm.MEMARG_LANE, Imm.V128):
        return None
    params, results = op.sig.split(":")
    imm = {Imm.LANEIDX: " 1", Imm.SHUFFLE: " " + " ".join(str(i * 5 % 32) for i in range(16))}
    ps = " ".join(f"(param {LETTER_TYPE[t]})" for t in params)
    rs = " ".join(f"(result {LETTER_TYPE[t]})" for t in results)
    gets = " ".join(f"(local.get {i})" for i in range(len(params)))
    return f'(func (export "{op.name}") {ps} {rs} ({op.name}{imm.get(op.imm, "")} {gets}))'


VECTOR_OPS = [op for op in OPS if op.kind is Kind.VECTOR and single_op_func(op)]


@pytest.fixture(scope="module")
def every_op_asm() -> str:
    return asm_of("(module " + "\n".join(single_op_func(op) for op in VECTOR_OPS) + ")", CPU)


def test_no_calls_and_no_scalarised_conversions(every_op_asm: str) -> None:
    targets = call_targets(every_op_asm)
    assert all(t.startswith("wasm:") for t in targets), targets
    assert not re.search(r"\bv?cvtt?s[sd]2si", every_op_asm)


@pytest.mark.parametrize("name, mnemonic", [
    ("i8x16.swizzle", "vpshufb"),
    ("i16x8.q15mulr_sat_s", "vpmulhrsw"),
    ("i8x16.narrow_i16x8_s", "vpacksswb"),
    ("i16x8.narrow_i32x4_u", "vpackusdw"),
    ("i32x4.dot_i16x8_s", "vpmaddwd"),
    ("i8x16.avgr_u", "vpavgb"),
    ("i8x16.bitmask", "vpmovmskb"),
    ("i8x16.add_sat_u", "vpaddusb"),
    ("i32x4.trunc_sat_f32x4_s", "vcvttps2dq"),
    ("i32x4.trunc_sat_f32x4_u", "vcvttps2dq"),
    ("i32x4.trunc_sat_f64x2_s_zero", "vcvttpd2dq"),
    ("f64x2.convert_low_i32x4_s", "vcvtdq2pd"),
    ("f32x4.demote_f64x2_zero", "vcvtpd2ps"),
    ("f32x4.nearest", "vroundps"),
    ("f32x4.pmin", "vminps"),
    ("i16x8.extend_low_i8x16_s", "vpmovsxbw"),
])
def test_instruction_selects(name: str, mnemonic: str) -> None:
    op = next(o for o in OPS if o.name == name)
    asm = asm_of(f"(module {single_op_func(op)})", CPU)
    assert re.search(rf"\b{mnemonic}\b", asm), asm
