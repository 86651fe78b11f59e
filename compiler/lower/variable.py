"""Lowering of variable, parametric and reference instructions.

Locals are entry-block allocas (promoted to registers by mem2reg).  A global is a 16-byte cell that
the instance points to (`instance->globals[i]`), so imported and exported globals are shared by
pointer; the cell pointer is invariant for the instance and loaded with `!invariant.load`.  A
funcref value is a pointer to a `wasmc_funcref` record; `ref.func i` is `instance->funcs[i]`.
"""

from __future__ import annotations

from . import irbuild as ir
from . import types as T
from .function import _LOCAL_NAMES, HANDLERS, FunctionLowerer


# The three most common instructions: the stack and the builder are used directly (no helper
# calls), which is a measurable share of the front end.
#
# Within one LLVM block a local holds the value last stored to or loaded from it (nothing else
# writes a local's alloca, and a block runs straight through), so `local.get` reuses that value
# instead of loading again -- what mem2reg does anyway, done here because every load not built
# is time saved in the front end and in LLVM's parser.  Constants and `fpext` results are not
# forwarded: handlers treat those operands specially (address folds, identity operands,
# demote(promote(x))), and a value read from a local must look like the load it replaces.
def lower_local_get(fl: FunctionLowerer, instr) -> None:
    i = instr[1]
    b = fl.b
    known = fl.local_values[i]
    if known is not None and known[0] is b.block:
        v = known[1]
    else:
        v = b.load(fl.locals[i], _LOCAL_NAMES[i], None, fl.local_llvm_types[i])
        fl.local_values[i] = (b.block, v)
    fl.addr.local_get(i, v)  # the same value as the last one stored: it shares its facts
    fl.stack.append(v)


def _forwardable(v: ir.Value) -> bool:
    return isinstance(v, ir.Instruction) and not (v.__class__ is ir.CastInstr
                                                   and v.opname == "fpext")


def lower_local_set(fl: FunctionLowerer, instr) -> None:
    set_local(fl, instr[1], fl.stack.pop())


def lower_local_tee(fl: FunctionLowerer, instr) -> None:
    set_local(fl, instr[1], fl.stack[-1])


def set_local(fl: FunctionLowerer, i: int, v: ir.Value) -> None:
    fl.addr.local_set(i, v)
    b = fl.b
    store = b.store(v, fl.locals[i])
    fl.local_values[i] = (b.block, v) if _forwardable(v) else None
    if fl.range is not None and i in fl.range.steps:
        fl.range_step(i, store, v)  # a pointer the loop steps: its 64-bit copies follow


def global_cell(fl: FunctionLowerer, idx: int) -> ir.Value:
    globals_ = fl.load_field(fl.ctx, T.INST_GLOBALS, T.PTR, "globals", invariant=True)
    cell = fl.load_rt(fl.array_elem(globals_, idx, 8), T.PTR, f"global{idx}.cell", invariant=True)
    return cell


def lower_global_get(fl: FunctionLowerer, instr) -> None:
    t = fl.module.global_types()[instr.imm].valtype
    v = fl.b.load(global_cell(fl, instr.imm), typ=T.LLVM_TYPE[t], name=f"global{instr.imm}")
    v.set_metadata("tbaa", fl.ml.tbaa["global"])
    fl.push(v)


def lower_global_set(fl: FunctionLowerer, instr) -> None:
    fl.b.store(fl.pop(), global_cell(fl, instr.imm)).set_metadata("tbaa", fl.ml.tbaa["global"])


def lower_drop(fl: FunctionLowerer, instr) -> None:
    fl.pop()


def lower_select(fl: FunctionLowerer, instr) -> None:
    cond = fl.pop_condition()
    y = fl.pop()
    x = fl.pop()
    fl.push(fl.b.select(cond, x, y, name="select"))


def lower_ref_null(fl: FunctionLowerer, instr) -> None:
    fl.push(ir.Constant(T.PTR, None))


def lower_ref_is_null(fl: FunctionLowerer, instr) -> None:
    r = fl.pop()
    fl.push(fl.b.zext(fl.b.icmp_unsigned("==", r, ir.Constant(T.PTR, None)), T.I32,
                      name="ref.is_null"))


def lower_ref_as_non_null(fl: FunctionLowerer, instr) -> None:
    r = fl.stack[-1]
    fl.trap_if(fl.b.icmp_unsigned("==", r, ir.Constant(T.PTR, None)), T.TRAP_NULL_REFERENCE)


def lower_ref_func(fl: FunctionLowerer, instr) -> None:
    funcs = fl.load_field(fl.ctx, T.INST_FUNCS, T.PTR, "funcs", invariant=True)
    rec = fl.load_rt(fl.array_elem(funcs, instr.imm, 8), T.PTR, f"ref.func{instr.imm}", invariant=True)
    fl.push(rec)


HANDLERS.update({
    "local.get": lower_local_get,
    "local.set": lower_local_set,
    "local.tee": lower_local_tee,
    "global.get": lower_global_get,
    "global.set": lower_global_set,
    "drop": lower_drop,
    "select": lower_select,
    "select_t": lower_select,
    "ref.null": lower_ref_null,
    "ref.is_null": lower_ref_is_null,
    "ref.as_non_null": lower_ref_as_non_null,
    "ref.func": lower_ref_func,
})
