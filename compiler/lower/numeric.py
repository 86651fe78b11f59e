"""Lowering of numeric instructions: constants, integer and float arithmetic, comparisons,
conversions.

Operators that differ only in type share one handler: each handler is built from the mnemonic
`t.op` by looking `op` up in a small table of shapes (unary, binary, test, compare, convert), so
every rule is written once.  Nothing here may emit LLVM undefined behaviour where Wasm defines a
result or a trap: division checks its divisor, shifts mask their count, `rem_s` by -1 is 0, and
float-to-int conversions check NaN and range before `fptosi`/`fptoui`.
"""

from __future__ import annotations

from ..opcodes import OPS, Kind
from . import irbuild as ir
from . import types as T
from .function import HANDLERS, FunctionLowerer

WIDTH = {"i32": 32, "i64": 64}
TYPE = {"i32": T.I32, "i64": T.I64, "f32": T.F32, "f64": T.F64}


def intrinsic(fl: FunctionLowerer, name: str, ret: ir.Type, args: list[ir.Value]) -> ir.Value:
    return fl.b.call(fl.ml.intrinsic(name, ret, [a.type for a in args]), args)


def suffix(ty: ir.Type) -> str:
    return {32: "i32", 64: "i64"}[ty.width] if isinstance(ty, ir.IntType) else \
        ("f32" if ty == T.F32 else "f64")


# --- constants ----------------------------------------------------------------------------------
def lower_i32_const(fl: FunctionLowerer, instr) -> None:
    fl.stack.append(ir.Constant(T.I32, instr[1] & 0xFFFFFFFF))


def lower_i64_const(fl: FunctionLowerer, instr) -> None:
    fl.stack.append(ir.Constant(T.I64, instr[1] & 0xFFFFFFFFFFFFFFFF))


def lower_const(fl: FunctionLowerer, instr) -> None:
    t = instr.op.name[:3]
    if t in ("i32", "i64"):
        fl.push(ir.Constant(TYPE[t], instr.imm & ((1 << WIDTH[t]) - 1)))
    else:
        bits_ty = T.I32 if t == "f32" else T.I64
        # From the raw bits, so NaN payloads survive exactly.
        c = ir.Constant(bits_ty, instr.imm).bitcast(TYPE[t])
        c.wasm_bits = instr.imm  # lets float_binop recognise identity operands
        fl.push(c)


# --- integer operators --------------------------------------------------------------------------
# Operators that are one LLVM instruction: the builder method, called without the general
# handler's tests (the most common operators; a measurable share of the front end).
SIMPLE_INT_BINOP = {"add": ir.IRBuilder.add, "sub": ir.IRBuilder.sub, "mul": ir.IRBuilder.mul,
                    "and": ir.IRBuilder.and_, "or": ir.IRBuilder.or_, "xor": ir.IRBuilder.xor}
# Wasm masks a shift count (LLVM would make a count >= width poison)
SHIFT = {"shl": ir.IRBuilder.shl, "shr_s": ir.IRBuilder.ashr, "shr_u": ir.IRBuilder.lshr}


