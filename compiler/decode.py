"""Binary decoder: the bytes of a module -> `module.Module` (spec section 5), under Wasm 2.0's rules
or 3.0's as far as `features.py` goes.

Strategy.  The module is read the way the reference interpreter reads it: one stream over the whole
binary, sections checked against their declared size only *after* they are read ("section size
mismatch"), every length and vector count checked against the bytes that remain ("length out of
bounds", so a huge declared count fails before anything is allocated), and messages in the spec tests'
wording.  Reading past the end of the binary is not checked byte by byte: indexing `bytes` past its end
raises IndexError, which `decode_module` turns into "unexpected end of section or function"; slices,
which do not raise, are checked explicitly.  This file is the boundary for untrusted input: nothing but
`DecodeError` may escape `decode_module`.

Speed (modules up to 70 MB): readers are plain functions over `(data, pos)` returning `(value, pos)`;
the instruction loop looks opcodes up in tables built once from `opcodes.OPS`, reads the common
immediates (single-byte indices and small constants) inline and everything else through a reader chosen
by `Op.imm`, and builds `Instr` tuples without going through the NamedTuple constructor.  With
`lazy_bodies` the code section is only delimited and `read_bodies` decodes bodies later, a partition at
a time in the processes that compile them (driver.py), so no process holds a big module's bodies.

Immediate shapes in `Instr.imm` (the validator and the lowering rely on them): see `_READERS`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterable
from typing import Any

from . import limits, reftypes
from .errors import DecodeError, LimitError
from .features import DEFAULT as DEFAULT_FEATURES
from .features import (
    EXCEPTION_HANDLING,
    FUNCTION_REFERENCES,
    GC_TYPES,
    MEMORY64,
    MULTI_MEMORY,
    THREADS,
    WASM_2_0,
    Features,
)
from .module import (
    VALTYPE_BY_BYTE,
    ArrayType,
    Code,
    Data,
    Elem,
    Export,
    ExternKind,
    FieldType,
    FuncType,
    Global,
    GlobalType,
    Import,
    Instr,
    Limits,
    MemArg,
    MemType,
    Module,
    SegmentMode,
    StructType,
    TableType,
)
from .opcodes import BY_NAME, OPS, PREFIXED, SINGLE_BYTE, Imm, Op

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"
_U32_MAX = 0xFFFF_FFFF
_END_OF_INPUT = "unexpected end of section or function"
_new_instr = tuple.__new__  # Instr is a NamedTuple: tuple.__new__(Instr, (op, imm, offset))


# --- integers (LEB128, bounded as in spec 5.2.2) -------------------------------------------------

def _read_u32(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    pos += 1
    while True:
        b = data[pos]
        if shift == 28:
            if b & 0x70:
                raise DecodeError("integer too large", pos)
            if b & 0x80:
                raise DecodeError("integer representation too long", pos + 1)
            return result | (b << 28), pos + 1
        result |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result, pos
        shift += 7


def _read_u64(data: bytes, pos: int) -> tuple[int, int]:
    """u64 LEB128: at most 10 bytes, the last holding one value bit."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        if shift == 63:
            if b & 0x7E:
                raise DecodeError("integer too large", pos - 1)
            if b & 0x80:
                raise DecodeError("integer representation too long", pos)
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _read_signed(data: bytes, pos: int, last_shift: int, mask: int) -> tuple[int, int]:
    """sN LEB128: at most `last_shift // 7 + 1` bytes; in the last one the bits under `mask` hold
    no value bits, so they must all copy the sign ("integer too large" otherwise)."""
    result = 0
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        if shift == last_shift:
            unused = b & mask
            if unused != 0 and unused != mask:
                raise DecodeError("integer too large", pos - 1)
            if b & 0x80:
                raise DecodeError("integer representation too long", pos)
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos


