"""Lowering of control instructions: structured blocks, branches, calls.

Blocks carry parameters and results (multi-value) through phis built by `FunctionLowerer`.
`br_table` gives every distinct target its own edge block so that a target's phis see exactly one
incoming edge per predecessor; a wide one inside a loop (an interpreter's dispatch) jumps through a
table of block addresses instead of a `switch` (lower_dispatch), and a giant one elsewhere is two
levels of switches (build_switch).  Calls pass the instance first; an imported function is called
through its `wasmc_funcref` record, and `call_indirect` checks bounds, null and the canonical type
id before calling through the record (a table that cannot grow has a constant bound, and its loads
are hoisted out of small loops).
"""

from __future__ import annotations

from . import irbuild as ir
from . import types as T
from .exceptions import finish_legacy_try
from .function import HANDLERS, Frame, FunctionLowerer, RangeLoop


def lower_nop(fl: FunctionLowerer, instr) -> None:
    pass


def lower_unreachable(fl: FunctionLowerer, instr) -> None:
    fl.trap(T.TRAP_UNREACHABLE)


def lower_block(fl: FunctionLowerer, instr) -> None:
    bt = fl.block_type(instr.imm)
    exit_block = fl.fn.append_basic_block("block.end")
    fl.frames.append(Frame("block", bt, len(fl.stack) - len(bt.params), exit_block, exit_block))


def lower_loop(fl: FunctionLowerer, instr) -> None:
    bt = fl.block_type(instr.imm)
    header = fl.fn.append_basic_block("loop")
    exit_block = fl.fn.append_basic_block("loop.end")
    params = fl.popn(len(bt.params))
    # Loads before the loop reach a side effect before it starts: a loop that never ends (or runs
    # long) would otherwise leave their witness dead, and LLVM would delete them and their traps.
    fl.flush_witness(fl.b, reset=True)
    pred = fl.b.block
    entry_br = fl.b.branch(header)
    fl.b.position_at_end(header)
    fl.addr.reset()  # the back edges merge here
    frame = Frame("loop", bt, len(fl.stack), header, exit_block, entry_branch=entry_br,
                  instr=instr)
    for i, (t, v) in enumerate(zip(bt.params, params)):
        phi = fl.b.phi(T.LLVM_TYPE[t], name=f"loop.param{i}")
        phi.add_incoming(v, pred)
        frame.loop_phis.append(phi)
        fl.push(phi)
    fl.restore_handlers()  # a back edge may come from inside a try_table in the loop
    fl.frames.append(frame)
    # A loop LLVM may vectorise (witness.py) sums its loads and gives each pointer it walks its
    # own copy of the memory base (FunctionLowerer.loop_base).
    summed = fl.summed_loops.get(id(instr))
    induction = summed.induction if summed is not None else None
    fl.loop_sums.append(summed is not None)
    fl.loop_bases = {} if induction else None
    fl.loop_entry, fl.loop_induction = entry_br, induction
    # Its pointer steps allow range witnesses (FunctionLowerer.finish_range).
    fl.range = RangeLoop(summed, entry_br) if summed and summed.steps and fl.range_slots else None


def lower_if(fl: FunctionLowerer, instr) -> None:
    bt = fl.block_type(instr.imm)
    cond = fl.pop_condition()
    then_block = fl.fn.append_basic_block("if.then")
    # The false arm's block stays empty, and so unprinted, when the `if` has no `else`: its
    # condition's branch is built at the `else` or `end` (finish_if_branch), to the false arm
    # or straight to the exit.  A forwarding block for every `if` without `else` was a fifth of
    # the blocks of a compiled C program, and LLVM parses and (at -O0) compiles each one.
    else_block = fl.fn.append_basic_block("if.else")
    exit_block = fl.fn.append_basic_block("if.end")
    params = fl.stack[len(fl.stack) - len(bt.params):]
    frame = Frame("if", bt, len(fl.stack) - len(bt.params), exit_block, exit_block,
                  else_block=else_block, if_params=list(params),
                  if_branch=(fl.b.block, cond, then_block))
    fl.frames.append(frame)
    fl.b.position_at_end(then_block)


