"""Lowering of GC's reference instructions that need no heap objects (Wasm 3.0): i31, `ref.eq`,
`ref.test` / `ref.cast` / `br_on_cast(_fail)`, `any.convert_extern` / `extern.convert_any`.

Strategy: every reference is a 64-bit word, told apart by its low bits without a load.
  - an i31 is `(v << 1) | 1` (odd), so `ref.eq` compares words and i31s compare by value;
  - a host reference inside `any` (any.convert_extern) is `(e << 2) | 2`, where e is the
    externref's own word (a host value below 2^62), so it is neither an i31 nor an object;
  - an `any` made an externref (extern.convert_any of an i31) keeps its word with bit 63 set,
    which no host value has, so converting back restores it exactly;
  - funcrefs, exnrefs and GC objects are aligned pointers; an object starts with a 16-byte
    header {canonical type id, kind (1 struct, 2 array), length} (gcobjects.py builds them).
A cast to a defined function or object type compares the canonical type id in the value's funcref
record or header, through the runtime's record of declared subtypes (wasmc_rt_type_sub); a cast
to `struct` or `array` compares the header's kind.  No non-null value is a `none`.
"""

from __future__ import annotations

from .. import reftypes
from . import irbuild as ir
from . import types as T
from .function import HANDLERS, FunctionLowerer

NULL_REF = ir.Constant(T.PTR, None)
_BIT63 = 1 << 63


def i64(v: int) -> ir.Constant:
    return ir.Constant(T.I64, v & (2**64 - 1))


def word(fl: FunctionLowerer, p: ir.Value) -> ir.Value:
    return fl.b.ptrtoint(p, T.I64)


def ref(fl: FunctionLowerer, w: ir.Value) -> ir.Value:
    return fl.b.inttoptr(w, T.PTR)


def lower_ref_i31(fl: FunctionLowerer, instr) -> None:
    v = fl.b.zext(fl.b.and_(fl.pop(), ir.Constant(T.I32, 0x7FFFFFFF)), T.I64)
    fl.push(ref(fl, fl.b.or_(fl.b.shl(v, i64(1)), i64(1), name="i31")))


def lower_i31_get(fl: FunctionLowerer, instr) -> None:
    p = fl.pop()
    fl.trap_if(fl.b.icmp_unsigned("==", p, NULL_REF), T.TRAP_NULL_REFERENCE)
    v = fl.b.trunc(fl.b.lshr(word(fl, p), i64(1)), T.I32)
    if instr.op.name == "i31.get_s":  # sign-extend from 31 bits
        fl.push(fl.b.ashr(fl.b.shl(v, ir.Constant(T.I32, 1)), ir.Constant(T.I32, 1)))
    else:
        fl.push(fl.b.and_(v, ir.Constant(T.I32, 0x7FFFFFFF)))


def lower_ref_eq(fl: FunctionLowerer, instr) -> None:
    b, a = fl.pop(), fl.pop()
    fl.push(fl.b.zext(fl.b.icmp_unsigned("==", a, b), T.I32, name="ref.eq"))


def lower_any_convert_extern(fl: FunctionLowerer, instr) -> None:
    e = word(fl, fl.pop())
    back = fl.b.icmp_unsigned("!=", fl.b.and_(e, i64(_BIT63)), i64(0))  # an `any` made extern
    inner = fl.b.select(back, fl.b.and_(e, i64(_BIT63 - 1)), fl.b.or_(fl.b.shl(e, i64(2)), i64(2)))
    null = fl.b.icmp_unsigned("==", e, i64(0))
    fl.push(ref(fl, fl.b.select(null, i64(0), inner, name="any")))


def lower_extern_convert_any(fl: FunctionLowerer, instr) -> None:
    a = word(fl, fl.pop())
    host = fl.b.icmp_unsigned("==", fl.b.and_(a, i64(3)), i64(2))  # a host value made `any`
    outer = fl.b.select(host, fl.b.lshr(a, i64(2)), fl.b.or_(a, i64(_BIT63)))
    null = fl.b.icmp_unsigned("==", a, i64(0))
    fl.push(ref(fl, fl.b.select(null, i64(0), outer, name="extern")))


# An object's header (wasmc_object in runtime_c/wasmc_rt.h); its fields or elements follow it.
OBJ_TYPE_ID, OBJ_KIND, OBJ_LEN, OBJ_HEADER = 0, 4, 8, 16
KIND_STRUCT, KIND_ARRAY = 1, 2
HAS_REFS = 0x100  # or'ed into wasmc_rt_gc_alloc's kind: the collector traces the fields
_KINDS = {"struct": KIND_STRUCT, "array": KIND_ARRAY}


def type_id_of(fl: FunctionLowerer, typeidx: int) -> ir.Value:
    return fl.load_rt(fl.array_elem(fl.type_ids(), typeidx, 4), T.I32, "type_id", invariant=True)