def int_binop(op: str):
    if op in SHIFT:
        shift = SHIFT[op]

        def lower_shift(fl: FunctionLowerer, instr) -> None:
            stack = fl.stack
            y = stack.pop()
            x = stack.pop()
            ty = x.type
            b = fl.b
            count: ir.Value
            if y.__class__ is ir.Constant and y.constant.__class__ is int:
                count = ir.Constant(ty, y.constant & (ty.width - 1))  # masked here, not by LLVM
            else:
                count = b.and_(y, ir.Constant(ty, ty.width - 1))
            stack.append(shift(b, x, count, instr[0].name))
        return lower_shift
    build = SIMPLE_INT_BINOP.get(op)
    if build is not None:
        def lower_simple(fl: FunctionLowerer, instr) -> None:
            stack = fl.stack
            y = stack.pop()
            x = stack.pop()
            r = build(fl.b, x, y, instr[0].name)
            if op == "add" and x.type is T.I32:
                fl.addr.i32_add(r, x, y)  # a candidate for folding into an address
            stack.append(r)
        return lower_simple

    def lower(fl: FunctionLowerer, instr) -> None:
        b = fl.b
        y = fl.pop()
        x = fl.pop()
        ty = x.type
        w = ty.width
        name = instr.op.name
        zero = ir.Constant(ty, 0)
        if op in ("div_s", "div_u", "rem_s", "rem_u"):
            fl.trap_if(b.icmp_unsigned("==", y, zero), T.TRAP_INT_DIV_BY_ZERO)
        r: ir.Value
        if op == "add":
            r = b.add(x, y, name=name)
            if w == 32:
                fl.addr.i32_add(r, x, y)  # a candidate for folding into an address
        elif op == "sub":
            r = b.sub(x, y, name=name)
        elif op == "mul":
            r = b.mul(x, y, name=name)
        elif op == "div_s":
            minus1 = ir.Constant(ty, -1)
            overflow = b.and_(b.icmp_unsigned("==", x, ir.Constant(ty, 1 << (w - 1))),
                              b.icmp_unsigned("==", y, minus1))
            fl.trap_if(overflow, T.TRAP_INT_OVERFLOW)
            r = b.sdiv(x, y, name=name)
        elif op == "div_u":
            r = b.udiv(x, y, name=name)
        elif op == "rem_s":
            # INT_MIN % -1 is 0 in Wasm but UB in LLVM: divide by 1 instead of -1 (x % 1 == 0).
            is_m1 = b.icmp_unsigned("==", y, ir.Constant(ty, -1))
            r = b.srem(x, b.select(is_m1, ir.Constant(ty, 1), y), name=name)
        elif op == "rem_u":
            r = b.urem(x, y, name=name)
        elif op == "and":
            r = b.and_(x, y, name=name)
        elif op == "or":
            r = b.or_(x, y, name=name)
        elif op == "xor":
            r = b.xor(x, y, name=name)
        elif op == "rotl":
            r = intrinsic(fl, f"llvm.fshl.{suffix(ty)}", ty, [x, x, y])
        elif op == "rotr":
            r = intrinsic(fl, f"llvm.fshr.{suffix(ty)}", ty, [x, x, y])
        else:
            raise AssertionError(op)
        fl.push(r)
    return lower


def int_unop(op: str):
    def lower(fl: FunctionLowerer, instr) -> None:
        x = fl.pop()
        ty = x.type
        s = suffix(ty)
        if op == "clz":
            r = intrinsic(fl, f"llvm.ctlz.{s}", ty, [x, ir.Constant(T.I1, 0)])
        elif op == "ctz":
            r = intrinsic(fl, f"llvm.cttz.{s}", ty, [x, ir.Constant(T.I1, 0)])
        elif op == "popcnt":
            r = intrinsic(fl, f"llvm.ctpop.{s}", ty, [x])
        else:
            raise AssertionError(op)
        fl.push(r)
    return lower


INT_PRED = {"eq": "==", "ne": "!=", "lt_s": "<", "lt_u": "<", "gt_s": ">", "gt_u": ">",
            "le_s": "<=", "le_u": "<=", "ge_s": ">=", "ge_u": ">="}


def int_relop(op: str):
    cmp = ir.IRBuilder.icmp_signed if op.endswith("_s") else ir.IRBuilder.icmp_unsigned
    pred = INT_PRED[op]

    def lower(fl: FunctionLowerer, instr) -> None:
        stack = fl.stack
        y = stack.pop()
        x = stack.pop()
        b = fl.b
        stack.append(b.zext(cmp(b, pred, x, y), T.I32, instr[0].name))
    return lower


def int_eqz(fl: FunctionLowerer, instr) -> None:
    stack = fl.stack
    x = stack.pop()
    b = fl.b
    stack.append(b.zext(b.icmp_unsigned("==", x, ir.Constant(x.type, 0)), T.I32, instr[0].name))