def finish_if_branch(fl: FunctionLowerer, frame: Frame, false_target: ir.Block) -> None:
    """The `if`'s conditional branch, at the end of the block that evaluated its condition."""
    origin, cond, then_block = frame.if_branch
    here = fl.b.block
    fl.b.position_at_end(origin)
    fl.b.cbranch(cond, then_block, false_target)
    fl.b.position_at_end(here)


def lower_else(fl: FunctionLowerer, instr) -> None:
    frame = fl.frames[-1]
    if fl.reachable:
        fl.add_edge(frame, fl.stack[len(fl.stack) - len(frame.blocktype.results):])
        fl.b.branch(frame.exit)
    del fl.stack[frame.height:]
    fl.stack.extend(frame.if_params)
    finish_if_branch(fl, frame, frame.else_block)
    fl.b.position_at_end(frame.else_block)
    frame.else_block = None
    fl.reachable = True
    fl.addr.reset()  # the false arm is not dominated by the true arm


def lower_end(fl: FunctionLowerer, instr) -> None:
    frame = fl.frames.pop()
    if frame.kind == "loop":
        fl.loop_sums.pop()
        fl.loop_bases = None
        if fl.range is not None:
            fl.finish_range()
    # Address facts survive only when the fall-through is the one way in (no branch, no false arm).
    if not (fl.reachable and not frame.incoming
            and (frame.kind != "if" or frame.else_block is None)):
        fl.addr.reset()
    if fl.reachable:
        # Falling off the end goes to the exit (for a loop too, unlike a branch to it).
        frame.incoming.append((fl.stack[len(fl.stack) - len(frame.blocktype.results):],
                               fl.b.block))
        fl.b.branch(frame.exit)
    if frame.kind == "if" and frame.else_block is not None:
        # No `else`: the false arm passes the parameters through as results, by a branch from
        # the condition's block straight to the exit.
        finish_if_branch(fl, frame, frame.exit)
        frame.incoming.append((list(frame.if_params), frame.if_branch[0]))
    if frame.legacy is not None:  # a legacy `try`: what no catch took goes on outward
        finish_legacy_try(fl, frame, None)
    if frame.kind == "func":
        fl.finish_return(frame)
    else:
        fl.close_frame(frame)


def lower_br(fl: FunctionLowerer, instr) -> None:
    fl.branch_to(instr.imm)
    fl.reachable = False


def lower_br_if(fl: FunctionLowerer, instr) -> None:
    cond = fl.pop_condition()
    frame = fl.frames[-1 - instr.imm]
    cont = fl.fn.append_basic_block("br_if.cont")
    fl.add_edge(frame, fl.stack[len(fl.stack) - len(frame.branch_types):])
    fl.b.cbranch(cond, frame.target, cont)
    fl.b.position_at_end(cont)


def lower_br_on_null(fl: FunctionLowerer, instr) -> None:
    """Typed references (3.0): branch without the reference when it is null, else keep it."""
    ref = fl.pop()
    frame = fl.frames[-1 - instr.imm]
    cont = fl.fn.append_basic_block("br_on_null.cont")
    fl.add_edge(frame, fl.stack[len(fl.stack) - len(frame.branch_types):])
    fl.b.cbranch(fl.b.icmp_unsigned("==", ref, ir.Constant(T.PTR, None)), frame.target, cont)
    fl.b.position_at_end(cont)
    fl.push(ref)


def lower_br_on_non_null(fl: FunctionLowerer, instr) -> None:
    """Typed references (3.0): branch with the reference unless it is null, else drop it."""
    ref = fl.stack[-1]
    frame = fl.frames[-1 - instr.imm]
    cont = fl.fn.append_basic_block("br_on_non_null.cont")
    fl.add_edge(frame, fl.stack[len(fl.stack) - len(frame.branch_types):])
    fl.b.cbranch(fl.b.icmp_unsigned("!=", ref, ir.Constant(T.PTR, None)), frame.target, cont)
    fl.b.position_at_end(cont)
    fl.pop()


