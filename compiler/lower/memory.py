"""Lowering of memory and table instructions.

Loads and stores compute `mem0_base + zext(addr) + offset` with no bounds check: linear memory is an
8 GiB guard-page reservation (see runtime_c/wasmc_rt.h), so every such address lies inside it and
the hardware faults on the inaccessible part, which the runtime turns into the
"out of bounds memory access" trap.  Each loaded value that may trap also gets a use LLVM cannot
delete (witness.py), so that its trap survives when the value goes unused.  In a loop LLVM may
vectorise, each pointer the loop advances addresses memory through its own copy of the base
(FunctionLowerer.loop_base).  Accesses use alignment 1 because Wasm alignment is only a hint.
`memory.copy`/`memory.fill` are one bounds check plus `llvm.memmove`/`llvm.memset`; the other
bulk-memory and table instructions call the runtime, which checks bounds exactly as the spec says.

Memory64 (an i64 address type): no guard region can cover `base + addr + offset` for a 64-bit
`addr`, so each access checks `addr + offset + width <= size` explicitly, in arithmetic that cannot
wrap, and needs no witness (the check, not the load, traps).  Table64 indices and either memory's
bulk operands reach the runtime as u64 (`to_u64`), and sizes come back as the address type.
"""

from __future__ import annotations

from ..opcodes import OPS, Kind
from . import irbuild as ir
from . import types as T
from .function import HANDLERS, FunctionLowerer

VALUE_TYPE = {"i32": T.I32, "i64": T.I64, "f32": T.F32, "f64": T.F64}


def to_u64(fl: FunctionLowerer, v: ir.Value) -> ir.Value:
    """An i32 or i64 address, index or length as the runtime's u64."""
    return v if v.type == T.I64 else fl.b.zext(v, T.I64)


def from_i64(fl: FunctionLowerer, v: ir.Value, addrtype: str) -> ir.Value:
    """A size (or -1) from the runtime as the address type's value."""
    return v if addrtype == "l" else fl.b.trunc(v, T.I32)


def effective_address64(fl: FunctionLowerer, addr: ir.Value, offset: int, width: int,
                        mem: int) -> ir.Value:
    """The native address of an access to an i64 memory, after trapping unless its `width` bytes
    at `addr + offset` lie inside the memory.  Sizes stay below 2^63 (WASMC_MEMORY64_MAX_PAGES),
    so `size - end` cannot wrap when `end <= size`, and an `end` of 2^63 or more always traps."""
    end = offset + width
    size = fl.memory_bytes(mem)
    oob: ir.Value
    if end >= 1 << 63:
        oob = ir.Constant(T.I1, 1)
    else:
        end_c = ir.Constant(T.I64, end)
        oob = fl.b.or_(fl.b.icmp_unsigned("<", size, end_c),
                       fl.b.icmp_unsigned(">", addr, fl.b.sub(size, end_c)), name="oob")
    fl.trap_if(oob, T.TRAP_MEMORY_OOB)
    idx = addr
    if offset:  # in bounds, so the sum is exact
        idx = fl.b.add(addr, ir.Constant(T.I64, offset & (2**64 - 1)), flags=["nuw"])
    return fl.b.gep(fl.mem_bases[mem], [idx], source_etype=T.I8, name="addr")


def effective_address(fl: FunctionLowerer, addr: ir.Value, offset: int, width: int = 0,
                      facts: bool = False, store: bool = False, mem: int = 0
                      ) -> tuple[ir.Value, bool, int, ir.Value, int]:
    """The native address of a Wasm access, whether earlier accesses prove it in bounds, the
    address value's key (addressing.py; 0 without `facts`), and the i32 value and constant
    offset it is addressed by (`p + C` folded: `p` and `C + offset`).
    With `--bounds-checks` (exact trap semantics even for loads whose value LLVM would delete),
    accesses of `width` bytes are checked explicitly first.  With `facts`, the access consults
    and feeds the function's address facts (addressing.py), which may fold `p + C` into it.
    Memories other than 0 (multi-memory) take the plain path: their own base, no address facts
    (which are about memory 0), an explicit check with `--bounds-checks`.  An i64 memory's access
    is always checked (effective_address64) and reported covered: it needs no witness."""
    if fl.ml.mem_addrs[mem] == "l":
        return effective_address64(fl, addr, offset, width, mem), True, 0, addr, offset
    covered, key = False, 0
    facts = facts and not mem and fl.addr.tracks
    if width and fl.ml.bounds_checks:
        end = fl.b.add(fl.b.zext(addr, T.I64), ir.Constant(T.I64, offset + width), name="end")
        fl.trap_if(fl.b.icmp_unsigned(">", end, fl.memory_bytes(mem)), T.TRAP_MEMORY_OOB)
    elif facts:
        key = fl.addr.key(addr)
        root, offset, covered = fl.addr.access(addr, offset, width)
        if store or not covered:  # this access stays, so the loads its address comes from do
            fl.address_uses(key)
            if root is not addr:
                fl.address_uses(fl.addr.key(root))
        addr = root
    base = fl.mem_bases[mem]
    if facts and fl.loop_bases is not None and not isinstance(addr, ir.Constant):
        base = fl.loop_base(addr)
    idx: ir.Value
    if isinstance(addr, ir.Constant):  # a static address (globals of C programs): one constant
        idx = ir.Constant(T.I64, (addr.constant & 0xFFFFFFFF) + offset)
    else:
        idx = fl.b.zext(addr, T.I64)
        if offset:
            idx = fl.b.add(idx, ir.Constant(T.I64, offset), flags=["nuw"])
    return fl.b.gep(base, [idx], source_etype=T.I8, name="addr"), covered, key, addr, offset


