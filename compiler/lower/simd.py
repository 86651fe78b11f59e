"""Lowering of the SIMD128 instructions (v128) to LLVM vector IR.

Strategy.  A v128 value is `<2 x i64>` wherever it crosses an instruction boundary (stack, locals,
globals, phis, calls, host slots); each handler bitcasts its operands to the lane shape it works on
(`<16 x i8>` ... `<2 x double>`) and its result back.  Bitcasts are free and instcombine removes the
pairs.  Operations are generic LLVM vector instructions and intrinsics (add, icmp+sext,
shufflevector, llvm.smin, llvm.uadd.sat, llvm.vector.reduce.and, ...) written in the
patterns the x86 backend selects as single SSE/AVX instructions (pavgb, packsswb, pmaddwd, pmovmskb,
roundps, ...).  Two instructions have no generic form and use SSSE3 intrinsics: `i8x16.swizzle`
(pshufb) and `i16x8.q15mulr_sat_s` (pmulhrsw), so v128 code needs an SSSE3 target (x86-64-v2).
Relaxed SIMD (Wasm 3.0) takes the answers of x86's own instructions, as wasmtime does (see there).

Wasm-vs-LLVM gaps, handled like their scalar cousins in numeric.py: float min/max (llvm.minimum plus a
quieted NaN), pmin/pmax (a plain compare and select, as the spec defines them), shift counts (taken
modulo the lane width), swizzle indices >= 16 (give 0), narrowing and q15mulr (saturating), and
constant operands that LLVM's folder would turn into identities that pass a signalling NaN through
unquieted (hidden behind `numeric.opaque`).  Loads and stores address linear memory exactly as
memory.py does (guard pages, alignment 1), and each loaded value feeds the load witness so that an
unused load still traps when out of bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..module import Instr, MemArg
from ..opcodes import BY_NAME, OPS, Kind, parse_sig
from . import irbuild as ir
from . import types as T
from .function import HANDLERS, FunctionLowerer
from .memory import effective_address
from .numeric import IDENTITY_BITS, intrinsic, opaque

I16 = ir.IntType(16)
LANE_TYPE = {"i8x16": T.I8, "i16x8": I16, "i32x4": T.I32, "i64x2": T.I64, "f32x4": T.F32,
             "f64x2": T.F64}
LANES = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}
VEC = {shape: ir.VectorType(LANE_TYPE[shape], LANES[shape]) for shape in LANES}
INT_BY_BITS = {8: T.I8, 16: I16, 32: T.I32, 64: T.I64}
SCALAR_IN = {"i8x16": T.I32, "i16x8": T.I32}  # lanes narrower than their Wasm scalar type

Lower = Callable[[FunctionLowerer, Instr], None]


# --- helpers ------------------------------------------------------------------------------------
def as_shape(fl: FunctionLowerer, v: ir.Value, shape: str) -> ir.Value:
    ty = VEC[shape]
    return v if v.type == ty else fl.b.bitcast(v, ty)


def push_v128(fl: FunctionLowerer, v: ir.Value, name: str = "") -> None:
    fl.push(v if v.type == T.V128 else fl.b.bitcast(v, T.V128, name=name))


def const_vec(ty: ir.VectorType, lanes) -> ir.Constant:
    return ir.Constant(ty, [ir.Constant(ty.element, x) for x in lanes])


def splat_const(ty: ir.VectorType, x) -> ir.Constant:
    return const_vec(ty, [x] * ty.count)


def shuffle(fl: FunctionLowerer, x: ir.Value, y: ir.Value | None, mask: list[int]) -> ir.Value:
    y = ir.Constant(x.type, ir.Undefined) if y is None else y
    return fl.b.shuffle_vector(x, y, const_vec(ir.VectorType(T.I32, len(mask)), mask))


def splat(fl: FunctionLowerer, scalar: ir.Value, ty: ir.VectorType) -> ir.Value:
    v = fl.b.insert_element(ir.Constant(ty, ir.Undefined), scalar, ir.Constant(T.I32, 0))
    return shuffle(fl, v, None, [0] * ty.count)


def vsuffix(ty: ir.VectorType) -> str:
    """Overload suffix of an intrinsic on this vector type: v16i8, v4f32, ..."""
    e = ty.element
    elem = f"i{e.width}" if isinstance(e, ir.IntType) else ("f32" if e == T.F32 else "f64")
    return f"v{ty.count}{elem}"


def call(fl: FunctionLowerer, name: str, ret: ir.Type, args: list[ir.Value]) -> ir.Value:
    """A vector intrinsic overloaded on its first argument's type: `llvm.<name>.<vNtT>`."""
    return intrinsic(fl, f"llvm.{name}.{vsuffix(args[0].type)}", ret, args)


def widened(ty: ir.VectorType, count: int | None = None) -> ir.VectorType:
    """Integer lanes twice as wide (count lanes, default the same count)."""
    return ir.VectorType(INT_BY_BITS[ty.element.width * 2], count or ty.count)


