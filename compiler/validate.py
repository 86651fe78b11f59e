"""Validation of a decoded module (spec section 3: Wasm 2.0 including SIMD128, and the parts of 3.0
that `features.py` lists).

Function bodies follow the spec appendix's algorithm and its names: a value stack of type letters
(`UNKNOWN` for the polymorphic stack of unreachable code) and a control stack of `Frame`s, with
`push_val`, `pop_val`, `push_ctrl`, `pop_ctrl`, `label_types` and `unreachable`.  Instructions whose
typing is a fixed stack signature in the opcode table are checked from `Op.sig` in one inlined step
(fast path: compare the stack's top slice with the parameter letters); every other instruction, and
those needing checks on their immediates, goes to a handler in `HANDLERS` keyed by mnemonic.  The
walk is one linear pass per body with no per-instruction allocation beyond the value stack.

Module-level rules (limits, constant expressions, segments, start, exports) are checked in module
order, in three steps (`check_declarations`, `check_bodies`, `check_start_and_exports`) so that a big
module's bodies can be checked a partition at a time in the processes that compile them.  Messages
use the spec test suite's wording; indices are appended ("unknown memory 0") because the suite
matches message prefixes.  Constant expressions outside functions (global initialisers,
segment offsets and items) may only `global.get` imported immutable globals under Wasm 2.0's rules;
with Wasm 3.0's extended constant expressions (`Module.features`) they may also read earlier defined
globals and do integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import limits, reftypes
from .errors import LimitError, ValidationError
from .features import EXTENDED_CONST, FUNCTION_REFERENCES, GC_REFS, MULTI_MEMORY
from .module import (
    PACKED,
    ExternKind,
    FuncType,
    GlobalType,
    Instr,
    Limits,
    MemType,
    Module,
    SegmentMode,
    TableType,
    packed,
)
from .opcodes import OPS, Imm, Kind, Op, parse_sig

UNKNOWN = "?"  # the spec's Unknown: a value of any type on the polymorphic stack
NUM_OR_UNKNOWN = "ilfd?"
VEC_OR_UNKNOWN = "v?"

MAX_PAGES = 65536
MAX_PAGES_64 = 2**48  # memory64: 2^64 bytes
MAX_OFFSET = 2**32 - 1  # a memarg's offset into a 32-bit memory
MAX_TABLE = 2**32 - 1

# mnemonic -> (param letters as a list, result letters as a list) for every row with a signature
SIGS: dict[str, tuple[list[str], list[str]]] = {}
for _op in OPS:
    if _op.sig is not None:
        _p, _r = parse_sig(_op.sig)
        SIGS[_op.name] = (list(_p), list(_r))

CONST_OPS = frozenset({"i32.const", "i64.const", "f32.const", "f64.const", "v128.const",
                       "ref.null", "ref.func", "global.get"})
# Wasm 3.0's extended constant expressions add integer arithmetic (features.EXTENDED_CONST).
EXTENDED_CONST_OPS = CONST_OPS | {"i32.add", "i32.sub", "i32.mul", "i64.add", "i64.sub", "i64.mul"}
# GC's constant instructions (features.GC_REFS), typed as in bodies.
GC_CONST_OPS = frozenset({"ref.i31", "any.convert_extern", "extern.convert_any", "struct.new",
                          "struct.new_default", "array.new", "array.new_default",
                          "array.new_fixed"})
# operand and result of the single-operand ones (a conversion's result heap type, nullability kept)
GC_CONST_TYPES = {"ref.i31": ("i", reftypes.ref(False, "i31")),
                  "any.convert_extern": (reftypes.ref(True, "extern"), "any"),
                  "extern.convert_any": (reftypes.ref(True, "any"), "extern")}


class Frame:
    """A control frame (spec appendix `ctrl_frame`)."""

    __slots__ = ("end_types", "height", "init_height", "opcode", "start_types", "unreachable")

    def __init__(self, opcode: str, start_types: str, end_types: str, height: int,
                 init_height: int = 0):
        self.opcode = opcode
        self.start_types = start_types
        self.end_types = end_types
        self.height = height
        self.init_height = init_height  # locals set inside the block are forgotten at its end
        self.unreachable = False


class Context:
    """The spec's validation context C for one module (index spaces as flat lists)."""

    __slots__ = ("datas", "elems", "func_heaps", "funcs", "globals", "heaps", "mems", "refs",
                 "table_addrs", "tables", "tags", "typed", "types")

    def __init__(self, m: Module):
        self.types: list[FuncType] = m.types
        self.funcs: list[FuncType] = []  # filled by check_module once type indices are checked
        self.func_heaps: list = []  # likewise: each function's type as a heap type (ref.func)
        self.heaps = [m.heap(i) for i in range(len(m.types))]  # Module.heaps
        self.tags: list[FuncType] = []  # likewise (exception handling)
        self.typed = FUNCTION_REFERENCES in m.features  # ref.func gives (ref $t), not funcref
        self.tables = [t.elem for t in m.table_types()]
        # address types, one letter per table and memory: "i" (i32) or "l" (i64, memory64)
        self.table_addrs = "".join(t.addrtype for t in m.table_types())
        self.mems = "".join(t.addrtype for t in m.mem_types())
        self.globals: list[GlobalType] = m.global_types()
        self.elems = [e.elemtype for e in m.elems]
        self.datas = m.data_count if m.data_count is not None else len(m.datas)
        self.refs: set[int] = set()

    def func_ref(self, funcidx: int) -> str:
        """The type of `ref.func` of function `funcidx`."""
        return reftypes.ref(False, self.func_heaps[funcidx]) if self.typed else "F"