def test(fl: FunctionLowerer, p: ir.Value, rt: str) -> ir.Value:
    """An i1: whether reference `p` is of reference type `rt`."""
    nullable, heap = reftypes.unpack(rt)
    null = fl.b.icmp_unsigned("==", p, NULL_REF)
    if_null = ir.Constant(T.I1, int(nullable))
    if isinstance(heap, str):
        if heap in ("any", "func", "extern", "exn"):  # a top: any non-null value of the hierarchy
            return fl.b.select(null, if_null, ir.Constant(T.I1, 1))
        low = fl.b.and_(word(fl, p), i64(3))
        if heap == "eq":  # an i31 or an object: not a host value made `any`
            return fl.b.select(null, if_null, fl.b.icmp_unsigned("!=", low, i64(2)))
        if heap == "i31":
            odd = fl.b.icmp_unsigned("!=", fl.b.and_(low, i64(1)), i64(0))
            return fl.b.select(null, if_null, odd)
        if heap not in ("struct", "array"):
            return fl.b.select(null, if_null, ir.Constant(T.I1, 0))  # the bottoms
    # The rest read the value's header: a funcref record's type id, an object's kind and id.
    is_func = not isinstance(heap, str) and reftypes.kind_of(heap) == "func"
    # from the start: null (nullable decides) or, for objects, a value with no header (false)
    from_start = if_null if is_func else fl.b.select(null, if_null, ir.Constant(T.I1, 0))
    start = fl.b.block
    check = fl.fn.append_basic_block("cast.check")
    done = fl.fn.append_basic_block("cast.done")
    if is_func:
        fl.b.cbranch(null, done, check)
    else:  # only an object (low bits 00) has a header to read
        obj = fl.b.icmp_unsigned("==", fl.b.and_(word(fl, p), i64(3)), i64(0))
        fl.b.cbranch(fl.b.and_(obj, fl.b.icmp_unsigned("!=", p, NULL_REF)), check, done)
    fl.b.position_at_end(check)
    if isinstance(heap, str):  # struct or array: the header's kind
        kind = fl.load_field(p, OBJ_KIND, T.I32, "kind")
        ok = fl.b.icmp_unsigned("==", kind, ir.Constant(T.I32, _KINDS[heap]))
    else:
        field = T.FUNCREF_TYPE_ID if is_func else OBJ_TYPE_ID
        actual = fl.load_field(p, field, T.I32, "actual_type")
        sub = fl.b.call(fl.ml.rt("wasmc_rt_type_sub"),
                        [actual, type_id_of(fl, fl.module.first_type_index(heap))],
                        name="subtype")
        ok = fl.b.icmp_unsigned("!=", sub, ir.Constant(T.I32, 0))
    fl.b.branch(done)
    fl.b.position_at_end(done)
    phi = fl.b.phi(T.I1, name="cast")
    phi.add_incoming(from_start, start)
    phi.add_incoming(ok, check)
    return phi


def target_of(instr) -> str:
    return reftypes.ref(instr.op.name.endswith(".null"), instr.imm)


def lower_ref_test(fl: FunctionLowerer, instr) -> None:
    fl.push(fl.b.zext(test(fl, fl.pop(), target_of(instr)), T.I32, name="ref.test"))


def lower_ref_cast(fl: FunctionLowerer, instr) -> None:
    p = fl.stack[-1]
    ok = test(fl, p, target_of(instr))
    fl.trap_if(fl.b.icmp_unsigned("==", ok, ir.Constant(T.I1, 0)), T.TRAP_CAST)


def lower_br_on_cast(fl: FunctionLowerer, instr) -> None:
    """Branch with the reference when the cast to rt2 succeeds (br_on_cast) or fails
    (br_on_cast_fail); otherwise keep it."""
    label, _, rt2 = instr.imm
    ok = test(fl, fl.stack[-1], rt2)
    frame = fl.frames[-1 - label]
    cont = fl.fn.append_basic_block(f"{instr.op.name}.cont")
    fl.add_edge(frame, fl.stack[len(fl.stack) - len(frame.branch_types):])
    if instr.op.name == "br_on_cast":
        fl.b.cbranch(ok, frame.target, cont)
    else:
        fl.b.cbranch(ok, cont, frame.target)
    fl.b.position_at_end(cont)


HANDLERS.update({
    "ref.i31": lower_ref_i31,
    "i31.get_s": lower_i31_get,
    "i31.get_u": lower_i31_get,
    "ref.eq": lower_ref_eq,
    "any.convert_extern": lower_any_convert_extern,
    "extern.convert_any": lower_extern_convert_any,
    "ref.test": lower_ref_test,
    "ref.test.null": lower_ref_test,
    "ref.cast": lower_ref_cast,
    "ref.cast.null": lower_ref_cast,
    "br_on_cast": lower_br_on_cast,
    "br_on_cast_fail": lower_br_on_cast,
})