def half(fl: FunctionLowerer, x: ir.Value, high: bool) -> ir.Value:
    n = x.type.count // 2
    return shuffle(fl, x, None, list(range(n, 2 * n) if high else range(n)))


def extend(fl: FunctionLowerer, x: ir.Value, signed: bool, count: int | None = None) -> ir.Value:
    return (fl.b.sext if signed else fl.b.zext)(x, widened(x.type, count))


def store_size(ty: ir.Type) -> int:
    """Bytes an access of LLVM type `ty` touches (for explicit bounds checks)."""
    if isinstance(ty, ir.VectorType):
        return ty.count * store_size(ty.element)
    if isinstance(ty, ir.IntType):
        return ty.width // 8
    return 4 if isinstance(ty, ir.FloatType) else 8


def mem_load(fl: FunctionLowerer, instr: Instr, addr: ir.Value, memarg: MemArg, ty: ir.Type) -> ir.Value:
    size, offset = store_size(ty), memarg.offset
    ptr, covered, key, root, root_offset = effective_address(fl, addr, offset, size, facts=True,
                                                             mem=memarg.mem)
    v = fl.b.load(ptr, typ=ty, name=instr.op.name, align=1)
    v.set_metadata("tbaa", fl.ml.tbaa["memory"])
    if covered:  # proven in bounds, or checked (memory64): LLVM may delete it if unused
        pass
    elif memarg.mem:  # another memory than 0: a plain witness (address facts are memory 0's)
        fl.witness(v)
    else:  # LLVM must not delete it, and with it the out-of-bounds trap
        fl.witness(v, key, offset + size, instr=instr, root=root, root_end=root_offset + size)
    return v


def mem_store(fl: FunctionLowerer, value: ir.Value, addr: ir.Value, memarg: MemArg) -> None:
    size, offset = store_size(value.type), memarg.offset
    ptr, _, key, _, _ = effective_address(fl, addr, offset, size, facts=True, store=True,
                                          mem=memarg.mem)
    if not memarg.mem and fl.ml.mem_addrs[0] == "i" and fl.store_covers(key, offset + size):
        value = fl.b.freeze(value)  # see function.py: the covered load's trap stays with the store
    fl.b.store(value, ptr, align=1).set_metadata("tbaa", fl.ml.tbaa["memory"])


# --- constants, memory --------------------------------------------------------------------------
def lower_v128_const(fl: FunctionLowerer, instr: Any) -> None:
    bits = instr.imm
    c = const_vec(T.V128, [bits & (2**64 - 1), bits >> 64])
    c.wasm_v128 = bits  # lets float_binary recognise identity operands
    fl.push(c)


def lower_v128_load(fl: FunctionLowerer, instr: Any) -> None:
    fl.push(mem_load(fl, instr, fl.pop(), instr.imm, T.V128))


def lower_v128_store(fl: FunctionLowerer, instr: Any) -> None:
    value = fl.pop()
    mem_store(fl, value, fl.pop(), instr.imm)


