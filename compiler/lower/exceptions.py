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

An exception is a GC object (runtime_c/gc.c), freed once unreachable, so a function that holds
exnrefs (a catch_ref or catch_all_ref clause, exn-typed values) or may `rethrow` a legacy catch's
exception keeps them in a root frame, like references to GC objects (function.gc_point).

Costs: a try_table entered costs a _setjmp (tens of nanoseconds), a throw a heap allocation and
a longjmp; code without try_table pays nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import irbuild as ir
from . import types as T
from .function import HANDLERS, Frame, FunctionLowerer

HANDLER_SIZE = 256  # WASMC_HANDLER_SIZE: {prev, pad, jmp_buf}, 16-aligned
HANDLER_BUF = 16  # offsetof(wasmc_handler, buf)
EXN_VALUES = 32  # offsetof(wasmc_exception, values): after the GC object header and the tag
EXN_TAG = 16
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
    fl.gc_point(args)  # the exception is a GC object: allocating it may collect
    fl.flush_witness(fl.b, reset=True)
    fl.b.call(fl.ml.rt("wasmc_rt_throw"), [fl.ctx, tag_object(fl, instr.imm), slots,
                                           ir.Constant(T.I32, len(params))])
    fl.b.unreachable()
    fl.reachable = False


def rethrow(fl: FunctionLowerer, exn: ir.Value) -> None:
    """Throw `exn` to the handler top; the current block ends."""
    fl.b.call(fl.ml.rt("wasmc_rt_throw_ref"), [fl.ctx, exn])
    fl.b.unreachable()


def throw_again(fl: FunctionLowerer, exn: ir.Value) -> None:
    """throw_ref, rethrow: throw `exn` from the body (whose code after it is unreachable)."""
    fl.flush_witness(fl.b, reset=True)
    rethrow(fl, exn)
    fl.reachable = False


def payload(fl: FunctionLowerer, exn: ir.Value, tagidx: int) -> list[ir.Value]:
    """The payload values of exception `exn`, whose tag is `tagidx`."""
    params = fl.module.types[fl.module.tag_types()[tagidx]].params
    return [fl.b.load(fl.field_ptr(exn, EXN_VALUES + SLOT * i), typ=T.LLVM_TYPE[t], align=8,
                      name=f"payload{i}") for i, t in enumerate(params)]


def lower_throw_ref(fl: FunctionLowerer, instr) -> None:
    throw_again(fl, fl.pop())


def enter_try(fl: FunctionLowerer, outer: Any) -> tuple[ir.Value, ir.Block, ir.Value]:
    """Link a new handler record above `outer` and _setjmp on it.  Returns the record, the block
    the try body starts in and the caught exception; the builder is left in the handler's
    landing block, where the handler is unlinked again (outer runs there)."""
    handler = fl.alloca_at_entry(ir.ArrayType(T.I8, HANDLER_SIZE), "handler")
    handler.align = 16
    fl.flush_witness(fl.b, reset=True)
    fl.b.store(outer, handler)  # prev
    fl.b.store(handler, fl.ml.handler_top_global())
    jumped = fl.b.call(fl.ml.rt("_setjmp"), [fl.field_ptr(handler, HANDLER_BUF)], name="setjmp")
    body = fl.fn.append_basic_block("try.body")
    landing = fl.fn.append_basic_block("try.catch")
    fl.b.cbranch(fl.b.icmp_unsigned("!=", jumped, ir.Constant(T.I32, 0)), landing, body)
    fl.b.position_at_end(landing)
    fl.restore_handlers()  # this handler is gone: a rethrow goes to the enclosing one
    fl.gc_caught()
    return handler, body, fl.b.call(fl.ml.rt("wasmc_rt_caught"), [], name="exn")


def lower_try_table(fl: FunctionLowerer, instr) -> None:
    """Link a handler, _setjmp, and build the catch dispatch (in the context outside the
    try_table, whose labels the clauses name) before the body."""
    bt_imm, catches = instr.imm
    bt = fl.block_type(bt_imm)
    outer = fl.current_handlers()
    handler, body, exn = enter_try(fl, outer)
    tag: Any = fl.load_field(exn, EXN_TAG, T.PTR, "exn.tag") \
        if any(k < 2 for k, _, _ in catches) else None  # an ir.Value if any clause names a tag
    for kind, tagidx, label in catches:
        frame = fl.frames[-1 - label]
        values: list[ir.Value] = []
        if kind < 2:  # catch, catch_ref: only this tag
            match = fl.fn.append_basic_block("catch")
            other = fl.fn.append_basic_block("catch.next")
            fl.b.cbranch(fl.b.icmp_unsigned("==", tag, tag_object(fl, tagidx)), match, other)
            fl.b.position_at_end(match)
            values += payload(fl, exn, tagidx)
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
        rethrow(fl, exn)

    fl.b.position_at_end(body)
    exit_block = fl.fn.append_basic_block("try.end")
    fl.frames.append(Frame("try_table", bt, len(fl.stack) - len(bt.params), exit_block, exit_block,
                           handler=handler))


