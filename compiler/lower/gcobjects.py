"""Lowering of GC's heap objects (Wasm 3.0): struct and array instructions.

Strategy: an object is a runtime allocation (runtime_c/gc.c) that starts with a 16-byte header
{canonical type id, kind (1 struct, 2 array), length} (gcrefs.OBJ_*), which casts read.
  - A struct's fields follow the header at their natural alignment (struct_layout); struct.new
    allocates and stores the fields inline, struct.get/set are one load or store after the null
    check.
  - An array's elements follow the header at their natural size (v128 elements stay 16-aligned,
    as the header is 16 bytes).  array.get/set/len are inline: the null check, then one unsigned
    compare of the index with the header's length (an array's length never changes, so its load
    is invariant).  array.new_fixed allocates and stores inline.  The instructions that move many
    elements (array.new with a value, array.fill, array.copy and the four segment instructions)
    call the runtime, where memset/memmove/memcpy do the work and the traps come in the spec's
    order; a value to repeat is passed through a 16-byte stack slot, as its bytes.
Fields and elements have their own alias class ("object"), so storing one does not make LLVM
reload linear memory, globals or runtime structures.  Every allocation is a GC point
(FunctionLowerer.gc_point): the runtime may collect before it allocates, so the references the
function holds, and those the instruction consumed, are in its root slots first.  An object whose
fields or elements may hold references (reftypes.traced) is marked so, and traced.
"""

from __future__ import annotations

import functools
from typing import Any

from ..module import packed
from ..reftypes import traced
from . import irbuild as ir
from . import types as T
from .function import HANDLERS, FunctionLowerer
from .gcrefs import HAS_REFS, KIND_STRUCT, NULL_REF, OBJ_HEADER, OBJ_LEN, i64, type_id_of
from .memory import rt_call, u32

_SIZES = {"8": 1, "16": 2, "i": 4, "f": 4, "l": 8, "d": 8, "v": 16}  # references: 8


def field_size(storage: str) -> int:
    return _SIZES.get(storage, 8)


def storage_type(storage: str) -> ir.Type:
    """The LLVM type a field or element is kept as (packed i8/i16 as themselves)."""
    if packed(storage):
        return ir.IntType(8 * field_size(storage))
    return T.LLVM_TYPE[storage]


def packed_value(fl: FunctionLowerer, storage: str, v: ir.Value) -> ir.Value:
    """A stack value as it is stored: an i32 truncated for a packed field."""
    return fl.b.trunc(v, storage_type(storage)) if packed(storage) else v


def load_object(fl: FunctionLowerer, ptr: ir.Value, storage: str, op_name: str) -> ir.Value:
    """Load a field or element, extending a packed one as `op_name` says (`_s` or `_u`)."""
    load = fl.b.load(ptr, typ=storage_type(storage), align=min(8, field_size(storage)),
                     name="field")
    load.set_metadata("tbaa", fl.ml.tbaa["object"])
    v: ir.Value = load
    if packed(storage):
        v = (fl.b.sext if op_name.endswith("_s") else fl.b.zext)(v, T.I32)
    return v


def store_object(fl: FunctionLowerer, ptr: ir.Value, storage: str, v: ir.Value) -> None:
    st = fl.b.store(packed_value(fl, storage, v), ptr, align=min(8, field_size(storage)))
    st.set_metadata("tbaa", fl.ml.tbaa["object"])


def check_null(fl: FunctionLowerer, p: ir.Value) -> None:
    fl.trap_if(fl.b.icmp_unsigned("==", p, NULL_REF), T.TRAP_NULL_REFERENCE)


# --- structs -------------------------------------------------------------------------------------
@functools.cache
def struct_layout(st) -> tuple[tuple[int, ...], int]:
    """Each field's offset in the object (natural alignment after the header), and the size."""
    offsets, at = [], OBJ_HEADER
    for f in st.fields:
        size = field_size(f.storage)
        at = (at + size - 1) // size * size
        offsets.append(at)
        at += size
    return tuple(offsets), at