# --- float operators ----------------------------------------------------------------------------
def float_binop(op: str):
    def lower(fl: FunctionLowerer, instr) -> None:
        b = fl.b
        y = fl.pop()
        x = fl.pop()
        ty = x.type
        s = suffix(ty)
        name = instr.op.name
        if _identity_operand(op, x, y):
            # LLVM folds x-0, x*1, x/-1 ... to x or -x, which would pass a signalling NaN through
            # unquieted; Wasm requires an arithmetic NaN, so hide the constant from the folder.
            x, y = (opaque(fl, v) if hasattr(v, "wasm_bits") else v for v in (x, y))
        r: ir.Value
        if op == "add":
            r = b.fadd(x, y, name=name)
        elif op == "sub":
            r = b.fsub(x, y, name=name)
        elif op == "mul":
            r = b.fmul(x, y, name=name)
        elif op == "div":
            r = b.fdiv(x, y, name=name)
        elif op in ("min", "max"):
            # llvm.minimum/maximum order -0 < +0 and propagate NaN, but may return a signalling
            # NaN operand unchanged; Wasm wants an arithmetic (quiet) NaN, which fadd produces.
            m = intrinsic(fl, f"llvm.{'minimum' if op == 'min' else 'maximum'}.{s}", ty, [x, y])
            r = b.select(b.fcmp_unordered("uno", x, y), b.fadd(x, y), m, name=name)
        elif op == "copysign":
            r = intrinsic(fl, f"llvm.copysign.{s}", ty, [x, y])
        else:
            raise AssertionError(op)
        fl.push(r)
    return lower


IDENTITY_BITS = {
    "add": {0x00000000, 0x80000000, 0x8000000000000000},
    "sub": {0x00000000, 0x80000000, 0x8000000000000000},
    "mul": {0x3F800000, 0xBF800000, 0x3FF0000000000000, 0xBFF0000000000000},
    "div": {0x3F800000, 0xBF800000, 0x3FF0000000000000, 0xBFF0000000000000},
}


def opaque(fl: FunctionLowerer, v: ir.Value) -> ir.Value:
    """An optimisation barrier: the same value in a register, unknown to LLVM's folders."""
    return fl.b.asm(ir.FunctionType(v.type, [v.type]), "", "=x,0", [v], False, name="barrier")


def _identity_operand(op: str, x: ir.Value, y: ir.Value) -> bool:
    bits = IDENTITY_BITS.get(op)
    return bits is not None and any(getattr(v, "wasm_bits", None) in bits for v in (x, y))


FLOAT_UNARY_INTRINSIC = {"abs": "fabs", "ceil": "ceil", "floor": "floor", "trunc": "trunc",
                         "nearest": "roundeven", "sqrt": "sqrt"}


def float_unop(op: str):
    def lower(fl: FunctionLowerer, instr) -> None:
        x = fl.pop()
        if op == "neg":
            fl.push(fl.b.fneg(x, name=instr.op.name))
        else:
            fl.push(intrinsic(fl, f"llvm.{FLOAT_UNARY_INTRINSIC[op]}.{suffix(x.type)}", x.type,
                              [x]))
    return lower


# Wasm `ne` is true on NaN (unordered); every other comparison is false on NaN (ordered).
FLOAT_PRED = {"eq": ("==", True), "ne": ("!=", False), "lt": ("<", True), "gt": (">", True),
              "le": ("<=", True), "ge": (">=", True)}


def float_relop(op: str):
    pred, ordered = FLOAT_PRED[op]

    def lower(fl: FunctionLowerer, instr) -> None:
        y = fl.pop()
        x = fl.pop()
        cmp = fl.b.fcmp_ordered if ordered else fl.b.fcmp_unordered
        fl.push(fl.b.zext(cmp(pred, x, y), T.I32, name=instr.op.name))
    return lower


# --- conversions --------------------------------------------------------------------------------
# Exclusive float bounds (lo, hi) for a trapping truncation to be defined: lo < x < hi.
TRUNC_BOUNDS = {
    ("i32", True): (-2147483649.0, 2147483648.0),
    ("i32", False): (-1.0, 4294967296.0),
    ("i64", True): (-9223372036854777856.0, 9223372036854775808.0),
    ("i64", False): (-1.0, 18446744073709551616.0),
}