def load_extend(bits: int, signed: bool) -> Lower:
    """v128.load8x8_s ...: 64 bits of narrow lanes, each extended to twice its width."""
    ty = ir.VectorType(INT_BY_BITS[bits], 64 // bits)

    def lower(fl: FunctionLowerer, instr: Any) -> None:
        v = mem_load(fl, instr, fl.pop(), instr.imm, ty)
        push_v128(fl, extend(fl, v, signed))
    return lower


def load_splat(bits: int) -> Lower:
    ty = ir.VectorType(INT_BY_BITS[bits], 128 // bits)

    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = mem_load(fl, instr, fl.pop(), instr.imm, INT_BY_BITS[bits])
        push_v128(fl, splat(fl, x, ty))
    return lower


def load_zero(bits: int) -> Lower:
    ty = ir.VectorType(INT_BY_BITS[bits], 128 // bits)

    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = mem_load(fl, instr, fl.pop(), instr.imm, INT_BY_BITS[bits])
        push_v128(fl, fl.b.insert_element(ir.Constant(ty, None), x, ir.Constant(T.I32, 0)))
    return lower


def load_lane(bits: int) -> Lower:
    ty = ir.VectorType(INT_BY_BITS[bits], 128 // bits)

    def lower(fl: FunctionLowerer, instr: Any) -> None:
        memarg, lane = instr.imm
        v = fl.b.bitcast(fl.pop(), ty)
        x = mem_load(fl, instr, fl.pop(), memarg, INT_BY_BITS[bits])
        push_v128(fl, fl.b.insert_element(v, x, ir.Constant(T.I32, lane)))
    return lower


def store_lane(bits: int) -> Lower:
    ty = ir.VectorType(INT_BY_BITS[bits], 128 // bits)

    def lower(fl: FunctionLowerer, instr: Any) -> None:
        memarg, lane = instr.imm
        v = fl.b.bitcast(fl.pop(), ty)
        mem_store(fl, fl.b.extract_element(v, ir.Constant(T.I32, lane)), fl.pop(), memarg)
    return lower


# --- lanes: splat, extract, replace, shuffle, swizzle -------------------------------------------
def lane_scalar(fl: FunctionLowerer, x: ir.Value, shape: str) -> ir.Value:
    """A Wasm scalar as a lane value (i8/i16 lanes take the low bits of an i32)."""
    return fl.b.trunc(x, LANE_TYPE[shape]) if shape in SCALAR_IN else x


def lower_splat(shape: str) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        push_v128(fl, splat(fl, lane_scalar(fl, fl.pop(), shape), VEC[shape]), instr.op.name)
    return lower


def lower_extract_lane(shape: str, signed: bool | None) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x: ir.Value = fl.b.extract_element(as_shape(fl, fl.pop(), shape),
                                           ir.Constant(T.I32, instr.imm))
        if signed is not None:
            x = (fl.b.sext if signed else fl.b.zext)(x, T.I32, name=instr.op.name)
        fl.push(x)
    return lower


def lower_replace_lane(shape: str) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = lane_scalar(fl, fl.pop(), shape)
        v = as_shape(fl, fl.pop(), shape)
        push_v128(fl, fl.b.insert_element(v, x, ir.Constant(T.I32, instr.imm)), instr.op.name)
    return lower


def lower_shuffle(fl: FunctionLowerer, instr: Any) -> None:
    y = as_shape(fl, fl.pop(), "i8x16")
    x = as_shape(fl, fl.pop(), "i8x16")
    push_v128(fl, shuffle(fl, x, y, list(instr.imm)), "i8x16.shuffle")


def lower_swizzle(fl: FunctionLowerer, instr: Any) -> None:
    """pshufb zeroes a lane whose index has bit 7 set and otherwise uses its low 4 bits; adding 0x70
    with unsigned saturation sets bit 7 exactly for indices >= 16 and keeps the low bits of the rest."""
    s = as_shape(fl, fl.pop(), "i8x16")
    a = as_shape(fl, fl.pop(), "i8x16")
    idx = call(fl, "uadd.sat", s.type, [s, splat_const(s.type, 0x70)])
    push_v128(fl, intrinsic(fl, "llvm.x86.ssse3.pshuf.b.128", s.type, [a, idx]), "i8x16.swizzle")


# --- bitwise and boolean ------------------------------------------------------------------------
def lower_not(fl: FunctionLowerer, instr: Any) -> None:
    fl.push(fl.b.not_(fl.pop(), name="v128.not"))


def lower_bitwise(op: str) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        y = fl.pop()
        x = fl.pop()
        b = fl.b
        r = {"and": b.and_, "or": b.or_, "xor": b.xor}[op](x, y) if op != "andnot" \
            else b.and_(x, b.not_(y))
        fl.push(r)
    return lower


def lower_bitselect(fl: FunctionLowerer, instr: Any) -> None:
    c = fl.pop()
    v2 = fl.pop()
    v1 = fl.pop()
    b = fl.b
    fl.push(b.or_(b.and_(v1, c), b.and_(v2, b.not_(c)), name="v128.bitselect"))


def lower_any_true(fl: FunctionLowerer, instr: Any) -> None:
    x = fl.b.bitcast(fl.pop(), ir.IntType(128))
    fl.push(fl.b.zext(fl.b.icmp_unsigned("!=", x, ir.Constant(x.type, 0)), T.I32,
                      name="v128.any_true"))


def lower_all_true(shape: str) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = as_shape(fl, fl.pop(), shape)
        nonzero = fl.b.icmp_unsigned("!=", x, ir.Constant(x.type, None))
        r = call(fl, "vector.reduce.and", T.I1, [nonzero])
        fl.push(fl.b.zext(r, T.I32, name=instr.op.name))
    return lower


def lower_bitmask(shape: str) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = as_shape(fl, fl.pop(), shape)
        neg = fl.b.icmp_signed("<", x, ir.Constant(x.type, None))
        bits = fl.b.bitcast(neg, ir.IntType(x.type.count))
        fl.push(fl.b.zext(bits, T.I32, name=instr.op.name))
    return lower


# --- integer lanes ------------------------------------------------------------------------------
def lower_shift(shape: str, op: str) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        b = fl.b
        ty = VEC[shape]
        width = ty.element.width
        count: ir.Value = b.and_(fl.pop(), ir.Constant(T.I32, width - 1))
        if width < 32:
            count = b.trunc(count, ty.element)
        elif width > 32:
            count = b.zext(count, ty.element)
        x = as_shape(fl, fl.pop(), shape)
        shift = {"shl": b.shl, "shr_s": b.ashr, "shr_u": b.lshr}[op]
        push_v128(fl, shift(x, splat(fl, count, ty)), instr.op.name)
    return lower


def _avgr_u(fl: FunctionLowerer, x: ir.Value, y: ir.Value) -> ir.Value:
    """(x + y + 1) >> 1 without overflow, in lanes twice as wide: the pattern of pavgb/pavgw."""
    b = fl.b
    wide = widened(x.type)
    one = splat_const(wide, 1)
    s = b.add(b.add(b.zext(x, wide), b.zext(y, wide)), one)
    return b.trunc(b.lshr(s, one), x.type)


def _q15mulr_sat_s(fl: FunctionLowerer, x: ir.Value, y: ir.Value) -> ir.Value:
    """pmulhrsw computes (x * y + 0x4000) >> 15 but wraps the single overflowing case
    -32768 * -32768 to -32768 (the only way to get -32768); flip it to 32767."""
    b = fl.b
    r = intrinsic(fl, "llvm.x86.ssse3.pmul.hr.sw.128", x.type, [x, y])
    overflow = b.sext(b.icmp_unsigned("==", r, splat_const(x.type, 0x8000)), x.type)
    return b.xor(r, overflow)


def _intrinsic2(name: str):
    return lambda fl, x, y: call(fl, name, x.type, [x, y])


INT_BINARY: dict[str, Callable[[FunctionLowerer, ir.Value, ir.Value], ir.Value]] = {
    "add": lambda fl, x, y: fl.b.add(x, y),
    "sub": lambda fl, x, y: fl.b.sub(x, y),
    "mul": lambda fl, x, y: fl.b.mul(x, y),
    "min_s": _intrinsic2("smin"), "min_u": _intrinsic2("umin"),
    "max_s": _intrinsic2("smax"), "max_u": _intrinsic2("umax"),
    "add_sat_s": _intrinsic2("sadd.sat"), "add_sat_u": _intrinsic2("uadd.sat"),
    "sub_sat_s": _intrinsic2("ssub.sat"), "sub_sat_u": _intrinsic2("usub.sat"),
    "avgr_u": _avgr_u,
    "q15mulr_sat_s": _q15mulr_sat_s,
}

INT_PRED = {"eq": "==", "ne": "!=", "lt_s": "<", "lt_u": "<", "gt_s": ">", "gt_u": ">",
            "le_s": "<=", "le_u": "<=", "ge_s": ">=", "ge_u": ">="}

INT_UNARY: dict[str, Callable[[FunctionLowerer, ir.Value], ir.Value]] = {
    "neg": lambda fl, x: fl.b.sub(ir.Constant(x.type, None), x),
    "abs": lambda fl, x: call(fl, "abs", x.type, [x, ir.Constant(T.I1, 0)]),
    "popcnt": lambda fl, x: call(fl, "ctpop", x.type, [x]),
}


def lower_binary(shape: str, fn) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        y = as_shape(fl, fl.pop(), shape)
        x = as_shape(fl, fl.pop(), shape)
        push_v128(fl, fn(fl, x, y), instr.op.name)
    return lower


def lower_unary(shape: str, fn) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        push_v128(fl, fn(fl, as_shape(fl, fl.pop(), shape)), instr.op.name)
    return lower


def int_compare(op: str):
    def compare(fl: FunctionLowerer, x: ir.Value, y: ir.Value) -> ir.Value:
        cmp = fl.b.icmp_signed if op.endswith("_s") else fl.b.icmp_unsigned
        return fl.b.sext(cmp(INT_PRED[op], x, y), x.type)
    return compare


def lower_narrow(src: str, signed: bool) -> Lower:
    """Both operands' lanes, saturated to the half-width range (packsswb/packuswb/...)."""
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        b = fl.b
        y = as_shape(fl, fl.pop(), src)
        x = as_shape(fl, fl.pop(), src)
        n = x.type.count
        both = shuffle(fl, x, y, list(range(2 * n)))
        bits = x.type.element.width // 2
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        clamped = call(fl, "smin", both.type, [call(fl, "smax", both.type,
                                                     [both, splat_const(both.type, lo)]),
                                               splat_const(both.type, hi)])
        push_v128(fl, b.trunc(clamped, ir.VectorType(INT_BY_BITS[bits], 2 * n)), instr.op.name)
    return lower


def lower_extend(src: str, high: bool, signed: bool) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = as_shape(fl, fl.pop(), src)
        push_v128(fl, extend(fl, half(fl, x, high), signed), instr.op.name)
    return lower


def lower_extmul(src: str, high: bool, signed: bool) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        y = as_shape(fl, fl.pop(), src)
        x = as_shape(fl, fl.pop(), src)
        wx = extend(fl, half(fl, x, high), signed)
        wy = extend(fl, half(fl, y, high), signed)
        push_v128(fl, fl.b.mul(wx, wy), instr.op.name)
    return lower


def pairwise_add(fl: FunctionLowerer, x: ir.Value) -> ir.Value:
    n = x.type.count
    evens = shuffle(fl, x, None, list(range(0, n, 2)))
    odds = shuffle(fl, x, None, list(range(1, n, 2)))
    return fl.b.add(evens, odds)


def lower_extadd_pairwise(src: str, signed: bool) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = as_shape(fl, fl.pop(), src)
        push_v128(fl, pairwise_add(fl, extend(fl, x, signed)), instr.op.name)
    return lower


def lower_dot(fl: FunctionLowerer, instr: Any) -> None:
    """i32x4.dot_i16x8_s: products of signed pairs summed (wrapping), the pattern of pmaddwd."""
    y = as_shape(fl, fl.pop(), "i16x8")
    x = as_shape(fl, fl.pop(), "i16x8")
    products = fl.b.mul(extend(fl, x, True), extend(fl, y, True))
    push_v128(fl, pairwise_add(fl, products), "i32x4.dot_i16x8_s")


# --- float lanes --------------------------------------------------------------------------------
def _hide_identity(fl: FunctionLowerer, op: str, v: ir.Value, shape: str) -> ir.Value:
    """A constant operand with a lane LLVM would fold as an identity (x+-0, x*1, -0-x ...) would let a
    signalling NaN through unquieted; Wasm wants an arithmetic NaN, so hide it from the folder."""
    bits = getattr(v, "wasm_v128", None)
    x = as_shape(fl, v, shape)
    if bits is None or op not in IDENTITY_BITS:
        return x
    width = 128 // LANES[shape]
    lanes = {(bits >> (i * width)) & ((1 << width) - 1) for i in range(128 // width)}
    return opaque(fl, x) if lanes & IDENTITY_BITS[op] else x


def _fmin_fmax(op: str):
    def lower(fl: FunctionLowerer, x: ir.Value, y: ir.Value) -> ir.Value:
        # llvm.minimum/maximum order -0 < +0 and propagate NaN, but may return a signalling NaN
        # operand unchanged; Wasm wants an arithmetic (quiet) NaN, which fadd produces.
        m = call(fl, "minimum" if op == "min" else "maximum", x.type, [x, y])
        return fl.b.select(fl.b.fcmp_unordered("uno", x, y), fl.b.fadd(x, y), m)
    return lower


FLOAT_BINARY: dict[str, Callable[[FunctionLowerer, ir.Value, ir.Value], ir.Value]] = {
    "add": lambda fl, x, y: fl.b.fadd(x, y),
    "sub": lambda fl, x, y: fl.b.fsub(x, y),
    "mul": lambda fl, x, y: fl.b.fmul(x, y),
    "div": lambda fl, x, y: fl.b.fdiv(x, y),
    "min": _fmin_fmax("min"),
    "max": _fmin_fmax("max"),
    # pmin(x, y) = y < x ? y : x and pmax(x, y) = x < y ? y : x, NaN or not (minps/maxps order)
    "pmin": lambda fl, x, y: fl.b.select(fl.b.fcmp_ordered("<", y, x), y, x),
    "pmax": lambda fl, x, y: fl.b.select(fl.b.fcmp_ordered("<", x, y), y, x),
}

FLOAT_UNARY_INTRINSIC = {"abs": "fabs", "sqrt": "sqrt", "ceil": "ceil", "floor": "floor",
                         "trunc": "trunc", "nearest": "roundeven"}

# Wasm `ne` is true on NaN (unordered); every other comparison is false on NaN (ordered).
FLOAT_PRED = {"eq": ("==", True), "ne": ("!=", False), "lt": ("<", True), "gt": (">", True),
              "le": ("<=", True), "ge": (">=", True)}


def lower_float_binary(shape: str, op: str) -> Lower:
    fn = FLOAT_BINARY[op]

    def lower(fl: FunctionLowerer, instr: Any) -> None:
        y = _hide_identity(fl, op, fl.pop(), shape)
        x = _hide_identity(fl, op, fl.pop(), shape)
        push_v128(fl, fn(fl, x, y), instr.op.name)
    return lower


def lower_float_unary(shape: str, op: str) -> Lower:
    def unary(fl: FunctionLowerer, x: ir.Value) -> ir.Value:
        if op == "neg":
            return fl.b.fneg(x)
        return call(fl, FLOAT_UNARY_INTRINSIC[op], x.type, [x])
    return lower_unary(shape, unary)


def float_compare(op: str):
    pred, ordered = FLOAT_PRED[op]

    def compare(fl: FunctionLowerer, x: ir.Value, y: ir.Value) -> ir.Value:
        cmp = fl.b.fcmp_ordered if ordered else fl.b.fcmp_unordered
        mask_ty = ir.VectorType(INT_BY_BITS[128 // x.type.count], x.type.count)
        return fl.b.sext(cmp(pred, x, y), mask_ty)
    return compare


# --- conversions --------------------------------------------------------------------------------
def lower_convert_i32x4(signed: bool) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = as_shape(fl, fl.pop(), "i32x4")
        push_v128(fl, (fl.b.sitofp if signed else fl.b.uitofp)(x, VEC["f32x4"]), instr.op.name)
    return lower


def lower_convert_low(signed: bool) -> Lower:
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        x = half(fl, as_shape(fl, fl.pop(), "i32x4"), high=False)
        push_v128(fl, (fl.b.sitofp if signed else fl.b.uitofp)(x, VEC["f64x2"]), instr.op.name)
    return lower


def fselect(fl: FunctionLowerer, pred: str, x: ir.Value, c: float, then: ir.Value | float,
            other: ir.Value) -> ir.Value:
    """select(x <pred> splat(c) (ordered), then, other): the shape maxps/minps/cmpps+blend match."""
    ty = x.type
    then = splat_const(ty, then) if isinstance(then, float) else then
    return fl.b.select(fl.b.fcmp_ordered(pred, x, splat_const(ty, c)), then, other)


def lower_trunc_sat_f32x4(signed: bool) -> Lower:
    """cvttps2dq gives 0x80000000 for NaN and out-of-range lanes; the selects around it make that
    0 for NaN and the right bound otherwise (llvm.fptosi.sat would be scalarised)."""
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        b = fl.b
        i32x4 = VEC["i32x4"]
        x = as_shape(fl, fl.pop(), "f32x4")

        def cvtt(v: ir.Value) -> ir.Value:
            return intrinsic(fl, "llvm.x86.sse2.cvttps2dq", i32x4, [v])
        if signed:
            r = cvtt(x)
            r = b.select(b.fcmp_ordered(">=", x, splat_const(x.type, 2.0**31)),
                         splat_const(i32x4, 2**31 - 1), r)
            r = b.select(b.fcmp_unordered("uno", x, x), ir.Constant(i32x4, None), r)
        else:
            x = fselect(fl, ">", x, 0.0, x, ir.Constant(x.type, None))  # NaN, negatives -> 0
            big = b.fcmp_ordered(">=", x, splat_const(x.type, 2.0**31))
            # [2^31, 2^32) converts as x - 2^31 (exact) with the top bit put back
            r = cvtt(b.select(big, b.fsub(x, splat_const(x.type, 2.0**31)), x))
            r = b.or_(r, b.and_(b.sext(big, i32x4), splat_const(i32x4, 2**31)))
            r = b.or_(r, b.sext(b.fcmp_ordered(">=", x, splat_const(x.type, 2.0**32)), i32x4))
        push_v128(fl, r, instr.op.name)
    return lower


def lower_trunc_sat_f64x2_zero(signed: bool) -> Lower:
    """Clamp (NaN -> 0) to the i32/u32 range, then convert: signed with cvttpd2dq (fptosi on
    in-range lanes), unsigned by truncating and adding 2^52, which leaves the integer in the low 32
    bits of each double.  Lanes 2-3 are zero."""
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        b = fl.b
        x = as_shape(fl, fl.pop(), "f64x2")
        zero2 = ir.Constant(ir.VectorType(T.I32, 2), None)
        if signed:
            x = b.select(b.fcmp_ordered("ord", x, x), x, ir.Constant(x.type, None))
            x = fselect(fl, "<", x, -2.0**31, -2.0**31, x)
            x = fselect(fl, ">", x, 2.0**31 - 1, 2.0**31 - 1, x)
            r = shuffle(fl, b.fptosi(x, zero2.type), zero2, [0, 1, 2, 3])
        else:
            x = fselect(fl, ">", x, 0.0, x, ir.Constant(x.type, None))
            x = fselect(fl, ">", x, 2.0**32 - 1, 2.0**32 - 1, x)
            t = b.fadd(call(fl, "trunc", x.type, [x]), splat_const(x.type, 2.0**52))
            r = shuffle(fl, b.bitcast(t, VEC["i32x4"]), ir.Constant(VEC["i32x4"], None),
                        [0, 2, 4, 5])
        push_v128(fl, r, instr.op.name)
    return lower


def lower_demote(fl: FunctionLowerer, instr: Any) -> None:
    x = as_shape(fl, fl.pop(), "f64x2")
    lo = fl.b.fptrunc(x, ir.VectorType(T.F32, 2))
    push_v128(fl, shuffle(fl, lo, ir.Constant(lo.type, None), [0, 1, 2, 3]), instr.op.name)


def lower_promote(fl: FunctionLowerer, instr: Any) -> None:
    x = half(fl, as_shape(fl, fl.pop(), "f32x4"), high=False)
    push_v128(fl, fl.b.fpext(x, VEC["f64x2"]), instr.op.name)


# --- relaxed SIMD (Wasm 3.0) ----------------------------------------------------------------------
# Each relaxed instruction may give any of the results its spec lists; wasmc gives the ones x86's
# own instructions give, as wasmtime does on x86-64 (measured: tests/test_simd_differential.py
# compares every one with it), so a program sees the same answers under both and each instruction
# is the single native one it was meant to be: pshufb for swizzle (an index with bit 7 set gives 0,
# any other is taken modulo 16), cvttps2dq/cvttpd2dq for the signed truncations (0x80000000 for
# NaN and overflow), blendv for laneselect (the mask lane's top bit picks; i16x8 has no blend and
# keeps bitselect), minps/maxps for min/max (pmin/pmax's operand order), pmulhrsw for q15mulr
# (-32768 * -32768 wraps) and pmaddubsw for the dot products (second operand unsigned, sums
# saturating).  madd/nmadd are llvm.fmuladd: fused when the target has FMA, as wasmtime does on
# such hosts.  The unsigned truncations have no x86 instruction: they saturate (trunc_sat).
RELAXED_AS = {
    "i32x4.relaxed_trunc_f32x4_u": "i32x4.trunc_sat_f32x4_u",
    "i32x4.relaxed_trunc_f64x2_u_zero": "i32x4.trunc_sat_f64x2_u_zero",
    "i16x8.relaxed_laneselect": "v128.bitselect",
    "f32x4.relaxed_min": "f32x4.pmin", "f32x4.relaxed_max": "f32x4.pmax",
    "f64x2.relaxed_min": "f64x2.pmin", "f64x2.relaxed_max": "f64x2.pmax",
}


def lower_relaxed_x86(name: str, shape: str, result: str, intrinsic_name: str) -> Lower:
    """A relaxed instruction that is one x86 intrinsic on its operands (as `shape`)."""
    n = len(parse_sig(BY_NAME[name].sig or "")[0])

    def lower(fl: FunctionLowerer, instr: Any) -> None:
        args = [as_shape(fl, fl.pop(), shape) for _ in range(n)][::-1]
        push_v128(fl, intrinsic(fl, intrinsic_name, VEC[result], args), name)
    return lower


def lower_relaxed_laneselect(shape: str) -> Lower:
    """The lane of the first operand where the mask lane's top bit is set, else the second's."""
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        m = as_shape(fl, fl.pop(), shape)
        y = as_shape(fl, fl.pop(), shape)
        x = as_shape(fl, fl.pop(), shape)
        top = fl.b.icmp_signed("<", m, ir.Constant(m.type, None))
        push_v128(fl, fl.b.select(top, x, y), instr.op.name)
    return lower


def lower_relaxed_madd(shape: str, negate: bool) -> Lower:
    """f32x4/f64x2.relaxed_madd: a * b + c, fused or not; nmadd: -(a * b) + c."""
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        c = as_shape(fl, fl.pop(), shape)
        y = as_shape(fl, fl.pop(), shape)
        x = as_shape(fl, fl.pop(), shape)
        if negate:
            x = fl.b.fneg(x)
        name = f"llvm.fmuladd.v{LANES[shape]}{'f32' if shape == 'f32x4' else 'f64'}"
        push_v128(fl, intrinsic(fl, name, VEC[shape], [x, y, c]), instr.op.name)
    return lower


def lower_relaxed_dot(add: bool) -> Lower:
    """i16x8.relaxed_dot_i8x16_i7x16_s: pmaddubsw with the second operand as its unsigned one;
    the `_add` form then sums adjacent i16 lanes into i32 (pmaddwd by ones) and adds the third."""
    def lower(fl: FunctionLowerer, instr: Any) -> None:
        c = as_shape(fl, fl.pop(), "i32x4") if add else None
        y = as_shape(fl, fl.pop(), "i8x16")
        x = as_shape(fl, fl.pop(), "i8x16")
        d = intrinsic(fl, "llvm.x86.ssse3.pmadd.ub.sw.128", VEC["i16x8"], [y, x])
        if c is not None:
            d = fl.b.add(pairwise_add(fl, extend(fl, d, True)), c)
        push_v128(fl, d, instr.op.name)
    return lower


# --- registration -------------------------------------------------------------------------------
def _handlers() -> dict[str, Lower]:
    h: dict[str, Lower] = {
        "v128.const": lower_v128_const,
        "v128.load": lower_v128_load,
        "v128.store": lower_v128_store,
        "i8x16.shuffle": lower_shuffle,
        "i8x16.swizzle": lower_swizzle,
        "v128.not": lower_not,
        "v128.bitselect": lower_bitselect,
        "v128.any_true": lower_any_true,
        "i32x4.dot_i16x8_s": lower_dot,
        "f32x4.demote_f64x2_zero": lower_demote,
        "f64x2.promote_low_f32x4": lower_promote,
    }
    for op in ("and", "andnot", "or", "xor"):
        h[f"v128.{op}"] = lower_bitwise(op)
    for bits in (8, 16, 32, 64):
        h[f"v128.load{bits}_splat"] = load_splat(bits)
        h[f"v128.load{bits}_lane"] = load_lane(bits)
        h[f"v128.store{bits}_lane"] = store_lane(bits)
    for bits in (32, 64):
        h[f"v128.load{bits}_zero"] = load_zero(bits)
    for bits in (8, 16, 32):
        for sign in "su":
            h[f"v128.load{bits}x{64 // bits}_{sign}"] = load_extend(bits, sign == "s")
    for shape in LANES:
        h[f"{shape}.splat"] = lower_splat(shape)
        h[f"{shape}.replace_lane"] = lower_replace_lane(shape)
        if shape in SCALAR_IN:
            h[f"{shape}.extract_lane_s"] = lower_extract_lane(shape, True)
            h[f"{shape}.extract_lane_u"] = lower_extract_lane(shape, False)
        else:
            h[f"{shape}.extract_lane"] = lower_extract_lane(shape, None)
        if shape[0] == "i":
            h[f"{shape}.all_true"] = lower_all_true(shape)
            h[f"{shape}.bitmask"] = lower_bitmask(shape)
            for op in ("shl", "shr_s", "shr_u"):
                h[f"{shape}.{op}"] = lower_shift(shape, op)
            for op, fn in INT_BINARY.items():
                h[f"{shape}.{op}"] = lower_binary(shape, fn)
            for op in INT_PRED:
                h[f"{shape}.{op}"] = lower_binary(shape, int_compare(op))
            for op, fn1 in INT_UNARY.items():
                h[f"{shape}.{op}"] = lower_unary(shape, fn1)
        else:
            for op in FLOAT_BINARY:
                h[f"{shape}.{op}"] = lower_float_binary(shape, op)
            for op in FLOAT_PRED:
                h[f"{shape}.{op}"] = lower_binary(shape, float_compare(op))
            for op in ("neg", *FLOAT_UNARY_INTRINSIC):
                h[f"{shape}.{op}"] = lower_float_unary(shape, op)
    for dst, src in (("i16x8", "i8x16"), ("i32x4", "i16x8"), ("i64x2", "i32x4")):
        for sign in "su":
            signed = sign == "s"
            h[f"{dst}.extadd_pairwise_{src}_{sign}"] = lower_extadd_pairwise(src, signed)
            for part in ("low", "high"):
                h[f"{dst}.extend_{part}_{src}_{sign}"] = lower_extend(src, part == "high", signed)
                h[f"{dst}.extmul_{part}_{src}_{sign}"] = lower_extmul(src, part == "high", signed)
    for sign in "su":
        signed = sign == "s"
        h[f"i8x16.narrow_i16x8_{sign}"] = lower_narrow("i16x8", signed)
        h[f"i16x8.narrow_i32x4_{sign}"] = lower_narrow("i32x4", signed)
        h[f"i32x4.trunc_sat_f32x4_{sign}"] = lower_trunc_sat_f32x4(signed)
        h[f"i32x4.trunc_sat_f64x2_{sign}_zero"] = lower_trunc_sat_f64x2_zero(signed)
        h[f"f32x4.convert_i32x4_{sign}"] = lower_convert_i32x4(signed)
        h[f"f64x2.convert_low_i32x4_{sign}"] = lower_convert_low(signed)
    for relaxed, plain in RELAXED_AS.items():
        h[relaxed] = h[plain]
    for name, shape, result, x86 in [
        ("i8x16.relaxed_swizzle", "i8x16", "i8x16", "llvm.x86.ssse3.pshuf.b.128"),
        ("i32x4.relaxed_trunc_f32x4_s", "f32x4", "i32x4", "llvm.x86.sse2.cvttps2dq"),
        ("i32x4.relaxed_trunc_f64x2_s_zero", "f64x2", "i32x4", "llvm.x86.sse2.cvttpd2dq"),
        ("i16x8.relaxed_q15mulr_s", "i16x8", "i16x8", "llvm.x86.ssse3.pmul.hr.sw.128"),
    ]:
        h[name] = lower_relaxed_x86(name, shape, result, x86)
    for shape in ("i8x16", "i32x4", "i64x2"):
        h[f"{shape}.relaxed_laneselect"] = lower_relaxed_laneselect(shape)
    for shape in ("f32x4", "f64x2"):
        h[f"{shape}.relaxed_madd"] = lower_relaxed_madd(shape, False)
        h[f"{shape}.relaxed_nmadd"] = lower_relaxed_madd(shape, True)
    h["i16x8.relaxed_dot_i8x16_i7x16_s"] = lower_relaxed_dot(False)
    h["i32x4.relaxed_dot_i8x16_i7x16_add_s"] = lower_relaxed_dot(True)
    return h


def _register() -> None:
    handlers = _handlers()
    for op in OPS:
        if op.kind is Kind.VECTOR:
            HANDLERS[op.name] = handlers[op.name]


_register()