def lower_struct_new(fl: FunctionLowerer, instr) -> None:
    st = fl.module.types[instr.imm]
    offsets, size = struct_layout(st)
    values = fl.popn(len(st.fields)) if instr.op.name == "struct.new" else []
    fl.gc_point(values)  # the allocation may collect ...
    fl.flush_witness(fl.b, reset=True)  # ... or trap (out of memory)
    kind = KIND_STRUCT | (HAS_REFS if any(map(traced, (f.storage for f in st.fields))) else 0)
    obj = fl.b.call(fl.ml.rt("wasmc_rt_gc_alloc"), [fl.ctx, i64(size), type_id_of(fl, instr.imm),
                                                     u32(kind)], name="struct")
    for f, off, v in zip(st.fields, offsets, values):
        store_object(fl, fl.field_ptr(obj, off), f.storage, v)
    fl.push(obj)


def struct_field(fl: FunctionLowerer, instr, p: ir.Value):
    """The field an instruction names and its address in object `p` (trapping on null)."""
    typeidx, fieldidx = instr.imm
    st = fl.module.types[typeidx]
    check_null(fl, p)
    return st.fields[fieldidx], fl.field_ptr(p, struct_layout(st)[0][fieldidx])


def lower_struct_get(fl: FunctionLowerer, instr) -> None:
    field, ptr = struct_field(fl, instr, fl.pop())
    fl.push(load_object(fl, ptr, field.storage, instr.op.name))


def lower_struct_set(fl: FunctionLowerer, instr) -> None:
    v = fl.pop()
    field, ptr = struct_field(fl, instr, fl.pop())
    store_object(fl, ptr, field.storage, v)


# --- arrays --------------------------------------------------------------------------------------
def element(fl: FunctionLowerer, typeidx: int) -> tuple[str, int]:
    """An array type's element storage type and size in bytes."""
    array: Any = fl.module.types[typeidx]
    storage = array.field.storage
    return storage, field_size(storage)


def value_slot(fl: FunctionLowerer, storage: str, v: ir.Value) -> ir.Value:
    """A pointer to a stack slot holding `v` as an element is stored (for the runtime to copy)."""
    slot = fl.alloca_at_entry(T.V128, "array.value")  # 16 bytes, 16-aligned: any element fits
    fl.b.store(packed_value(fl, storage, v), slot)
    return slot


def new_array(fl: FunctionLowerer, typeidx: int, n: ir.Value, init: ir.Value,
              keep: list[ir.Value]) -> ir.Value:
    """A new array of `n` elements, each `init`'s bytes (NULL_REF: zeros); `keep` are values the
    instruction consumed, which stay roots while it allocates."""
    storage, size = element(fl, typeidx)
    fl.gc_point(keep)
    return rt_call(fl, "wasmc_rt_array_new", [type_id_of(fl, typeidx), n, u32(size), init,
                                              u32(int(traced(storage)))])


def lower_array_new(fl: FunctionLowerer, instr) -> None:
    """array.new (every element the operand) and array.new_default (zeros): one runtime call."""
    n = fl.pop()
    if instr.op.name == "array.new":
        v = fl.pop()
        fl.push(new_array(fl, instr.imm, n, value_slot(fl, element(fl, instr.imm)[0], v), [v]))
    else:
        fl.push(new_array(fl, instr.imm, n, NULL_REF, []))


def lower_array_new_fixed(fl: FunctionLowerer, instr) -> None:
    typeidx, n = instr.imm
    storage, size = element(fl, typeidx)
    values = fl.popn(n)
    obj = new_array(fl, typeidx, u32(n), NULL_REF, values)
    for k, v in enumerate(values):
        store_object(fl, fl.field_ptr(obj, OBJ_HEADER + k * size), storage, v)
    fl.push(obj)