# A `br_table` with this many distinct targets inside a loop is taken for an interpreter's dispatch.
DISPATCH_MIN_TARGETS = 8


def lower_br_table(fl: FunctionLowerer, instr) -> None:
    labels, default = instr.imm
    index = fl.pop()
    arity = len(fl.frames[-1 - default].branch_types)
    values = fl.stack[len(fl.stack) - arity:] if arity else []
    edges: dict[int, ir.Block] = {}
    dispatch = (fl.ml.dispatch and len(set(labels)) >= DISPATCH_MIN_TARGETS
                and fl.innermost_loop() is not None)

    def edge(depth: int) -> ir.Block:
        """One edge block per distinct target, so each target phi sees one entry per block.  A
        loop header is a direct target of a `switch`, but never of an `indirectbr`: LLVM's loop
        deletion, when it proves a back edge is not taken, rewrites the branch that takes it, and
        crashed on an `indirectbr` (fuzz seed 62, regression dispatch_llvm_crash.wat)."""
        if depth not in edges:
            frame = fl.frames[-1 - depth]
            if arity == 0 and frame.kind == "loop" and not dispatch:
                edges[depth] = frame.target
            else:
                blk = fl.fn.append_basic_block(f"br_table.to{depth}")
                builder, fl.b = fl.b, ir.IRBuilder(blk)
                fl.add_edge(frame, values)
                fl.b.branch(frame.target)
                fl.b = builder
                edges[depth] = blk
        return edges[depth]

    if dispatch:
        lower_dispatch(fl, index, [edge(d) for d in labels] + [edge(default)])
    else:
        build_switch(fl, index, [edge(d) for d in labels], edge(default))
    fl.reachable = False


SWITCH_SPLIT = 1024  # a `switch` with more cases is built in two levels (build_switch)
SWITCH_CHUNK_BITS = 8


def build_switch(fl: FunctionLowerer, index: ir.Value, targets: list[ir.Block],
                 default: ir.Block) -> None:
    """`switch index`: case i goes to targets[i], anything else to `default`.

    Above SWITCH_SPLIT cases, two levels: a switch on `index >> 8` picks a block that switches on
    `index & 255`.  Why: LLVM's SimplifyCFG is quadratic in the arms of one switch that lead to one
    block (its duplicate-arm merging compares them pairwise), which is what the arms of a giant
    `br_table` become once their code is folded: one 5,000-way `br_table` took 23.8 s at -O1 as
    one switch and 2.1 s as twenty of 256 (a 20,000-way one did not finish in 10 minutes).  The
    extra jump costs only switches this big outside loops (in a loop a `br_table` is a dispatch,
    lower_dispatch), and `index & 255` is not a value LLVM folds back into the outer switch."""
    b = fl.b
    if len(targets) <= SWITCH_SPLIT:
        _switch(b, index, targets, default)
        return
    chunk = 1 << SWITCH_CHUNK_BITS
    low = b.and_(index, ir.Constant(T.I32, chunk - 1), name="br_table.low")
    high = b.lshr(index, ir.Constant(T.I32, SWITCH_CHUNK_BITS), name="br_table.high")
    chunks = [fl.fn.append_basic_block("br_table.chunk") for _ in range(0, len(targets), chunk)]
    _switch(b, high, chunks, default)
    for k, blk in enumerate(chunks):
        _switch(ir.IRBuilder(blk), low, targets[k * chunk:(k + 1) * chunk], default)


def _switch(b: ir.IRBuilder, value: ir.Value, targets: list[ir.Block], default: ir.Block) -> None:
    """`switch value` with case i going to targets[i]."""
    sw = b.switch(value, default)
    for i, t in enumerate(targets):
        sw.add_case(ir.Constant(T.I32, i), t)


