"""The one table of WebAssembly instructions.

Every instruction is listed once, as an `Op` row: its mnemonic, its binary encoding, the kind of
immediate it carries and, for the many instructions whose typing is a fixed stack signature, that
signature.  The decoder reads immediates by `Op.imm`, the validator checks simple instructions from
`Op.sig` and hands the rest to a handler named after the mnemonic, and the lowering dispatches on the
mnemonic through plain dicts.  `tests/test_opcodes.py` checks that every row is covered by all three.

Signatures are written `"params:results"` with one letter per value type:
i=i32 l=i64 f=f32 d=f64 v=v128 F=funcref E=externref.  SIMD rows are named `shape.op` (`i32x4.add`,
`v128.load`); the lowering reads the lane shape from that prefix.
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
    V128 = enum.auto()  # 16 raw bytes (v128.const)
    LANEIDX = enum.auto()  # one byte: a lane index
    SHUFFLE = enum.auto()  # 16 lane indices, one byte each
    MEMARG_LANE = enum.auto()  # memarg laneidx
    TYPEIDX = enum.auto()  # a type index (call_ref)
    TAGIDX = enum.auto()  # a tag index (throw)
    HEAPTYPE = enum.auto()  # a heap type (ref.test, ref.cast): reftypes' name or defined type
    BR_ON_CAST = enum.auto()  # flags labelidx heaptype heaptype: (label, rt1, rt2) as letters
    STRUCT_FIELD = enum.auto()  # typeidx fieldidx (struct.get / struct.set)
    ARRAY_FIXED = enum.auto()  # typeidx n (array.new_fixed): (typeidx, n)
    ARRAY_DATA = enum.auto()  # typeidx dataidx (array.new_data / array.init_data)
    ARRAY_ELEM = enum.auto()  # typeidx elemidx (array.new_elem / array.init_elem)
    ARRAY_COPY = enum.auto()  # typeidx typeidx (array.copy): (destination, source)
    FENCE = enum.auto()  # atomic.fence: one reserved zero byte
    TRY_TABLE = enum.auto()  # blocktype vec(catch): (blocktype, ((kind, tagidx | None, label), ...))


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
    VECTOR = "vector"  # every SIMD128 instruction (lower/simd.py)
    ATOMIC = "atomic"  # the threads proposal's atomic memory instructions (lower/atomics.py)


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    code: int
    prefix: int | None  # 0xFC / 0xFD for prefixed instructions (code is then the LEB u32)
    imm: Imm
    kind: Kind
    sig: str | None  # fixed stack signature "params:results"; None when typed by a handler
    mem_bytes: int = 0  # access width of loads/stores (natural alignment bound)
    feature: str | None = None  # the Wasm 3.0 proposal that adds it (features.py), or None


OPS: list[Op] = []


def _op(name, code, imm=Imm.NONE, kind=Kind.NUMERIC, sig=None, prefix=None, mem_bytes=0,
        feature=None):
    OPS.append(Op(name, code, prefix, imm, kind, sig, mem_bytes, feature))


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
_op("return_call", 0x12, Imm.FUNCIDX, C, feature="tail-call")
_op("return_call_indirect", 0x13, Imm.CALL_INDIRECT, C, feature="tail-call")
_op("throw", 0x08, Imm.TAGIDX, C, feature="exceptions")
_op("throw_ref", 0x0A, kind=C, feature="exceptions")
_op("try_table", 0x1F, Imm.TRY_TABLE, C, feature="exceptions")
# The legacy exception instructions (before exnref; still what Emscripten and browsers use):
# `try` opens a frame whose `catch`/`catch_all` sections handle what its body throws, `rethrow`
# throws again what a catch section caught, `delegate` closes a try by handing its exceptions to
# an outer label's handlers (lower/exceptions.py).
_op("try", 0x06, Imm.BLOCKTYPE, C, feature="legacy-exceptions")
_op("catch", 0x07, Imm.TAGIDX, C, feature="legacy-exceptions")
_op("rethrow", 0x09, Imm.LABELIDX, C, feature="legacy-exceptions")
_op("delegate", 0x18, Imm.LABELIDX, C, feature="legacy-exceptions")
_op("catch_all", 0x19, kind=C, feature="legacy-exceptions")
_op("call_ref", 0x14, Imm.TYPEIDX, C, feature="function-references")
_op("return_call_ref", 0x15, Imm.TYPEIDX, C, feature="function-references")
_op("br_on_null", 0xD5, Imm.LABELIDX, C, feature="function-references")
_op("br_on_non_null", 0xD6, Imm.LABELIDX, C, feature="function-references")

# --- reference instructions ---------------------------------------------------------------------
_op("ref.null", 0xD0, Imm.REFTYPE, R)
_op("ref.is_null", 0xD1, kind=R)
_op("ref.func", 0xD2, Imm.FUNCIDX, R)  # typed by a handler: (ref $t) in 3.0, funcref in 2.0
_op("ref.as_non_null", 0xD4, kind=R, feature="function-references")
# GC's reference instructions (0xFB prefix) that need no heap objects; the `.null` rows are the
# nullable forms of ref.test / ref.cast (`ref.test (ref null ht)`).
_op("ref.eq", 0xD3, kind=R, feature="gc-refs")
# GC's struct instructions (0xFB prefix): objects on the runtime's heap (lower/gcobjects.py).
_op("struct.new", 0x00, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-structs")
_op("struct.new_default", 0x01, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-structs")
_op("struct.get", 0x02, Imm.STRUCT_FIELD, R, prefix=0xFB, feature="gc-structs")
_op("struct.get_s", 0x03, Imm.STRUCT_FIELD, R, prefix=0xFB, feature="gc-structs")
_op("struct.get_u", 0x04, Imm.STRUCT_FIELD, R, prefix=0xFB, feature="gc-structs")
_op("struct.set", 0x05, Imm.STRUCT_FIELD, R, prefix=0xFB, feature="gc-structs")
# GC's array instructions (0xFB prefix): objects on the runtime's heap (lower/gcobjects.py).
_op("array.new", 0x06, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-arrays")
_op("array.new_default", 0x07, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-arrays")
_op("array.new_fixed", 0x08, Imm.ARRAY_FIXED, R, prefix=0xFB, feature="gc-arrays")
_op("array.new_data", 0x09, Imm.ARRAY_DATA, R, prefix=0xFB, feature="gc-arrays")
_op("array.new_elem", 0x0A, Imm.ARRAY_ELEM, R, prefix=0xFB, feature="gc-arrays")
_op("array.get", 0x0B, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-arrays")
_op("array.get_s", 0x0C, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-arrays")
_op("array.get_u", 0x0D, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-arrays")
_op("array.set", 0x0E, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-arrays")
_op("array.len", 0x0F, kind=R, prefix=0xFB, feature="gc-arrays")
_op("array.fill", 0x10, Imm.TYPEIDX, R, prefix=0xFB, feature="gc-arrays")
_op("array.copy", 0x11, Imm.ARRAY_COPY, R, prefix=0xFB, feature="gc-arrays")
_op("array.init_data", 0x12, Imm.ARRAY_DATA, R, prefix=0xFB, feature="gc-arrays")
_op("array.init_elem", 0x13, Imm.ARRAY_ELEM, R, prefix=0xFB, feature="gc-arrays")
_op("ref.test", 0x14, Imm.HEAPTYPE, R, prefix=0xFB, feature="gc-refs")
_op("ref.test.null", 0x15, Imm.HEAPTYPE, R, prefix=0xFB, feature="gc-refs")
_op("ref.cast", 0x16, Imm.HEAPTYPE, R, prefix=0xFB, feature="gc-refs")
_op("ref.cast.null", 0x17, Imm.HEAPTYPE, R, prefix=0xFB, feature="gc-refs")
_op("br_on_cast", 0x18, Imm.BR_ON_CAST, C, prefix=0xFB, feature="gc-refs")
_op("br_on_cast_fail", 0x19, Imm.BR_ON_CAST, C, prefix=0xFB, feature="gc-refs")
_op("any.convert_extern", 0x1A, kind=R, prefix=0xFB, feature="gc-refs")
_op("extern.convert_any", 0x1B, kind=R, prefix=0xFB, feature="gc-refs")
_op("ref.i31", 0x1C, kind=R, prefix=0xFB, feature="gc-refs")
_op("i31.get_s", 0x1D, kind=R, prefix=0xFB, feature="gc-refs")
_op("i31.get_u", 0x1E, kind=R, prefix=0xFB, feature="gc-refs")

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

# --- atomic memory instructions (the threads proposal, prefix 0xFE) ------------------------------
# Typed like loads and stores (the first operand is the address, of the memory's address type);
# their memarg's alignment must be exactly the access width.
_A = Kind.ATOMIC
_op("memory.atomic.notify", 0x00, Imm.MEMARG, _A, "ii:i", 0xFE, 4, feature="threads")
_op("memory.atomic.wait32", 0x01, Imm.MEMARG, _A, "iil:i", 0xFE, 4, feature="threads")
_op("memory.atomic.wait64", 0x02, Imm.MEMARG, _A, "ill:i", 0xFE, 8, feature="threads")
_op("atomic.fence", 0x03, Imm.FENCE, _A, ":", 0xFE, feature="threads")
for _code, (_name, _sig, _bytes) in enumerate([
    ("i32.atomic.load", "i:i", 4), ("i64.atomic.load", "i:l", 8),
    ("i32.atomic.load8_u", "i:i", 1), ("i32.atomic.load16_u", "i:i", 2),
    ("i64.atomic.load8_u", "i:l", 1), ("i64.atomic.load16_u", "i:l", 2),
    ("i64.atomic.load32_u", "i:l", 4),
    ("i32.atomic.store", "ii:", 4), ("i64.atomic.store", "il:", 8),
    ("i32.atomic.store8", "ii:", 1), ("i32.atomic.store16", "ii:", 2),
    ("i64.atomic.store8", "il:", 1), ("i64.atomic.store16", "il:", 2),
    ("i64.atomic.store32", "il:", 4)], start=0x10):
    _op(_name, _code, Imm.MEMARG, _A, _sig, 0xFE, _bytes, feature="threads")
# read-modify-write: seven widths of each operation, then cmpxchg (which takes two values)
_RMW_WIDTHS = [("i32.atomic.rmw", "", "i", 4), ("i64.atomic.rmw", "", "l", 8),
               ("i32.atomic.rmw8", "_u", "i", 1), ("i32.atomic.rmw16", "_u", "i", 2),
               ("i64.atomic.rmw8", "_u", "l", 1), ("i64.atomic.rmw16", "_u", "l", 2),
               ("i64.atomic.rmw32", "_u", "l", 4)]
for _k, _rmw in enumerate(["add", "sub", "and", "or", "xor", "xchg", "cmpxchg"]):
    for _w, (_head, _suffix, _t, _bytes) in enumerate(_RMW_WIDTHS):
        _sig = f"i{_t}{_t}:{_t}" if _rmw == "cmpxchg" else f"i{_t}:{_t}"
        _op(f"{_head}.{_rmw}{_suffix}", 0x1E + 7 * _k + _w, Imm.MEMARG, _A, _sig, 0xFE, _bytes,
            feature="threads")

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


# --- vector instructions (SIMD128, prefix 0xFD) -------------------------------------------------
def _vec(code: int, name: str, sig: str, imm: Imm = Imm.NONE, mem_bytes: int = 0,
         feature: str | None = None) -> None:
    _op(name, code, imm, Kind.VECTOR, sig, 0xFD, mem_bytes, feature)


def _vec_run(first: int, shape: str, names: str, sig: str) -> None:
    """Consecutive opcodes of one lane shape and one signature (e.g. the ten i8x16 comparisons)."""
    for i, n in enumerate(names.split()):
        _vec(first + i, f"{shape}.{n}", sig)


for _code, _name, _sig, _bytes in [
    (0x00, "v128.load", "i:v", 16),
    (0x01, "v128.load8x8_s", "i:v", 8), (0x02, "v128.load8x8_u", "i:v", 8),
    (0x03, "v128.load16x4_s", "i:v", 8), (0x04, "v128.load16x4_u", "i:v", 8),
    (0x05, "v128.load32x2_s", "i:v", 8), (0x06, "v128.load32x2_u", "i:v", 8),
    (0x07, "v128.load8_splat", "i:v", 1), (0x08, "v128.load16_splat", "i:v", 2),
    (0x09, "v128.load32_splat", "i:v", 4), (0x0A, "v128.load64_splat", "i:v", 8),
    (0x0B, "v128.store", "iv:", 16),
    (0x5C, "v128.load32_zero", "i:v", 4), (0x5D, "v128.load64_zero", "i:v", 8),
]:
    _vec(_code, _name, _sig, Imm.MEMARG, _bytes)
for _i, _bytes in enumerate((1, 2, 4, 8)):
    _vec(0x54 + _i, f"v128.load{_bytes * 8}_lane", "iv:v", Imm.MEMARG_LANE, _bytes)
    _vec(0x58 + _i, f"v128.store{_bytes * 8}_lane", "iv:", Imm.MEMARG_LANE, _bytes)
_vec(0x0C, "v128.const", ":v", Imm.V128)
_vec(0x0D, "i8x16.shuffle", "vv:v", Imm.SHUFFLE)
_vec(0x0E, "i8x16.swizzle", "vv:v")
for _i, (_shape, _t) in enumerate([("i8x16", "i"), ("i16x8", "i"), ("i32x4", "i"), ("i64x2", "l"),
                                   ("f32x4", "f"), ("f64x2", "d")]):
    _vec(0x0F + _i, f"{_shape}.splat", f"{_t}:v")
for _code, _name, _sig in [
    (0x15, "i8x16.extract_lane_s", "v:i"), (0x16, "i8x16.extract_lane_u", "v:i"),
    (0x17, "i8x16.replace_lane", "vi:v"),
    (0x18, "i16x8.extract_lane_s", "v:i"), (0x19, "i16x8.extract_lane_u", "v:i"),
    (0x1A, "i16x8.replace_lane", "vi:v"),
    (0x1B, "i32x4.extract_lane", "v:i"), (0x1C, "i32x4.replace_lane", "vi:v"),
    (0x1D, "i64x2.extract_lane", "v:l"), (0x1E, "i64x2.replace_lane", "vl:v"),
    (0x1F, "f32x4.extract_lane", "v:f"), (0x20, "f32x4.replace_lane", "vf:v"),
    (0x21, "f64x2.extract_lane", "v:d"), (0x22, "f64x2.replace_lane", "vd:v"),
]:
    _vec(_code, _name, _sig, Imm.LANEIDX)
_INT_CMP = "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u"
_vec_run(0x23, "i8x16", _INT_CMP, "vv:v")
_vec_run(0x2D, "i16x8", _INT_CMP, "vv:v")
_vec_run(0x37, "i32x4", _INT_CMP, "vv:v")
_vec_run(0x41, "f32x4", "eq ne lt gt le ge", "vv:v")
_vec_run(0x47, "f64x2", "eq ne lt gt le ge", "vv:v")
_vec(0x4D, "v128.not", "v:v")
_vec_run(0x4E, "v128", "and andnot or xor", "vv:v")
_vec(0x52, "v128.bitselect", "vvv:v")
_vec(0x53, "v128.any_true", "v:i")
for _code, _name, _sig in [
    (0x5E, "f32x4.demote_f64x2_zero", "v:v"), (0x5F, "f64x2.promote_low_f32x4", "v:v"),
    # i8x16
    (0x60, "i8x16.abs", "v:v"), (0x61, "i8x16.neg", "v:v"), (0x62, "i8x16.popcnt", "v:v"),
    (0x63, "i8x16.all_true", "v:i"), (0x64, "i8x16.bitmask", "v:i"),
    (0x65, "i8x16.narrow_i16x8_s", "vv:v"), (0x66, "i8x16.narrow_i16x8_u", "vv:v"),
    (0x67, "f32x4.ceil", "v:v"), (0x68, "f32x4.floor", "v:v"), (0x69, "f32x4.trunc", "v:v"),
    (0x6A, "f32x4.nearest", "v:v"),
    (0x6B, "i8x16.shl", "vi:v"), (0x6C, "i8x16.shr_s", "vi:v"), (0x6D, "i8x16.shr_u", "vi:v"),
    (0x6E, "i8x16.add", "vv:v"), (0x6F, "i8x16.add_sat_s", "vv:v"),
    (0x70, "i8x16.add_sat_u", "vv:v"), (0x71, "i8x16.sub", "vv:v"),
    (0x72, "i8x16.sub_sat_s", "vv:v"), (0x73, "i8x16.sub_sat_u", "vv:v"),
    (0x74, "f64x2.ceil", "v:v"), (0x75, "f64x2.floor", "v:v"),
    (0x76, "i8x16.min_s", "vv:v"), (0x77, "i8x16.min_u", "vv:v"),
    (0x78, "i8x16.max_s", "vv:v"), (0x79, "i8x16.max_u", "vv:v"),
    (0x7A, "f64x2.trunc", "v:v"), (0x7B, "i8x16.avgr_u", "vv:v"),
    (0x7C, "i16x8.extadd_pairwise_i8x16_s", "v:v"), (0x7D, "i16x8.extadd_pairwise_i8x16_u", "v:v"),
    (0x7E, "i32x4.extadd_pairwise_i16x8_s", "v:v"), (0x7F, "i32x4.extadd_pairwise_i16x8_u", "v:v"),
    # i16x8
    (0x80, "i16x8.abs", "v:v"), (0x81, "i16x8.neg", "v:v"),
    (0x82, "i16x8.q15mulr_sat_s", "vv:v"),
    (0x83, "i16x8.all_true", "v:i"), (0x84, "i16x8.bitmask", "v:i"),
    (0x85, "i16x8.narrow_i32x4_s", "vv:v"), (0x86, "i16x8.narrow_i32x4_u", "vv:v"),
    (0x87, "i16x8.extend_low_i8x16_s", "v:v"), (0x88, "i16x8.extend_high_i8x16_s", "v:v"),
    (0x89, "i16x8.extend_low_i8x16_u", "v:v"), (0x8A, "i16x8.extend_high_i8x16_u", "v:v"),
    (0x8B, "i16x8.shl", "vi:v"), (0x8C, "i16x8.shr_s", "vi:v"), (0x8D, "i16x8.shr_u", "vi:v"),
    (0x8E, "i16x8.add", "vv:v"), (0x8F, "i16x8.add_sat_s", "vv:v"),
    (0x90, "i16x8.add_sat_u", "vv:v"), (0x91, "i16x8.sub", "vv:v"),
    (0x92, "i16x8.sub_sat_s", "vv:v"), (0x93, "i16x8.sub_sat_u", "vv:v"),
    (0x94, "f64x2.nearest", "v:v"), (0x95, "i16x8.mul", "vv:v"),
    (0x96, "i16x8.min_s", "vv:v"), (0x97, "i16x8.min_u", "vv:v"),
    (0x98, "i16x8.max_s", "vv:v"), (0x99, "i16x8.max_u", "vv:v"),
    (0x9B, "i16x8.avgr_u", "vv:v"),
    (0x9C, "i16x8.extmul_low_i8x16_s", "vv:v"), (0x9D, "i16x8.extmul_high_i8x16_s", "vv:v"),
    (0x9E, "i16x8.extmul_low_i8x16_u", "vv:v"), (0x9F, "i16x8.extmul_high_i8x16_u", "vv:v"),
    # i32x4
    (0xA0, "i32x4.abs", "v:v"), (0xA1, "i32x4.neg", "v:v"),
    (0xA3, "i32x4.all_true", "v:i"), (0xA4, "i32x4.bitmask", "v:i"),
    (0xA7, "i32x4.extend_low_i16x8_s", "v:v"), (0xA8, "i32x4.extend_high_i16x8_s", "v:v"),
    (0xA9, "i32x4.extend_low_i16x8_u", "v:v"), (0xAA, "i32x4.extend_high_i16x8_u", "v:v"),
    (0xAB, "i32x4.shl", "vi:v"), (0xAC, "i32x4.shr_s", "vi:v"), (0xAD, "i32x4.shr_u", "vi:v"),
    (0xAE, "i32x4.add", "vv:v"), (0xB1, "i32x4.sub", "vv:v"), (0xB5, "i32x4.mul", "vv:v"),
    (0xB6, "i32x4.min_s", "vv:v"), (0xB7, "i32x4.min_u", "vv:v"),
    (0xB8, "i32x4.max_s", "vv:v"), (0xB9, "i32x4.max_u", "vv:v"),
    (0xBA, "i32x4.dot_i16x8_s", "vv:v"),
    (0xBC, "i32x4.extmul_low_i16x8_s", "vv:v"), (0xBD, "i32x4.extmul_high_i16x8_s", "vv:v"),
    (0xBE, "i32x4.extmul_low_i16x8_u", "vv:v"), (0xBF, "i32x4.extmul_high_i16x8_u", "vv:v"),
    # i64x2
    (0xC0, "i64x2.abs", "v:v"), (0xC1, "i64x2.neg", "v:v"),
    (0xC3, "i64x2.all_true", "v:i"), (0xC4, "i64x2.bitmask", "v:i"),
    (0xC7, "i64x2.extend_low_i32x4_s", "v:v"), (0xC8, "i64x2.extend_high_i32x4_s", "v:v"),
    (0xC9, "i64x2.extend_low_i32x4_u", "v:v"), (0xCA, "i64x2.extend_high_i32x4_u", "v:v"),
    (0xCB, "i64x2.shl", "vi:v"), (0xCC, "i64x2.shr_s", "vi:v"), (0xCD, "i64x2.shr_u", "vi:v"),
    (0xCE, "i64x2.add", "vv:v"), (0xD1, "i64x2.sub", "vv:v"), (0xD5, "i64x2.mul", "vv:v"),
    (0xD6, "i64x2.eq", "vv:v"), (0xD7, "i64x2.ne", "vv:v"), (0xD8, "i64x2.lt_s", "vv:v"),
    (0xD9, "i64x2.gt_s", "vv:v"), (0xDA, "i64x2.le_s", "vv:v"), (0xDB, "i64x2.ge_s", "vv:v"),
    (0xDC, "i64x2.extmul_low_i32x4_s", "vv:v"), (0xDD, "i64x2.extmul_high_i32x4_s", "vv:v"),
    (0xDE, "i64x2.extmul_low_i32x4_u", "vv:v"), (0xDF, "i64x2.extmul_high_i32x4_u", "vv:v"),
]:
    _vec(_code, _name, _sig)
for _first, _shape in [(0xE0, "f32x4"), (0xEC, "f64x2")]:
    _vec_run(_first, _shape, "abs neg", "v:v")
    _vec(_first + 3, f"{_shape}.sqrt", "v:v")
    _vec_run(_first + 4, _shape, "add sub mul div min max pmin pmax", "vv:v")
for _code, _name in [
    (0xF8, "i32x4.trunc_sat_f32x4_s"), (0xF9, "i32x4.trunc_sat_f32x4_u"),
    (0xFA, "f32x4.convert_i32x4_s"), (0xFB, "f32x4.convert_i32x4_u"),
    (0xFC, "i32x4.trunc_sat_f64x2_s_zero"), (0xFD, "i32x4.trunc_sat_f64x2_u_zero"),
    (0xFE, "f64x2.convert_low_i32x4_s"), (0xFF, "f64x2.convert_low_i32x4_u"),
]:
    _vec(_code, _name, "v:v")

# Relaxed SIMD (Wasm 3.0): results the spec lets differ between hosts (lower/simd.py picks one).
for _code, _name, _sig in [
    (0x100, "i8x16.relaxed_swizzle", "vv:v"),
    (0x101, "i32x4.relaxed_trunc_f32x4_s", "v:v"), (0x102, "i32x4.relaxed_trunc_f32x4_u", "v:v"),
    (0x103, "i32x4.relaxed_trunc_f64x2_s_zero", "v:v"),
    (0x104, "i32x4.relaxed_trunc_f64x2_u_zero", "v:v"),
    (0x105, "f32x4.relaxed_madd", "vvv:v"), (0x106, "f32x4.relaxed_nmadd", "vvv:v"),
    (0x107, "f64x2.relaxed_madd", "vvv:v"), (0x108, "f64x2.relaxed_nmadd", "vvv:v"),
    (0x109, "i8x16.relaxed_laneselect", "vvv:v"), (0x10A, "i16x8.relaxed_laneselect", "vvv:v"),
    (0x10B, "i32x4.relaxed_laneselect", "vvv:v"), (0x10C, "i64x2.relaxed_laneselect", "vvv:v"),
    (0x10D, "f32x4.relaxed_min", "vv:v"), (0x10E, "f32x4.relaxed_max", "vv:v"),
    (0x10F, "f64x2.relaxed_min", "vv:v"), (0x110, "f64x2.relaxed_max", "vv:v"),
    (0x111, "i16x8.relaxed_q15mulr_s", "vv:v"),
    (0x112, "i16x8.relaxed_dot_i8x16_i7x16_s", "vv:v"),
    (0x113, "i32x4.relaxed_dot_i8x16_i7x16_add_s", "vvv:v"),
]:
    _vec(_code, _name, _sig, feature="relaxed-simd")


# --- lookup dicts used by every phase -----------------------------------------------------------
BY_NAME: dict[str, Op] = {op.name: op for op in OPS}
SINGLE_BYTE: dict[int, Op] = {op.code: op for op in OPS if op.prefix is None}
PREFIXED: dict[int, dict[int, Op]] = {}
for _o in OPS:
    if _o.prefix is not None:
        PREFIXED.setdefault(_o.prefix, {})[_o.code] = _o

assert len(BY_NAME) == len(OPS), "duplicate mnemonic in the opcode table"
assert len(SINGLE_BYTE) == sum(1 for o in OPS if o.prefix is None), "duplicate opcode"
assert all(len(PREFIXED[p]) == sum(1 for o in OPS if o.prefix == p) for p in PREFIXED), \
    "duplicate prefixed opcode"


def parse_sig(sig: str) -> tuple[str, str]:
    params, _, results = sig.partition(":")
    return params, results