def make_load(name: str, width: int):
    vt = VALUE_TYPE[name[:3]]
    signed = name.endswith("_s")

    def lower(fl: FunctionLowerer, instr) -> None:
        mem = instr.imm.mem
        ptr, covered, key, root, offset = effective_address(fl, fl.pop(), instr.imm.offset, width,
                                                            facts=True, mem=mem)
        mem_ty = vt if not isinstance(vt, ir.IntType) or width * 8 == vt.width \
            else ir.IntType(width * 8)
        load = fl.b.load(ptr, typ=mem_ty, name=name, align=1)
        load.set_metadata("tbaa", fl.ml.tbaa["memory"])
        if covered:  # proven in bounds (or checked: memory64), so LLVM may delete it if unused
            pass
        elif mem:  # a plain witness: the address facts and range witnesses are memory 0's
            fl.witness(load)
        else:
            fl.witness(load, key, instr.imm.offset + width, pointer=name == "i32.load",
                       instr=instr, root=root, root_end=offset + width)
        v: ir.Value = load
        if mem_ty is not vt:
            v = (fl.b.sext if signed else fl.b.zext)(v, vt, name=name)
        fl.push(v)
    return lower


def make_store(name: str, width: int):
    def lower(fl: FunctionLowerer, instr) -> None:
        value = fl.pop()
        mem = instr.imm.mem
        ptr, _, key, _, _ = effective_address(fl, fl.pop(), instr.imm.offset, width, facts=True,
                                              store=True, mem=mem)
        if isinstance(value.type, ir.IntType) and value.type.width != width * 8:
            value = fl.b.trunc(value, ir.IntType(width * 8))
        if not mem and fl.ml.mem_addrs[0] == "i" and fl.store_covers(key, instr.imm.offset + width):
            value = fl.b.freeze(value)  # never provably what the covered load read: it stays
        fl.b.store(value, ptr, align=1).set_metadata("tbaa", fl.ml.tbaa["memory"])
    return lower


def rt_call(fl: FunctionLowerer, name: str, args: list[ir.Value]) -> ir.Value:
    fl.flush_witness(fl.b, reset=True)  # the runtime may trap
    return fl.b.call(fl.ml.rt(name), [fl.ctx] + args)


def u32(v: int) -> ir.Constant:
    return ir.Constant(T.I32, v)


def lower_memory_size(fl: FunctionLowerer, instr) -> None:
    memories = fl.load_field(fl.ctx, T.INST_MEMORIES, T.PTR, "memories", invariant=True)
    mem = fl.load_rt(fl.array_elem(memories, instr.imm, 8), T.PTR, "memory")
    nbytes = fl.load_field(mem, T.MEMORY_BYTES, T.I64, "memory.bytes")
    pages = fl.b.lshr(nbytes, ir.Constant(T.I64, 16), name="memory.size")
    fl.push(from_i64(fl, pages, fl.ml.mem_addrs[instr.imm]))


def lower_memory_grow(fl: FunctionLowerer, instr) -> None:
    old = rt_call(fl, "wasmc_rt_memory_grow", [u32(instr.imm), to_u64(fl, fl.pop())])
    fl.push(from_i64(fl, old, fl.ml.mem_addrs[instr.imm]))


def check_range(fl: FunctionLowerer, addr: ir.Value, n: ir.Value, size: ir.Value) -> None:
    """Trap unless [addr, addr + n) lies within `size` bytes (i32 operands: the 64-bit sum
    cannot wrap)."""
    end = fl.b.add(fl.b.zext(addr, T.I64), fl.b.zext(n, T.I64), name="end")
    fl.trap_if(fl.b.icmp_unsigned(">", end, size), T.TRAP_MEMORY_OOB)


def lower_memory_fill(fl: FunctionLowerer, instr) -> None:
    """Inline: one bounds check, then llvm.memset (which LLVM expands or calls memset).
    Another memory than 0 (multi-memory), or an i64 memory: the runtime's fill."""
    n, val, d = fl.pop(), fl.pop(), fl.pop()
    if instr.imm or fl.ml.mem_addrs[0] == "l":
        rt_call(fl, "wasmc_rt_memory_fill", [u32(instr.imm), to_u64(fl, d), val, to_u64(fl, n)])
        return
    check_range(fl, d, n, fl.memory0_bytes())
    fl.b.call(fl.ml.intrinsic("llvm.memset.p0.i64", T.VOID, [T.PTR, T.I8, T.I64, T.I1]),
              [effective_address(fl, d, 0)[0], fl.b.trunc(val, T.I8), fl.b.zext(n, T.I64),
               ir.Constant(T.I1, 0)])


