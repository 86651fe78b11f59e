"""The one table of WebAssembly instructions.

Every instruction is listed once, as an `Op` row: its mnemonic, its binary encoding, the kind of
immediate it carries and, for the many instructions whose typing is a fixed stack signature, that
signature.  The decoder reads immediates by `Op.imm`, the validator checks simple instructions from
`Op.sig` and hands the rest to a handler named after the mnemonic, and the lowering dispatches on the
mnemonic through plain dicts.  `tests/test_opcodes.py` checks that every row is covered by all three.

Signatures are written `"params:results"` with one letter per value type:
i=i32 l=i64 f=f32 d=f64 v=v128 F=funcref E=externref.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Imm(enum.Enum):
    """Immediate operand layout that follows the opcode in the binary format."""

    NONE = enum.auto()
    BLOCKTYPE = enum.auto()
    LABELIDX = enum.auto()
    BR_TABLE = enum.auto()  # vec(labelidx) labelidx
    FUNCIDX = enum.auto()
    CALL_INDIRECT = enum.auto()  # typeidx tableidx
    LOCALIDX = enum.auto()
    GLOBALIDX = enum.auto()
    TABLEIDX = enum.auto()
    MEMARG = enum.auto()  # align offset
    MEMIDX = enum.auto()  # a single memory index (0x00 in Wasm 2.0)
    I32 = enum.auto()
    I64 = enum.auto()
    F32 = enum.auto()
    F64 = enum.auto()
    SELECT_T = enum.auto()  # vec(valtype)
    REFTYPE = enum.auto()
    ELEMIDX = enum.auto()
    DATAIDX = enum.auto()
    TABLE_INIT = enum.auto()  # elemidx tableidx
    TABLE_COPY = enum.auto()  # tableidx tableidx
    MEMORY_INIT = enum.auto()  # dataidx memidx
    MEMORY_COPY = enum.auto()  # memidx memidx


class Kind(enum.Enum):
    """Lowering shape: which lowering module handles the instruction."""

    CONTROL = "control"
    PARAMETRIC = "parametric"
    VARIABLE = "variable"
    TABLE = "table"
    MEMORY = "memory"
    CONST = "const"
    NUMERIC = "numeric"
    CONVERT = "convert"
    REFERENCE = "reference"


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    code: int
    prefix: int | None  # 0xFC / 0xFD for prefixed instructions (code is then the LEB u32)
    imm: Imm
    kind: Kind
    sig: str | None  # fixed stack signature "params:results"; None when typed by a handler
    mem_bytes: int = 0  # access width of loads/stores (natural alignment bound)


OPS: list[Op] = []


def _op(name, code, imm=Imm.NONE, kind=Kind.NUMERIC, sig=None, prefix=None, mem_bytes=0):
    OPS.append(Op(name, code, prefix, imm, kind, sig, mem_bytes))


C, P, V, T, M = Kind.CONTROL, Kind.PARAMETRIC, Kind.VARIABLE, Kind.TABLE, Kind.MEMORY
N, X, R = Kind.NUMERIC, Kind.CONVERT, Kind.REFERENCE

# --- control instructions -----------------------------------------------------------------------
_op("unreachable", 0x00, kind=C)
_op("nop", 0x01, kind=C, sig=":")
_op("block", 0x02, Imm.BLOCKTYPE, C)
_op("loop", 0x03, Imm.BLOCKTYPE, C)
_op("if", 0x04, Imm.BLOCKTYPE, C)
_op("else", 0x05, kind=C)
_op("end", 0x0B, kind=C)
_op("br", 0x0C, Imm.LABELIDX, C)
_op("br_if", 0x0D, Imm.LABELIDX, C)
_op("br_table", 0x0E, Imm.BR_TABLE, C)
_op("return", 0x0F, kind=C)
_op("call", 0x10, Imm.FUNCIDX, C)
_op("call_indirect", 0x11, Imm.CALL_INDIRECT, C)

# --- reference instructions ---------------------------------------------------------------------
_op("ref.null", 0xD0, Imm.REFTYPE, R)
_op("ref.is_null", 0xD1, kind=R)
_op("ref.func", 0xD2, Imm.FUNCIDX, R, ":F")

# --- parametric instructions --------------------------------------------------------------------
_op("drop", 0x1A, kind=P)
_op("select", 0x1B, kind=P)
_op("select_t", 0x1C, Imm.SELECT_T, P)  # `select (result t)`

# --- variable instructions ----------------------------------------------------------------------
_op("local.get", 0x20, Imm.LOCALIDX, V)
_op("local.set", 0x21, Imm.LOCALIDX, V)
_op("local.tee", 0x22, Imm.LOCALIDX, V)
_op("global.get", 0x23, Imm.GLOBALIDX, V)
_op("global.set", 0x24, Imm.GLOBALIDX, V)

# --- table instructions -------------------------------------------------------------------------
_op("table.get", 0x25, Imm.TABLEIDX, T)
_op("table.set", 0x26, Imm.TABLEIDX, T)
_op("table.init", 12, Imm.TABLE_INIT, T, "iii:", 0xFC)
_op("elem.drop", 13, Imm.ELEMIDX, T, ":", 0xFC)
_op("table.copy", 14, Imm.TABLE_COPY, T, "iii:", 0xFC)
_op("table.grow", 15, Imm.TABLEIDX, T, prefix=0xFC)
_op("table.size", 16, Imm.TABLEIDX, T, ":i", 0xFC)
_op("table.fill", 17, Imm.TABLEIDX, T, prefix=0xFC)

# --- memory instructions ------------------------------------------------------------------------
for _name, _code, _sig, _bytes in [
    ("i32.load", 0x28, "i:i", 4), ("i64.load", 0x29, "i:l", 8),
    ("f32.load", 0x2A, "i:f", 4), ("f64.load", 0x2B, "i:d", 8),
    ("i32.load8_s", 0x2C, "i:i", 1), ("i32.load8_u", 0x2D, "i:i", 1),
    ("i32.load16_s", 0x2E, "i:i", 2), ("i32.load16_u", 0x2F, "i:i", 2),
    ("i64.load8_s", 0x30, "i:l", 1), ("i64.load8_u", 0x31, "i:l", 1),
    ("i64.load16_s", 0x32, "i:l", 2), ("i64.load16_u", 0x33, "i:l", 2),
    ("i64.load32_s", 0x34, "i:l", 4), ("i64.load32_u", 0x35, "i:l", 4),
    ("i32.store", 0x36, "ii:", 4), ("i64.store", 0x37, "il:", 8),
    ("f32.store", 0x38, "if:", 4), ("f64.store", 0x39, "id:", 8),
    ("i32.store8", 0x3A, "ii:", 1), ("i32.store16", 0x3B, "ii:", 2),
    ("i64.store8", 0x3C, "il:", 1), ("i64.store16", 0x3D, "il:", 2), ("i64.store32", 0x3E, "il:", 4),
]:
    _op(_name, _code, Imm.MEMARG, M, _sig, mem_bytes=_bytes)
_op("memory.size", 0x3F, Imm.MEMIDX, M, ":i")
_op("memory.grow", 0x40, Imm.MEMIDX, M, "i:i")
_op("memory.init", 8, Imm.MEMORY_INIT, M, "iii:", 0xFC)
_op("data.drop", 9, Imm.DATAIDX, M, ":", 0xFC)
_op("memory.copy", 10, Imm.MEMORY_COPY, M, "iii:", 0xFC)
_op("memory.fill", 11, Imm.MEMIDX, M, "iii:", 0xFC)

# --- numeric instructions -----------------------------------------------------------------------
_op("i32.const", 0x41, Imm.I32, Kind.CONST, ":i")
_op("i64.const", 0x42, Imm.I64, Kind.CONST, ":l")
_op("f32.const", 0x43, Imm.F32, Kind.CONST, ":f")
_op("f64.const", 0x44, Imm.F64, Kind.CONST, ":d")


def _family(prefix: str, t: str, first: int, names: str, shape: str) -> None:
    """Consecutive opcodes of one type and one shape (e.g. every i32 binary operator)."""
    sigs = {"unop": f"{t}:{t}", "binop": f"{t}{t}:{t}", "testop": f"{t}:i", "relop": f"{t}{t}:i"}
    for i, n in enumerate(names.split()):
        _op(f"{prefix}.{n}", first + i, sig=sigs[shape])


_family("i32", "i", 0x45, "eqz", "testop")
_family("i32", "i", 0x46, "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", "relop")
_family("i64", "l", 0x50, "eqz", "testop")
_family("i64", "l", 0x51, "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", "relop")
_family("f32", "f", 0x5B, "eq ne lt gt le ge", "relop")
_family("f64", "d", 0x61, "eq ne lt gt le ge", "relop")
_family("i32", "i", 0x67, "clz ctz popcnt", "unop")
_family("i32", "i", 0x6A, "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr",
        "binop")
_family("i64", "l", 0x79, "clz ctz popcnt", "unop")
_family("i64", "l", 0x7C, "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr",
        "binop")
_family("f32", "f", 0x8B, "abs neg ceil floor trunc nearest sqrt", "unop")
_family("f32", "f", 0x92, "add sub mul div min max copysign", "binop")
_family("f64", "d", 0x99, "abs neg ceil floor trunc nearest sqrt", "unop")
_family("f64", "d", 0xA0, "add sub mul div min max copysign", "binop")

for _name, _code, _sig in [
    ("i32.wrap_i64", 0xA7, "l:i"),
    ("i32.trunc_f32_s", 0xA8, "f:i"), ("i32.trunc_f32_u", 0xA9, "f:i"),
    ("i32.trunc_f64_s", 0xAA, "d:i"), ("i32.trunc_f64_u", 0xAB, "d:i"),
    ("i64.extend_i32_s", 0xAC, "i:l"), ("i64.extend_i32_u", 0xAD, "i:l"),
    ("i64.trunc_f32_s", 0xAE, "f:l"), ("i64.trunc_f32_u", 0xAF, "f:l"),
    ("i64.trunc_f64_s", 0xB0, "d:l"), ("i64.trunc_f64_u", 0xB1, "d:l"),
    ("f32.convert_i32_s", 0xB2, "i:f"), ("f32.convert_i32_u", 0xB3, "i:f"),
    ("f32.convert_i64_s", 0xB4, "l:f"), ("f32.convert_i64_u", 0xB5, "l:f"),
    ("f32.demote_f64", 0xB6, "d:f"),
    ("f64.convert_i32_s", 0xB7, "i:d"), ("f64.convert_i32_u", 0xB8, "i:d"),
    ("f64.convert_i64_s", 0xB9, "l:d"), ("f64.convert_i64_u", 0xBA, "l:d"),
    ("f64.promote_f32", 0xBB, "f:d"),
    ("i32.reinterpret_f32", 0xBC, "f:i"), ("i64.reinterpret_f64", 0xBD, "d:l"),
    ("f32.reinterpret_i32", 0xBE, "i:f"), ("f64.reinterpret_i64", 0xBF, "l:d"),
    ("i32.extend8_s", 0xC0, "i:i"), ("i32.extend16_s", 0xC1, "i:i"),
    ("i64.extend8_s", 0xC2, "l:l"), ("i64.extend16_s", 0xC3, "l:l"), ("i64.extend32_s", 0xC4, "l:l"),
]:
    _op(_name, _code, kind=X, sig=_sig)

for _i, (_name, _sig) in enumerate([
    ("i32.trunc_sat_f32_s", "f:i"), ("i32.trunc_sat_f32_u", "f:i"),
    ("i32.trunc_sat_f64_s", "d:i"), ("i32.trunc_sat_f64_u", "d:i"),
    ("i64.trunc_sat_f32_s", "f:l"), ("i64.trunc_sat_f32_u", "f:l"),
    ("i64.trunc_sat_f64_s", "d:l"), ("i64.trunc_sat_f64_u", "d:l"),
]):
    _op(_name, _i, kind=X, sig=_sig, prefix=0xFC)


# --- lookup dicts used by every phase -----------------------------------------------------------
BY_NAME: dict[str, Op] = {op.name: op for op in OPS}
SINGLE_BYTE: dict[int, Op] = {op.code: op for op in OPS if op.prefix is None}
PREFIXED: dict[int, dict[int, Op]] = {}
for _o in OPS:
    if _o.prefix is not None:
        PREFIXED.setdefault(_o.prefix, {})[_o.code] = _o

assert len(BY_NAME) == len(OPS), "duplicate mnemonic in the opcode table"
assert len(SINGLE_BYTE) == sum(1 for o in OPS if o.prefix is None), "duplicate opcode"


def parse_sig(sig: str) -> tuple[str, str]:
    params, _, results = sig.partition(":")
    return params, results
