"""Lowering of a whole module: functions, entries, host stubs, initialisers and the descriptor.

Strategy: every defined function becomes an internal LLVM function `ret f(ptr instance, params...)`
(C calling convention, so a funcref's code pointer can be called from any module; LLVM is free to
change the convention of functions whose address is never taken).  The only external symbol is
`wasmc_module_desc`, the constant descriptor the runtime instantiates from (layout in
runtime_c/wasmc_rt.h).  Around the functions we generate:
  - an array-call *entry* `void entry(ptr instance, ptr vals)` per exported function and for the
    start function, so the host can call any signature through one C type;
  - a *host stub* per type used by an imported function, so a host function written in another
    language can be imported through the same record-call path as a Wasm function;
  - `init_globals` and `init_segments`, which are synthesised Wasm instruction sequences (global
    initialisers; `table.init`/`elem.drop`/`memory.init`/`data.drop` for active and declarative
    segments, exactly as the spec defines instantiation) lowered by the same FunctionLowerer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

from ..module import ExternKind, Instr, Module, SegmentMode
from ..reftypes import DefType, heap_text, host_letter, sig_text, traced
from ..opcodes import BY_NAME, OPS, Imm, Kind, Op
from . import (  # noqa: F401  (each registers its handlers)
    atomics,
    control,
    exceptions,
    gcobjects,
    gcrefs,
    memory,
    numeric,
    simd,
    variable,
)
from . import irbuild as ir
from . import irbuild as irt  # in annotations inside classes, where `ir` is also an attribute
from . import types as T
from .addressing import WIDE_FOLD_SYMBOL
from .function import HANDLERS, WITNESS_KEY, FunctionLowerer
from .irbuild import Module as IRBuildModule


# Instructions that change a table's elements or size (static_table).
_TABLE_WRITES = frozenset({"table.set", "table.fill", "table.copy", "table.init", "table.grow"})


class _IndirectCallee:
    """Makes llvmlite emit `call <ret> %ptr(...)` for a call through an opaque pointer."""

    def __init__(self, ptr: ir.Value, fnty: ir.FunctionType):
        self.ptr = ptr
        self.function_type = fnty
        self.type = ptr.type

    def get_reference(self) -> str:
        return self.ptr.get_reference()


# Partitions are sized by bytes of function bodies (about 2 bytes per instruction in compiled C),
# known before any body is decoded, so the driver can split a module it has only delimited.
# Below this many bytes per partition, splitting costs more (lost inlining, process start) than
# parallel code generation gains.
MIN_PARTITION_BYTES = 40_000
# Above this many, a module gets more partitions than back-end processes (they queue for them), so
# that one process never holds the IR of a huge module at once: memory stays bounded by the
# partition size times the number of processes, not by the module size.
MAX_PARTITION_BYTES = 800_000


@dataclass(frozen=True)
class PartitionPlan:
    """Which partition each defined function is lowered, optimised and code-generated in."""

    owner: list[int]  # per defined function (position in Module.codes): its partition
    giant: dict[int, int]  # partition -> the one giant function (position) it holds, at -O1
    members: list[list[int]]  # per partition: positions in Module.codes, in module order
    weight: list[int]  # per partition: bytes of its bodies (and of the glue, for partition 0)

    @property
    def count(self) -> int:
        return len(self.members)


def glue_weight(module: Module) -> int:
    """What partition 0's glue (entries, declarations of every function, the descriptor, the
    segments' bytes) costs to lower and compile, in bytes of function body that cost as much
    (measured on a 100,000-function module with 8 MB of data: about 2.7 partitions' worth)."""
    items = sum(len(e.items) for e in module.elems)
    return (12 * (len(module.codes) + len(module.imports)) + 4 * items
            + sum(len(d.init) for d in module.datas) // 16)


def plan_partitions(module: Module, partitions: int, giant_threshold: int,
                    max_bytes: int | None = None) -> PartitionPlan:
    """Spread defined functions over partitions by body size (largest first, each to the
    lightest partition); a function of more than `giant_threshold` bytes gets a partition of its
    own compiled with a cheaper pipeline, so one giant function cannot stall the build.
    `max_bytes` bounds a partition (default MAX_PARTITION_BYTES; `1 << 62` with one partition and
    no giant: the whole module in one LLVM module, for --emit=llvm and lower_module)."""
    sizes = sorted(((c.size, i) for i, c in enumerate(module.codes)), reverse=True)
    glue = glue_weight(module)
    total = sum(n for n, _ in sizes) + glue
    # Small modules stay in one partition: splitting costs inlining and process start-up.
    wanted = max(1, min(partitions, total // MIN_PARTITION_BYTES),
                 -(-total // (max_bytes or MAX_PARTITION_BYTES)))
    wanted = min(wanted, max(1, len(sizes)))  # never an empty partition
    owner = [0] * len(sizes)
    giant: dict[int, int] = {}
    count = wanted
    load = [0] * wanted
    load[0] = glue  # partition 0 also holds the glue and the descriptor
    for n, i in sizes:
        if n > giant_threshold and len(sizes) > 1:
            giant[count] = i
            owner[i] = count
            count += 1
            continue
        p = min(range(wanted), key=load.__getitem__)
        load[p] += n
        owner[i] = p
    members: list[list[int]] = [[] for _ in range(count)]
    weight = [0] * count
    weight[0] = glue
    for i, p in enumerate(owner):
        members[p].append(i)
        weight[p] += module.codes[i].size
    return PartitionPlan(owner, giant, members, weight)


_CALLS = frozenset(("call", "call_indirect", "return_call", "return_call_indirect"))
_LOAD_WITNESS = {op.name: WITNESS_KEY[op.mem_bytes] for op in OPS if ".load" in op.name}

CODE_SECTION = "wasmc_text"  # a C identifier, so the linker defines __start_/__stop_ symbols


def _instr(name: str, imm=None) -> Instr:
    return Instr(BY_NAME[name], imm, 0)


# Element segment items as the runtime reads them (wasmc_elem_item): the four kinds it evaluates
# itself, and the rest, which init_segments computes and stores with ELEM_ITEM_SET.
ITEM_NULL, ITEM_FUNC, ITEM_GLOBAL, ITEM_I31, ITEM_COMPUTED = range(5)


def elem_item(expr: list[Instr]) -> tuple[int, int]:
    """An element item's (kind, index) in the descriptor."""
    names = [i.op.name for i in expr]
    imm: Any = expr[0].imm if expr else None
    if not names or names == ["ref.null"]:
        return ITEM_NULL, 0
    if names == ["ref.func"]:
        return ITEM_FUNC, imm
    if names == ["global.get"]:
        return ITEM_GLOBAL, imm
    if names == ["i32.const", "ref.i31"]:
        return ITEM_I31, imm & 0xFFFFFFFF
    return ITEM_COMPUTED, 0


# An instruction only the compiler writes (never decoded, so not in the opcode table): store the
# reference on the stack as item k of element segment i, imm (i, k), in init_segments.
ELEM_ITEM_SET = Op("wasmc.elem_item_set", 0, None, Imm.NONE, Kind.REFERENCE, None)


def lower_elem_item_set(fl: FunctionLowerer, instr: Any) -> None:
    seg, k = instr.imm
    segs = fl.load_field(fl.ctx, T.INST_ELEM_SEGS, T.PTR, "elem_segs")
    items = fl.load_field(segs, seg * T.SEGMENT_SIZE + T.SEGMENT_ITEMS, T.PTR, "items")
    fl.b.store(fl.pop(), fl.field_ptr(items, 8 * k))


HANDLERS[ELEM_ITEM_SET.name] = lower_elem_item_set


def module_traces_refs(m: Module) -> bool:
    """Whether any value of the module may be a GC object, or hold one made extern: it declares
    a struct or array type, or an any-, extern- or exn-typed parameter, result, local, global,
    table or element segment (reftypes.traced).  (A function that makes exnrefs of its own, by
    catching them, has a root frame whatever this says: FunctionLowerer.)"""
    if any(t.kind != "func" for t in m.types):
        return True
    types = [t for ft in m.types if ft.kind == "func" for t in ft.params + ft.results]
    types += [g.valtype for g in m.global_types()] + [t.elem for t in m.table_types()]
    types += [e.elemtype for e in m.elems] + [t for c in m.codes for _, t in c.locals]
    return any(traced(t) for t in set(types))


def _cstring_bytes(s: str) -> bytearray:
    return bytearray(s.encode("utf-8") + b"\0")


@dataclass
class Partition:
    """One LLVM module of the output: optimised and code-generated on its own (in parallel with the
    others), then linked.  Partition 0 also holds the glue and the descriptor."""

    ir: irt.Module
    opt_level: int | None = None  # None: the requested level; giant functions get a cheaper one
    funcs: dict[int, irt.Function] = field(default_factory=dict)
    rt: dict[str, irt.Function] = field(default_factory=dict)
    intrinsics: dict[str, irt.Function] = field(default_factory=dict)
    strings: dict[str, irt.GlobalVariable] = field(default_factory=dict)
    globals_: dict[str, irt.GlobalVariable] = field(default_factory=dict)  # runtime globals by name
    empty_md: irt.MDValue | None = None
    tbaa: dict[str, irt.MDValue] = field(default_factory=dict)
    giant: list[int] = field(default_factory=list)  # functions that forced a cheaper pipeline
    wide_flag: irt.GlobalVariable | None = None  # WIDE_FOLD_SYMBOL (ModuleLowerer.note_wide_folds)
    dispatch: bool = False  # holds an `indirectbr` (control.lower_dispatch)
    call_tables: dict[int, tuple[irt.Value, irt.Value]] = field(
        default_factory=dict)  # ModuleLowerer.call_table


class ModuleLowerer:
    def __init__(self, module: Module, name: str = "wasm", bounds_checks: bool = False,
                 dispatch: bool = True, fast_isel: bool = False):
        self.module = module
        self.bounds_checks = bounds_checks
        self.dispatch = dispatch  # lower a dispatch loop's `br_table` as an `indirectbr`
        # For -O0, whose code generator is LLVM's FastISel: no construct it cannot select (the
        # asms of witness.keep_alive and FunctionLowerer.emit_stack_check), and nothing kept for
        # optimisations that do not run (summed loops, address facts).
        self.fast_isel = fast_isel
        self.static_tables: dict[int, list[int | None] | None] | None = None  # (static_table)
        self.name = name
        self.has_memory = bool(module.mem_types())
        self.num_memories = len(module.mem_types())
        # Address types ("i"/"l") of each memory and table.  An i64 memory (memory64) takes the
        # checked path: no guard region covers its addresses (memory.effective_address64).
        self.mem_addrs = "".join(t.addrtype for t in module.mem_types())
        self.table_addrs = "".join(t.addrtype for t in module.table_types())
        # Address folding past a proven access (addressing.py): `wide_address_folds` allows the
        # folds that are exact only below 4 GiB - 64 KiB; `wide_needs_cap` says the memory could
        # otherwise reach 4 GiB, so a partition that folds so must tell the runtime to stop short.
        self.wide_address_folds, self.wide_needs_cap = self._wide_folds()
        self.parts: list[Partition] = []
        self.cur = self.new_partition()
        self.owner: dict[int, int] = {}  # defined function index -> partition
        self.entries: dict[int, ir.Function] = {}
        self.host_stubs: dict[int, ir.Function] = {}
        self.func_type_indices = module.func_type_indices()
        self.fn_types: dict[tuple[str, str], ir.FunctionType] = {}  # by (params, results)
        # Whether values of this module may be GC objects: its functions then keep root frames
        # (FunctionLowerer.gc_point).  Code without any- or extern-typed values keeps none.
        self.gc_roots = module_traces_refs(module)

    def _wide_folds(self) -> tuple[bool, bool]:
        mems = self.module.mem_types()
        if not mems or self.bounds_checks or len(mems) > 1 or mems[0].addrtype == "l":
            return False, False  # (multi-memory: kept simple; memory64: checked accesses)
        limits = mems[0].limits
        if limits.max is not None and limits.max < 65536:
            return True, False
        defined = not self.module.imported(ExternKind.MEMORY)
        return (defined and limits.min < 65536), True

    def fixed_table_size(self, tableidx: int) -> int | None:
        """The size of a table that can never change size (declared maximum = minimum, which
        bounds an imported table too), else None."""
        limits = self.module.table_types()[tableidx].limits
        return limits.min if limits.max == limits.min < 2**32 else None

    def static_table(self, tableidx: int) -> list[int | None] | None:
        """The elements (function index or None for null) table `tableidx` holds for the
        instance's whole life, when the module alone decides them, else None.

        That is a table the module defines and does not export, that no instruction changes
        (`table.set`, `table.fill`, `table.copy`, `table.init`, `table.grow`: any of them in any
        body counts, whatever table it names) and that only active segments fill, at constant
        offsets inside it, with `ref.func` of the module's own functions or `ref.null`.  C
        programs' tables (wasm-ld's `__indirect_function_table`) are.  Only known with every
        body decoded (one partition, or the eager front end); otherwise None."""
        if self.static_tables is None:
            self.static_tables = self._find_static_tables()
        return self.static_tables.get(tableidx)

    def _find_static_tables(self) -> dict[int, list[int | None] | None]:
        m = self.module
        bodies: list[Any] = [c.body for c in m.codes]
        if any(body is None for body in bodies):
            return {}
        for body in bodies:
            if not _TABLE_WRITES.isdisjoint(ins[0].name for ins in body):
                return {}
        exported = {e.index for e in m.exports if e.kind is ExternKind.TABLE}
        first = len(m.imported(ExternKind.TABLE))
        tables: dict[int, list[int | None] | None] = {
            first + i: [None] * t.limits.min for i, t in enumerate(m.tables)
            if first + i not in exported and t.elem == "F" and t.addrtype == "i"}
        base = m.num_imported_funcs
        e: Any
        for e in m.elems:
            contents = tables.get(e.table)
            if e.mode is not SegmentMode.ACTIVE or contents is None:
                continue
            ok = len(e.offset_expr or []) == 1 and e.offset_expr[0][0].name == "i32.const"
            start = e.offset_expr[0][1] & 0xFFFFFFFF if ok else 0
            ok = ok and start + len(e.items) <= len(contents)
            for k, item in enumerate(e.items if ok else []):
                name = item[0][0].name if len(item) == 1 else ""
                if name == "ref.func" and item[0][1] >= base:
                    contents[start + k] = item[0][1]
                elif name == "ref.null":
                    contents[start + k] = None
                else:
                    ok = False
                    break
            if not ok:
                tables[e.table] = None
        return tables

    def call_table(self, tableidx: int) -> tuple[irt.Value, irt.Value] | None:
        """For a `call_indirect` through a static table (static_table): two constant arrays, the
        code pointer of each element and its type's class (type_class; -1 for null), or None
        when the table is not static."""
        pair = self.cur.call_tables.get(tableidx)
        if pair is None:
            contents = self.static_table(tableidx)
            if not contents:
                return None
            null = ir.Constant(T.PTR, None)
            codes = self.const_array(f"table{tableidx}.code", T.PTR,
                                     [null if f is None else self.func(f) for f in contents])
            classes = self.const_array(f"table{tableidx}.class", T.I32, [
                ir.Constant(T.I32, -1 if f is None else self.type_class(
                    self.module.func_type_indices()[f])) for f in contents])
            pair = self.cur.call_tables[tableidx] = (codes, classes)
        return pair

    def open_func_type(self, typeidx: int) -> bool:
        """A function type that may have subtypes (GC's non-final types): call_indirect through
        it must accept them, which the runtime checks when the canonical ids differ."""
        heap = self.module.heap(typeidx)
        return isinstance(heap, DefType) and not heap.sub.final

    def type_class(self, typeidx: int) -> int:
        """The first type index with the same signature: two types match in `call_indirect`
        exactly when their classes are equal (the runtime's canonical type ids, by signature)."""
        return self.module.first_type_index(self.module.heap(typeidx))

    def wide_fold_symbol(self) -> irt.GlobalVariable:
        """The current partition's view of WIDE_FOLD_SYMBOL: a weak reference (null unless some
        partition defines it), which the descriptor points to (`wide_address_folds`)."""
        g = self.cur.wide_flag
        if g is None:
            g = self.cur.wide_flag = ir.GlobalVariable(self.ir, T.I8, WIDE_FOLD_SYMBOL)
            g.linkage = "extern_weak"
            g.visibility = "hidden"
        return g

    def note_wide_folds(self) -> None:
        """Tell the runtime (runtime_c/instance.c) to keep memory 0 below 65536 pages."""
        if self.wide_needs_cap:
            g = self.wide_fold_symbol()
            if g.initializer is None:
                g.linkage = "weak_odr"  # several partitions may define it; kept though unused
                g.global_constant = True
                g.initializer = ir.Constant(T.I8, 1)

    def new_partition(self) -> Partition:
        mod = ir.Module(name=f"{self.name}.{len(self.parts)}")
        mod.triple = "x86_64-pc-linux-gnu"
        part = Partition(mod)
        self.parts.append(part)
        prev, self.cur = getattr(self, "cur", None), part
        part.empty_md = mod.add_metadata([])
        part.tbaa = self._tbaa_tags()
        if prev is not None:
            self.cur = prev
        return part

    # The current partition's module and caches.
    @property
    def ir(self) -> irt.Module:
        return self.cur.ir

    @property
    def empty_md(self) -> Any:  # an irt.MDValue once the partition has made it
        return self.cur.empty_md

    @property
    def tbaa(self) -> dict[str, irt.MDValue]:
        return self.cur.tbaa

    def _tbaa_tags(self) -> dict[str, irt.MDValue]:
        """Type-based alias classes: linear memory, global cells, runtime structures and GC
        objects' fields never overlap, so a store to linear memory does not force a global or a
        table to be reloaded."""
        md = self.ir.add_metadata
        root = md([ir.MetaDataString(self.ir, "wasmc alias classes")])
        tags = {}
        for name in ("memory", "global", "runtime", "object"):
            node = md([ir.MetaDataString(self.ir, f"wasm {name}"), root, ir.Constant(T.I64, 0)])
            tags[name] = md([node, node, ir.Constant(T.I64, 0)])
        return tags

    def func(self, idx: int) -> irt.Function:
        """Defined function `idx` as seen from the current partition (a declaration if it is
        defined in another one)."""
        fn = self.cur.funcs.get(idx)
        if fn is None:
            ft = self.module.func_type(idx)
            fnty = self.fn_types.get((ft.params, ft.results))
            if fnty is None:
                fnty = self.fn_types[ft.params, ft.results] = T.func_llvm_type(ft.params,
                                                                               ft.results)
            fn = ir.Function(self.ir, fnty, f"wasm:{idx}:{self.module.func_name(idx)}")
            fn.attributes.add("nounwind")
            if self.parts[self.owner.get(idx, 0)] is self.cur:
                # Unwind tables let the runtime walk the stack when (and only when) a trap
                # happens; the section's bounds tell it which return addresses are Wasm code.
                fn.attributes.add("uwtable")
                fn.section = CODE_SECTION
            # With one partition every function is internal (LLVM may then change its calling
            # convention or drop it); across partitions they are hidden globals (never exported
            # from a shared object).
            if len(self.parts) == 1:
                fn.linkage = "internal"
            else:
                fn.linkage, fn.visibility = "", "hidden"
            self.cur.funcs[idx] = fn
        return fn

    # --- declarations ---------------------------------------------------------------------------
    RT_SIGNATURES = {
        "wasmc_rt_trap": (T.VOID, [T.I32]),
        # addresses, indices and lengths are u64 for either address type (memory64)
        "wasmc_rt_memory_grow": (T.I64, [T.PTR, T.I32, T.I64]),
        "wasmc_rt_memory_fill": (T.VOID, [T.PTR, T.I32, T.I64, T.I32, T.I64]),
        "wasmc_rt_memory_copy": (T.VOID, [T.PTR, T.I32, T.I32, T.I64, T.I64, T.I64]),
        "wasmc_rt_memory_init": (T.VOID, [T.PTR, T.I32, T.I32, T.I64, T.I32, T.I32]),
        "wasmc_rt_data_drop": (T.VOID, [T.PTR, T.I32]),
        "wasmc_rt_atomic_wait": (T.I32, [T.PTR, T.I32, T.PTR, T.I64, T.I64, T.I32]),
        "wasmc_rt_atomic_notify": (T.I32, [T.PTR, T.I32, T.PTR, T.I32]),
        "wasmc_rt_table_get": (T.PTR, [T.PTR, T.I32, T.I64]),
        "wasmc_rt_table_set": (T.VOID, [T.PTR, T.I32, T.I64, T.PTR]),
        "wasmc_rt_table_grow": (T.I64, [T.PTR, T.I32, T.PTR, T.I64]),
        "wasmc_rt_table_fill": (T.VOID, [T.PTR, T.I32, T.I64, T.PTR, T.I64]),
        "wasmc_rt_table_copy": (T.VOID, [T.PTR, T.I32, T.I32, T.I64, T.I64, T.I64]),
        "wasmc_rt_table_init": (T.VOID, [T.PTR, T.I32, T.I32, T.I64, T.I32, T.I32]),
        "wasmc_rt_elem_drop": (T.VOID, [T.PTR, T.I32]),
        # exception handling (exceptions.py)
        "wasmc_rt_throw": (T.VOID, [T.PTR, T.PTR, T.PTR, T.I32]),
        "wasmc_rt_throw_ref": (T.VOID, [T.PTR, T.PTR]),
        "wasmc_rt_caught": (T.PTR, []),
        "_setjmp": (T.I32, [T.PTR]),
        "wasmc_rt_type_sub": (T.I32, [T.I32, T.I32]),  # GC's declared subtypes
        # GC's objects (gcobjects.py)
        "wasmc_rt_gc_alloc": (T.PTR, [T.PTR, T.I64, T.I32, T.I32]),
        "wasmc_rt_array_new": (T.PTR, [T.PTR, T.I32, T.I32, T.I32, T.PTR, T.I32]),
        "wasmc_rt_array_new_data": (T.PTR, [T.PTR, T.I32, T.I32, T.I32, T.I32, T.I32]),
        "wasmc_rt_array_new_elem": (T.PTR, [T.PTR, T.I32, T.I32, T.I32, T.I32]),
        "wasmc_rt_array_fill": (T.VOID, [T.PTR, T.PTR, T.I32, T.PTR, T.I32, T.I32]),
        "wasmc_rt_array_copy": (T.VOID, [T.PTR, T.PTR, T.I32, T.PTR, T.I32, T.I32, T.I32]),
        "wasmc_rt_array_init_data": (T.VOID, [T.PTR, T.PTR, T.I32, T.I32, T.I32, T.I32, T.I32]),
        "wasmc_rt_array_init_elem": (T.VOID, [T.PTR, T.PTR, T.I32, T.I32, T.I32, T.I32]),
    }

    def rt(self, name: str) -> irt.Function:
        fn = self.cur.rt.get(name)
        if fn is None:
            ret, args = self.RT_SIGNATURES[name]
            fn = ir.Function(self.ir, ir.FunctionType(ret, args), name)
            if name in ("wasmc_rt_trap", "wasmc_rt_throw", "wasmc_rt_throw_ref"):
                fn.attributes.add("noreturn")
                fn.attributes.add("cold")
            elif name == "_setjmp":
                fn.attributes.add("returns_twice")
            fn.attributes.add("nounwind")
            self.cur.rt[name] = fn
        return fn

    def intrinsic(self, name: str, ret: irt.Type, args: list[irt.Type]) -> irt.Function:
        fn = self.cur.intrinsics.get(name)
        if fn is None:
            fn = ir.Function(self.ir, ir.FunctionType(ret, args), name)
            self.cur.intrinsics[name] = fn
        return fn

    def runtime_global(self, name: str) -> irt.GlobalVariable:
        """A pointer variable the runtime defines, declared once per partition."""
        g = self.cur.globals_.get(name)
        if g is None:
            g = self.cur.globals_[name] = ir.GlobalVariable(self.ir, T.PTR, name)
            g.linkage = "external"
        return g

    def handler_top_global(self) -> irt.GlobalVariable:
        """`wasmc_rt_handler_top`, the innermost exception handler (exceptions.py)."""
        return self.runtime_global("wasmc_rt_handler_top")

    def gc_frames_global(self) -> irt.GlobalVariable:
        """`wasmc_rt_gc_frames`, the innermost function's GC root frame (runtime_c/gc.c)."""
        return self.runtime_global("wasmc_rt_gc_frames")

    def stack_limit_global(self) -> irt.GlobalVariable:
        """`wasmc_rt_stack_limit`, below which the native stack counts as exhausted."""
        return self.runtime_global("wasmc_rt_stack_limit")

    def call_indirect_ptr(self, b: irt.IRBuilder, fnty: irt.FunctionType, code: irt.Value,
                          args: list[irt.Value], name: str, tail: str = "notail") -> irt.Value:
        return b.call(_IndirectCallee(code, fnty), args, name=name, tail=tail)

    def cstring(self, s: str) -> irt.GlobalVariable:
        g = self.cur.strings.get(s)
        if g is None:
            data = _cstring_bytes(s)
            ty = ir.ArrayType(T.I8, len(data))
            g = ir.GlobalVariable(self.ir, ty, f".str{len(self.cur.strings)}")
            g.initializer = ir.Constant(ty, data)
            g.global_constant = True
            g.linkage = "private"
            g.unnamed_addr = True
            self.cur.strings[s] = g
        return g

    def const_array(self, name: str, elem_ty: irt.Type, values: list) -> irt.Value:
        """A private constant array of `values` (a null pointer when there are none)."""
        if not values:
            return ir.Constant(T.PTR, None)
        ty = ir.ArrayType(elem_ty, len(values))
        g = ir.GlobalVariable(self.ir, ty, name)
        g.initializer = ir.Constant(ty, values)
        g.global_constant = True
        g.linkage = "private"
        return g

    # --- functions ------------------------------------------------------------------------------
    def assign_partitions(self, plan: PartitionPlan) -> None:
        while len(self.parts) < plan.count:
            self.new_partition()
        base = self.module.num_imported_funcs
        self.owner = {base + i: p for i, p in enumerate(plan.owner)}
        for k, i in plan.giant.items():
            self.parts[k].opt_level = 1
            self.parts[k].giant.append(base + i)

    def lower_functions(self, only: int | None = None) -> None:
        m = self.module
        base = m.num_imported_funcs
        for i, code in enumerate(m.codes):
            idx = base + i
            if only is not None and self.owner.get(idx, 0) != only:
                continue
            self.cur = self.parts[self.owner.get(idx, 0)]
            ft = m.types[m.funcs[i]]
            body: Any = code.body  # decoded by now (read_bodies)
            names = {ins[0].name for ins in body}  # (hashing Op rows is slow)
            has_calls = not names.isdisjoint(_CALLS)
            # Which load-witness widths this body needs (function.py): none without loads.
            witness = {_LOAD_WITNESS[n] for n in names.intersection(_LOAD_WITNESS)}
            fl = FunctionLowerer(self, self.func(idx), ft.params, ft.results, code.local_types(),
                                 body, has_calls, witness, names)
            fl.lower_body()
            if fl.addr.wide_used:
                self.note_wide_folds()
        self.cur = self.parts[0]

    def call_function(self, b: irt.IRBuilder, inst: irt.Value, idx: int,
                      args: list[irt.Value]) -> irt.Value:
        """Call function `idx` from generated glue (entries, init code)."""
        ft = self.module.func_type(idx)
        if idx >= self.module.num_imported_funcs:
            # Not inlined into the glue, so the function keeps a frame in wasmc_text and shows
            # in trap backtraces.
            return b.call(self.func(idx), [inst] + args, attrs=("noinline",))
        funcs = b.load(b.gep(inst, [ir.Constant(T.I64, T.INST_FUNCS)], source_etype=T.I8),
                       typ=T.PTR)
        rec = b.load(b.gep(funcs, [ir.Constant(T.I64, idx)], source_etype=T.PTR), typ=T.PTR)
        code = b.load(rec, typ=T.PTR)
        callee_inst = b.load(b.gep(rec, [ir.Constant(T.I64, T.FUNCREF_INSTANCE)],
                                   source_etype=T.I8), typ=T.PTR)
        fnty = T.func_llvm_type(ft.params, ft.results)
        return self.call_indirect_ptr(b, fnty, code, [callee_inst] + args, "")

    def make_entry(self, idx: int) -> irt.Function:
        """`void entry(ptr instance, ptr vals)`: arguments from vals, results back into vals."""
        if idx in self.entries:
            return self.entries[idx]
        ft = self.module.func_type(idx)
        fn = ir.Function(self.ir, ir.FunctionType(T.VOID, [T.PTR, T.PTR]), f"wasm:entry:{idx}")
        fn.linkage = "internal"
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        inst, vals = fn.args
        args: list[irt.Value] = []
        for i, t in enumerate(ft.params):
            slot = b.gep(vals, [ir.Constant(T.I64, i * T.VAL_SIZE)], source_etype=T.I8)
            args.append(b.load(slot, typ=T.LLVM_TYPE[t], align=8))  # wasmc_val: 8-aligned
        res = self.call_function(b, inst, idx, args)
        self._store_results(b, vals, res, ft.results)
        b.ret_void()
        self.entries[idx] = fn
        return fn

    def _store_results(self, b: irt.IRBuilder, vals: irt.Value, res: irt.Value, results: str) -> None:
        for i, t in enumerate(results):
            v = res if len(results) == 1 else b.extract_value(res, i)
            slot = b.gep(vals, [ir.Constant(T.I64, i * T.VAL_SIZE)], source_etype=T.I8)
            b.store(v, slot, align=8)

    def make_host_stub(self, typeidx: int) -> irt.Function:
        """`ret stub(ptr host_func, params...)`: packs the arguments for a host callback."""
        if typeidx in self.host_stubs:
            return self.host_stubs[typeidx]
        ft = self.module.types[typeidx]
        fn = ir.Function(self.ir, T.func_llvm_type(ft.params, ft.results),
                         f"wasm:host_stub:{typeidx}")
        fn.linkage = "internal"
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        n = max(len(ft.params), len(ft.results), 1)
        slots = b.alloca(ir.ArrayType(T.I8, n * T.VAL_SIZE), name="vals")
        slots.align = 16
        # An opaque pointer, so stores of any type type-check (b.bitcast would return `slots`).
        vals = ir.CastInstr(b.block, "bitcast", slots, T.PTR)
        b._insert(vals)
        for i, _t in enumerate(ft.params):
            b.store(fn.args[i + 1],
                    b.gep(vals, [ir.Constant(T.I64, i * T.VAL_SIZE)], source_etype=T.I8))
        host = fn.args[0]
        callback = b.load(host, typ=T.PTR, name="callback")
        env = b.load(b.gep(host, [ir.Constant(T.I64, 8)], source_etype=T.I8), typ=T.PTR,
                     name="env")
        rc = self.call_indirect_ptr(b, ir.FunctionType(T.I32, [T.PTR, T.PTR]), callback,
                                    [env, vals], "rc")
        ok = fn.append_basic_block("ok")
        trap = fn.append_basic_block("trap")
        b.cbranch(b.icmp_unsigned("==", rc, ir.Constant(T.I32, 0)), ok, trap)
        b.position_at_end(trap)
        b.call(self.rt("wasmc_rt_trap"), [rc])
        b.unreachable()
        b.position_at_end(ok)
        loaded = [b.load(b.gep(vals, [ir.Constant(T.I64, i * T.VAL_SIZE)], source_etype=T.I8),
                         typ=T.LLVM_TYPE[t], align=8) for i, t in enumerate(ft.results)]
        if not ft.results:
            b.ret_void()
        elif len(ft.results) == 1:
            b.ret(loaded[0])
        else:
            agg: irt.Value = ir.Constant(T.result_type(ft.results), ir.Undefined)
            for i, v in enumerate(loaded):
                agg = b.insert_value(agg, v, i)
            b.ret(agg)
        self.host_stubs[typeidx] = fn
        return fn

    def lower_synthetic(self, name: str, body: list[Instr]) -> irt.Function:
        """Lower an instruction sequence we built (initialisers) as `void name(ptr instance)`."""
        fn = ir.Function(self.ir, ir.FunctionType(T.VOID, [T.PTR]), name)
        fn.linkage = "internal"
        fl = FunctionLowerer(self, fn, "", "", "", body + [_instr("end")], has_calls=False)
        fl.lower_body()
        return fn

    def init_globals_body(self) -> list[Instr]:
        """The defined globals' initialisers, then the defined tables' (Wasm 3.0), which may
        read globals: each fills its table, which the runtime created full of nulls."""
        m = self.module
        first = len(m.imported(ExternKind.GLOBAL))
        body: list[Instr] = []
        for i, g in enumerate(m.globals):
            body += g.init
            body.append(_instr("global.set", first + i))
        first = len(m.imported(ExternKind.TABLE))
        for i, t in enumerate(m.tables):
            if t.init is not None:
                const = "i64.const" if t.addrtype == "l" else "i32.const"
                body += [_instr(const, 0), *t.init, _instr(const, t.limits.min),
                         _instr("table.fill", first + i)]
        return body

    def init_segments_body(self) -> list[Instr]:
        """Element items the descriptor cannot describe (kind 4: struct.new, array.new, ...) are
        evaluated first, as instantiation evaluates every item before it initialises segments;
        then the active segments, in order."""
        body: list[Instr] = []
        for i, e in enumerate(self.module.elems):
            for k, expr in enumerate(e.items):
                if elem_item(expr)[0] == ITEM_COMPUTED:
                    body += expr
                    body.append(Instr(ELEM_ITEM_SET, (i, k), 0))
        for i, e in enumerate(self.module.elems):
            if e.mode is SegmentMode.ACTIVE:
                body += e.offset_expr or []
                body += [_instr("i32.const", 0), _instr("i32.const", len(e.items)),
                         _instr("table.init", (i, e.table))]
            if e.mode is not SegmentMode.PASSIVE:
                body.append(_instr("elem.drop", i))
        for i, d in enumerate(self.module.datas):
            if d.mode is SegmentMode.ACTIVE:
                body += d.offset_expr or []
                body += [_instr("i32.const", 0), _instr("i32.const", len(d.init)),
                         _instr("memory.init", (i, d.memory)), _instr("data.drop", i)]
        return body

    # --- the descriptor -------------------------------------------------------------------------
    def build_descriptor(self, init_globals: irt.Function, init_segments: irt.Function) -> None:
        m = self.module
        i32 = lambda v: ir.Constant(T.I32, v)
        i64 = lambda v: ir.Constant(T.I64, v)
        null = ir.Constant(T.PTR, None)

        # typed references spelt out (reftypes.sig_text): the ids must agree across processes
        type_sigs = self.const_array("type_sigs", T.PTR, [self.cstring(type_sig(m, i))
                                                          for i in range(len(m.types))])
        import_ty = ir.LiteralStructType([T.PTR, T.PTR, T.I32, T.I32])
        counters = {k: 0 for k in ExternKind}
        import_rows = []
        for imp in m.imports:
            index = imp.desc if imp.kind is ExternKind.FUNC else counters[imp.kind]
            counters[imp.kind] += 1
            import_rows.append(ir.Constant(import_ty, [self.cstring(imp.module),
                                                       self.cstring(imp.name),
                                                       i32(int(imp.kind)), i32(index)]))
        imports = self.const_array("imports", import_ty, import_rows)

        nfuncs = len(self.func_type_indices)
        func_types = self.const_array("func_types", T.I32, [i32(t) for t in self.func_type_indices])
        func_code = self.const_array("func_code", T.PTR,  # defined functions only
                                     [self.func(i) for i in range(m.num_imported_funcs, nfuncs)])
        entries = self.const_array("func_entries", T.PTR,
                                   [self.entries.get(i, null) for i in range(nfuncs)])
        stubs = self.const_array("host_stubs", T.PTR,
                                 [self.host_stubs.get(i, null) for i in range(len(m.types))])

        limits_ty = ir.LiteralStructType([T.I64, T.I64, T.I32, T.I32])

        def limits(lim, addrtype: str, elemtype: str = "", shared: bool = False) -> irt.Constant:
            # WASMC_LIMITS_HAS_MAX, _INDEX64, _SHARED
            flags = (lim.max is not None) | (addrtype == "l") << 1 | shared << 2
            return ir.Constant(limits_ty, [i64(lim.min), i64(lim.max or 0), i32(flags),
                                           i32(ord(host_letter(elemtype) if elemtype else "\0"))])
        tables = self.const_array("tables", limits_ty,
                                  [limits(t.limits, t.addrtype, t.elem) for t in m.table_types()])
        mems = self.const_array("memories", limits_ty,
                                [limits(t.limits, t.addrtype, shared=t.shared)
                                 for t in m.mem_types()])
        global_ty = ir.LiteralStructType([T.I32, T.I32])
        globals_ = self.const_array("globals", global_ty,
                                    [ir.Constant(global_ty, [i32(ord(host_letter(g.valtype))),
                                                             i32(int(g.mutable))])
                                     for g in m.global_types()])
        export_ty = ir.LiteralStructType([T.PTR, T.I32, T.I32])
        exports = self.const_array("exports", export_ty,
                                   [ir.Constant(export_ty, [self.cstring(e.name),
                                                            i32(int(e.kind)), i32(e.index)])
                                    for e in m.exports])
        item_ty = ir.LiteralStructType([T.I32, T.I32])
        elem_ty = ir.LiteralStructType([T.PTR, T.I32, T.I32])
        elem_rows = []
        for si, e in enumerate(m.elems):
            items = [ir.Constant(item_ty, [i32(k), i32(x)]) for k, x in map(elem_item, e.items)]
            arr = self.const_array(f"elem{si}", item_ty, items)
            elem_rows.append(ir.Constant(elem_ty, [arr, i32(len(items)),
                                                   i32(ord(host_letter(e.elemtype)))]))
        elems = self.const_array("elems", elem_ty, elem_rows)
        data_ty = ir.LiteralStructType([T.PTR, T.I32, T.I32])
        data_rows = []
        for di, d in enumerate(m.datas):
            if d.init:
                arr_ty = ir.ArrayType(T.I8, len(d.init))
                g = ir.GlobalVariable(self.ir, arr_ty, f"data{di}")
                g.initializer = ir.Constant(arr_ty, bytearray(d.init))
                g.global_constant = True
                g.linkage = "private"
                data_rows.append(ir.Constant(data_ty, [g, i32(len(d.init)), i32(0)]))
            else:
                data_rows.append(ir.Constant(data_ty, [null, i32(0), i32(0)]))
        datas = self.const_array("datas", data_ty, data_rows)
        names = self.const_array("func_names", T.PTR,
                                 [self.cstring(m.func_name(i)) for i in range(nfuncs)])

        desc_ty = ir.LiteralStructType([
            T.I32, T.I32, T.PTR,            # abi_version, num_types, type_sigs
            T.I32, T.PTR,                   # num_imports, imports
            T.I32, T.I32, T.PTR, T.PTR, T.PTR, T.PTR,  # funcs, imported, types, code, entries, stubs
            T.I32, T.I32, T.PTR,            # tables
            T.I32, T.I32, T.PTR,            # memories
            T.I32, T.I32, T.PTR,            # globals
            T.I32, T.PTR,                   # exports
            T.I32, T.PTR,                   # elems
            T.I32, T.PTR,                   # datas
            T.PTR, T.PTR,                   # init_globals, init_segments
            T.I32, T.PTR,                   # start_func, func_names
            T.PTR, T.PTR, T.PTR, T.PTR,     # code_start, code_end, func_offsets, module_name
            T.PTR,                          # wide_address_folds
            T.I32, T.I32, T.PTR,            # tags (exception handling)
            T.PTR,                          # type_supers (GC's declared subtypes)
        ])
        desc = ir.GlobalVariable(self.ir, desc_ty, "wasmc_module_desc")
        desc.global_constant = True
        desc.initializer = ir.Constant(desc_ty, [
            i32(T.ABI_VERSION), i32(len(m.types)), type_sigs,
            i32(len(m.imports)), imports,
            i32(nfuncs), i32(m.num_imported_funcs), func_types, func_code, entries, stubs,
            i32(len(m.table_types())), i32(len(m.imported(ExternKind.TABLE))), tables,
            i32(len(m.mem_types())), i32(len(m.imported(ExternKind.MEMORY))), mems,
            i32(len(m.global_types())), i32(len(m.imported(ExternKind.GLOBAL))), globals_,
            i32(len(m.exports)), exports,
            i32(len(m.elems)), elems,
            i32(len(m.datas)), datas,
            init_globals, init_segments,
            i32(-1 if m.start is None else m.start), names,
            *self.code_bounds(),
            self.const_array("func_offsets", T.I32, [i32(c.offset) for c in m.codes]),
            self.cstring(m.module_name) if m.module_name else null,
            self.wide_fold_symbol() if self.wide_needs_cap else null,
            i32(len(m.tag_types())), i32(len(m.imported(ExternKind.TAG))),
            self.const_array("tag_types", T.I32, [i32(t) for t in m.tag_types()]),
            self.const_array("type_supers", T.I32, [i32(super_index(m, i))
                                                    for i in range(len(m.types))]),
        ])

    def code_bounds(self) -> list[irt.Value]:
        if not self.module.codes:
            return [ir.Constant(T.PTR, None)] * 2
        bounds: list[irt.Value] = []
        for sym in (f"__start_{CODE_SECTION}", f"__stop_{CODE_SECTION}"):
            g = ir.GlobalVariable(self.ir, T.I8, sym)
            g.linkage = "external"
            bounds.append(g)
        return bounds

    # --- driver ---------------------------------------------------------------------------------
    def lower(self, plan: PartitionPlan, only: int | None = None) -> list[Partition]:
        """Lower into the plan's partitions; with `only`, just that partition's functions (and,
        for 0, the glue), so each back-end process can lower its own share in parallel."""
        m = self.module
        self.assign_partitions(plan)
        self.lower_functions(only)
        if only not in (None, 0):
            return self.parts
        for e in m.exports:
            if e.kind is ExternKind.FUNC:
                self.make_entry(e.index)
        if m.start is not None:
            self.make_entry(m.start)
        for imp in m.imported(ExternKind.FUNC):
            self.make_host_stub(cast(int, imp.desc))
        init_globals = self.lower_synthetic("wasm:init_globals", self.init_globals_body())
        init_segments = self.lower_synthetic("wasm:init_segments", self.init_segments_body())
        self.build_descriptor(init_globals, init_segments)
        return self.parts


def type_sig(m: Module, typeidx: int) -> str:
    """The runtime's signature string of a type (its canonical id): `params:results` for a plain
    function type, a GC defined type's whole canonical recursion group otherwise."""
    heap = m.heap(typeidx)
    if isinstance(heap, DefType):
        return heap_text(heap)
    return f"{sig_text(heap.params)}:{sig_text(heap.results)}"


def super_index(m: Module, typeidx: int) -> int:
    """The type index of a type's declared supertype (GC), or -1: the runtime records the
    relation between canonical ids for call_indirect of a subtype (wasmc_rt_type_sub)."""
    heap = m.heap(typeidx)
    if isinstance(heap, DefType) and heap.sub.supers:
        return m.first_type_index(heap.supers()[0])
    return -1


def lower_module(module: Module, name: str = "wasm", bounds_checks: bool = False) -> ir.Module:
    """The whole module as one LLVM module."""
    plan = plan_partitions(module, 1, 1 << 62, 1 << 62)
    return lower_partitions(module, 1, 1 << 62, name, bounds_checks=bounds_checks, plan=plan)[0].ir


def lower_partitions(module: Module, partitions: int, giant_threshold: int,
                     name: str = "wasm", only: int | None = None,
                     bounds_checks: bool = False,
                     plan: PartitionPlan | None = None, dispatch: bool = True,
                     fast_isel: bool = False) -> list[Partition]:
    plan = plan or plan_partitions(module, partitions, giant_threshold)
    return ModuleLowerer(module, name, bounds_checks, dispatch, fast_isel).lower(plan, only)


def count_partitions(module: Module, partitions: int, giant_threshold: int) -> int:
    return plan_partitions(module, partitions, giant_threshold).count


def partition_ir_text(part: Partition) -> str:
    """LLVM IR text of a partition."""
    text = str(part.ir)
    if isinstance(part.ir, IRBuildModule):
        return text
    # llvmlite.ir (which tests/test_irbuild.py swaps in) does not print a function's visibility
    return re.sub(r'^(define|declare) (?!internal )(?=[^\n]*@"wasm:\d)', r"\1 hidden ", text,
                  flags=re.MULTILINE)