def _read_s32(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x40:
        return b, pos + 1
    if b < 0x80:
        return b - 0x80, pos + 1
    return _read_signed(data, pos, 28, 0x78)


def _read_s33(data: bytes, pos: int) -> tuple[int, int]:
    return _read_signed(data, pos, 28, 0x70)


def _read_s64(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x40:
        return b, pos + 1
    if b < 0x80:
        return b - 0x80, pos + 1
    return _read_signed(data, pos, 63, 0x7F)


def _read_len(data: bytes, pos: int) -> tuple[int, int]:
    """A length or vector count: a u32 no larger than the bytes that remain (every element takes at
    least one byte), so hostile counts fail here instead of allocating."""
    n, after = _read_u32(data, pos)
    if n > len(data) - pos:  # counted from the length's own position, as the reference does
        raise DecodeError("length out of bounds", pos)
    return n, after


def _read_zero(data: bytes, pos: int) -> tuple[int, int]:
    """A reserved memory index: exactly the byte 0x00 in Wasm 2.0 (not a padded LEB zero)."""
    if data[pos] != 0:
        raise DecodeError("zero byte expected", pos)
    return 0, pos + 1


def _read_bytes(data: bytes, pos: int, n: int) -> bytes:
    if pos + n > len(data):
        raise DecodeError(_END_OF_INPUT, len(data))
    return data[pos:pos + n]


# --- names and types -----------------------------------------------------------------------------

def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    n, start = _read_len(data, pos)
    raw = _read_bytes(data, start, n)
    try:
        return raw.decode("utf-8"), start + n
    except UnicodeDecodeError:
        raise DecodeError("malformed UTF-8 encoding", pos) from None


def _malformed_type(data: bytes, pos: int, what: str) -> DecodeError:
    """Type codes are one-byte s7 LEB128s: a continuation bit makes the encoding too long."""
    if data[pos] & 0x80:
        return DecodeError("integer representation too long", pos + 1)
    return DecodeError(f"malformed {what}", pos)


class _TypeContext:
    """The types a typed reference `(ref $t)` may name while a module is decoded (Wasm 3.0).
    Value types are read by readers that take only (data, pos), as instruction immediates are,
    so the decoder entry points set this for the module at hand (`_typed_context`)."""

    __slots__ = ("group", "heaps", "typed", "types")

    def __init__(self) -> None:
        self.typed = False  # features.FUNCTION_REFERENCES: 0x63/0x64 and heap types
        self.types: list[FuncType] = []
        self.heaps: list = []  # Module.heaps: the canonical heap type of each type index
        self.group = (0, 0)  # the recursion group being read: its first and end type index


_CTX = _TypeContext()


@contextlib.contextmanager
def _typed_context(m: Module):
    saved = _CTX.typed, _CTX.types, _CTX.heaps, _CTX.group
    _CTX.typed, _CTX.types, _CTX.heaps = FUNCTION_REFERENCES in m.features, m.types, m.heaps
    _CTX.group = (0, 0)
    try:
        yield
    finally:
        _CTX.typed, _CTX.types, _CTX.heaps, _CTX.group = saved


def _read_heaptype(data: bytes, pos: int) -> tuple[object, int]:
    """An abstract heap type's name, or the heap a type index names (Module.heaps): a
    reftypes.RecRef for a type of the recursion group being read."""
    h = reftypes.ABSTRACT_HEAP.get(data[pos])
    if h is not None:
        return h, pos + 1
    idx, after = _read_s33(data, pos)
    if idx < 0:
        raise DecodeError("malformed heap type", pos)
    return _heap_of(idx, pos), after


def _heap_of(idx: int, pos: int) -> object:
    if idx < len(_CTX.heaps):
        return _CTX.heaps[idx]
    start, end = _CTX.group
    if start <= idx < end:
        return reftypes.RecRef(idx - start)
    raise DecodeError(f"unknown type {idx}", pos)


def _read_typed_ref(data: bytes, pos: int, what: str) -> tuple[str, int]:
    """Wasm 3.0's reference types: `(ref null? ht)` (0x63/0x64 ht) or an abbreviation."""
    b = data[pos]
    if b == 0x63 or b == 0x64:
        heap, pos = _read_heaptype(data, pos + 1)
        return reftypes.ref(b == 0x63, heap), pos
    h = reftypes.ABSTRACT_HEAP.get(b)
    if h is None:
        raise _malformed_type(data, pos, what)
    return reftypes.ref(True, h), pos + 1


def _read_valtype(data: bytes, pos: int) -> tuple[str, int]:
    t = VALTYPE_BY_BYTE.get(data[pos])
    if t is None:
        if _CTX.typed:
            return _read_typed_ref(data, pos, "value type")
        raise _malformed_type(data, pos, "value type")
    return t, pos + 1


_REFTYPE_BY_BYTE = {0x70: "F", 0x6F: "E"}


def _read_reftype(data: bytes, pos: int) -> tuple[str, int]:
    t = _REFTYPE_BY_BYTE.get(data[pos])
    if t is None:
        if _CTX.typed:
            return _read_typed_ref(data, pos, "reference type")
        raise _malformed_type(data, pos, "reference type")
    return t, pos + 1


def _read_br_on_cast(data: bytes, pos: int) -> tuple[tuple[int, str, str], int]:
    """br_on_cast(_fail): flags (bit 0: the first type nullable, bit 1: the second), a label and
    two heap types; returned as (label, rt1, rt2) with the reference types as letters."""
    flags = data[pos]
    if flags > 3:
        raise DecodeError("malformed br_on_cast flags", pos)
    label, pos = _read_u32(data, pos + 1)
    h1, pos = _read_heaptype(data, pos)
    h2, pos = _read_heaptype(data, pos)
    return (label, reftypes.ref(bool(flags & 1), h1), reftypes.ref(bool(flags & 2), h2)), pos


def _read_ref_null(data: bytes, pos: int) -> tuple[str, int]:
    """`ref.null`'s immediate: a reference type in Wasm 2.0, a heap type in 3.0 (typed)."""
    if not _CTX.typed:
        return _read_reftype(data, pos)
    heap, pos = _read_heaptype(data, pos)
    return reftypes.ref(True, heap), pos


def _read_resulttype(data: bytes, pos: int, limit: int, what: str) -> tuple[str, int]:
    at = pos
    n, pos = _read_len(data, pos)
    if n > limit:
        raise LimitError(f"{n} {what} (wasmc allows at most {limit})", at)
    types = []
    for _ in range(n):
        t, pos = _read_valtype(data, pos)
        types.append(t)
    return "".join(types), pos


def _read_limits(data: bytes, pos: int, memory64: bool = False, threads: bool = False
                 ) -> tuple[Limits, str, bool, int]:
    """Limits, the address type they belong to ("i" for i32, "l" for i64) and whether they are
    a shared memory's.  Wasm 2.0: a flags byte 0 or 1 (has a maximum), u32 bounds.  Memory64
    (3.0): flags 0, 1, 4 or 5 (bit 2: i64) and u64 bounds for either address type (validation
    bounds an i32 memory or table).  Threads (memories only): bit 1, shared."""
    start = pos
    flags = data[pos]
    shared = threads and flags in (2, 3, 6, 7)
    if shared:
        flags &= ~2
    if memory64:
        if flags not in (0, 1, 4, 5):
            raise DecodeError("malformed limits flags", pos)
        lo, pos = _read_u64(data, pos + 1)
        hi = None
        if flags & 1:
            hi, pos = _read_u64(data, pos)
        return Limits(lo, hi, start), "l" if flags & 4 else "i", shared, pos
    if flags & 0x7F > 1:  # a one-bit LEB128 (vu1), hence the two messages
        raise DecodeError("integer too large", pos)
    if flags & 0x80:
        raise DecodeError("integer representation too long", pos + 1)
    lo, pos = _read_u32(data, pos + 1)
    hi = None
    if flags:
        hi, pos = _read_u32(data, pos)
    return Limits(lo, hi, start), "i", shared, pos


def _read_tabletype(data: bytes, pos: int, memory64: bool) -> tuple[TableType, int]:
    elem, pos = _read_reftype(data, pos)
    limits, addrtype, _, pos = _read_limits(data, pos, memory64)
    return TableType(elem, limits, addrtype), pos


def _read_memtype(data: bytes, pos: int, memory64: bool, threads: bool = False
                  ) -> tuple[MemType, int]:
    limits, addrtype, shared, pos = _read_limits(data, pos, memory64, threads)
    return MemType(limits, addrtype, shared), pos


def _read_globaltype(data: bytes, pos: int) -> tuple[GlobalType, int]:
    t, pos = _read_valtype(data, pos)
    mut = data[pos]
    if mut > 1:
        raise DecodeError("malformed mutability", pos)
    return GlobalType(t, mut == 1), pos + 1


# --- instruction immediates ----------------------------------------------------------------------

def _read_blocktype(data: bytes, pos: int) -> tuple[object, int]:
    b = data[pos]
    if b == 0x40:
        return None, pos + 1
    t = VALTYPE_BY_BYTE.get(b)
    if t is not None:
        return t, pos + 1
    if _CTX.typed and (b == 0x63 or b == 0x64 or b in reftypes.ABSTRACT_HEAP):
        return _read_typed_ref(data, pos, "value type")
    idx, pos = _read_s33(data, pos)
    # A negative s33 is well-formed; like the reference interpreter, wrap it to u32 so that the
    # validator reports it as an unknown type.
    return idx & _U32_MAX, pos


def _read_br_table(data: bytes, pos: int) -> tuple[tuple[tuple[int, ...], int], int]:
    at = pos
    n, pos = _read_len(data, pos)
    if n > limits.MAX_BR_TABLE_TARGETS:
        raise LimitError(f"br_table with {n} targets; wasmc supports at most "
                         f"{limits.MAX_BR_TABLE_TARGETS}", at)
    labels = []
    for _ in range(n):
        label, pos = _read_u32(data, pos)
        labels.append(label)
    default, pos = _read_u32(data, pos)
    return (tuple(labels), default), pos


def _read_u32_pair(data: bytes, pos: int) -> tuple[tuple[int, int], int]:
    a, pos = _read_u32(data, pos)
    b, pos = _read_u32(data, pos)
    return (a, b), pos


_MEMARGS: dict[tuple[int, int, int], MemArg] = {}  # MemArg is frozen: share one object per value


def _read_memarg(data: bytes, pos: int) -> tuple[MemArg, int]:
    align, after = _read_u32(data, pos)
    if align >= 32:  # bit 6 would select a memory (multi-memory); not in Wasm 2.0
        raise DecodeError("malformed memop flags", pos)
    offset, after = _read_u32(data, after)
    return _memarg(align, offset, 0), after


def _read_memarg_multi(data: bytes, pos: int) -> tuple[MemArg, int]:
    """Wasm 3.0's memarg: flags below 64 are the alignment (memory 0); with bit 6 set a memory
    index follows them (the alignment is the other bits).  The offset is a u64 (memory64's), which
    the validator bounds by the memory's address range."""
    flags, after = _read_u32(data, pos)
    mem = 0
    if flags >= 128:
        raise DecodeError("malformed memop flags", pos)
    if flags >= 64:
        mem, after = _read_u32(data, after)
        flags -= 64
    offset, after = _read_u64(data, after)
    return _memarg(flags, offset, mem), after


def _memarg(align: int, offset: int, mem: int) -> MemArg:
    key = (align, offset, mem)
    memarg = _MEMARGS.get(key)
    if memarg is None:
        memarg = _MEMARGS[key] = MemArg(align, offset, mem)
    return memarg


def _read_f32(data: bytes, pos: int) -> tuple[int, int]:
    return int.from_bytes(_read_bytes(data, pos, 4), "little"), pos + 4


def _read_f64(data: bytes, pos: int) -> tuple[int, int]:
    return int.from_bytes(_read_bytes(data, pos, 8), "little"), pos + 8


def _read_select_t(data: bytes, pos: int) -> tuple[tuple[str, ...], int]:
    types, pos = _read_resulttype(data, pos, limits.MAX_FUNCTION_RESULTS, "select types")
    return tuple(types), pos


def _read_memory_init(data: bytes, pos: int) -> tuple[tuple[int, int], int]:
    dataidx, pos = _read_u32(data, pos)
    memidx, pos = _read_zero(data, pos)
    return (dataidx, memidx), pos


def _read_memory_copy(data: bytes, pos: int) -> tuple[tuple[int, int], int]:
    dst, pos = _read_zero(data, pos)
    src, pos = _read_zero(data, pos)
    return (dst, src), pos


def _read_v128(data: bytes, pos: int) -> tuple[int, int]:
    """v128.const: the 16 bytes as one unsigned little-endian int (like F32/F64: raw bits)."""
    return int.from_bytes(_read_bytes(data, pos, 16), "little"), pos + 16


def _read_lane(data: bytes, pos: int) -> tuple[int, int]:
    return data[pos], pos + 1


def _read_shuffle(data: bytes, pos: int) -> tuple[tuple[int, ...], int]:
    return tuple(_read_bytes(data, pos, 16)), pos + 16


def _read_memarg_lane(data: bytes, pos: int) -> tuple[tuple[MemArg, int], int]:
    memarg, pos = _read_memarg(data, pos)
    return (memarg, data[pos]), pos + 1


def _read_memarg_lane_multi(data: bytes, pos: int) -> tuple[tuple[MemArg, int], int]:
    memarg, pos = _read_memarg_multi(data, pos)
    return (memarg, data[pos]), pos + 1


Reader = Callable[[bytes, int], tuple[object, int]]

# Imm kind -> reader.  NONE reads nothing (imm None); _read_u32 and _read_s32 are also read inline
# by the instruction loop for their one-byte forms.
_READERS: dict[Imm, Reader | None] = {
    Imm.NONE: None,
    Imm.BLOCKTYPE: _read_blocktype,  # None | valtype letter | typeidx
    Imm.LABELIDX: _read_u32,
    Imm.BR_TABLE: _read_br_table,  # ((labels...), default)
    Imm.FUNCIDX: _read_u32,
    Imm.CALL_INDIRECT: _read_u32_pair,  # (typeidx, tableidx)
    Imm.LOCALIDX: _read_u32,
    Imm.GLOBALIDX: _read_u32,
    Imm.TABLEIDX: _read_u32,
    Imm.MEMARG: _read_memarg,  # MemArg(align, offset)
    Imm.MEMIDX: _read_zero,  # 0
    Imm.I32: _read_s32,  # signed int
    Imm.I64: _read_s64,  # signed int
    Imm.F32: _read_f32,  # raw IEEE bits, unsigned
    Imm.F64: _read_f64,
    Imm.SELECT_T: _read_select_t,  # (valtype letters...)
    Imm.REFTYPE: _read_ref_null,  # 'F' | 'E' (2.0); any nullable reference type (3.0)
    Imm.TYPEIDX: _read_u32,
    Imm.TAGIDX: _read_u32,
    Imm.HEAPTYPE: _read_heaptype,
    Imm.BR_ON_CAST: _read_br_on_cast,
    Imm.STRUCT_FIELD: _read_u32_pair,
    Imm.FENCE: _read_zero,
    Imm.ARRAY_FIXED: _read_u32_pair,
    Imm.ARRAY_DATA: _read_u32_pair,
    Imm.ARRAY_ELEM: _read_u32_pair,
    Imm.ARRAY_COPY: _read_u32_pair,
    Imm.ELEMIDX: _read_u32,
    Imm.DATAIDX: _read_u32,
    Imm.TABLE_INIT: _read_u32_pair,  # (elemidx, tableidx)
    Imm.TABLE_COPY: _read_u32_pair,  # (dst, src)
    Imm.MEMORY_INIT: _read_memory_init,  # (dataidx, memidx)
    Imm.MEMORY_COPY: _read_memory_copy,  # (dst, src)
}
# Immediate kinds of the SIMD rows (0xFD), registered under the names they are expected to get;
# tests/test_decode.py checks that every Imm kind in the table has a reader.
for _imm_name, _reader in [("V128", _read_v128), ("LANEIDX", _read_lane), ("LANE", _read_lane),
                           ("SHUFFLE", _read_shuffle), ("MEMARG_LANE", _read_memarg_lane)]:
    if hasattr(Imm, _imm_name):
        _READERS[Imm[_imm_name]] = _reader

# With multi-memory (features.MULTI_MEMORY) memory instructions name their memory: a memarg may
# carry an index, and the single 0x00 bytes of Wasm 2.0 become u32 indices.
_READERS_MULTI_MEMORY: dict[Imm, Reader | None] = {
    **_READERS, Imm.MEMARG: _read_memarg_multi, Imm.MEMIDX: _read_u32,
    Imm.MEMORY_INIT: _read_u32_pair, Imm.MEMORY_COPY: _read_u32_pair}
if hasattr(Imm, "MEMARG_LANE"):
    _READERS_MULTI_MEMORY[Imm.MEMARG_LANE] = _read_memarg_lane_multi


# --- instruction tables --------------------------------------------------------------------------

# The loop needs to see structured control: `block`/`loop` and `if` open frames (`if` one that may
# take an `else`), `end` closes one.  They get their own reader objects so that the loop finds them
# with the same identity tests it uses to pick immediate readers, at no cost to other opcodes.
def _read_block_open(data: bytes, pos: int) -> tuple[object, int]:
    return _read_blocktype(data, pos)


def _read_if_open(data: bytes, pos: int) -> tuple[object, int]:
    return _read_blocktype(data, pos)


def _read_try_table_open(data: bytes, pos: int) -> tuple[object, int]:
    """`try_table`'s blocktype and catch clauses: (kind, tag index or None, label), kind 0 catch,
    1 catch_ref, 2 catch_all, 3 catch_all_ref."""
    bt, pos = _read_blocktype(data, pos)
    n, pos = _read_len(data, pos)
    catches = []
    for _ in range(n):
        kind = data[pos]
        if kind > 3:
            raise DecodeError("malformed catch clause", pos)
        tag = None
        if kind < 2:
            tag, pos = _read_u32(data, pos + 1)
        else:
            pos += 1
        label, pos = _read_u32(data, pos)
        catches.append((kind, tag, label))
    return (bt, tuple(catches)), pos


_READERS[Imm.TRY_TABLE] = _READERS_MULTI_MEMORY[Imm.TRY_TABLE] = _read_try_table_open
_ELSE = object()
_END = object()
_DELEGATE = object()  # legacy `delegate l`: closes its `try` as `end` does
_CONTROL: dict[str, object] = {"block": _read_block_open, "loop": _read_block_open,
                               "if": _read_if_open, "else": _ELSE, "end": _END,
                               "try": _read_block_open, "delegate": _DELEGATE,
                               "try_table": _read_try_table_open}
_NEEDS_DATA_COUNT = ("memory.init", "data.drop", "array.new_data", "array.init_data")
REF_FUNC = BY_NAME["ref.func"]

Entry = tuple[Op, object]  # (op, reader | None | _ELSE | _END)


def _entry(op: Op, readers: dict[Imm, Reader | None], features: Features) -> Entry | None:
    if op.feature is not None and op.feature not in features:
        return None  # an instruction of a proposal this feature set leaves out: illegal
    if op.name in _CONTROL:
        return (op, _CONTROL[op.name])
    if op.imm not in readers:
        return None  # an immediate kind this decoder does not know yet: decoded as illegal
    return (op, readers[op.imm])


# The instruction tables: one-byte opcodes by byte, prefixed ones by prefix then code.
Tables = tuple[list[Entry | None], dict[int, dict[int, Entry]]]


@functools.cache
def tables_for(features: Features) -> Tables:
    """The instruction tables of a feature set: its instructions, with its immediate readers."""
    readers = _READERS_MULTI_MEMORY if MULTI_MEMORY in features else _READERS
    single: list[Entry | None] = [None] * 256
    for code, op in SINGLE_BYTE.items():
        single[code] = _entry(op, readers, features)
    prefixed = {prefix: {code: e for code, op in ops.items()
                         if (e := _entry(op, readers, features)) is not None}
                for prefix, ops in PREFIXED.items()}
    for prefix in prefixed:
        assert single[prefix] is None, "prefix byte is also an opcode"
    return single, prefixed


_TABLES_2_0 = tables_for(WASM_2_0)
_PREFIXED_NEEDING_DATA_COUNT = frozenset(
    (op.prefix, op.code) for op in OPS if op.name in _NEEDS_DATA_COUNT)


def _read_expr(data: bytes, pos: int, tables: Tables = _TABLES_2_0) -> tuple[list[Instr], int, bool]:
    """Instructions from `pos` through the `end` that closes the expression (included in the list).

    Returns the instructions, the position after that `end`, and whether any of them needs the data
    count section (an instruction naming a data segment: _NEEDS_DATA_COUNT).  Like the reference
    decoder, this reads on past a function's declared size; the caller compares positions
    afterwards.  The hot loop: tests are ordered by how common each immediate kind is in real code.
    """
    instrs: list[Instr] = []
    val: object  # a reader's immediate (`imm` stays an int: the inlined readers below)
    append = instrs.append
    single, prefixed = tables
    frames = [False]  # one per open block: True while an `if` has not seen its `else`
    needs_data_count = False
    new = _new_instr
    read_u32 = _read_u32
    read_s32 = _read_s32
    read_block = _read_block_open
    read_if = _read_if_open
    end = _END
    while True:
        start = pos
        entry = single[data[pos]]
        pos += 1
        if entry is None:
            table = prefixed.get(data[start])
            if table is None:
                raise DecodeError("illegal opcode", start)
            code, pos = read_u32(data, pos)
            entry = table.get(code)
            if entry is None:
                raise DecodeError("illegal opcode", start)
            if (data[start], code) in _PREFIXED_NEEDING_DATA_COUNT:
                needs_data_count = True
        op, reader = entry
        if reader is None:
            append(new(Instr, (op, None, start)))
        elif reader is read_u32:
            imm = data[pos]
            if imm < 0x80:
                pos += 1
            else:
                imm, pos = read_u32(data, pos)
            append(new(Instr, (op, imm, start)))
        elif reader is end:
            append(new(Instr, (op, None, start)))
            frames.pop()
            if not frames:
                return instrs, pos, needs_data_count
        elif reader is read_s32:
            imm = data[pos]
            if imm < 0x40:
                pos += 1
            else:
                imm, pos = read_s32(data, pos)
            append(new(Instr, (op, imm, start)))
        elif reader is _DELEGATE:
            imm, pos = read_u32(data, pos)
            append(new(Instr, (op, imm, start)))
            if len(frames) > 1:  # (one on the function's frame is the validator's to refuse)
                frames.pop()
        elif reader is _ELSE:
            if not frames[-1]:
                raise DecodeError("END opcode expected", start)
            frames[-1] = False
            append(new(Instr, (op, None, start)))
        else:
            val, pos = reader(data, pos)  # type: ignore[operator]
            append(new(Instr, (op, val, start)))
            if reader is read_block or reader is _read_try_table_open:
                frames.append(False)
            elif reader is read_if:
                frames.append(True)


def _read_const(data: bytes, pos: int, tables: Tables) -> tuple[list[Instr], int]:
    """A constant expression, without its final `end` (validity is the validator's business)."""
    instrs, pos, _ = _read_expr(data, pos, tables)
    instrs.pop()
    return instrs, pos


# --- sections ------------------------------------------------------------------------------------

class _State:
    """What the module-level checks need beyond the Module itself."""

    __slots__ = ("exceptions", "gc", "lazy_bodies", "memory64", "needs_data_count", "tables",
                 "threads")

    def __init__(self, lazy_bodies: bool, features: Features) -> None:
        self.needs_data_count = False
        self.lazy_bodies = lazy_bodies
        self.exceptions = EXCEPTION_HANDLING in features  # the tag section, tag imports/exports
        self.gc = GC_TYPES in features  # recursion groups, subtypes, struct and array types
        self.memory64 = MEMORY64 in features  # limits flags 4 and 5, u64 bounds
        self.threads = THREADS in features  # shared memories (limits flag bit 1)
        self.tables = tables_for(features)  # the instructions of the module's feature set


def _read_type_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    """Wasm 2.0: a vector of function types.  GC (3.0): a vector of recursion groups, each
    0x4E vec(subtype) or one subtype; a subtype is 0x50/0x4F (open/final) vec(typeidx) comptype,
    or a comptype (final, no supertypes)."""
    n, pos = _read_len(data, pos)
    for _ in range(n):
        if not st.gc:
            if data[pos] != 0x60:
                raise _malformed_type(data, pos, "function type")
            comp, pos = _read_comptype(data, pos)
            m.types.append(comp)
            m.heaps.append(comp)
            continue
        count = 1
        if data[pos] == 0x4E:
            count, pos = _read_len(data, pos + 1)
            if len(m.types) + count > limits.MAX_TYPES:
                raise LimitError(f"more than {limits.MAX_TYPES} types", pos)
        pos = _read_rec_group(data, pos, m, count)
    return pos


def _read_comptype(data: bytes, pos: int) -> tuple[Any, int]:
    form = data[pos]
    if form == 0x60:
        params, pos = _read_resulttype(data, pos + 1, limits.MAX_FUNCTION_PARAMS, "function parameters")
        results, pos = _read_resulttype(data, pos, limits.MAX_FUNCTION_RESULTS, "function results")
        return FuncType(params, results), pos
    if form == 0x5F and _CTX.typed:
        n, pos = _read_len(data, pos + 1)
        fields = []
        for _ in range(n):
            f, pos = _read_fieldtype(data, pos)
            fields.append(f)
        return StructType(tuple(fields)), pos
    if form == 0x5E and _CTX.typed:
        f, pos = _read_fieldtype(data, pos + 1)
        return ArrayType(f), pos
    raise _malformed_type(data, pos, "function type")


def _read_fieldtype(data: bytes, pos: int) -> tuple[FieldType, int]:
    b = data[pos]
    if b == 0x78 or b == 0x77:  # the packed storage types i8 and i16
        storage, pos = ("8" if b == 0x78 else "16"), pos + 1
    else:
        storage, pos = _read_valtype(data, pos)
    mut = data[pos]
    if mut > 1:
        raise DecodeError("malformed mutability", pos)
    return FieldType(storage, bool(mut)), pos + 1


def _read_rec_group(data: bytes, pos: int, m: Module, count: int) -> int:
    """Read `count` subtypes as one recursion group and give each its canonical heap: a plain
    function type (one final type, no supertypes, no reference to itself) is its own FuncType,
    as in Wasm 2.0; anything else a reftypes.DefType keyed by the whole group."""
    start = len(m.types)
    _CTX.group = (start, start + count)
    subs = []
    try:
        for _ in range(count):
            final = True
            supers: tuple[object, ...] = ()
            if data[pos] in (0x50, 0x4F):
                final = data[pos] == 0x4F
                k, pos = _read_len(data, pos + 1)
                sup = []
                for _ in range(k):
                    at = pos
                    idx, pos = _read_u32(data, pos)
                    sup.append(_heap_of(idx, at))
                supers = tuple(sup)
            comp, pos = _read_comptype(data, pos)
            subs.append(reftypes.SubType(final, supers, comp))
            m.types.append(comp)  # (rewritten below when the group refers to itself)
    finally:
        _CTX.group = (0, 0)
    group = tuple(subs)
    only: Any = group[0].comp if count == 1 else None
    if count == 1 and group[0].final and not group[0].supers and only.kind == "func" \
            and not _refers_to_group(only):
        m.heaps.append(only)
        return pos
    heaps = [reftypes.DefType(group, k) for k in range(count)]
    m.heaps.extend(heaps)
    for k, sub in enumerate(group):
        m.types[start + k] = reftypes.unroll(sub.comp, heaps)
    return pos


def _refers_to_group(comp) -> bool:
    return any(isinstance(reftypes.unpack(t)[1], reftypes.RecRef)
               for t in reftypes.comp_valtypes(comp) if reftypes.is_ref(t))


def _read_import_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    for _ in range(n):
        start = pos
        module_name, pos = _read_name(data, pos)
        name, pos = _read_name(data, pos)
        kind = data[pos]
        pos += 1
        desc: object
        if kind == 0:
            desc, pos = _read_u32(data, pos)
        elif kind == 1:
            desc, pos = _read_tabletype(data, pos, st.memory64)
        elif kind == 2:
            desc, pos = _read_memtype(data, pos, st.memory64, st.threads)
        elif kind == 3:
            desc, pos = _read_globaltype(data, pos)
        elif kind == 4 and st.exceptions:
            desc, pos = _read_tagtype(data, pos)
        else:
            raise DecodeError("malformed import kind", pos - 1)
        m.imports.append(Import(module_name, name, ExternKind(kind), desc, start))
    return pos


def _read_function_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    funcs = m.funcs
    for _ in range(n):
        typeidx, pos = _read_u32(data, pos)
        funcs.append(typeidx)
    return pos


def _read_table_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    for _ in range(n):
        if data[pos] == 0x40 and _CTX.typed:  # 3.0: 0x40 0x00 tabletype expr, an initialiser
            if data[pos + 1] != 0x00:
                raise DecodeError("malformed table", pos + 1)
            table, pos = _read_tabletype(data, pos + 2, st.memory64)
            init, pos = _read_const(data, pos, st.tables)
            table = TableType(table.elem, table.limits, table.addrtype, tuple(init))
        else:
            table, pos = _read_tabletype(data, pos, st.memory64)
        m.tables.append(table)
    return pos


def _read_memory_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    for _ in range(n):
        mem, pos = _read_memtype(data, pos, st.memory64, st.threads)
        m.mems.append(mem)
    return pos


def _read_tagtype(data: bytes, pos: int) -> tuple[int, int]:
    """A tag: attribute 0 (an exception), then the type index of its parameters."""
    if data[pos] != 0x00:
        raise DecodeError("malformed tag attribute", pos)
    return _read_u32(data, pos + 1)


def _read_tag_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    for _ in range(n):
        typeidx, pos = _read_tagtype(data, pos)
        m.tags.append(typeidx)
    return pos


def _read_global_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    for _ in range(n):
        start = pos
        gtype, pos = _read_globaltype(data, pos)
        init, pos = _read_const(data, pos, st.tables)
        m.globals.append(Global(gtype, init, start))
    return pos


def _read_export_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    for _ in range(n):
        start = pos
        name, pos = _read_name(data, pos)
        kind = data[pos]
        if kind > (4 if st.exceptions else 3):
            raise DecodeError("malformed export kind", pos)
        index, pos = _read_u32(data, pos + 1)
        m.exports.append(Export(name, ExternKind(kind), index, start))
    return pos


def _read_start_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    m.start, pos = _read_u32(data, pos)
    return pos


def _read_elemkind(data: bytes, pos: int) -> tuple[str, int]:
    if data[pos] != 0x00:
        raise DecodeError("malformed element kind", pos)
    return "F", pos + 1


def _read_elem_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    for _ in range(n):
        start = pos
        flags, pos = _read_u32(data, pos)
        if flags > 7:
            raise DecodeError("malformed elements segment kind", start)
        # bit 0: passive or declarative (bit 1 tells which) / active; bit 1 (active): explicit table
        # index and element kind/type; bit 2: items are expressions instead of function indices.
        table = 0
        offset_expr = None
        if flags & 1:
            mode = SegmentMode.DECLARATIVE if flags & 2 else SegmentMode.PASSIVE
        else:
            mode = SegmentMode.ACTIVE
            if flags & 2:
                table, pos = _read_u32(data, pos)
            offset_expr, pos = _read_const(data, pos, st.tables)
        if flags & 4:
            elemtype = "F"
            if flags & 3:
                elemtype, pos = _read_reftype(data, pos)
            count, pos = _read_len(data, pos)
            items = []
            for _ in range(count):
                item, pos = _read_const(data, pos, st.tables)
                items.append(item)
        else:
            # function indices: funcref in 2.0, (ref func) in 3.0 (typed references)
            elemtype = reftypes.ref(False, "func") if _CTX.typed else "F"
            if flags & 3:
                _, pos = _read_elemkind(data, pos)
            count, pos = _read_len(data, pos)
            items = []
            for _ in range(count):
                at = pos
                funcidx, pos = _read_u32(data, pos)
                items.append([_new_instr(Instr, (REF_FUNC, funcidx, at))])
        m.elems.append(Elem(mode, elemtype, items, table, offset_expr, start))
    return pos


def _read_datacount_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    m.data_count, pos = _read_u32(data, pos)
    return pos


def _read_code_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    codes = m.codes
    for _ in range(n):
        size_at = pos
        size, pos = _read_len(data, pos)
        body_end = pos + size
        locals_at = pos
        count, pos = _read_len(data, pos)
        local_decls = []
        total = 0
        for _ in range(count):
            k, pos = _read_u32(data, pos)
            t, pos = _read_valtype(data, pos)
            local_decls.append((k, t))
            total += k
        if total > _U32_MAX:
            raise DecodeError("too many locals", locals_at)
        if total > limits.MAX_FUNCTION_LOCALS:
            raise LimitError(f"function declares {total} locals; wasmc supports at most "
                             f"{limits.MAX_FUNCTION_LOCALS}", locals_at)
        if size > limits.MAX_FUNCTION_SIZE:
            raise LimitError(f"function body of {size} bytes; wasmc supports at most "
                             f"{limits.MAX_FUNCTION_SIZE}", size_at)
        if st.lazy_bodies:  # instructions read later by read_bodies
            if pos > body_end:
                raise DecodeError("section size mismatch", body_end)
            codes.append(Code(local_decls, None, size_at, size, pos))
            pos = body_end
            continue
        instrs_at = pos
        body, pos, needs_data_count = _read_expr(data, pos, st.tables)
        if pos != body_end:
            raise DecodeError("section size mismatch", body_end)
        st.needs_data_count |= needs_data_count
        codes.append(Code(local_decls, body, size_at, size, instrs_at))
    return pos


def _read_data_section(data: bytes, pos: int, m: Module, st: _State) -> int:
    n, pos = _read_len(data, pos)
    for _ in range(n):
        start = pos
        flags, pos = _read_u32(data, pos)
        memory = 0
        offset_expr = None
        if flags == 1:
            mode = SegmentMode.PASSIVE
        elif flags == 0 or flags == 2:
            mode = SegmentMode.ACTIVE
            if flags == 2:
                memory, pos = _read_u32(data, pos)
            offset_expr, pos = _read_const(data, pos, st.tables)
        else:
            raise DecodeError("malformed data segment kind", start)
        size, pos = _read_len(data, pos)
        m.datas.append(Data(mode, _read_bytes(data, pos, size), memory, offset_expr, start))
        pos += size
    return pos


SectionReader = Callable[[bytes, int, Module, _State], int]

# section id -> (rank in the required order, reader); custom sections (id 0) may appear anywhere.
_SECTIONS: dict[int, tuple[int, SectionReader]] = {
    1: (1, _read_type_section),
    2: (2, _read_import_section),
    3: (3, _read_function_section),
    4: (4, _read_table_section),
    5: (5, _read_memory_section),
    13: (6, _read_tag_section),  # exception handling (3.0): only with that feature
    6: (7, _read_global_section),
    7: (8, _read_export_section),
    8: (9, _read_start_section),
    9: (10, _read_elem_section),
    12: (11, _read_datacount_section),
    10: (12, _read_code_section),
    11: (13, _read_data_section),
}


# --- custom sections -----------------------------------------------------------------------------

def _read_custom_section(data: bytes, pos: int, end: int, m: Module) -> None:
    if end > len(data):
        raise DecodeError(_END_OF_INPUT, len(data))
    name, payload = _read_name(data, pos)
    if payload > end:
        raise DecodeError(_END_OF_INPUT, end)
    m.custom_sections.append((name, payload, end - payload))
    if name == "name":
        _read_name_section(data[payload:end], m)


def _read_name_section(payload: bytes, m: Module) -> None:
    """The `name` section's module and function names.  It is only debug information, so a malformed
    one is ignored as a whole (spec 7.4.1) rather than making the module malformed."""
    module_name = None
    names: dict[int, str] = {}
    try:
        pos = 0
        last_id = -1
        while pos < len(payload):
            sub_id = payload[pos]
            size, pos = _read_len(payload, pos + 1)
            end = pos + size
            if sub_id <= last_id:
                return
            last_id = sub_id
            if sub_id == 0:
                module_name, pos = _read_name(payload, pos)
            elif sub_id == 1:
                n, pos = _read_len(payload, pos)
                for _ in range(n):
                    idx, pos = _read_u32(payload, pos)
                    names[idx], pos = _read_name(payload, pos)
            else:
                pos = end
            if pos != end:
                return
    except (DecodeError, IndexError):
        return
    m.module_name = module_name
    m.names = names


# --- module --------------------------------------------------------------------------------------

def decode_module(data: bytes | bytearray | memoryview, lazy_bodies: bool = False,
                  features: Features = DEFAULT_FEATURES) -> Module:
    """Decode a binary under the rules of `features` (features.py), which the module keeps for
    validation.  Raises DecodeError (spec: malformed) and nothing else.

    With `lazy_bodies`, function bodies are only delimited (their locals read, their sizes
    checked): `Code.body` stays None until `read_bodies` decodes it, so a big module's bodies can
    be decoded a partition at a time, in the processes that compile them.  Such a module keeps
    its binary (`Module.binary`).  A body error is then found only by `read_bodies`, possibly
    after errors later in the module, so callers that must report the first error in module
    order (the spec's) decode again without `lazy_bodies` when anything fails."""
    if not isinstance(data, bytes):
        data = bytes(data)
    # Millions of small tuples and no cycles: the cyclic collector would rescan them again and again
    # (it doubles decode time), so it is paused while decoding.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        m = Module(features=features)
        with _typed_context(m):
            _read_module(data, lazy_bodies, m)
    except IndexError:
        raise DecodeError(_END_OF_INPUT, len(data)) from None
    finally:
        if gc_was_enabled:
            gc.enable()
    if lazy_bodies:
        m.binary = data
    return m


def read_bodies(m: Module, indices: Iterable[int]) -> int:
    """Decode the bodies of the defined functions `indices` (positions in `m.codes`) of a module
    decoded with `lazy_bodies`, into `Code.body`; returns the number of instructions read.
    Raises DecodeError as `decode_module` would have for these bodies."""
    data = m.binary
    assert data is not None, "read_bodies needs a module decoded with lazy_bodies"
    codes = m.codes
    count = 0
    tables = tables_for(m.features)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with _typed_context(m):
            for i in indices:
                code = codes[i]
                body_end = code.offset + _leb_len(data, code.offset) + code.size
                body, pos, needs_data_count = _read_expr(data, code.body_at, tables)
                if pos != body_end:
                    raise DecodeError("section size mismatch", body_end)
                if needs_data_count and m.data_count is None:
                    raise DecodeError("data count section required", len(data))
                code.body = body
                count += len(body)
    except IndexError:
        raise DecodeError(_END_OF_INPUT, len(data)) from None
    finally:
        if gc_was_enabled:
            gc.enable()
    return count


def _leb_len(data: bytes, pos: int) -> int:
    """Bytes taken by the LEB128 number at `pos` (already checked when the section was read)."""
    n = 1
    while data[pos] & 0x80:
        pos += 1
        n += 1
    return n


def _read_module(data: bytes, lazy_bodies: bool, m: Module) -> Module:
    n = len(data)
    if n < 4:
        raise DecodeError("unexpected end", n)
    if data[:4] != MAGIC:
        raise DecodeError("magic header not detected", 0)
    if n < 8:
        raise DecodeError("unexpected end", n)
    if data[4:8] != VERSION:
        raise DecodeError("unknown binary version", 4)
    st = _State(lazy_bodies, m.features)
    pos = 8
    last_rank = 0
    while pos < n:
        section_at = pos
        section_id = data[pos]
        if section_id == 0:
            size, pos = _read_len(data, pos + 1)
            _read_custom_section(data, pos, pos + size, m)
            pos += size
            continue
        section = _SECTIONS.get(section_id)
        if section is None or (section_id == 13 and not st.exceptions):
            raise DecodeError("malformed section id", section_at)
        rank, read_section = section
        if rank <= last_rank:  # duplicate or out of order: the module ended before it
            raise DecodeError("unexpected content after last section", section_at)
        last_rank = rank
        size, pos = _read_len(data, pos + 1)
        end = pos + size
        pos = read_section(data, pos, m, st)
        if pos != end:
            raise DecodeError("section size mismatch", end)
    if len(m.funcs) != len(m.codes):
        raise DecodeError("function and code section have inconsistent lengths", n)
    if m.data_count is not None and m.data_count != len(m.datas):
        raise DecodeError("data count and data section have inconsistent lengths", n)
    if m.data_count is None and st.needs_data_count:
        raise DecodeError("data count section required", n)
    return m