def lower_dispatch(fl: FunctionLowerer, index: ir.Value, slots: list[ir.Block]) -> None:
    """A `br_table` in a loop as a jump through a table of block addresses (computed goto).

    A `switch` becomes a range check and then an indirect jump in a block of its own, which every
    handler re-enters through the loop header: one shared, hard-to-predict jump, and its speed
    then swings by 1.4x with the loop's code address alone (interp benchmark).  Clamping the index
    with a `select` leaves a branch-free block ending in `indirectbr`, which the code generator
    tail-duplicates into each handler, so each handler predicts its own successor.  The last slot
    is the default target (index >= len(labels))."""
    last = len(slots) - 1
    b = fl.b
    in_range = b.icmp_unsigned("<", index, ir.Constant(T.I32, last))
    slot = b.zext(b.select(in_range, index, ir.Constant(T.I32, last)), T.I64)
    name = fl.ml.ir.get_unique_name(f"{fl.fn.name}.dispatch")
    table = fl.ml.const_array(name, T.PTR, [ir.BlockAddress(fl.fn, s) for s in slots])
    target = b.load(b.gep(table, [ir.Constant(T.I64, 0), slot], inbounds=True,
                          source_etype=ir.ArrayType(T.PTR, len(slots))), typ=T.PTR)
    jump = b.branch_indirect(target)
    for s in dict.fromkeys(slots):
        jump.add_destination(s)
    fl.ml.cur.dispatch = True


def lower_return(fl: FunctionLowerer, instr) -> None:
    fl.build_return(fl.stack[len(fl.stack) - len(fl.results):] if fl.results else [])
    fl.reachable = False


def lower_call(fl: FunctionLowerer, instr, tail: bool = False) -> None:
    """`call`; with `tail`, `return_call` (see call_marker)."""
    idx = instr.imm
    ft = fl.module.func_type(idx)
    if idx >= fl.module.num_imported_funcs:
        callee = fl.ml.func(idx)
        args = fl.popn(len(ft.params))
        if not tail:
            fl.gc_point(args)
        fl.flush_witness(fl.b, reset=True)
        marker = call_marker(fl, ft.params, ft.results, tail)
        call = fl.b.call(callee, [fl.ctx] + args, name=f"call.{fl.module.func_name(idx)}",
                         tail=marker)
        finish_call(fl, call, ft.results, tail, marker)
        return
    funcs = fl.load_field(fl.ctx, T.INST_FUNCS, T.PTR, "funcs", invariant=True)
    rec = fl.load_rt(fl.array_elem(funcs, idx, 8), T.PTR, f"import{idx}", invariant=True)
    call_through_record(fl, rec, ft.params, ft.results, f"call.{fl.module.func_name(idx)}", tail)


def call_marker(fl: FunctionLowerer, params: str, results: str, tail: bool) -> str:
    """A call's marker.  `notail` for a call: LLVM must not turn recursion into a loop, or deep
    recursion would never exhaust the stack as Wasm requires.  A tail call (Wasm 3.0) is
    `musttail` when the callee's signature is the caller's, i.e. their LLVM prototypes match,
    as `musttail` requires of the C calling convention that funcref code pointers (which may be
    C functions, such as WASI's) keep; then it reuses the caller's frame and tail recursion of
    any depth runs in constant stack.  A tail call to another signature is an ordinary call
    followed by a return (README: known limitations)."""
    if tail and params == fl.params and results == fl.results:
        return "musttail"
    return "notail"


def finish_call(fl: FunctionLowerer, call: ir.Value, results: str, tail: bool, marker: str) -> None:
    """Push a call's results, or, for a tail call, return them (a `musttail` call's `ret` must
    follow it at once: the witness was flushed before the call)."""
    if not tail:
        push_results(fl, call, results)
        return
    if marker == "musttail":
        if results:
            fl.b.ret(call)
        else:
            fl.b.ret_void()
    else:
        push_results(fl, call, results)
        fl.build_return(fl.popn(len(results)))
    fl.reachable = False


def leave_handlers(fl: FunctionLowerer) -> None:
    """Before a tail call: this function's try_tables end with its frame (exceptions.py), and
    so does its GC root frame (the callee roots what it is passed)."""
    if fl.has_try:
        fl.b.store(fl.entry_top, fl.ml.handler_top_global())
    fl.gc_leave(fl.b)