class FuncValidator:
    """Operand and control stacks for one function body."""

    __slots__ = ("ctrls", "ctx", "fast_locals", "func", "init_log", "inits", "ins", "locals",
                 "results", "vals")

    def __init__(self, ctx: Context, funcidx: int, ftype: FuncType, local_types: str):
        self.ctx = ctx
        self.func = funcidx
        self.locals = ftype.params + local_types
        self.results = ftype.results
        self.vals: list[str] = []
        self.ctrls: list[Frame] = []
        self.ins: Instr | None = None
        # Wasm 3.0: a local of a non-null reference type has no default, so it must be set before
        # it is read, in the same or an enclosing block (the spec's local initialisation).  Locals
        # below `fast_locals` need no tracking (check_body's inlined local.get/set).
        self.inits: set[int] = set()
        self.init_log: list[int] = []
        self.fast_locals = len(self.locals)
        for k in range(len(ftype.params), len(self.locals)):
            if not reftypes.defaultable(self.locals[k]):
                self.fast_locals = k
                break

    # --- errors ---
    def error(self, message: str) -> ValidationError:
        ins = self.ins
        if ins is None:
            return ValidationError(message, None, func=self.func)
        return ValidationError(message, ins.offset, func=self.func, instr=ins.op.name)

    # --- the spec appendix's primitives ---
    def push_val(self, t: str) -> None:
        self.vals.append(t)

    def stack_too_deep(self, ins: Instr) -> LimitError:
        return LimitError(f"more than {limits.MAX_OPERAND_STACK} values on the operand stack; "
                          "wasmc refuses such functions", ins.offset, func=self.func,
                          instr=ins.op.name)

    def pop_val(self, expect: str = UNKNOWN) -> str:
        vals = self.vals
        frame = self.ctrls[-1]
        if len(vals) == frame.height:
            if frame.unreachable:
                return UNKNOWN
            raise self.error("type mismatch")
        actual = vals.pop()
        if actual != expect and actual != UNKNOWN and expect != UNKNOWN \
                and not reftypes.subtype(actual, expect):
            raise self.error("type mismatch")
        return actual

    def pop_ref(self) -> str:
        """A reference of any type (or Unknown), as ref.is_null and ref.as_non_null pop."""
        t = self.pop_val()
        if t != UNKNOWN and not reftypes.is_ref(t):
            raise self.error("type mismatch")
        return t

    def pop_vals(self, types: str) -> list[str]:
        n = len(types)
        vals = self.vals
        # fast path: the top n values are all known and match exactly
        if n and len(vals) - n >= self.ctrls[-1].height and vals[-n:] == list(types):
            del vals[-n:]
            return list(types)
        popped = [self.pop_val(t) for t in reversed(types)]
        popped.reverse()
        return popped

    def push_ctrl(self, opcode: str, start_types: str, end_types: str) -> None:
        if len(self.ctrls) >= limits.MAX_CONTROL_DEPTH:
            raise LimitError(f"blocks nested deeper than {limits.MAX_CONTROL_DEPTH}; "
                             "wasmc refuses such functions",
                             self.ins.offset if self.ins else None, func=self.func)
        self.ctrls.append(Frame(opcode, start_types, end_types, len(self.vals), len(self.init_log)))
        self.vals.extend(start_types)

    def pop_ctrl(self) -> Frame:
        if not self.ctrls:
            raise self.error("unexpected end")
        frame = self.ctrls[-1]
        self.pop_vals(frame.end_types)
        if len(self.vals) != frame.height:
            raise self.error("type mismatch")
        self.ctrls.pop()
        if len(self.init_log) > frame.init_height:
            for k in self.init_log[frame.init_height:]:
                self.inits.discard(k)
            del self.init_log[frame.init_height:]
        return frame

    @staticmethod
    def label_types(frame: Frame) -> str:
        return frame.start_types if frame.opcode == "loop" else frame.end_types

    def unreachable(self) -> None:
        frame = self.ctrls[-1]
        del self.vals[frame.height:]
        frame.unreachable = True

    # --- helpers for handlers ---
    def apply_sig(self, name: str) -> None:
        params, results = SIGS[name]
        if params:
            self.pop_vals("".join(params))
        self.vals.extend(results)

    def apply(self, params: str, results: str) -> None:
        """Pop `params`, push `results`: a signature that depends on an address type."""
        self.pop_vals(params)
        self.vals.extend(results)

    def label(self, depth: int) -> Frame:
        if depth >= len(self.ctrls):
            raise self.error(f"unknown label {depth}")
        return self.ctrls[-1 - depth]

    def blocktype(self, bt: Any) -> tuple[str, str]:
        if bt is None:
            return "", ""
        if isinstance(bt, str):
            return "", bt
        if not 0 <= bt < len(self.ctx.types):  # type: ignore[operator]
            raise self.error(f"unknown type {bt}")
        ft = self.ctx.types[bt]  # type: ignore[index]
        if ft.kind != "func":
            raise self.error("type mismatch")
        return ft.params, ft.results

    def check_local(self, x: int) -> str:
        if x >= len(self.locals):
            raise self.error(f"unknown local {x}")
        return self.locals[x]

    def set_local(self, x: int) -> None:
        """Local `x` holds a value from here to the end of the enclosing block."""
        if x >= self.fast_locals and x not in self.inits:
            self.inits.add(x)
            self.init_log.append(x)

    def check_global(self, x: int) -> GlobalType:
        if x >= len(self.ctx.globals):
            raise self.error(f"unknown global {x}")
        return self.ctx.globals[x]

    def check_table(self, x: int) -> str:
        if x >= len(self.ctx.tables):
            raise self.error(f"unknown table {x}")
        return self.ctx.tables[x]

    def check_mem(self, x: int) -> str:
        """Memory `x` exists; its address type."""
        if x >= len(self.ctx.mems):
            raise self.error(f"unknown memory {x}")
        return self.ctx.mems[x]

    def table_addr(self, x: int) -> str:
        """The address type of table `x` (checked to exist)."""
        return self.ctx.table_addrs[x]

    def check_tag(self, x: int) -> FuncType:
        if x >= len(self.ctx.tags):
            raise self.error(f"unknown tag {x}")
        return self.ctx.tags[x]

    def check_type(self, x: int) -> FuncType:
        """Type `x`, which must be a function type (GC's struct and array types are not)."""
        if x >= len(self.ctx.types):
            raise self.error(f"unknown type {x}")
        ft = self.ctx.types[x]
        if ft.kind != "func":
            raise self.error("type mismatch")
        return ft  # type: ignore[return-value]

    def check_func_idx(self, x: int) -> FuncType:
        if x >= len(self.ctx.funcs):
            raise self.error(f"unknown function {x}")
        return self.ctx.funcs[x]

    def check_elem(self, x: int) -> str:
        if x >= len(self.ctx.elems):
            raise self.error(f"unknown elem segment {x}")
        return self.ctx.elems[x]

    def check_data(self, x: int) -> None:
        if x >= self.ctx.datas:
            raise self.error(f"unknown data segment {x}")

    # --- the walk ---
    def check_body(self, body: list[Instr]) -> None:
        self.push_ctrl("func", "", self.results)
        vals = self.vals
        ctrls = self.ctrls
        locals_ = self.locals
        nlocals = self.fast_locals
        plain = PLAIN_SIGS
        handlers = HANDLERS
        height = 0  # ctrls[-1].height, refreshed after every handler (only handlers change frames)
        max_stack = limits.MAX_OPERAND_STACK  # checked wherever the stack grows
        imm: Any
        for ins in body:
            op, imm, _ = ins
            name = op.name
            sig = plain.get(name)
            if sig is not None:
                params, results = sig
                if params:
                    n = len(params)
                    if len(vals) - n >= height and vals[-n:] == params:
                        del vals[-n:]
                    else:
                        self.ins = ins
                        self.pop_vals("".join(params))
                if results:
                    vals += results
                    if len(vals) > max_stack:
                        raise self.stack_too_deep(ins)
                continue
            # the commonest instructions of real code, inlined
            if name == "local.get" and imm < nlocals:  # type: ignore[operator]
                vals.append(locals_[imm])  # type: ignore[index]
                if len(vals) > max_stack:
                    raise self.stack_too_deep(ins)
                continue
            if name == "local.set" and imm < nlocals and len(vals) > height \
                    and vals[-1] == locals_[imm]:  # type: ignore[operator, index]
                vals.pop()
                continue
            self.ins = ins
            handlers[name](self, imm, op)
            if len(vals) > max_stack:
                raise self.stack_too_deep(ins)
            if ctrls:
                height = ctrls[-1].height
            elif ins is not body[-1]:
                raise self.error("operators remaining after end of function")
        if ctrls:
            self.ins = body[-1] if body else None
            raise self.error("unexpected end of function body")


Handler = Callable[[FuncValidator, object, Op], None]


# --- control instructions ---------------------------------------------------------------------
def op_unreachable(s: FuncValidator, imm: Any, op: Op) -> None:
    s.unreachable()


