"""Lowering of one function body from the Wasm stack machine to LLVM SSA.

Strategy (cranelift's translator is the model): one pass over the validated instruction list with
a value stack of LLVM values and a control stack of `Frame`s.  Locals are allocas in the entry block
(mem2reg makes them registers).  Block results and loop parameters flow through phi nodes: a frame
records the incoming (values, block) pairs of every branch to its exit and builds the phis at `end`;
a loop builds its parameter phis up front so back edges can add to them.  After `br`, `br_table`,
`return` and `unreachable` the rest of the block is dead: it is skipped by `skip_dead`, which only
tracks nesting, and `end` decides whether code after the block is reachable.

Traps go to one cold block per trap kind per function, calling the noreturn `wasmc_rt_trap`, so the
hot path carries a compare and a rarely-taken branch.

The load witness.  With guard pages a Wasm load traps by faulting, but to LLVM a load has no side
effect: one whose value ends up unused (dropped, stored to a dead local, folded away by a constant
`select`, narrowed by a `wrap`) is deleted or shrunk, and its out-of-bounds trap with it.  So every
linear-memory load that may trap gets a use LLVM cannot remove (at -O0: is made volatile,
witness.py).  Outside the loops LLVM may vectorise, that is an empty `asm` taking the value in a
register (witness.py: no instruction, no loop-carried chain).  Inside them it is a per-function
sum (`witness`: allocas that mem2reg turns into registers, one per width, vectorisable as a
reduction where an asm call would stop the vectoriser), and every exit -- each return, each trap
block, and each call, since a callee may trap and never come back, and each loop entry, since a
loop may never end -- adds the sum into `instance->load_witness`.  (A summed load inside a loop
that never ends is still lost: its sum only leaves through the loop's exits.)  Addition, not xor,
because `x ^ x` would cancel two loads of the same address; functions without summed loops have
no sum and no flushes.
Loads through a pointer such a loop steps by a constant can instead take a range witness: the end
of the last one is checked against the memory size at those same exits (finish_range, witness.py).
Four things keep the sum cheap.  Loads wait in `pending` until the basic block ends and are then
added as a balanced tree, so the loop-carried chain is one add per block, not one per load.  A load
that an earlier access proves in bounds cannot trap and is not witnessed at all (addressing.py).  A
pending load followed, before the block ends, by a store through the same address value that ends
at or past it is dropped from the witness: that store traps wherever the load would, and it cannot
be deleted as a no-op (storing back what was loaded) because its value goes through `freeze`.  And
a pending `i32.load` whose value addresses a later access that stays (a store or a witnessed load)
is dropped too: LLVM cannot delete a load its kept address depends on.

Instruction handlers all share one signature, `handler(fl: FunctionLowerer, instr: Instr)`, and
are looked up by mnemonic in `HANDLERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from ..module import BlockType, Instr
from . import irbuild as ir
from . import types as T
from .addressing import AddressFacts, NoAddressFacts
from .witness import MAX_STEP, SummedLoop, keep_alive, summed_loops

if TYPE_CHECKING:
    from .module_lowering import ModuleLowerer


@dataclass
class Frame:
    kind: str  # "block" | "loop" | "if" | "func"
    blocktype: BlockType
    height: int  # value-stack height below the frame's parameters
    target: ir.Block  # where `br` to this frame goes (loop header, otherwise the exit)
    exit: ir.Block
    loop_phis: list[ir.PhiInstr] = field(default_factory=list)
    incoming: list[tuple[list[ir.Value], ir.Block]] = field(default_factory=list)  # edges to exit
    else_block: Any = None  # `if`: the false arm, an ir.Block (until `else` is seen)
    if_params: list[ir.Value] = field(default_factory=list)  # `if`: params for the false arm
    if_branch: tuple = ()  # `if`: (the block its condition ends, the i1, the true arm's block)
    entry_branch: Any = None  # `loop`: the branch into it (from its preheader)
    instr: Any = None  # `loop`: its instruction (the key of FunctionLowerer.loop_size)
    invariants: dict = field(default_factory=dict)  # `loop`: loop_invariant's values
    handler: ir.Value | None = None  # `try_table`, `try`: its handler record (exceptions.py)
    legacy: Any = None  # `try`: its catch dispatch (exceptions.LegacyTry)

    @property
    def branch_types(self) -> str:
        """Types a branch to this frame carries: loop params, otherwise results."""
        return self.blocktype.params if self.kind == "loop" else self.blocktype.results


SMALL_LOOP = 400  # Wasm instructions: loop_invariant hoists out of loops up to this size
# emit_stack_check: the largest frame whose -O0 stack check may read a stack slot's address.
FAST_STACK_CHECK_FRAME = 32 << 10


def frame_bound(instructions: int, locals_: int) -> int:
    """Bytes an -O0 frame can take at most: a 16-byte slot per local, and for each instruction
    at most 8 IR values spilled to a 16-byte slot each (-O0 spills every value that lives across
    a block or a call, and shares no slots)."""
    return 16 * locals_ + 128 * instructions

RANGE_SLOTS = 4  # range-witness groups per loop (finish_range); a loop with more is summed

WITNESS_TYPES = {"i32": T.I32, "i64": T.I64, "v128": T.V128}
WITNESS_KEY = {1: "i32", 2: "i32", 4: "i32", 8: "i64", 16: "v128"}  # by bytes loaded

# Instructions that end the current LLVM block (the pending load witness is committed before them;
# calls commit through flush_witness, trap checks through trap_if).
ENDS_BLOCK = frozenset(("if", "else", "end", "br", "br_if", "br_table", "return", "unreachable",
                        "loop", "return_call", "return_call_indirect", "return_call_ref",
                        "br_on_null", "br_on_non_null", "try_table", "throw", "throw_ref",
                        "try", "catch", "catch_all", "delegate", "rethrow",
                        "ref.test", "ref.test.null", "ref.cast", "ref.cast.null", "br_on_cast",
                        "br_on_cast_fail"))
# Instructions that open a frame closed by `end`.
OPENS_FRAME = frozenset(("block", "loop", "if", "try_table", "try"))
# Instructions that close one: `end`, and the legacy `delegate` (which ends its `try`).
CLOSES_FRAME = frozenset(("end", "delegate"))
# Instructions that start another arm of the innermost frame: `if`'s `else`, `try`'s catches.
NEXT_ARM = frozenset(("else", "catch", "catch_all"))

_BASE_ATTRS = ("nounwind", "willreturn", "memory(none)")  # a pure copy: hoistable, removable
_ZERO64 = ir.Constant(T.I64, 0)


class RangeLoop:
    """The summed loop being lowered, when range witnesses may replace its sum
    (FunctionLowerer.finish_range)."""

    __slots__ = ("deferred", "derived", "derived_keys", "entry", "loads", "step_stores", "steps",
                 "summed")

    def __init__(self, loop: SummedLoop, entry: ir.Instruction):
        self.steps = loop.steps  # pointer local -> its step per iteration
        self.derived = loop.derived  # derived pointer local -> (i, b, i stepped first)
        self.derived_keys: dict[int, int] = {}  # derived pointer -> its definition's value key
        self.loads = loop.range_loads  # id() of each load every iteration reaches -> its region
        self.entry = entry  # the branch into the loop
        self.step_stores: dict[int, ir.Instruction] = {}  # pointer local -> its step's store
        # Witnessed loads that can take a range witness, until the loop ends or sums a load:
        # pending entries whose last item is a RangeTarget.
        self.deferred: list[list] = []
        self.summed = False  # some load in the loop joined the sum


class RangeTarget(NamedTuple):
    """How a load in a range loop addresses memory: `(p + delta) mod 2^32`, where `p` is a pointer
    local the loop steps (`stepped`: already in this iteration), reading the bytes before that
    plus `end`; `region`: see witness.SummedLoop."""

    local: int
    stepped: bool
    region: int
    delta: int
    end: int

_LOCAL_NAMES: list[str] = []
_BLOCK_TYPES: dict[str | None, BlockType] = {}  # FunctionLowerer.block_type
_OFFSETS: dict[int, ir.Constant] = {}  # FunctionLowerer.field_ptr


def witness_bits(b: ir.IRBuilder, v: ir.Value) -> tuple[str, ir.Value]:
    """The witness slot (WITNESS_TYPES key) a loaded value is summed into, and its bits."""
    t = v.type
    if isinstance(t, ir.VectorType):
        if t.count * t.element.width == 64:  # v128.load8x8_s and friends read 64 bits
            return "i64", b.bitcast(v, T.I64)
        return "v128", v if t == T.V128 else b.bitcast(v, T.V128)
    if isinstance(t, ir.FloatType):
        return "i32", b.bitcast(v, T.I32)
    if isinstance(t, ir.DoubleType):
        return "i64", b.bitcast(v, T.I64)
    if t.width == 64:
        return "i64", v
    return "i32", v if t.width == 32 else b.zext(v, T.I32)


def insert_after_each(emits: list[tuple[ir.Instruction, Callable[[ir.IRBuilder], None]]]) -> None:
    """Call each `emit(b)` with `b` building right after its instruction: one pass over each block
    (positioning a builder after an instruction searches its block, which is quadratic for a
    loop body of thousands of loads)."""
    after: dict[int, list] = {}
    blocks: dict[int, ir.Block] = {}
    for instr, emit in emits:
        after.setdefault(id(instr), []).append(emit)
        blocks[id(instr.parent)] = instr.parent
    b = ir.IRBuilder()
    for block in blocks.values():
        old = block.instructions
        block.instructions = new = []
        for instr in old:
            new.append(instr)
            for emit in after.get(id(instr), ()):
                b.position_at_end(block)  # (after the append: llvmlite's builder keeps an index)
                emit(b)


_ESCAPE = ir.FunctionType(T.VOID, [T.PTR])


def escape_locals(b: ir.IRBuilder, locals_: list[ir.AllocaInstr]) -> None:
    """Hand each local's address to an empty asm statement that may read and write memory.

    A throw longjmps into its handler, which restores registers as they were at the try_table's
    _setjmp; a local kept in a register would then read as it was there, not as the try body
    last set it.  A local whose address escapes stays in memory: every call (a throw is one)
    stores it first and every call (the _setjmp is one) reloads it after, while code between
    calls still keeps it in registers.  No instruction is emitted."""
    for slot in locals_:
        b.asm(_ESCAPE, "", "r,~{memory}", [slot], True)


def local_names(n: int) -> list[str]:
    """["local0", "local1", ...], at least n of them (values are named after their local)."""
    while len(_LOCAL_NAMES) < n:
        _LOCAL_NAMES.append(f"local{len(_LOCAL_NAMES)}")
    return _LOCAL_NAMES

Handler = Callable[["FunctionLowerer", Instr], None]
HANDLERS: dict[str, Handler] = {}

# Instructions that may reach a collection: calls (the callee may allocate) and allocations.
GC_POINTS = frozenset({"call", "call_indirect", "call_ref", "return_call", "return_call_indirect",
                       "return_call_ref", "struct.new", "struct.new_default", "array.new",
                       "array.new_default", "array.new_fixed", "array.new_data", "array.new_elem",
                       "throw"})
GC_FRAME_SLOTS = 16  # wasmc_gc_frame: {prev, count}, then the slots


def holds_exceptions(body: list[Instr], op_names: set[str]) -> bool:
    """Whether the body makes exnrefs of its own (the exceptions a catch_ref or catch_all_ref
    clause delivers) or keeps a legacy catch's exception for a `rethrow`: exceptions are GC
    objects, so those must be in its root frame whether or not the module's types mention them
    (module_lowering.module_traces_refs)."""
    if "rethrow" in op_names:
        return True
    return "try_table" in op_names and any(
        ins[0].name == "try_table" and any(kind & 1 for kind, _, _ in cast(Any, ins[1])[1])
        for ins in body)


class FunctionLowerer:
    def __init__(self, ml: ModuleLowerer, fn: ir.Function, params: str, results: str, locals_: str,
                 body: list[Instr], has_calls: bool, witness: AbstractSet[str] = frozenset(),
                 op_names: set[str] | None = None):
        self.ml = ml
        self.module = ml.module
        self.fn = fn
        if op_names is None:  # the body's instruction names (the module lowerer has them already)
            op_names = {ins[0].name for ins in body}
        self.params = params
        self.results = results
        self.body = body
        self.stack: list[ir.Value] = []
        self.frames: list[Frame] = []
        self.reachable = True
        self.trap_blocks: dict[int, ir.Block] = {}
        self.entry = fn.append_basic_block("entry")
        self.b: ir.IRBuilder = ir.IRBuilder(self.entry)
        self.ctx = fn.args[0]
        self.ctx.name = "instance"
        # Locals: the parameters first, then the declared locals, all as entry-block allocas.
        self.local_types = params + locals_
        self.local_llvm_types = [T.LLVM_TYPE[t] for t in self.local_types]
        names = local_names(len(self.local_types))
        alloca = self.b.alloca
        self.locals: list[ir.AllocaInstr] = [alloca(t, name=names[i])
                                             for i, t in enumerate(self.local_llvm_types)]
        # Each local's value when it is known without a load: (block, value), valid while `block`
        # is the current one (see variable.lower_local_get).
        self.local_values: list[tuple[ir.Block, ir.Value] | None] = [None] * len(self.locals)
        for i, t in enumerate(params):
            fn.args[i + 1].name = f"param{i}"
            self.b.store(fn.args[i + 1], self.locals[i])
            self.local_values[i] = (self.entry, fn.args[i + 1])
        for i in range(len(params), len(self.local_types)):
            self.b.store(T.zero_value(self.local_types[i]), self.locals[i])
        # Exception handling (exceptions.py): the handler top this function was entered with, and
        # locals that a handler must see as the try body last set them.
        self.has_try = "try_table" in op_names or "try" in op_names
        self.entry_top: Any = None  # an ir.Value in functions with try
        if self.has_try:
            self.entry_top = self.b.load(ml.handler_top_global(), name="entry_handlers",
                                         typ=T.PTR)
            escape_locals(self.b, self.locals)
        # GC roots (runtime_c/gc.c): when the module's values may be GC objects and this function
        # may reach a collection (a call or an allocation), a frame of root slots is linked while
        # it runs; gc_point fills it, finish_gc_frame sizes it and links it on entry.
        self.gc_frame: ir.AllocaInstr | None = None
        self.gc_entry_frames: ir.Value | None = None
        if (ml.gc_roots or self.has_try and holds_exceptions(body, op_names)) and (
                self.has_try or not GC_POINTS.isdisjoint(op_names)):
            self.gc_frame = self.b.alloca(T.PTR, name="gc_frame")
            self.gc_locals = [i for i, t in enumerate(self.local_llvm_types) if t is T.PTR]
            self.gc_slots = len(self.gc_locals)
            # A legacy catch's exception is needed after a collection only by a `rethrow`.
            self.roots_caught = "rethrow" in op_names
        elif self.has_try:  # a handler unlinks the frames a throw unwound (other modules' too)
            self.gc_entry_frames = self.b.load(ml.gc_frames_global(), name="entry_gc_frames",
                                               typ=T.PTR)
        # The load witness (see the module docstring); none is needed when every access is checked.
        # One accumulator per width, so that a vectorised loop of 32-bit loads sums <4 x i32>
        # lanes rather than widening each lane to i64; unused ones fold away.
        # `witness` names the widths the body's loads need (WITNESS_KEY), so a function without
        # loads carries no witness code at all; one without summed loops keeps its loads alive
        # by register uses alone, or at -O0 volatile loads (`keeps_loads`), and has no sums: the
        # flushes at its calls and exits would add zeros (6 instructions each, 13% of QuickJS's
        # IR before they went).
        self.keeps_loads = bool(witness) and ml.has_memory and not ml.bounds_checks
        # Which loops witness their loads by a sum (witness.py); one flag per open loop.
        self.summed_loops: dict[int, SummedLoop] = (
            summed_loops(body) if self.keeps_loads and "loop" in op_names and not ml.fast_isel
            else {})
        self.witness_slots: Any = None  # dict[str, ir.AllocaInstr] with summed loops
        # Loads of the current block not yet added: [value or None (dropped), address key, end].
        self.pending: list[list] = []
        self.pending_by_addr: dict[int, list[list]] = {}
        self.pending_by_value: dict[int, list] = {}  # loaded i32 value's key -> its entry
        if self.summed_loops:
            self.witness_slots = {}
            for key in sorted(witness):
                wt = WITNESS_TYPES[key]
                slot = self.witness_slots[key] = self.b.alloca(wt, name="witness")
                self.b.store(T.zero_of(wt), slot)
        self.loop_sums: list[bool] = []
        # Range witnesses (finish_range): the pending end of each, checked at every exit, and the
        # summed loop being lowered if it has pointer steps.  They rely on memory 0 staying below
        # 4 GiB - 64 KiB, as wide address folds do.
        self.range_slots: list[ir.AllocaInstr] = []
        self.range: Any = None  # RangeLoop
        if ml.wide_address_folds:
            groups = max((loop.groups for loop in self.summed_loops.values()), default=0)
            for _ in range(min(RANGE_SLOTS, groups)):
                slot = self.b.alloca(T.I64, name="range_end")
                self.b.store(_ZERO64, slot)
                self.range_slots.append(slot)
        # In a summed loop: its memory base per pointer local (loop_base), the branch into the
        # loop (the bases are made before it) and the locals the loop sets.
        self.loop_bases: Any = None  # dict[int, ir.Value]
        self.loop_sizes: Any = None  # dict[int, int] (loop_size)
        self.loop_entry: Any = None  # ir.Instruction
        self.loop_induction: Any = None  # set[int]
        # What earlier accesses prove about later ones (addressing.py).
        self.addr = NoAddressFacts() if ml.fast_isel else AddressFacts(ml.wide_address_folds)
        # The memory base never moves (guard-page reservation), so it is loaded once per function.
        self.mem_base: Any = None  # an ir.Value when the module has a memory
        if ml.has_memory:
            self.mem_base = self.b.load(self.ctx, name="mem0_base", typ=T.PTR)
            self.mem_base.set_metadata("invariant.load", ml.empty_md)
        # Multi-memory: every memory's base, loaded here (in the entry block, so they dominate
        # every use); LLVM deletes the ones the body does not use.
        self.mem_bases: list[Any] = [self.mem_base]
        for i in range(1, ml.num_memories):
            memory = self.load_rt(self.array_elem(self.memories(), i, 8), T.PTR, f"memory{i}",
                                  invariant=True)
            self.mem_bases.append(self.load_field(memory, T.MEMORY_BASE, T.PTR, f"mem{i}_base",
                                                  invariant=True))
        if has_calls:
            self.emit_stack_check()

    # --- value stack (cranelift's tiny API) -----------------------------------------------------
    def push(self, v: ir.Value) -> None:
        self.stack.append(v)

    def pop(self) -> ir.Value:
        return self.stack.pop()

    def pop_condition(self) -> ir.Value:
        """The i1 that `if`, `br_if` and `select` test for their i32 operand being non-zero.  A
        comparison's result is `zext i1` (Wasm's i32 boolean): the i1 itself is tested, and the
        zext is deleted when it is the block's last instruction -- nothing after it, such as a
        local's store, can use it then, since a Wasm operand is consumed once.  Each fused test
        saves LLVM two instructions (a third of an `if` on a comparison), at -O0 as well."""
        v = self.stack.pop()
        if isinstance(v, ir.CastInstr) and v.opname == "zext" and v.operands[0].type == T.I1:
            instrs = self.b.block.instructions
            if instrs and instrs[-1] is v:
                instrs.pop()
            return v.operands[0]
        return self.b.icmp_unsigned("!=", v, ir.Constant(T.I32, 0))

    def popn(self, n: int) -> list[ir.Value]:
        if n == 0:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    # --- helpers shared by handlers -------------------------------------------------------------
    def field_ptr(self, base: ir.Value, offset: int, name: str = "",
                  b: ir.IRBuilder | None = None) -> ir.Value:
        """`base + offset`, built with `b` (default: the current builder)."""
        if offset == 0:
            return base
        c = _OFFSETS.get(offset)  # GEP indices are never looked at again: shared constants
        if c is None:
            c = _OFFSETS[offset] = ir.Constant(T.I64, offset)
        return (b or self.b).gep(base, [c], inbounds=True, source_etype=T.I8, name=name)

    def load_rt(self, ptr: ir.Value, typ: ir.Type, name: str = "",
                invariant: bool = False, points_to: int = 0) -> ir.Value:
        """Load from a runtime structure (instance, table, funcref record, memory object).

        `points_to`: the loaded pointer addresses at least this many bytes, 8-aligned, so an
        invariant load through it may be hoisted out of a loop even from a branch that does not
        always run (the element array behind a `call_indirect`; see loop_invariant)."""
        v = self.b.load(ptr, name=name, typ=typ)
        v.set_metadata("tbaa", self.ml.tbaa["runtime"])
        if invariant:
            v.set_metadata("invariant.load", self.ml.empty_md)
        if points_to:
            v.set_metadata("dereferenceable", self.ml.ir.add_metadata([ir.Constant(T.I64,
                                                                                   points_to)]))
            v.set_metadata("align", self.ml.ir.add_metadata([ir.Constant(T.I64, 8)]))
        return v

    def load_field(self, base: ir.Value, offset: int, typ: ir.Type, name: str = "",
                   invariant: bool = False, points_to: int = 0) -> ir.Value:
        return self.load_rt(self.field_ptr(base, offset), typ, name, invariant, points_to)

    def loop_invariant(self, key, make) -> ir.Value:
        """`make()`, built before the innermost open loop if that loop is small (once per loop and
        key), else here.  For chains of invariant loads of runtime pointers (the table behind a
        `call_indirect`): built inside the loop, LLVM hoists at most the first load of a chain out
        of it, and none when the call sits in a branch.  Small loops only: before an interpreter's
        dispatch loop the values would stay live across all of it (QuickJS's interpreter ran 14%
        more instructions, in spills, with them before its outermost loop)."""
        loop = self.innermost_loop()
        if loop is None or self.loop_size(loop.instr) > SMALL_LOOP:
            return make()
        v = loop.invariants.get(key)
        if v is None:
            saved = self.b
            self.b = ir.IRBuilder(loop.entry_branch.parent)
            self.b.position_before(loop.entry_branch)
            try:
                v = loop.invariants[key] = make()
            finally:
                self.b = saved
        return v

    def loop_size(self, loop_instr) -> int:
        """Instructions in the body of the loop `loop_instr` (sizes found in one pass, on demand)."""
        if self.loop_sizes is None:
            self.loop_sizes = {}
            starts: list[int] = []  # where each open block, if and loop starts
            body = self.body
            for i, ins in enumerate(body):
                name = ins[0].name
                if name in OPENS_FRAME:
                    starts.append(i)
                elif name in CLOSES_FRAME and starts:
                    start = starts.pop()
                    if body[start][0].name == "loop":
                        self.loop_sizes[id(body[start])] = i - start
        return self.loop_sizes[id(loop_instr)]

    def innermost_loop(self) -> Frame | None:
        return next((f for f in reversed(self.frames) if f.kind == "loop"), None)

    def table_object(self, tableidx: int) -> ir.Value:
        """The `wasmc_table` of table `tableidx` (both pointers are fixed at instantiation)."""
        def make():
            tables = self.load_field(self.ctx, T.INST_TABLES, T.PTR, "tables", invariant=True,
                                     points_to=8 * len(self.module.table_types()))
            return self.load_rt(self.array_elem(tables, tableidx, 8), T.PTR, f"table{tableidx}",
                                invariant=True, points_to=T.TABLE_STRUCT_SIZE)
        return self.loop_invariant(("table", tableidx), make)

    def type_ids(self) -> ir.Value:
        """The instance's canonical type id per type index."""
        return self.loop_invariant("type_ids", lambda: self.load_field(
            self.ctx, T.INST_TYPE_IDS, T.PTR, "type_ids", invariant=True,
            points_to=4 * len(self.module.types)))

    def array_elem(self, array: ir.Value, index: ir.Value | int, elem_size: int,
                   name: str = "") -> ir.Value:
        if isinstance(index, int):
            return self.field_ptr(array, index * elem_size, name)
        idx = self.b.zext(index, T.I64) if index.type != T.I64 else index
        return self.b.gep(array, [idx], inbounds=True, source_etype=ir.IntType(elem_size * 8),
                          name=name)

    def witness(self, v: ir.Value, addr_key: int = 0, end: int = 0, pointer: bool = False,
                instr: Instr | None = None, root: ir.Value | None = None,
                root_end: int = 0) -> None:
        """A loaded value (by an access through the value keyed `addr_key`, ending `end` bytes
        after it) joins the load witness when the block ends, unless a store covers it first or,
        for a `pointer` (an i32 that may address memory), an access that stays goes through it.
        In a summed loop, a load `instr` addressed as `root + root_end - width` may take a range
        witness instead (finish_range)."""
        if not self.keeps_loads:
            return
        if not (self.loop_sums and self.loop_sums[-1]):
            keep_alive(self.b, v, self.ml.fast_isel)  # witness.py: outside the summed loops
            return
        target = None
        r = self.range
        if r is not None and not r.summed:
            region = r.loads.get(id(instr))
            if region is not None:
                target = self.range_target(root, root_end, region)
        entry = [v, addr_key, end, target]
        self.pending.append(entry)
        if addr_key:
            self.pending_by_addr.setdefault(addr_key, []).append(entry)
        if pointer:
            self.pending_by_value[self.addr.key(v)] = entry

    def address_uses(self, value_key: int) -> None:
        """An access that stays (a store, or a witnessed load) addresses memory through the value
        keyed `value_key`: if a pending load produced it, LLVM cannot delete that load either."""
        entry = self.pending_by_value.get(value_key)
        if entry is not None:
            entry[0] = None

    def store_covers(self, addr_key: int, end: int) -> bool:
        """A store through `addr_key` ending at `end`: drop the pending loads it covers (see the
        module docstring).  True if it covered any, so the caller freezes the stored value."""
        covered = False
        for entry in self.pending_by_addr.get(addr_key, ()):
            # A load that may take a range witness keeps it: the `freeze` costs more (it stops
            # LLVM from cancelling the shuffles of interleaved vector loads and stores).
            if entry[0] is not None and entry[2] <= end and entry[3] is None:
                entry[0] = None
                covered = True
        return covered

    def loop_base(self, addr: ir.Value) -> ir.Value:
        """The memory base for an access at `addr` in a loop LLVM may vectorise.

        All accesses are `mem0_base + zext(p) + off`, one underlying object to LLVM.  When its
        loop-access analysis meets two pointers into one object whose distance it cannot compute
        (`dst` and `src`), it gives up on dependence groups and checks every written pointer
        against every other one at run time; a loop that clang unrolled or interleaved writes
        `p` and `p + 8`, those two ranges always overlap, and the vector loop never runs
        (matmul).  So in such a loop each pointer local the loop advances gets its own opaque
        copy of the base (an empty asm, made before the loop): different underlying objects, so
        LLVM groups each pointer's accesses and checks groups against each other, as for
        separate C arrays.  The copy equals mem0_base; only what LLVM can prove changes.
        Loop-invariant roots keep mem0_base, where constant offsets stay visible to alias
        analysis after full unrolling (nbody)."""
        k = self.addr.local_root(addr)
        if k is None or k not in self.loop_induction:
            return self.mem_base
        base = self.loop_bases.get(k)
        if base is None:
            b = ir.IRBuilder()
            b.position_before(self.loop_entry)
            # A distinct asm string per base, so that no pass merges two copies into one.
            asm = ir.InlineAsm(ir.FunctionType(T.PTR, [T.PTR]), f"# base {len(self.loop_bases)}",
                               "=r,0", False)
            base = b.call(asm, [self.mem_base], name="loop_base", attrs=_BASE_ATTRS)
            self.loop_bases[k] = base
        return base

    def range_target(self, root: Any, end: int, region: int) -> RangeTarget | None:
        """The RangeTarget of a load (in `region`) reading the bytes before `root + end`, if
        `root` is the current value of a pointer local `p` the range loop steps, or `p` plus or
        minus a constant of at most 64 KiB; else None."""
        r = self.range
        delta = 0
        if root.__class__ is ir.Instruction and root.opname in ("add", "sub") \
                and self.stepped_local(root) is None:
            x, c = root.operands
            if x.__class__ is ir.Constant and root.opname == "add":
                x, c = c, x
            if not (c.__class__ is ir.Constant and c.constant.__class__ is int):
                return None
            delta = c.constant if root.opname == "add" else -c.constant
            delta = (delta + (1 << 31)) % (1 << 32) - (1 << 31)  # as a signed i32
            if not 0 < abs(delta) <= MAX_STEP:
                return None
            root = x
        p = self.stepped_local(root)
        if p is None or (p in r.derived and p not in r.step_stores):
            return None  # a derived pointer's value before its definition is not in its sequence
        return RangeTarget(p, p in r.step_stores, region, delta, end)

    def stepped_local(self, v: ir.Value) -> int | None:
        """The pointer local the range loop steps whose current value `v` is, if any; for a
        derived pointer, `v` must be the value its definition gave (any later set of the local
        gives values outside its sequence)."""
        k = self.addr.key(v)
        local_keys = self.addr.local_keys
        derived_keys = self.range.derived_keys
        return next((p for p in self.range.steps if (
            derived_keys.get(p) if p in self.range.derived else local_keys.get(p)) == k), None)

    def finish_range(self) -> None:
        """At the end of a range loop: witness its deferred loads by range, or by the sum if the
        loop sums some load anyway (a range witness costs a check at every exit and only pays
        when it leaves the loop without a sum) or has more groups than slots.

        The loads of one group (same pointer local `p`, same side of its step, same region, so
        they all run in every iteration that runs one of them) read through `q = p + dmin`
        (mod 2^32, `dmin` the group's smallest delta) plus at most 64 KiB (a wider group is
        summed).  `q64`, a 64-bit copy of `q` that starts where the group's first loads read
        (after the step, for a group that comes after it) and is stepped with `p`, never wraps;
        right after each load the group's slot gets `q64 + (delta - dmin) + end`, the largest so
        far in the group, so at the loop's exits it holds the end of the group's last loads.
        Their addresses form an arithmetic sequence, so that end lies past the memory exactly when
        some load of the group was out of bounds, or wrapped: a `q` that wraps past 2^32 was first
        read in the last 64 KiB below it, out of bounds (memory 0 stays below 2^32 - 64 KiB, and
        steps and delta spans are at most 64 KiB), and `q64` and the end then lie past 2^32; a
        load whose `q + delta - dmin` wraps does so only when `q` itself is in that last 64 KiB,
        where the group's `dmin` load, run in the same iteration, reads out of bounds.
        check_ranges traps then.  The loads themselves are left to LLVM, which may now delete
        them."""
        r = self.range
        self.range = None
        if not r.deferred:
            return
        # (pointer, stepped, region) -> [slot, dmin, dmax, largest end so far]
        groups: dict[tuple[int, bool, int], list] = {}
        for entry in r.deferred:
            t = entry[3]
            g = groups.get((t.local, t.stepped, t.region))
            if g is None:
                if len(groups) == len(self.range_slots):
                    r.summed = True
                    break
                g = groups[(t.local, t.stepped, t.region)] = [self.range_slots[len(groups)],
                                                              t.delta, t.delta, 0]
            g[1], g[2] = min(g[1], t.delta), max(g[2], t.delta)
            if g[2] - g[1] > MAX_STEP:  # then `q + delta - dmin` could wrap in bounds
                r.summed = True
                break
        if r.summed:
            self.sum_deferred(r)
            return
        b = ir.IRBuilder()
        q64: dict[tuple, ir.AllocaInstr] = {}
        for key, (_, dmin, _, _) in groups.items():
            p, stepped, _ = key
            q64[key] = var = self.alloca_at_entry(T.I64, "unwrapped")
            b.position_before(r.entry)
            q: ir.Value
            if p in r.derived:
                # As if `p` were stepped at its definition, from `i + b` one step back, or two
                # when `i`'s step comes first (`p` first reads `i + s + b`).
                i, base, first_step = r.derived[p]
                q = b.add(b.load(self.locals[i], typ=T.I32), b.load(self.locals[base], typ=T.I32))
                if not first_step:
                    q = b.sub(q, ir.Constant(T.I32, r.steps[p]))
            else:
                q = b.load(self.locals[p], typ=T.I32)
            # Loads after the step first read `p + s`: the entry value itself is never read, and
            # its step may wrap (p = 2^32 - 16, s = 16 reads 0), so the copy starts from there.
            first = dmin + (r.steps[p] if stepped else 0)
            if first:
                q = b.add(q, ir.Constant(T.I32, first))
            q = b.zext(q, T.I64)
            if stepped:
                q = b.sub(q, ir.Constant(T.I64, r.steps[p]))  # (the step adds it back)
            b.store(q, var)
            step_store = r.step_stores.get(p)
            if step_store is not None:  # (none if the step is unreachable: p never changes)
                b.position_after(step_store)
                b.store(b.add(b.load(var, typ=T.I64), ir.Constant(T.I64, r.steps[p])), var)

        def record(var: ir.AllocaInstr, end: int, slot: ir.AllocaInstr):
            return lambda b: b.store(b.add(b.load(var, typ=T.I64), ir.Constant(T.I64, end)), slot)
        emits = []
        for entry in r.deferred:
            t = entry[3]
            key = (t.local, t.stepped, t.region)
            g = groups[key]
            g[3] = max(g[3], t.delta - g[1] + t.end)  # one q64 all through a group: the largest
            emits.append((entry[0], record(q64[key], g[3], g[0])))
        insert_after_each(emits)
        self.addr.wide_used = True  # needs the 4 GiB - 64 KiB cap when memory could reach 4 GiB

    def sum_deferred(self, r: RangeLoop) -> None:
        """Add the loads deferred so far into the sum, each right after itself."""
        def add(v: ir.Value):
            def emit(b: ir.IRBuilder) -> None:
                key, bits = witness_bits(b, v)
                slot = self.witness_slots[key]
                b.store(b.add(b.load(slot, typ=WITNESS_TYPES[key]), bits, name="witness"), slot)
            return emit
        insert_after_each([(entry[0], add(entry[0])) for entry in r.deferred])
        r.deferred = []

    def range_step(self, local: int, store: ir.Instruction, value: ir.Value) -> None:
        """The loop's one `local = local + s`, or a derived pointer's definition (its first set),
        just stored by `store`: finish_range steps the 64-bit copies after it."""
        r = self.range
        if local in r.derived:
            if local in r.step_stores:
                return  # a later set: its values are not followed (stepped_local)
            r.derived_keys[local] = self.addr.key(value)
        r.step_stores[local] = store

    def alloca_at_entry(self, typ: ir.Type, name: str) -> ir.AllocaInstr:
        b = ir.IRBuilder()
        b.position_at_start(self.entry)
        return b.alloca(typ, name=name)

    def check_ranges(self, b: ir.IRBuilder, reset: bool) -> None:
        """Trap (out of bounds) if a pending range witness ends past memory 0; `reset` clears
        them, so that the checks after this one fold away."""
        saved, self.b = self.b, b
        try:
            size = self.memory0_bytes()
            for slot in self.range_slots:
                ok = self.fn.append_basic_block("in_range")
                br = b.cbranch(b.icmp_unsigned(">", b.load(slot, typ=T.I64), size),
                               self.trap_block(T.TRAP_MEMORY_OOB), ok)
                br.set_weights([1, 1 << 20])
                b.position_at_end(ok)
                if reset:
                    b.store(_ZERO64, slot)
        finally:
            self.b = saved

    def memories(self) -> ir.Value:
        """The instance's array of memory objects."""
        return self.load_field(self.ctx, T.INST_MEMORIES, T.PTR, "memories", invariant=True)

    def memory0_bytes(self) -> ir.Value:
        """Memory 0's current size in bytes (i64)."""
        mem = self.load_rt(self.memories(), T.PTR, "memory0", invariant=True)
        return self.load_field(mem, T.MEMORY_BYTES, T.I64, "memory.bytes")

    def memory_bytes(self, mem: int) -> ir.Value:
        """Memory `mem`'s current size in bytes (i64)."""
        if mem == 0:
            return self.memory0_bytes()
        memory = self.load_rt(self.array_elem(self.memories(), mem, 8), T.PTR, f"memory{mem}",
                              invariant=True)
        return self.load_field(memory, T.MEMORY_BYTES, T.I64, "memory.bytes")

    def commit_witness(self) -> None:
        """At the end of a block: add the pending loads into the witness, as a balanced tree."""
        if not self.pending:
            return
        b = self.b
        live = [entry for entry in self.pending if entry[0] is not None]
        r = self.range
        if r is not None and live and not r.summed:
            if all(entry[3] is not None for entry in live):
                r.deferred += live  # finish_range decides
                live = []
            else:
                r.summed = True
                self.sum_deferred(r)
        groups: dict[str, list[ir.Value]] = {}
        for entry in live:
            key, bits = witness_bits(b, entry[0])
            groups.setdefault(key, []).append(bits)
        self.pending = []
        self.pending_by_addr = {}
        self.pending_by_value = {}
        for key, vals in groups.items():
            while len(vals) > 1:
                vals = [b.add(vals[i], vals[i + 1]) if i + 1 < len(vals) else vals[i]
                        for i in range(0, len(vals), 2)]
            slot, wide = self.witness_slots[key], WITNESS_TYPES[key]
            b.store(b.add(b.load(slot, typ=wide), vals[0], name="witness"), slot)

    def flush_witness(self, b: ir.IRBuilder, reset: bool = False, ranges: bool = True) -> None:
        """At an exit: `instance->load_witness += witness`, which no optimisation may drop, and
        (`ranges`) the range witnesses' checks.  Before a call (`reset`), the sums restart from
        zero so each load is counted once."""
        if self.witness_slots is None:
            return
        if self.range_slots and ranges:
            self.check_ranges(b, reset)
        if b is self.b:
            self.commit_witness()
        slots = self.witness_slots
        parts = []
        if "i32" in slots:
            parts.append(b.zext(b.load(slots["i32"], typ=T.I32), T.I64))
        if "i64" in slots:
            parts.append(b.load(slots["i64"], typ=T.I64))
        if "v128" in slots:
            vec = b.load(slots["v128"], typ=T.V128)
            parts.append(b.extract_element(vec, ir.Constant(T.I32, 0)))
            parts.append(b.extract_element(vec, ir.Constant(T.I32, 1)))
        total = parts[0]
        for p in parts[1:]:
            total = b.add(total, p)
        ptr = self.field_ptr(self.ctx, T.INST_LOAD_WITNESS, b=b)
        old = b.load(ptr, typ=T.I64)
        old.set_metadata("tbaa", self.ml.tbaa["runtime"])
        b.store(b.add(old, total), ptr).set_metadata("tbaa", self.ml.tbaa["runtime"])
        if reset:
            for key, slot in slots.items():
                b.store(T.zero_of(WITNESS_TYPES[key]), slot)

    # --- GC roots ------------------------------------------------------------------------------
    def gc_point(self, extra: tuple | list = ()) -> None:
        """Before a call or an allocation, which may collect: store every reference this function
        holds in its root slots -- its reference locals, the operand stack and `extra` (what the
        instruction consumed).  Objects never move, so nothing is reloaded after."""
        frame = self.gc_frame
        if frame is None:
            return
        b = self.b
        k = 0
        for i in self.gc_locals:
            known = self.local_values[i]
            if known is not None and known[0] is b.block:
                v = known[1]
            else:
                v = b.load(self.locals[i], typ=T.PTR, name=_LOCAL_NAMES[i])
                self.local_values[i] = (b.block, v)
            b.store(v, self.field_ptr(frame, GC_FRAME_SLOTS + 8 * k))
            k += 1
        caught = [f.legacy.exn for f in self.frames  # type: ignore[attr-defined]
                  if f.legacy is not None and f.handler is None] if self.roots_caught else ()
        for v in (*self.stack, *extra, *caught):
            if v.type is T.PTR:  # references (funcrefs too: they are simply not objects)
                b.store(v, self.field_ptr(frame, GC_FRAME_SLOTS + 8 * k))
                k += 1
        self.gc_slots = max(self.gc_slots, k)

    def gc_leave(self, b: ir.IRBuilder) -> None:
        """Unlink this function's root frame: at a return, and before a tail call."""
        if self.gc_frame is not None:
            b.store(b.load(self.gc_frame, typ=T.PTR, name="gc_prev"), self.ml.gc_frames_global())

    def gc_caught(self) -> None:
        """In a handler: a throw unwound the frames of the functions it left, whose root frames
        are still linked; this function's frame (or the one it was entered with) is innermost."""
        top = self.gc_frame if self.gc_frame is not None else self.gc_entry_frames
        if top is not None:
            self.b.store(top, self.ml.gc_frames_global())

    def finish_gc_frame(self) -> None:
        """Once the body is lowered and the most slots any gc_point used is known: size the
        frame and link it at entry ({prev, count}, then the slots)."""
        frame = self.gc_frame
        if frame is None:
            return
        frame.allocated_type = ir.ArrayType(T.PTR, 2 + self.gc_slots)
        frame.text = frame._render()
        b = ir.IRBuilder()
        b.position_after(frame)
        frames = self.ml.gc_frames_global()
        b.store(b.load(frames, typ=T.PTR, name="gc_frames"), frame)
        b.store(ir.Constant(T.I64, self.gc_slots), self.field_ptr(frame, 8, b=b))
        b.store(frame, frames)

    def trap_block(self, kind: int, witness: bool = True) -> ir.Block:
        """The function's block that traps with `kind` (one per kind), after flushing the load
        witness -- unless `witness` is False: a trap before any load (the entry's stack check),
        where every witness is still zero, needs no flush (and gets a block of its own)."""
        blk = self.trap_blocks.get(kind) if witness else None
        if blk is None:
            blk = self.fn.append_basic_block(f"trap{kind}")
            b = ir.IRBuilder(blk)
            if witness:
                self.flush_witness(b, ranges=kind != T.TRAP_MEMORY_OOB)
                self.trap_blocks[kind] = blk
            b.call(self.ml.rt("wasmc_rt_trap"), [ir.Constant(T.I32, kind)])
            b.unreachable()
        return blk

    def trap_if(self, cond: ir.Value, kind: int, name: str = "ok", witness: bool = True) -> None:
        """Branch to the cold trap block when `cond` holds; continue in a fresh block."""
        self.commit_witness()
        cont = self.fn.append_basic_block(name)
        br = self.b.cbranch(cond, self.trap_block(kind, witness), cont)
        br.set_weights([1, 1 << 20])
        self.b.position_at_end(cont)

    def trap(self, kind: int) -> None:
        self.commit_witness()
        self.b.branch(self.trap_block(kind))
        self.reachable = False

    def emit_stack_check(self) -> None:
        """Trap if the stack is below the runtime's limit.  The stack pointer is read by an asm,
        after the prologue has made the frame.  At -O0 a function whose frame is known to be
        small reads the address of a stack slot of its frame instead: FastISel cannot select
        the asm and sends it to SelectionDAG on its own, 46 us per function (a fifth of the -O0
        code generation of a module of small functions).  The slot may sit up to the frame's
        size above the stack pointer, so the limit may be passed by that much: at most
        FAST_STACK_CHECK_FRAME, well inside the 128 KiB the runtime keeps between its limit and
        the real end of the stack (2 * GUARD_SLACK, runtime_c/trap.c)."""
        if self.ml.fast_isel and frame_bound(len(self.body), len(self.local_types)) \
                <= FAST_STACK_CHECK_FRAME:
            sp = self.b.ptrtoint(self.b.alloca(T.I8, name="frame"), T.I64, name="sp")
        else:
            sp = self.b.load_reg(T.I64, "rsp", name="sp")
        limit = self.b.load(self.ml.stack_limit_global(), typ=T.PTR, name="stack_limit")
        self.trap_if(self.b.icmp_unsigned("<", sp, self.b.ptrtoint(limit, T.I64)),
                     T.TRAP_STACK_EXHAUSTED, "body", witness=False)

    def block_type(self, imm) -> BlockType:
        bt = _BLOCK_TYPES.get(imm)  # no type index or one value type: shared (frozen) instances
        if bt is not None:
            return bt
        if imm is None or isinstance(imm, str):
            bt = _BLOCK_TYPES[imm] = BlockType("", imm or "")
            return bt
        ft = self.module.types[imm]
        return BlockType(ft.params, ft.results)

    # --- control-flow plumbing ------------------------------------------------------------------
    def branch_to(self, depth: int) -> None:
        """Unconditional branch to label `depth`, carrying its values from the stack top."""
        frame = self.frames[-1 - depth]
        self.add_edge(frame, self.stack[len(self.stack) - len(frame.branch_types):])
        self.b.branch(frame.target)

    def add_edge(self, frame: Frame, values: list[ir.Value]) -> None:
        block = self.b.block
        if frame.kind == "loop":
            for phi, v in zip(frame.loop_phis, values):
                phi.add_incoming(v, block)
        else:
            frame.incoming.append((list(values), block))

    def close_frame(self, frame: Frame) -> None:
        """Make the exit block current and build its result phis from the recorded edges."""
        self.b.position_at_end(frame.exit)
        del self.stack[frame.height:]
        if not frame.incoming:
            self.reachable = False
            self.b.unreachable()
            return
        self.reachable = True
        results = frame.blocktype.results
        if len(frame.incoming) == 1:
            self.stack.extend(frame.incoming[0][0])
        else:
            for i, t in enumerate(results):
                phi = self.b.phi(T.LLVM_TYPE[t], name=f"{frame.kind}.result{i}")
                for values, block in frame.incoming:
                    phi.add_incoming(values[i], block)
                self.push(phi)
        self.restore_handlers()

    # --- exception handling (exceptions.py) ------------------------------------------------------
    def current_handlers(self, depth: int = 0) -> Any:
        """The handler top in effect here, or inside the frame `depth` labels out (a legacy
        `delegate`'s target): the innermost open try's record there, else the one the function
        was entered with."""
        for frame in reversed(self.frames[:len(self.frames) - depth]):
            if frame.handler is not None:
                return frame.handler
        return self.entry_top

    def restore_handlers(self) -> None:
        """Where control may arrive from inside a try_table (a frame's target, a return), store
        the handler top this point runs under; nothing in functions without try_table."""
        if self.has_try:
            self.b.store(self.current_handlers(), self.ml.handler_top_global())

    # --- the main loop --------------------------------------------------------------------------
    def lower_body(self) -> None:
        ft = BlockType(self.params, self.results)
        exit_block = self.fn.append_basic_block("return")
        self.frames.append(Frame("func", ft, 0, exit_block, exit_block))
        body = self.body
        i = 0
        n = len(body)
        handlers = HANDLERS
        ends_block = ENDS_BLOCK
        while i < n:
            if not self.reachable:
                i = self.skip_dead(i)
                if i >= n:
                    break
            instr = body[i]
            name = instr[0].name
            if self.pending and name in ends_block:
                self.commit_witness()
            handlers[name](self, instr)
            i += 1
        # The function's own frame was closed by its final `end` (see control.lower_end).
        self.finish_gc_frame()

    def skip_dead(self, i: int) -> int:
        """Skip unreachable instructions, keeping only block nesting; stop at the `else`, catch
        or `end` (or `delegate`) that belongs to the innermost live frame."""
        depth = 0
        body = self.body
        while i < len(body):
            name = body[i].op.name
            if name in OPENS_FRAME:
                depth += 1
            elif name in CLOSES_FRAME:
                if depth == 0:
                    return i
                depth -= 1
            elif name in NEXT_ARM and depth == 0:
                return i
            i += 1
        return i

    def finish_return(self, frame: Frame) -> None:
        """At the function's final `end`: return the results from the exit block."""
        self.close_frame(frame)
        if not self.reachable:
            return
        vals = self.popn(len(self.results))
        self.build_return(vals)

    def build_return(self, vals: list[ir.Value]) -> None:
        self.flush_witness(self.b)
        self.gc_leave(self.b)
        if self.has_try:
            self.b.store(self.entry_top, self.ml.handler_top_global())
        if not self.results:
            self.b.ret_void()
        elif len(self.results) == 1:
            self.b.ret(vals[0])
        else:
            agg: ir.Value = ir.Constant(T.result_type(self.results), ir.Undefined)
            for i, v in enumerate(vals):
                agg = self.b.insert_value(agg, v, i)
            self.b.ret(agg)