def lower_trunc(fl: FunctionLowerer, instr) -> None:
    b = fl.b
    dst = instr.op.name[:3]
    signed = instr.op.name.endswith("_s")
    x = fl.pop()
    fl.trap_if(b.fcmp_unordered("uno", x, x), T.TRAP_INVALID_CONVERSION)
    lo, hi = TRUNC_BOUNDS[(dst, signed)]
    if x.type == T.F32 and (dst, signed) == ("i64", True):
        lo = -9223373136366403584.0  # next f32 below -2^63 (f32 cannot hold -2^63 - 1)
    if x.type == T.F32 and (dst, signed) == ("i32", True):
        lo = -2147483904.0  # next f32 below -2^31
    in_range = b.and_(b.fcmp_ordered(">", x, ir.Constant(x.type, lo)),
                      b.fcmp_ordered("<", x, ir.Constant(x.type, hi)))
    fl.trap_if(b.not_(in_range), T.TRAP_INT_OVERFLOW)
    conv = b.fptosi if signed else b.fptoui
    fl.push(conv(x, TYPE[dst], name=instr.op.name))


def lower_trunc_sat(fl: FunctionLowerer, instr) -> None:
    dst = instr.op.name[:3]
    signed = instr.op.name.endswith("_s")
    x = fl.pop()
    name = f"llvm.fpto{'s' if signed else 'u'}i.sat.{dst}.{suffix(x.type)}"
    fl.push(intrinsic(fl, name, TYPE[dst], [x]))


def lower_convert_op(fl: FunctionLowerer, instr) -> None:
    name = instr.op.name
    b = fl.b
    x = fl.pop()
    dst = name[:3]
    rest = name[4:]
    if rest == "wrap_i64":
        r = b.trunc(x, T.I32, name=name)
    elif rest == "extend_i32_s":
        r = b.sext(x, T.I64, name=name)
    elif rest == "extend_i32_u":
        r = b.zext(x, T.I64, name=name)
    elif rest.startswith("convert_"):
        r = (b.sitofp if rest.endswith("_s") else b.uitofp)(x, TYPE[dst], name=name)
    elif rest == "demote_f64":
        if isinstance(x, ir.CastInstr) and x.opname == "fpext":
            x = opaque(fl, x)  # demote(promote(x)) must quieten a signalling NaN, not fold to x
        r = b.fptrunc(x, T.F32, name=name)
    elif rest == "promote_f32":
        r = b.fpext(x, T.F64, name=name)
    elif rest.startswith("reinterpret_"):
        r = b.bitcast(x, TYPE[dst], name=name)
    elif rest.startswith("extend") and rest.endswith("_s"):
        bits = int(rest[len("extend"):-2])
        r = b.sext(b.trunc(x, ir.IntType(bits)), TYPE[dst], name=name)
    else:
        raise AssertionError(name)
    fl.push(r)


def _register() -> None:
    for op in OPS:
        t, _, rest = op.name.partition(".")
        if op.kind is Kind.CONST:
            HANDLERS[op.name] = {"i32.const": lower_i32_const,
                                 "i64.const": lower_i64_const}.get(op.name, lower_const)
        elif op.kind is Kind.NUMERIC:
            params, results = str(op.sig).split(":")
            if t in ("i32", "i64"):
                if rest == "eqz":
                    HANDLERS[op.name] = int_eqz
                elif len(params) == 1:
                    HANDLERS[op.name] = int_unop(rest)
                elif results == "i" and rest in INT_PRED:
                    HANDLERS[op.name] = int_relop(rest)
                else:
                    HANDLERS[op.name] = int_binop(rest)
            else:
                if len(params) == 1:
                    HANDLERS[op.name] = float_unop(rest)
                elif rest in FLOAT_PRED:
                    HANDLERS[op.name] = float_relop(rest)
                else:
                    HANDLERS[op.name] = float_binop(rest)
        elif op.kind is Kind.CONVERT:
            if "trunc_sat" in rest:
                HANDLERS[op.name] = lower_trunc_sat
            elif rest.startswith("trunc_"):
                HANDLERS[op.name] = lower_trunc
            else:
                HANDLERS[op.name] = lower_convert_op


_register()