# --- the legacy exception instructions ------------------------------------------------------------
# A `try` links a handler as try_table does; its landing block starts a chain of tag compares that
# each `catch x` extends (its section is the match), so the sections can be lowered in order, as
# `else` arms are.  The chain's last link rethrows to the enclosing handlers (`end`), or to the
# handlers in effect inside the label a `delegate` names.
@dataclass
class LegacyTry:
    exn: ir.Value  # the caught exception (dominates every catch section)
    tag: ir.Value
    check: Any  # the ir.Block where the next catch's compare goes; None after a catch_all


def lower_try(fl: FunctionLowerer, instr) -> None:
    bt = fl.block_type(instr.imm)
    handler, body, exn = enter_try(fl, fl.current_handlers())
    tag = fl.load_field(exn, EXN_TAG, T.PTR, "exn.tag")
    legacy = LegacyTry(exn, tag, fl.b.block)
    fl.b.position_at_end(body)
    exit_block = fl.fn.append_basic_block("try.end")
    fl.frames.append(Frame("try", bt, len(fl.stack) - len(bt.params), exit_block, exit_block,
                           handler=handler, legacy=legacy))


def end_section(fl: FunctionLowerer, frame: Frame) -> None:
    """The try body or a catch section ends: its results go to the try's exit."""
    if fl.reachable:
        fl.add_edge(frame, fl.stack[len(fl.stack) - len(frame.blocktype.results):])
        fl.b.branch(frame.exit)
    del fl.stack[frame.height:]


def lower_catch(fl: FunctionLowerer, instr) -> None:
    """`catch x` / `catch_all`: a section run when the body threw (a tag x exception)."""
    frame = fl.frames[-1]
    legacy: LegacyTry = frame.legacy  # type: ignore[assignment]
    end_section(fl, frame)
    frame.handler = None  # the body is over: the sections run under the enclosing handlers
    fl.b.position_at_end(legacy.check)
    match = fl.fn.append_basic_block(instr.op.name)
    if instr.op.name == "catch":
        other = fl.fn.append_basic_block("catch.next")
        fl.b.cbranch(fl.b.icmp_unsigned("==", legacy.tag, tag_object(fl, instr.imm)), match, other)
        fl.b.position_at_end(match)
        fl.stack += payload(fl, legacy.exn, instr.imm)
        legacy.check = other
    else:
        fl.b.branch(match)
        fl.b.position_at_end(match)
        legacy.check = None
    fl.reachable = True
    fl.addr.reset()


def finish_legacy_try(fl: FunctionLowerer, frame: Frame, handlers: ir.Value | None) -> None:
    """No catch took the exception: rethrow it to `handlers` (None: the enclosing ones, which
    the landing block already restored)."""
    legacy: LegacyTry = frame.legacy  # type: ignore[assignment]
    if legacy.check is None:
        return
    fl.b.position_at_end(legacy.check)
    if handlers is not None:
        fl.b.store(handlers, fl.ml.handler_top_global())
    rethrow(fl, legacy.exn)


def lower_delegate(fl: FunctionLowerer, instr) -> None:
    """`delegate l` ends a try whose exceptions go to the handlers in effect inside label l
    (counted outside the try): l's own if it is a try still in its body, else the nearest such
    one around it, else the caller's."""
    frame = fl.frames.pop()
    end_section(fl, frame)
    fl.addr.reset()  # the exit may be reached by branches too: no address fact holds there
    finish_legacy_try(fl, frame, fl.current_handlers(instr.imm))
    fl.close_frame(frame)


def lower_rethrow(fl: FunctionLowerer, instr) -> None:
    """`rethrow l`: throw again what the catch section at label l caught."""
    legacy: LegacyTry = fl.frames[-1 - instr.imm].legacy  # type: ignore[assignment]
    throw_again(fl, legacy.exn)


HANDLERS.update({
    "throw": lower_throw,
    "throw_ref": lower_throw_ref,
    "try_table": lower_try_table,
    "try": lower_try,
    "catch": lower_catch,
    "catch_all": lower_catch,
    "delegate": lower_delegate,
    "rethrow": lower_rethrow,
})