def op_block(s: FuncValidator, imm: Any, op: Op) -> None:
    params, results = s.blocktype(imm)
    s.pop_vals(params)
    s.push_ctrl(op.name, params, results)


def op_if(s: FuncValidator, imm: Any, op: Op) -> None:
    params, results = s.blocktype(imm)
    s.pop_val("i")
    s.pop_vals(params)
    s.push_ctrl("if", params, results)


def op_else(s: FuncValidator, imm: Any, op: Op) -> None:
    frame = s.pop_ctrl()
    if frame.opcode != "if":
        raise s.error("else without matching if")
    s.push_ctrl("else", frame.start_types, frame.end_types)


def op_end(s: FuncValidator, imm: Any, op: Op) -> None:
    frame = s.pop_ctrl()
    # an `if` without `else` has an implicit empty else arm passing its params through
    if frame.opcode == "if" and frame.start_types != frame.end_types:
        raise s.error("type mismatch")
    s.vals.extend(frame.end_types)


def op_br(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_vals(s.label_types(s.label(imm)))  # type: ignore[arg-type]
    s.unreachable()


def op_br_if(s: FuncValidator, imm: Any, op: Op) -> None:
    types = s.label_types(s.label(imm))  # type: ignore[arg-type]
    s.pop_val("i")
    s.pop_vals(types)
    s.vals.extend(types)


def op_br_table(s: FuncValidator, imm: Any, op: Op) -> None:
    labels, default = imm  # type: ignore[misc]
    s.pop_val("i")
    default_types = s.label_types(s.label(default))
    arity = len(default_types)
    for n in labels:
        types = s.label_types(s.label(n))
        if len(types) != arity:
            raise s.error("type mismatch")
        # pop then push back the *popped* values so Unknowns stay Unknown for the next label
        s.vals.extend(s.pop_vals(types))
    s.pop_vals(default_types)
    s.unreachable()


def op_return(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_vals(s.results)
    s.unreachable()


def op_call(s: FuncValidator, imm: Any, op: Op) -> None:
    ft = s.check_func_idx(imm)  # type: ignore[arg-type]
    s.pop_vals(ft.params)
    s.vals.extend(ft.results)


def indirect_type(s: FuncValidator, imm: Any) -> FuncType:
    """The type of a `call_indirect`-like instruction, once its table and type index check."""
    typeidx, tableidx = imm  # type: ignore[misc]
    if not reftypes.subtype(s.check_table(tableidx), "F"):
        raise s.error("type mismatch")
    return s.check_type(typeidx)


def returns_match(s: FuncValidator, results: str) -> bool:
    """A tail call's results may be returned as the caller's (3.0: each a subtype)."""
    return len(results) == len(s.results) and all(
        reftypes.subtype(a, b) for a, b in zip(results, s.results))


def op_call_indirect(s: FuncValidator, imm: Any, op: Op) -> None:
    ft = indirect_type(s, imm)
    s.pop_val(s.table_addr(imm[1]))  # type: ignore[index]
    s.pop_vals(ft.params)
    s.vals.extend(ft.results)


def op_return_call(s: FuncValidator, imm: Any, op: Op) -> None:
    """Tail calls (Wasm 3.0): a call whose results are the function's, then as `return`."""
    ft = s.check_func_idx(imm)  # type: ignore[arg-type]
    if not returns_match(s, ft.results):
        raise s.error("type mismatch")
    s.pop_vals(ft.params)
    s.unreachable()


def op_return_call_indirect(s: FuncValidator, imm: Any, op: Op) -> None:
    ft = indirect_type(s, imm)
    if not returns_match(s, ft.results):
        raise s.error("type mismatch")
    s.pop_val(s.table_addr(imm[1]))  # type: ignore[index]
    s.pop_vals(ft.params)
    s.unreachable()


# --- reference instructions -------------------------------------------------------------------
def op_ref_null(s: FuncValidator, imm: Any, op: Op) -> None:
    s.vals.append(imm)  # type: ignore[arg-type]


def op_ref_is_null(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_ref()
    s.vals.append("i")


def op_ref_func(s: FuncValidator, imm: Any, op: Op) -> None:
    s.check_func_idx(imm)  # type: ignore[arg-type]
    if imm not in s.ctx.refs:
        raise s.error(f"undeclared function reference {imm}")
    s.vals.append(s.ctx.func_ref(imm))  # type: ignore[arg-type]


# --- exception handling (Wasm 3.0) -------------------------------------------------------------
EXNREF = reftypes.ref(False, "exn")  # what catch_ref and catch_all_ref pass: (ref exn)
NULL_EXNREF = reftypes.ref(True, "exn")


def op_throw(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_vals(s.check_tag(imm).params)  # type: ignore[arg-type]
    s.unreachable()


def op_throw_ref(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val(NULL_EXNREF)
    s.unreachable()


# The legacy exception instructions: `try` is a block whose `catch x` / `catch_all` sections
# follow its body as `else` follows `if`; `delegate l` ends a try (not a catch section) and names
# a label outside it; `rethrow l` names an enclosing catch section.
def op_catch(s: FuncValidator, imm: Any, op: Op) -> None:
    if s.ctrls[-1].opcode not in ("try", "catch"):
        raise s.error(f"{op.name} without a try")
    frame = s.pop_ctrl()
    params = s.check_tag(imm).params if op.name == "catch" else ""  # type: ignore[arg-type]
    s.push_ctrl("catch" if op.name == "catch" else "catch_all", "", frame.end_types)
    s.vals.extend(params)


def op_delegate(s: FuncValidator, imm: Any, op: Op) -> None:
    if s.ctrls[-1].opcode != "try":
        raise s.error("delegate without a try")
    frame = s.pop_ctrl()
    s.label(imm)  # (counted from outside the try)
    s.vals.extend(frame.end_types)


def op_rethrow(s: FuncValidator, imm: Any, op: Op) -> None:
    if s.label(imm).opcode not in ("catch", "catch_all"):  # type: ignore[arg-type]
        raise s.error("invalid rethrow label")
    s.unreachable()


def op_try_table(s: FuncValidator, imm: Any, op: Op) -> None:
    """A block whose catch clauses branch to labels outside it (checked before it opens): each
    label must take the values its clause passes, the tag's payload and/or the exnref."""
    bt, catches = imm  # type: ignore[misc]
    for kind, tag, label in catches:
        passes = s.check_tag(tag).params if kind < 2 else ""
        if kind & 1:  # catch_ref, catch_all_ref
            passes += EXNREF
        types = s.label_types(s.label(label))
        if len(types) != len(passes) or not all(map(reftypes.subtype, passes, types)):
            raise s.error("type mismatch")
    params, results = s.blocktype(bt)
    s.pop_vals(params)
    s.push_ctrl(op.name, params, results)


# --- GC's reference instructions (Wasm 3.0) ----------------------------------------------------
I31REF = reftypes.ref(True, "i31")
EQREF = reftypes.ref(True, "eq")


def top_ref(t: str) -> str:
    """`(ref null top)` of a reference type's hierarchy: what a cast to it may take."""
    return reftypes.ref(True, reftypes.top_of(reftypes.unpack(t)[1]))


def op_ref_eq(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val(EQREF)
    s.pop_val(EQREF)
    s.vals.append("i")


def op_ref_i31(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val("i")
    s.vals.append(reftypes.ref(False, "i31"))


def op_i31_get(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val(I31REF)
    s.vals.append("i")


def cast_target(s: FuncValidator, imm: Any, op: Op) -> str:
    return reftypes.ref(op.name.endswith(".null"), imm)


def op_ref_test(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val(top_ref(cast_target(s, imm, op)))
    s.vals.append("i")


def op_ref_cast(s: FuncValidator, imm: Any, op: Op) -> None:
    rt = cast_target(s, imm, op)
    s.pop_val(top_ref(rt))
    s.vals.append(rt)


def cast_difference(rt1: str, rt2: str) -> str:
    """rt1 without rt2 (what remains when a cast to rt2 fails): non-null if rt2 takes null."""
    nullable1 = reftypes.unpack(rt1)[0]
    nullable2, _ = reftypes.unpack(rt2)
    return reftypes.ref(nullable1 and not nullable2, reftypes.unpack(rt1)[1])


def op_br_on_cast(s: FuncValidator, imm: Any, op: Op) -> None:
    """br_on_cast l rt1 rt2: [t* rt1] -> [t* (rt1 \\ rt2)], branching with [t* rt2]; br_on_cast_fail
    the other way round.  rt2 must be a subtype of rt1."""
    label, rt1, rt2 = imm  # type: ignore[misc]
    if not reftypes.subtype(rt2, rt1):
        raise s.error("type mismatch")
    taken, stays = (rt2, cast_difference(rt1, rt2)) if op.name == "br_on_cast" \
        else (cast_difference(rt1, rt2), rt2)
    types = s.label_types(s.label(label))
    if not types:
        raise s.error("type mismatch")
    s.pop_val(rt1)
    s.vals.append(taken)
    s.pop_vals(types)
    s.vals.extend(types[:-1])
    s.vals.append(stays)


def unpacked(storage: str) -> str:
    """A field's value type on the stack: packed i8/i16 fields are i32s."""
    return "i" if packed(storage) else storage


def field_defaultable(storage: str) -> bool:
    """A field that `struct.new_default` / `array.new_default` can fill (with zeros or null)."""
    return packed(storage) or reftypes.defaultable(storage)


def comp_type(s: FuncValidator, typeidx: int, kind: str):
    """Type `typeidx`, which must be a `kind` ("struct" or "array") type."""
    if typeidx >= len(s.ctx.types):
        raise s.error(f"unknown type {typeidx}")
    ct = s.ctx.types[typeidx]
    if ct.kind != kind:
        raise s.error("type mismatch")
    return ct


def struct_type(s: FuncValidator, typeidx: int):
    return comp_type(s, typeidx, "struct")


def op_struct_new(s: FuncValidator, imm: Any, op: Op) -> None:
    st = struct_type(s, imm)  # type: ignore[arg-type]
    if op.name == "struct.new":
        s.pop_vals("".join(unpacked(f.storage) for f in st.fields))
    elif not all(field_defaultable(f.storage) for f in st.fields):
        raise s.error("type mismatch: field type is not defaultable")
    s.vals.append(reftypes.ref(False, s.ctx.heaps[imm]))  # type: ignore[index]


def struct_field(s: FuncValidator, imm: Any):
    typeidx, fieldidx = imm  # type: ignore[misc]
    st = struct_type(s, typeidx)
    if fieldidx >= len(st.fields):
        raise s.error(f"unknown field {fieldidx}")
    return st.fields[fieldidx], reftypes.ref(True, s.ctx.heaps[typeidx])


def op_struct_get(s: FuncValidator, imm: Any, op: Op) -> None:
    field, ref = struct_field(s, imm)
    if packed(field.storage) != (op.name != "struct.get"):  # _s/_u exactly for packed fields
        raise s.error("type mismatch")
    s.pop_val(ref)
    s.vals.append(unpacked(field.storage))


def op_struct_set(s: FuncValidator, imm: Any, op: Op) -> None:
    field, ref = struct_field(s, imm)
    if not field.mutable:
        raise s.error("immutable field")
    s.pop_val(unpacked(field.storage))
    s.pop_val(ref)


# --- GC's arrays -------------------------------------------------------------------------------
NUMERIC_STORAGE = PACKED | {"i", "l", "f", "d", "v"}  # what array.new_data/init_data copy


def array_type(s: FuncValidator, typeidx: int):
    """Type `typeidx`, which must be an array type: its element's field type."""
    return comp_type(s, typeidx, "array").field


def array_ref(s: FuncValidator, typeidx: int, nullable: bool = True) -> str:
    return reftypes.ref(nullable, s.ctx.heaps[typeidx])


def mutable_array(s: FuncValidator, typeidx: int):
    field = array_type(s, typeidx)
    if not field.mutable:
        raise s.error("immutable array")
    return field


def op_array_new(s: FuncValidator, imm: Any, op: Op) -> None:
    field = array_type(s, imm)  # type: ignore[arg-type]
    if op.name == "array.new":
        s.pop_vals(unpacked(field.storage) + "i")
    elif field_defaultable(field.storage):
        s.pop_val("i")
    else:
        raise s.error("type mismatch: array type is not defaultable")
    s.vals.append(array_ref(s, imm, False))  # type: ignore[arg-type]


def op_array_new_fixed(s: FuncValidator, imm: Any, op: Op) -> None:
    typeidx, n = imm  # type: ignore[misc]
    t = unpacked(array_type(s, typeidx).storage)
    # Pop n operands one by one, but never more than the frame holds: past that, an unreachable
    # frame's stack is Unknown (so a huge n costs nothing) and a reachable one's is a mismatch.
    held = len(s.vals) - s.ctrls[-1].height
    for _ in range(min(n, held)):
        s.pop_val(t)
    if n > held and not s.ctrls[-1].unreachable:
        raise s.error("type mismatch")
    s.vals.append(array_ref(s, typeidx, False))


def segment_source(s: FuncValidator, field, op: Op, segidx: int) -> None:
    """The segment of array.new_data/elem or array.init_data/elem, which must suit the elements."""
    if op.name.endswith("_data"):
        if field.storage not in NUMERIC_STORAGE:
            raise s.error("array type is not numeric or vector")
        s.check_data(segidx)
    elif not reftypes.subtype(s.check_elem(segidx), field.storage):
        raise s.error("type mismatch")


def op_array_new_segment(s: FuncValidator, imm: Any, op: Op) -> None:
    typeidx, segidx = imm  # type: ignore[misc]
    segment_source(s, array_type(s, typeidx), op, segidx)
    s.pop_vals("ii")
    s.vals.append(array_ref(s, typeidx, False))


def op_array_get(s: FuncValidator, imm: Any, op: Op) -> None:
    field = array_type(s, imm)  # type: ignore[arg-type]
    if packed(field.storage) != (op.name != "array.get"):  # _s/_u exactly for packed elements
        raise s.error("type mismatch")
    s.pop_val("i")
    s.pop_val(array_ref(s, imm))  # type: ignore[arg-type]
    s.vals.append(unpacked(field.storage))


def op_array_set(s: FuncValidator, imm: Any, op: Op) -> None:
    field = mutable_array(s, imm)  # type: ignore[arg-type]
    s.pop_val(unpacked(field.storage))
    s.pop_val("i")
    s.pop_val(array_ref(s, imm))  # type: ignore[arg-type]


def op_array_len(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val(reftypes.ref(True, "array"))
    s.vals.append("i")


def op_array_fill(s: FuncValidator, imm: Any, op: Op) -> None:
    field = mutable_array(s, imm)  # type: ignore[arg-type]
    s.pop_val("i")
    s.pop_val(unpacked(field.storage))
    s.pop_val("i")
    s.pop_val(array_ref(s, imm))  # type: ignore[arg-type]


def op_array_copy(s: FuncValidator, imm: Any, op: Op) -> None:
    dst, src = imm  # type: ignore[misc]
    to = mutable_array(s, dst)
    source = array_type(s, src)
    # the source's elements must fit the destination's: equal packed types, or a value subtype
    if packed(source.storage) or packed(to.storage):
        fits = source.storage == to.storage
    else:
        fits = reftypes.subtype(source.storage, to.storage)
    if not fits:
        raise s.error("array types do not match")
    s.pop_vals("ii")
    s.pop_val(array_ref(s, src))
    s.pop_val("i")
    s.pop_val(array_ref(s, dst))


def op_array_init_segment(s: FuncValidator, imm: Any, op: Op) -> None:
    typeidx, segidx = imm  # type: ignore[misc]
    segment_source(s, mutable_array(s, typeidx), op, segidx)
    s.pop_vals("iii")
    s.pop_val(array_ref(s, typeidx))


def op_any_convert_extern(s: FuncValidator, imm: Any, op: Op) -> None:
    t = s.pop_val(reftypes.ref(True, "extern"))
    nullable = t == UNKNOWN or reftypes.unpack(t)[0]
    s.vals.append(reftypes.ref(nullable, "any"))


def op_extern_convert_any(s: FuncValidator, imm: Any, op: Op) -> None:
    t = s.pop_val(reftypes.ref(True, "any"))
    nullable = t == UNKNOWN or reftypes.unpack(t)[0]
    s.vals.append(reftypes.ref(nullable, "extern"))


# --- typed function references (Wasm 3.0) ------------------------------------------------------
def non_null(t: str) -> str:
    """`(ref ht)` for a popped `(ref null? ht)`; Unknown stays Unknown (the spec's bottom)."""
    return t if t == UNKNOWN else reftypes.ref(False, reftypes.unpack(t)[1])


def op_ref_as_non_null(s: FuncValidator, imm: Any, op: Op) -> None:
    s.vals.append(non_null(s.pop_ref()))


def op_br_on_null(s: FuncValidator, imm: Any, op: Op) -> None:
    """[t* (ref null ht)] -> [t* (ref ht)], branching with [t*] on null."""
    t = s.pop_ref()
    types = s.label_types(s.label(imm))  # type: ignore[arg-type]
    s.pop_vals(types)
    s.vals.extend(types)  # the label's types, not the popped ones (as br_if)
    s.vals.append(non_null(t))


def op_br_on_non_null(s: FuncValidator, imm: Any, op: Op) -> None:
    """[t* (ref null ht)] -> [t*], branching with [t* (ref ht)] unless null."""
    types = s.label_types(s.label(imm))  # type: ignore[arg-type]
    if not types:
        raise s.error("type mismatch")
    s.vals.append(non_null(s.pop_ref()))
    s.pop_vals(types)
    s.vals.extend(types[:-1])


def op_call_ref(s: FuncValidator, imm: Any, op: Op) -> None:
    ft = s.check_type(imm)  # type: ignore[arg-type]
    s.pop_val(reftypes.ref(True, s.ctx.heaps[imm]))  # type: ignore[index]
    s.pop_vals(ft.params)
    s.vals.extend(ft.results)


def op_return_call_ref(s: FuncValidator, imm: Any, op: Op) -> None:
    ft = s.check_type(imm)  # type: ignore[arg-type]
    if not returns_match(s, ft.results):
        raise s.error("type mismatch")
    s.pop_val(reftypes.ref(True, s.ctx.heaps[imm]))  # type: ignore[index]
    s.pop_vals(ft.params)
    s.unreachable()


# --- parametric instructions ------------------------------------------------------------------
def op_drop(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val()


def op_select(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val("i")
    t1 = s.pop_val()
    t2 = s.pop_val()
    if not ((t1 in NUM_OR_UNKNOWN and t2 in NUM_OR_UNKNOWN)
            or (t1 in VEC_OR_UNKNOWN and t2 in VEC_OR_UNKNOWN)):
        raise s.error("type mismatch")
    if t1 != t2 and t1 != UNKNOWN and t2 != UNKNOWN:
        raise s.error("type mismatch")
    s.vals.append(t2 if t1 == UNKNOWN else t1)


def op_select_t(s: FuncValidator, imm: Any, op: Op) -> None:
    if len(imm) != 1:  # type: ignore[arg-type]
        raise s.error("invalid result arity")
    t = imm[0]  # type: ignore[index]
    s.pop_val("i")
    s.pop_val(t)
    s.pop_val(t)
    s.vals.append(t)


# --- variable instructions --------------------------------------------------------------------
def op_local_get(s: FuncValidator, imm: Any, op: Op) -> None:
    t = s.check_local(imm)  # type: ignore[arg-type]
    if imm >= s.fast_locals and imm not in s.inits and not reftypes.defaultable(t):  # type: ignore[operator]
        raise s.error("uninitialized local")
    s.vals.append(t)


def op_local_set(s: FuncValidator, imm: Any, op: Op) -> None:
    s.pop_val(s.check_local(imm))  # type: ignore[arg-type]
    s.set_local(imm)  # type: ignore[arg-type]


def op_local_tee(s: FuncValidator, imm: Any, op: Op) -> None:
    t = s.check_local(imm)  # type: ignore[arg-type]
    s.pop_val(t)
    s.set_local(imm)  # type: ignore[arg-type]
    s.vals.append(t)


def op_global_get(s: FuncValidator, imm: Any, op: Op) -> None:
    s.vals.append(s.check_global(imm).valtype)  # type: ignore[arg-type]


def op_global_set(s: FuncValidator, imm: Any, op: Op) -> None:
    gt = s.check_global(imm)  # type: ignore[arg-type]
    if not gt.mutable:
        raise s.error("global is immutable")
    s.pop_val(gt.valtype)


# --- table instructions -----------------------------------------------------------------------
# Indices into a table of address type `at` (i32, or i64 for memory64's table64) have that type.
def op_table_get(s: FuncValidator, imm: Any, op: Op) -> None:
    t = s.check_table(imm)  # type: ignore[arg-type]
    s.apply(s.table_addr(imm), t)  # type: ignore[arg-type]


def op_table_set(s: FuncValidator, imm: Any, op: Op) -> None:
    t = s.check_table(imm)  # type: ignore[arg-type]
    s.apply(s.table_addr(imm) + t, "")  # type: ignore[arg-type]


def op_table_size(s: FuncValidator, imm: Any, op: Op) -> None:
    s.check_table(imm)  # type: ignore[arg-type]
    s.apply("", s.table_addr(imm))  # type: ignore[arg-type]


def op_table_grow(s: FuncValidator, imm: Any, op: Op) -> None:
    t = s.check_table(imm)  # type: ignore[arg-type]
    at = s.table_addr(imm)  # type: ignore[arg-type]
    s.apply(t + at, at)


def op_table_fill(s: FuncValidator, imm: Any, op: Op) -> None:
    t = s.check_table(imm)  # type: ignore[arg-type]
    at = s.table_addr(imm)  # type: ignore[arg-type]
    s.apply(at + t + at, "")


def smaller_addr(a: str, b: str) -> str:
    """The type of a length between two address types: i32 unless both are i64."""
    return "l" if a == b == "l" else "i"


def op_table_copy(s: FuncValidator, imm: Any, op: Op) -> None:
    dst, src = imm  # type: ignore[misc]
    if not reftypes.subtype(s.check_table(src), s.check_table(dst)):
        raise s.error("type mismatch")
    ad, as_ = s.table_addr(dst), s.table_addr(src)
    s.apply(ad + as_ + smaller_addr(ad, as_), "")


def op_table_init(s: FuncValidator, imm: Any, op: Op) -> None:
    elemidx, tableidx = imm  # type: ignore[misc]
    t = s.check_table(tableidx)
    if not reftypes.subtype(s.check_elem(elemidx), t):
        raise s.error("type mismatch")
    s.apply(s.table_addr(tableidx) + "ii", "")


def op_elem_drop(s: FuncValidator, imm: Any, op: Op) -> None:
    s.check_elem(imm)  # type: ignore[arg-type]


# --- memory instructions ----------------------------------------------------------------------
# Addresses into a memory of address type `at` have that type; a memarg's offset must fit it.
def with_addr(s: FuncValidator, name: str, at: str) -> None:
    """A load or store (signature: the address first) into a memory of address type `at`."""
    if at == "i":
        s.apply_sig(name)
    else:
        params, results = SIGS[name]
        s.apply(at + "".join(params[1:]), "".join(results))


def op_memarg(s: FuncValidator, imm: Any, op: Op) -> None:
    """Every load and store: its memory must exist and the alignment not exceed the access width."""
    at = s.check_mem(imm.mem)  # type: ignore[attr-defined]
    if imm.align > op.mem_bytes.bit_length() - 1:  # (log2 compare)
        raise s.error("alignment must not be larger than natural")
    if op.kind is Kind.ATOMIC and imm.align != op.mem_bytes.bit_length() - 1:  # type: ignore
        raise s.error("atomic alignment must be natural")
    if at == "i" and imm.offset > MAX_OFFSET:  # (a 3.0 u64 offset)
        raise s.error("offset out of range")
    with_addr(s, op.name, at)


def op_memory_size(s: FuncValidator, imm: Any, op: Op) -> None:
    s.apply("", s.check_mem(imm))  # type: ignore[arg-type]


def op_memory_grow(s: FuncValidator, imm: Any, op: Op) -> None:
    at = s.check_mem(imm)  # type: ignore[arg-type]
    s.apply(at, at)


def op_memory_fill(s: FuncValidator, imm: Any, op: Op) -> None:
    at = s.check_mem(imm)  # type: ignore[arg-type]
    s.apply(at + "i" + at, "")


def op_memory_copy(s: FuncValidator, imm: Any, op: Op) -> None:
    dst, src = imm  # type: ignore[misc]
    ad, as_ = s.check_mem(dst), s.check_mem(src)
    s.apply(ad + as_ + smaller_addr(ad, as_), "")


def op_memory_init(s: FuncValidator, imm: Any, op: Op) -> None:
    dataidx, memidx = imm  # type: ignore[misc]
    at = s.check_mem(memidx)
    s.check_data(dataidx)
    s.apply(at + "ii", "")


def op_data_drop(s: FuncValidator, imm: Any, op: Op) -> None:
    s.check_data(imm)  # type: ignore[arg-type]


# --- vector instructions ----------------------------------------------------------------------
LANES = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}


def op_lane(s: FuncValidator, imm: Any, op: Op) -> None:
    """extract_lane / replace_lane: the lane index must name a lane of the shape."""
    if imm >= LANES[op.name.partition(".")[0]]:  # type: ignore[operator]
        raise s.error("invalid lane index")
    s.apply_sig(op.name)


def op_shuffle(s: FuncValidator, imm: Any, op: Op) -> None:
    """i8x16.shuffle: every index selects one of the 32 bytes of the two operands."""
    if any(i >= 32 for i in imm):  # type: ignore[attr-defined]
        raise s.error("invalid lane index")
    s.apply_sig(op.name)


def op_memarg_lane(s: FuncValidator, imm: Any, op: Op) -> None:
    """v128.loadN_lane / storeN_lane: a load or store of N bits, then a lane of N-bit lanes."""
    memarg, lane = imm  # type: ignore[misc]
    at = s.check_mem(memarg.mem)
    if memarg.align > op.mem_bytes.bit_length() - 1:
        raise s.error("alignment must not be larger than natural")
    if at == "i" and memarg.offset > MAX_OFFSET:
        raise s.error("offset out of range")
    if lane >= 16 // op.mem_bytes:
        raise s.error("invalid lane index")
    with_addr(s, op.name, at)


HANDLERS: dict[str, Handler] = {
    "unreachable": op_unreachable,
    "block": op_block,
    "loop": op_block,
    "if": op_if,
    "else": op_else,
    "end": op_end,
    "br": op_br,
    "br_if": op_br_if,
    "br_table": op_br_table,
    "return": op_return,
    "call": op_call,
    "call_indirect": op_call_indirect,
    "return_call": op_return_call,
    "return_call_indirect": op_return_call_indirect,
    "ref.null": op_ref_null,
    "ref.is_null": op_ref_is_null,
    "ref.func": op_ref_func,
    "ref.as_non_null": op_ref_as_non_null,
    "throw": op_throw,
    "ref.eq": op_ref_eq,
    "struct.new": op_struct_new,
    "struct.new_default": op_struct_new,
    "struct.get": op_struct_get,
    "struct.get_s": op_struct_get,
    "struct.get_u": op_struct_get,
    "struct.set": op_struct_set,
    "array.new": op_array_new,
    "array.new_default": op_array_new,
    "array.new_fixed": op_array_new_fixed,
    "array.new_data": op_array_new_segment,
    "array.new_elem": op_array_new_segment,
    "array.get": op_array_get,
    "array.get_s": op_array_get,
    "array.get_u": op_array_get,
    "array.set": op_array_set,
    "array.len": op_array_len,
    "array.fill": op_array_fill,
    "array.copy": op_array_copy,
    "array.init_data": op_array_init_segment,
    "array.init_elem": op_array_init_segment,
    "ref.i31": op_ref_i31,
    "i31.get_s": op_i31_get,
    "i31.get_u": op_i31_get,
    "ref.test": op_ref_test,
    "ref.test.null": op_ref_test,
    "ref.cast": op_ref_cast,
    "ref.cast.null": op_ref_cast,
    "br_on_cast": op_br_on_cast,
    "br_on_cast_fail": op_br_on_cast,
    "any.convert_extern": op_any_convert_extern,
    "extern.convert_any": op_extern_convert_any,
    "throw_ref": op_throw_ref,
    "try_table": op_try_table,
    "try": op_block,
    "catch": op_catch,
    "catch_all": op_catch,
    "delegate": op_delegate,
    "rethrow": op_rethrow,
    "br_on_null": op_br_on_null,
    "br_on_non_null": op_br_on_non_null,
    "call_ref": op_call_ref,
    "return_call_ref": op_return_call_ref,
    "drop": op_drop,
    "select": op_select,
    "select_t": op_select_t,
    "local.get": op_local_get,
    "local.set": op_local_set,
    "local.tee": op_local_tee,
    "global.get": op_global_get,
    "global.set": op_global_set,
    "table.get": op_table_get,
    "table.set": op_table_set,
    "table.size": op_table_size,
    "table.grow": op_table_grow,
    "table.fill": op_table_fill,
    "table.copy": op_table_copy,
    "table.init": op_table_init,
    "elem.drop": op_elem_drop,
    "memory.size": op_memory_size,
    "memory.grow": op_memory_grow,
    "memory.fill": op_memory_fill,
    "memory.copy": op_memory_copy,
    "memory.init": op_memory_init,
    "data.drop": op_data_drop,
}
# every load and store (SIMD's included) shares one handler; so do the other SIMD immediates
_IMM_HANDLERS: dict[Imm, Handler] = {Imm.MEMARG: op_memarg, Imm.MEMARG_LANE: op_memarg_lane,
                                     Imm.LANEIDX: op_lane, Imm.SHUFFLE: op_shuffle}
HANDLERS.update({op.name: _IMM_HANDLERS[op.imm] for op in OPS if op.imm in _IMM_HANDLERS})

# rows typed by their signature alone, checked inline by FuncValidator.check_body
PLAIN_SIGS = {name: sig for name, sig in SIGS.items() if name not in HANDLERS}

# every row is typed either by its signature or by a handler
assert all(op.sig is not None or op.name in HANDLERS for op in OPS)


# --- module level -----------------------------------------------------------------------------
def check_subtypes(m: Module) -> None:
    """GC's declared subtypes: at most one supertype, not final, of the same kind, and matching
    it (function parameters contravariant, results covariant; a struct extends its supertype's
    fields; a mutable field keeps its type exactly, an immutable one may narrow it)."""
    for i, heap in enumerate(m.heaps):
        if not isinstance(heap, reftypes.DefType) or not heap.sub.supers:
            continue
        supers = heap.supers()
        if len(supers) > 1:
            raise ValidationError("sub type: more than one supertype", None)
        sup = supers[0]
        if not isinstance(sup, reftypes.DefType) or sup.sub.final \
                or not comp_matches(m.types[i], reftypes.unroll(
                    sup.sub.comp, [reftypes.DefType(sup.group, k) for k in range(len(sup.group))])):
            raise ValidationError(f"sub type {i} does not match its supertype", None)


def comp_matches(a, b) -> bool:
    """Composite type `a` may be declared a subtype of `b`."""
    sub = reftypes.subtype
    if a.kind != b.kind:
        return False
    if a.kind == "func":
        return (len(a.params) == len(b.params) and len(a.results) == len(b.results)
                and all(map(sub, b.params, a.params)) and all(map(sub, a.results, b.results)))
    if a.kind == "array":
        return field_matches(a.field, b.field)
    return len(a.fields) >= len(b.fields) and all(map(field_matches, a.fields, b.fields))


def field_matches(a, b) -> bool:
    if a.mutable != b.mutable:
        return False
    if a.mutable or packed(a.storage) or packed(b.storage):
        return a.storage == b.storage
    return reftypes.subtype(a.storage, b.storage)


def check_tag_type(m: Module, typeidx: int, offset: int | None) -> None:
    """A tag's type: a function type with no results (its parameters are the payload)."""
    if typeidx >= len(m.types):
        raise ValidationError(f"unknown type {typeidx}", offset)
    if m.types[typeidx].kind != "func":
        raise ValidationError("type mismatch", offset)
    if m.types[typeidx].results:  # type: ignore[union-attr]
        raise ValidationError("non-empty tag result type", offset)


def check_limits(limits: Limits, bound: int, too_big: str, offset: int | None) -> None:
    if offset is None:
        offset = limits.offset
    if limits.min > bound or (limits.max is not None and limits.max > bound):
        raise ValidationError(too_big, offset)
    if limits.max is not None and limits.min > limits.max:
        raise ValidationError("size minimum must not be greater than maximum", offset)


def check_table_type(t: TableType, offset: int | None) -> None:
    if t.addrtype == "i":
        check_limits(t.limits, MAX_TABLE, "table size must be at most 2^32-1", offset)
    else:  # a u64 cannot exceed the bound of a 64-bit table
        check_limits(t.limits, 2**64 - 1, "", offset)


def check_mem_type(t: MemType, offset: int | None) -> None:
    if t.shared and t.limits.max is None:
        raise ValidationError("shared memory must have maximum", t.limits.offset)
    if t.addrtype == "i":
        check_limits(t.limits, MAX_PAGES, "memory size must be at most 65536 pages (4GiB)", offset)
    else:
        check_limits(t.limits, MAX_PAGES_64, "memory size must be at most 2^48 pages (256TiB)",
                     offset)


GC_ALLOCATIONS = frozenset({"struct.new", "struct.new_default", "array.new", "array.new_default",
                            "array.new_fixed"})


def allocation_type(ctx: Context, ins: Instr, held: int) -> tuple[str, str]:
    """The operand letters and result type of a GC allocation in a constant expression, whose
    stack holds `held` values (so a huge array.new_fixed fails before its operands are spelt)."""
    name = ins.op.name
    imm: Any = ins.imm
    typeidx, n = imm if name == "array.new_fixed" else (imm, 0)
    if typeidx >= len(ctx.types):
        raise ValidationError(f"unknown type {typeidx}", ins.offset, instr=name)
    ct: Any = ctx.types[typeidx]
    if ct.kind != name.split(".")[0]:
        raise ValidationError("type mismatch", ins.offset, instr=name)
    fields = ct.fields
    if name.endswith("_default"):
        if not all(field_defaultable(f.storage) for f in fields):
            raise ValidationError("type mismatch", ins.offset, instr=name)
        operands = ""
    else:
        operands = "".join(unpacked(f.storage) for f in fields)
    if name == "array.new":
        operands += "i"
    elif name == "array.new_fixed":
        if n > held:
            raise ValidationError("type mismatch", ins.offset, instr=name)
        operands *= n
    elif name == "array.new_default":
        operands = "i"
    return operands, reftypes.ref(False, ctx.heaps[typeidx])


def check_const(ctx: Context, expr: list[Instr], expected: str, num_globals: int,
                offset: int | None, const_ops: frozenset[str] = CONST_OPS) -> None:
    """A constant expression of type `expected`; `global.get` sees the first `num_globals` globals."""
    stack: list[str] = []
    for ins in expr:
        name = ins.op.name
        where = ins.offset
        if name not in const_ops:
            raise ValidationError("constant expression required", where, instr=name)
        if name == "global.get":
            imm: Any = ins.imm
            if imm >= num_globals:
                raise ValidationError(f"unknown global {imm}", where, instr=name)
            gt = ctx.globals[imm]
            if gt.mutable:
                raise ValidationError("constant expression required", where, instr=name)
            stack.append(gt.valtype)
        elif name == "ref.null":
            stack.append(ins.imm)  # type: ignore[arg-type]
        elif name == "ref.func":
            if ins.imm >= len(ctx.funcs):  # type: ignore[operator]
                raise ValidationError(f"unknown function {ins.imm}", where, instr=name)
            stack.append(ctx.func_ref(ins.imm))  # type: ignore[arg-type]
        elif name in GC_ALLOCATIONS:
            operands, result = allocation_type(ctx, ins, len(stack))
            for want in reversed(operands):
                if not stack or not reftypes.subtype(stack.pop(), want):
                    raise ValidationError("type mismatch", where, instr=name)
            stack.append(result)
        elif name in GC_CONST_OPS:
            operand, result = GC_CONST_TYPES[name]
            if not stack or not reftypes.subtype(stack[-1], operand):
                raise ValidationError("type mismatch", where, instr=name)
            t = stack.pop()
            if name != "ref.i31":  # a conversion keeps the operand's nullability
                result = reftypes.ref(reftypes.unpack(t)[0], result)
            stack.append(result)
        else:
            params, results = SIGS[name]
            for want in reversed(params):  # the extended-const operators take operands
                if not stack or stack.pop() != want:
                    raise ValidationError("type mismatch", where, instr=name)
            stack.extend(results)
    if len(stack) != 1 or not reftypes.subtype(stack[0], expected):
        raise ValidationError("type mismatch", expr[-1].offset if expr else offset)


def collect_refs(m: Module) -> set[int]:
    """C.refs: functions referenced outside function bodies (may be used by `ref.func`)."""
    refs: set[int] = set()
    exprs = [g.init for g in m.globals]
    for e in m.elems:
        exprs.extend(e.items)
    for expr in exprs:
        for ins in expr:
            if ins.op.name == "ref.func":
                refs.add(ins.imm)  # type: ignore[arg-type]
    refs.update(e.index for e in m.exports if e.kind == ExternKind.FUNC)
    return refs


def validate_module(m: Module) -> None:
    """Raise ValidationError (with a byte offset) unless `m` is valid.  The three steps below are
    also called one by one when bodies are validated a partition at a time (driver.py)."""
    ctx = check_declarations(m)
    check_bodies(ctx, m, range(len(m.codes)))
    check_start_and_exports(ctx, m)


def check_declarations(m: Module) -> Context:
    """Everything before the function bodies: types of imports and functions, limits, constant
    expressions and segments.  Returns the context the bodies are checked in."""
    ctx = Context(m)
    ntypes = len(m.types)

    # imports and definitions: type indices, limits
    check_subtypes(m)
    for imp in m.imports:
        if imp.kind == ExternKind.FUNC:
            desc: Any = imp.desc
            if desc >= ntypes:
                raise ValidationError(f"unknown type {desc}", imp.offset)
            if m.types[desc].kind != "func":
                raise ValidationError("type mismatch", imp.offset)
        elif imp.kind == ExternKind.TABLE:
            check_table_type(imp.desc, imp.offset)  # type: ignore[arg-type]
        elif imp.kind == ExternKind.MEMORY:
            check_mem_type(imp.desc, imp.offset)  # type: ignore[arg-type]
        elif imp.kind == ExternKind.TAG:
            check_tag_type(m, imp.desc, imp.offset)  # type: ignore[arg-type]
    for typeidx in m.tags:
        check_tag_type(m, typeidx, None)
    ctx.tags = [m.types[x] for x in m.tag_types()]
    nimported = m.num_imported_funcs
    for i, typeidx in enumerate(m.funcs):
        code = m.codes[i] if i < len(m.codes) else None
        if typeidx >= ntypes:
            raise ValidationError(f"unknown type {typeidx}", code.offset if code else None,
                                  func=nimported + i)
        if m.types[typeidx].kind != "func":
            raise ValidationError("type mismatch", code.offset if code else None, func=nimported + i)
    ctx.funcs = [m.types[x] for x in m.func_type_indices()]  # type: ignore[misc]
    ctx.func_heaps = [ctx.heaps[x] for x in m.func_type_indices()]
    for table in m.tables:
        check_table_type(table, None)
    for mem in m.mems:
        check_mem_type(mem, None)
    if len(ctx.mems) > 1 and MULTI_MEMORY not in m.features:
        imported = m.imported(ExternKind.MEMORY)
        raise ValidationError("multiple memories", imported[1].offset if len(imported) > 1 else None)

    ctx.refs = collect_refs(m)
    # Which globals a constant expression may read: in Wasm 2.0 the imported ones; with extended
    # constant expressions a global's initialiser sees every global before it, a segment all.
    num_imported_globals = len(ctx.globals) - len(m.globals)
    extended = EXTENDED_CONST in m.features
    const_ops = EXTENDED_CONST_OPS if extended else CONST_OPS
    if GC_REFS in m.features:
        const_ops = const_ops | GC_CONST_OPS
    seg_globals = len(ctx.globals) if extended else num_imported_globals

    for k, g in enumerate(m.globals):
        check_const(ctx, g.init, g.type.valtype, num_imported_globals + (k if extended else 0),
                    g.offset, const_ops)

    # A table's initialiser (3.0) sees only the imported globals (the table section comes before
    # the global section); without one, its element type must have a default (null).
    for table in m.tables:
        if table.init is not None:
            check_const(ctx, list(table.init), table.elem, num_imported_globals,
                        table.limits.offset, const_ops)
        elif not reftypes.defaultable(table.elem):
            raise ValidationError("type mismatch", table.limits.offset)

    for e in m.elems:
        for item in e.items:
            check_const(ctx, item, e.elemtype, seg_globals, e.offset, const_ops)
        if e.mode is SegmentMode.ACTIVE:
            if e.table >= len(ctx.tables):
                raise ValidationError(f"unknown table {e.table}", e.offset)
            if not reftypes.subtype(e.elemtype, ctx.tables[e.table]):
                raise ValidationError("type mismatch", e.offset)
            check_const(ctx, e.offset_expr or [], ctx.table_addrs[e.table], seg_globals, e.offset,
                        const_ops)

    for d in m.datas:
        if d.mode is SegmentMode.ACTIVE:
            if d.memory >= len(ctx.mems):
                raise ValidationError(f"unknown memory {d.memory}", d.offset)
            check_const(ctx, d.offset_expr or [], ctx.mems[d.memory], seg_globals, d.offset,
                        const_ops)

    return ctx


def check_bodies(ctx: Context, m: Module, indices: Iterable[int]) -> None:
    """The bodies of the defined functions `indices` (positions in `m.codes`), in that order."""
    nimported = m.num_imported_funcs
    for i in indices:
        code = m.codes[i]
        assert code.body is not None, "body not decoded (decode.read_bodies)"
        funcidx = nimported + i
        v = FuncValidator(ctx, funcidx, ctx.funcs[funcidx], code.local_types())
        v.check_body(code.body)


def check_start_and_exports(ctx: Context, m: Module) -> None:
    if m.start is not None:
        if m.start >= len(ctx.funcs):
            raise ValidationError(f"unknown function {m.start}", None)
        ft = ctx.funcs[m.start]
        if ft.params or ft.results:
            raise ValidationError("start function must have type [] -> []", None)

    names: set[str] = set()
    limits = {ExternKind.FUNC: (len(ctx.funcs), "function"),
              ExternKind.TABLE: (len(ctx.tables), "table"),
              ExternKind.MEMORY: (len(ctx.mems), "memory"),
              ExternKind.GLOBAL: (len(ctx.globals), "global"),
              ExternKind.TAG: (len(ctx.tags), "tag")}
    for ex in m.exports:
        count, what = limits[ex.kind]
        if ex.index >= count:
            raise ValidationError(f"unknown {what} {ex.index}", ex.offset)
        if ex.name in names:
            raise ValidationError("duplicate export name", ex.offset)
        names.add(ex.name)
