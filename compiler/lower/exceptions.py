"""Lowering of exception handling (Wasm 3.0): `try_table`, `throw`, `throw_ref`.

Strategy: setjmp/longjmp through a stack of handler records (runtime_c/exception.c).  Entering a
`try_table` links a record in the function's frame into `wasmc_rt_handler_top` and calls _setjmp
on it; a throw longjmps to the innermost record, where the code built here compares the
exception's tag with each catch clause in order and branches to the clause's label with the
payload (and/or the exnref), or throws it on.  Leaving a try_table any other way needs no code at
the branch: every place control can land from inside one (a frame's target, a return, a tail call)
stores the handler top that runs there (FunctionLowerer.restore_handlers), so a handler is never
left linked after its frame is gone.  Locals stay correct across the longjmp because functions
with a try_table keep them in memory at calls (function.escape_locals).

Costs: a try_table entered costs a _setjmp (tens of nanoseconds), a throw a heap allocation and
a longjmp; code without try_table pays nothing.
"""

from __future__ import annotations

from . import irbuild as ir
from . import types as T
from .function import HANDLERS, Frame, FunctionLowerer

HANDLER_SIZE = 256  # WASMC_HANDLER_SIZE: {prev, pad, jmp_buf}, 16-aligned
HANDLER_BUF = 16  # offsetof(wasmc_handler, buf)
EXN_VALUES = 16  # offsetof(wasmc_exception, values)
EXN_TAG = 0
INST_TAGS = 88  # offsetof(wasmc_instance, tags)
SLOT = 16  # sizeof(wasmc_val)
_NULL = ir.Constant(T.PTR, None)


def tag_object(fl: FunctionLowerer, tagidx: int) -> ir.Value:
    """The `wasmc_tag` of tag `tagidx`: an identity, fixed for the instance."""
    tags = fl.load_field(fl.ctx, INST_TAGS, T.PTR, "tags", invariant=True)
    return fl.load_rt(fl.array_elem(tags, tagidx, 8), T.PTR, f"tag{tagidx}", invariant=True)


def lower_throw(fl: FunctionLowerer, instr) -> None:
    params = fl.module.types[fl.module.tag_types()[instr.imm]].params
    args = fl.popn(len(params))
    slots = fl.alloca_at_entry(ir.ArrayType(T.I8, SLOT * max(1, len(params))), "payload")
    for i, v in enumerate(args):
        fl.b.store(v, fl.field_ptr(slots, SLOT * i), align=8)
    fl.flush_witness(fl.b, reset=True)
    fl.b.call(fl.ml.rt("wasmc_rt_throw"), [fl.ctx, tag_object(fl, instr.imm), slots,
                                           ir.Constant(T.I32, len(params))])
    fl.b.unreachable()
    fl.reachable = False


def lower_throw_ref(fl: FunctionLowerer, instr) -> None:
    exn = fl.pop()
    fl.flush_witness(fl.b, reset=True)
    fl.b.call(fl.ml.rt("wasmc_rt_throw_ref"), [fl.ctx, exn])
    fl.b.unreachable()
    fl.reachable = False


def lower_try_table(fl: FunctionLowerer, instr) -> None:
    """Link a handler, _setjmp, and build the catch dispatch (in the context outside the
    try_table, whose labels the clauses name) before the body."""
    bt_imm, catches = instr.imm
    bt = fl.block_type(bt_imm)
    outer = fl.current_handlers()
    handler = fl.alloca_at_entry(ir.ArrayType(T.I8, HANDLER_SIZE), "handler")
    handler.align = 16
    fl.flush_witness(fl.b, reset=True)
    fl.b.store(outer, handler)  # prev
    fl.b.store(handler, fl.ml.handler_top_global())
    jumped = fl.b.call(fl.ml.rt("_setjmp"), [fl.field_ptr(handler, HANDLER_BUF)], name="setjmp")
    body = fl.fn.append_basic_block("try.body")
    dispatch = fl.fn.append_basic_block("try.catch")
    fl.b.cbranch(fl.b.icmp_unsigned("!=", jumped, ir.Constant(T.I32, 0)), dispatch, body)

    fl.b.position_at_end(dispatch)
    fl.restore_handlers()  # this handler is gone: a rethrow goes to the enclosing one
    fl.gc_caught()
    exn = fl.b.call(fl.ml.rt("wasmc_rt_caught"), [], name="exn")
    tag = fl.load_field(exn, EXN_TAG, T.PTR, "exn.tag") if any(k < 2 for k, _, _ in catches) \
        else None
    for kind, tagidx, label in catches:
        frame = fl.frames[-1 - label]
        values: list[ir.Value] = []
        if kind < 2:  # catch, catch_ref: only this tag
            match = fl.fn.append_basic_block("catch")
            other = fl.fn.append_basic_block("catch.next")
            fl.b.cbranch(fl.b.icmp_unsigned("==", tag, tag_object(fl, tagidx)), match, other)
            fl.b.position_at_end(match)
            params = fl.module.types[fl.module.tag_types()[tagidx]].params
            for i, t in enumerate(params):
                values.append(fl.b.load(fl.field_ptr(exn, EXN_VALUES + SLOT * i), typ=T.LLVM_TYPE[t],
                                        align=8, name=f"payload{i}"))
        else:
            other = None
        if kind & 1:  # catch_ref, catch_all_ref: the exception itself
            values.append(exn)
        fl.add_edge(frame, values)
        fl.b.branch(frame.target)
        if other is None:  # a catch_all: later clauses are never reached
            break
        fl.b.position_at_end(other)
    else:
        fl.b.call(fl.ml.rt("wasmc_rt_throw_ref"), [fl.ctx, exn])
        fl.b.unreachable()

    fl.b.position_at_end(body)
    exit_block = fl.fn.append_basic_block("try.end")
    fl.frames.append(Frame("try_table", bt, len(fl.stack) - len(bt.params), exit_block, exit_block,
                           handler=handler))


HANDLERS.update({
    "throw": lower_throw,
    "throw_ref": lower_throw_ref,
    "try_table": lower_try_table,
})