def lower_return_call(fl: FunctionLowerer, instr) -> None:
    leave_handlers(fl)
    lower_call(fl, instr, tail=True)


def lower_return_call_indirect(fl: FunctionLowerer, instr) -> None:
    leave_handlers(fl)
    lower_call_indirect(fl, instr, tail=True)


def lower_call_ref(fl: FunctionLowerer, instr, tail: bool = False) -> None:
    """`call_ref $t` (typed references, 3.0): validation proved the reference's type is $t's, so
    only null is checked before calling through its record; with `tail`, `return_call_ref`."""
    ft = fl.module.types[instr.imm]
    rec = fl.pop()
    fl.trap_if(fl.b.icmp_unsigned("==", rec, ir.Constant(T.PTR, None)), T.TRAP_NULL_REFERENCE)
    call_through_record(fl, rec, ft.params, ft.results, "call_ref", tail)


def lower_return_call_ref(fl: FunctionLowerer, instr) -> None:
    leave_handlers(fl)
    lower_call_ref(fl, instr, tail=True)


def push_results(fl: FunctionLowerer, call: ir.Value, results: str) -> None:
    if len(results) == 1:
        fl.push(call)
    elif len(results) > 1:
        for i in range(len(results)):
            fl.push(fl.b.extract_value(call, i))


def call_through_record(fl: FunctionLowerer, rec: ir.Value, params: str, results: str,
                        name: str, tail: bool = False) -> None:
    code = fl.load_field(rec, T.FUNCREF_CODE, T.PTR, "code")
    inst = fl.load_field(rec, T.FUNCREF_INSTANCE, T.PTR, "callee_instance")
    call_code(fl, code, inst, params, results, name, tail)


def call_code(fl: FunctionLowerer, code: ir.Value, inst: ir.Value, params: str, results: str,
              name: str, tail: bool = False) -> None:
    """Call through a code pointer with the callee's instance and the arguments on the stack."""
    args = fl.popn(len(params))
    if not tail:
        fl.gc_point(args)
    fl.flush_witness(fl.b, reset=True)
    fnty = T.func_llvm_type(params, results)
    marker = call_marker(fl, params, results, tail)
    call = fl.ml.call_indirect_ptr(fl.b, fnty, code, [inst] + args, name if results else "",
                                   tail=marker)
    finish_call(fl, call, results, tail, marker)


def lower_call_indirect(fl: FunctionLowerer, instr, tail: bool = False) -> None:
    typeidx, tableidx = instr.imm
    ft = fl.module.types[typeidx]
    index = fl.pop()
    open_type = fl.ml.open_func_type(typeidx)  # GC: its subtypes' functions pass too
    static = None if open_type else fl.ml.call_table(tableidx)
    if static is not None:
        call_static_table(fl, index, typeidx, tableidx, *static, tail=tail)
        return
    table = fl.table_object(tableidx)
    fixed = fl.ml.fixed_table_size(tableidx)
    if fixed is None:  # `table.grow` (here or in a callee) may change both: reload them
        size = fl.load_field(table, T.TABLE_SIZE, T.I32, "table.size")
        elems = fl.load_field(table, T.TABLE_ELEMS, T.PTR, "table.elems")
    else:  # a table that cannot grow never moves its elements either
        size = ir.Constant(T.I32, fixed)
        elems = fl.load_field(table, T.TABLE_ELEMS, T.PTR, "table.elems", invariant=True)
    if index.type == T.I64:  # a table64's index: compare in 64 bits (sizes fit 32)
        size = fl.b.zext(size, T.I64)
    fl.trap_if(fl.b.icmp_unsigned(">=", index, size), T.TRAP_UNDEFINED_ELEMENT)
    rec = fl.load_rt(fl.array_elem(elems, index, 8), T.PTR, "funcref")
    fl.trap_if(fl.b.icmp_unsigned("==", rec, ir.Constant(T.PTR, None)),
               T.TRAP_UNINITIALIZED_ELEMENT)
    expected = fl.load_rt(fl.array_elem(fl.type_ids(), typeidx, 4), T.I32, "expected_type",
                          invariant=True)
    actual = fl.load_field(rec, T.FUNCREF_TYPE_ID, T.I32, "actual_type")
    if open_type:
        check_subtype(fl, actual, expected)
    else:
        fl.trap_if(fl.b.icmp_unsigned("!=", actual, expected), T.TRAP_INDIRECT_CALL_TYPE)
    call_through_record(fl, rec, ft.params, ft.results, "call_indirect", tail)