def lower_memory_copy(fl: FunctionLowerer, instr) -> None:
    """Inline: both ranges checked before any byte moves, then llvm.memmove (overlap-safe).
    A copy that involves another memory than 0 (multi-memory), or an i64 memory: the runtime's."""
    n, s, d = fl.pop(), fl.pop(), fl.pop()
    if instr.imm != (0, 0) or fl.ml.mem_addrs[0] == "l":
        rt_call(fl, "wasmc_rt_memory_copy", [u32(instr.imm[0]), u32(instr.imm[1]), to_u64(fl, d),
                                             to_u64(fl, s), to_u64(fl, n)])
        return
    size = fl.memory0_bytes()
    check_range(fl, s, n, size)
    check_range(fl, d, n, size)
    fl.b.call(fl.ml.intrinsic("llvm.memmove.p0.p0.i64", T.VOID, [T.PTR, T.PTR, T.I64, T.I1]),
              [effective_address(fl, d, 0)[0], effective_address(fl, s, 0)[0], fl.b.zext(n, T.I64),
               ir.Constant(T.I1, 0)])


def lower_memory_init(fl: FunctionLowerer, instr) -> None:
    seg, mem = instr.imm
    n, s, d = fl.pop(), fl.pop(), fl.pop()
    rt_call(fl, "wasmc_rt_memory_init", [u32(mem), u32(seg), to_u64(fl, d), s, n])


def lower_data_drop(fl: FunctionLowerer, instr) -> None:
    rt_call(fl, "wasmc_rt_data_drop", [u32(instr.imm)])


def lower_table_get(fl: FunctionLowerer, instr) -> None:
    fl.push(rt_call(fl, "wasmc_rt_table_get", [u32(instr.imm), to_u64(fl, fl.pop())]))


def lower_table_set(fl: FunctionLowerer, instr) -> None:
    ref, i = fl.pop(), fl.pop()
    rt_call(fl, "wasmc_rt_table_set", [u32(instr.imm), to_u64(fl, i), ref])


def lower_table_size(fl: FunctionLowerer, instr) -> None:
    fixed = fl.ml.fixed_table_size(instr.imm)
    if fl.ml.table_addrs[instr.imm] == "l":
        size = ir.Constant(T.I64, fixed) if fixed is not None else \
            fl.b.zext(fl.load_field(fl.table_object(instr.imm), T.TABLE_SIZE, T.I32), T.I64,
                      name="table.size")
    elif fixed is not None:
        size = ir.Constant(T.I32, fixed)
    else:
        size = fl.load_field(fl.table_object(instr.imm), T.TABLE_SIZE, T.I32, "table.size")
    fl.push(size)


def lower_table_grow(fl: FunctionLowerer, instr) -> None:
    n, ref = fl.pop(), fl.pop()
    old = rt_call(fl, "wasmc_rt_table_grow", [u32(instr.imm), ref, to_u64(fl, n)])
    fl.push(from_i64(fl, old, fl.ml.table_addrs[instr.imm]))


def lower_table_fill(fl: FunctionLowerer, instr) -> None:
    n, ref, i = fl.pop(), fl.pop(), fl.pop()
    rt_call(fl, "wasmc_rt_table_fill", [u32(instr.imm), to_u64(fl, i), ref, to_u64(fl, n)])


def lower_table_copy(fl: FunctionLowerer, instr) -> None:
    dst, src = instr.imm
    n, s, d = fl.pop(), fl.pop(), fl.pop()
    rt_call(fl, "wasmc_rt_table_copy", [u32(dst), u32(src), to_u64(fl, d), to_u64(fl, s),
                                        to_u64(fl, n)])


def lower_table_init(fl: FunctionLowerer, instr) -> None:
    seg, table = instr.imm
    n, s, d = fl.pop(), fl.pop(), fl.pop()
    rt_call(fl, "wasmc_rt_table_init", [u32(table), u32(seg), to_u64(fl, d), s, n])


def lower_elem_drop(fl: FunctionLowerer, instr) -> None:
    rt_call(fl, "wasmc_rt_elem_drop", [u32(instr.imm)])


def _register() -> None:
    for op in OPS:
        if op.kind is Kind.MEMORY and op.mem_bytes:
            make = make_load if ".load" in op.name else make_store
            HANDLERS[op.name] = make(op.name, op.mem_bytes)


_register()
HANDLERS.update({
    "memory.size": lower_memory_size,
    "memory.grow": lower_memory_grow,
    "memory.fill": lower_memory_fill,
    "memory.copy": lower_memory_copy,
    "memory.init": lower_memory_init,
    "data.drop": lower_data_drop,
    "table.get": lower_table_get,
    "table.set": lower_table_set,
    "table.size": lower_table_size,
    "table.grow": lower_table_grow,
    "table.fill": lower_table_fill,
    "table.copy": lower_table_copy,
    "table.init": lower_table_init,
    "elem.drop": lower_elem_drop,
})