def lower_array_new_segment(fl: FunctionLowerer, instr) -> None:
    """array.new_data / array.new_elem: the runtime checks the segment's bounds and copies."""
    typeidx, seg = instr.imm
    n, s = fl.pop(), fl.pop()
    fl.gc_point()
    if instr.op.name == "array.new_data":
        args = [type_id_of(fl, typeidx), u32(seg), s, n, u32(element(fl, typeidx)[1])]
        fl.push(rt_call(fl, "wasmc_rt_array_new_data", args))
    else:
        fl.push(rt_call(fl, "wasmc_rt_array_new_elem", [type_id_of(fl, typeidx), u32(seg), s, n]))


def element_ptr(fl: FunctionLowerer, p: ir.Value, index: ir.Value, size: int) -> ir.Value:
    """The address of element `index` of array `p`, trapping on null or an index out of bounds."""
    check_null(fl, p)
    length = fl.load_field(p, OBJ_LEN, T.I32, "array.len", invariant=True)
    fl.trap_if(fl.b.icmp_unsigned(">=", index, length), T.TRAP_ARRAY_OOB)
    return fl.array_elem(fl.field_ptr(p, OBJ_HEADER), index, size, name="element")


def lower_array_get(fl: FunctionLowerer, instr) -> None:
    storage, size = element(fl, instr.imm)
    index = fl.pop()
    ptr = element_ptr(fl, fl.pop(), index, size)
    fl.push(load_object(fl, ptr, storage, instr.op.name))


def lower_array_set(fl: FunctionLowerer, instr) -> None:
    storage, size = element(fl, instr.imm)
    v, index = fl.pop(), fl.pop()
    store_object(fl, element_ptr(fl, fl.pop(), index, size), storage, v)


def lower_array_len(fl: FunctionLowerer, instr) -> None:
    p = fl.pop()
    check_null(fl, p)
    fl.push(fl.load_field(p, OBJ_LEN, T.I32, "array.len", invariant=True))


def lower_array_fill(fl: FunctionLowerer, instr) -> None:
    storage, size = element(fl, instr.imm)
    n, v, d, p = fl.pop(), fl.pop(), fl.pop(), fl.pop()
    rt_call(fl, "wasmc_rt_array_fill", [p, d, value_slot(fl, storage, v), n, u32(size)])


def lower_array_copy(fl: FunctionLowerer, instr) -> None:
    n, s, src, d, dst = fl.popn(5)[::-1]
    size = element(fl, instr.imm[0])[1]
    rt_call(fl, "wasmc_rt_array_copy", [dst, d, src, s, n, u32(size)])


def lower_array_init_segment(fl: FunctionLowerer, instr) -> None:
    typeidx, seg = instr.imm
    n, s, d, p = fl.pop(), fl.pop(), fl.pop(), fl.pop()
    if instr.op.name == "array.init_data":
        size = element(fl, typeidx)[1]
        rt_call(fl, "wasmc_rt_array_init_data", [p, d, u32(seg), s, n, u32(size)])
    else:
        rt_call(fl, "wasmc_rt_array_init_elem", [p, d, u32(seg), s, n])


HANDLERS.update({
    "struct.new": lower_struct_new,
    "struct.new_default": lower_struct_new,
    "struct.get": lower_struct_get,
    "struct.get_s": lower_struct_get,
    "struct.get_u": lower_struct_get,
    "struct.set": lower_struct_set,
    "array.new": lower_array_new,
    "array.new_default": lower_array_new,
    "array.new_fixed": lower_array_new_fixed,
    "array.new_data": lower_array_new_segment,
    "array.new_elem": lower_array_new_segment,
    "array.get": lower_array_get,
    "array.get_s": lower_array_get,
    "array.get_u": lower_array_get,
    "array.set": lower_array_set,
    "array.len": lower_array_len,
    "array.fill": lower_array_fill,
    "array.copy": lower_array_copy,
    "array.init_data": lower_array_init_segment,
    "array.init_elem": lower_array_init_segment,
})