def check_subtype(fl: FunctionLowerer, actual: ir.Value, expected: ir.Value) -> None:
    """Trap unless canonical type id `actual` is `expected` or a declared subtype of it: equal
    ids inline, the rest by the runtime's record of supertypes (wasmc_rt_type_sub)."""
    slow = fl.fn.append_basic_block("call_indirect.subtype")
    done = fl.fn.append_basic_block("call_indirect.typed")
    fl.b.cbranch(fl.b.icmp_unsigned("!=", actual, expected), slow, done)
    fl.b.position_at_end(slow)
    ok = fl.b.call(fl.ml.rt("wasmc_rt_type_sub"), [actual, expected], name="subtype")
    fl.trap_if(fl.b.icmp_unsigned("==", ok, ir.Constant(T.I32, 0)), T.TRAP_INDIRECT_CALL_TYPE)
    fl.b.branch(done)
    fl.b.position_at_end(done)


def call_static_table(fl: FunctionLowerer, index: ir.Value, typeidx: int, tableidx: int,
                      codes: ir.Value, classes: ir.Value, tail: bool = False) -> None:
    """`call_indirect` through a table whose elements the module alone decides
    (ModuleLowerer.static_table): the element's code pointer and type class come from two
    constant arrays, loaded side by side, and the callee runs in this instance.  Native code's
    indirect call loads one pointer; the general path chains three loads (element, record,
    code) before the jump can be predicted and checked."""
    ft = fl.module.types[typeidx]
    size = len(fl.ml.static_table(tableidx))  # type: ignore[arg-type]
    fl.trap_if(fl.b.icmp_unsigned(">=", index, ir.Constant(T.I32, size)),
               T.TRAP_UNDEFINED_ELEMENT)
    slot = [ir.Constant(T.I64, 0), fl.b.zext(index, T.I64)]
    array = ir.ArrayType(T.PTR, size)
    code = fl.b.load(fl.b.gep(codes, slot, inbounds=True, source_etype=array), typ=T.PTR,
                     name="code")
    cls = fl.b.load(fl.b.gep(classes, slot, inbounds=True, source_etype=ir.ArrayType(T.I32, size)),
                    typ=T.I32, name="class")
    fl.trap_if(fl.b.icmp_signed("<", cls, ir.Constant(T.I32, 0)), T.TRAP_UNINITIALIZED_ELEMENT)
    fl.trap_if(fl.b.icmp_unsigned("!=", cls, ir.Constant(T.I32, fl.ml.type_class(typeidx))),
               T.TRAP_INDIRECT_CALL_TYPE)
    call_code(fl, code, fl.ctx, ft.params, ft.results, "call_indirect", tail)


HANDLERS.update({
    "nop": lower_nop,
    "unreachable": lower_unreachable,
    "block": lower_block,
    "loop": lower_loop,
    "if": lower_if,
    "else": lower_else,
    "end": lower_end,
    "br": lower_br,
    "br_if": lower_br_if,
    "br_table": lower_br_table,
    "return": lower_return,
    "call": lower_call,
    "call_indirect": lower_call_indirect,
    "return_call": lower_return_call,
    "return_call_indirect": lower_return_call_indirect,
    "call_ref": lower_call_ref,
    "return_call_ref": lower_return_call_ref,
    "br_on_null": lower_br_on_null,
    "br_on_non_null": lower_br_on_non_null,
})
