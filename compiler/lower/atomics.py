"""Lowering of the threads proposal's atomic memory instructions (prefix 0xFE).

Strategy: every atomic access checks its alignment and then its bounds explicitly, in wasmtime's
order ("unaligned atomic" before "out of bounds memory access"), so the guard region that catches
plain accesses is not relied on: a misaligned access past the end must report the alignment.
The access itself is an LLVM atomic with sequentially consistent ordering (`load atomic`,
`store atomic`, `atomicrmw`, `cmpxchg`, `fence`), which x86-64 compiles to plain moves, `lock`ed
instructions and `xchg`; narrow forms operate on i8/i16/i32 and zero-extend what they return
(cmpxchg compares with the expected value wrapped to the access width).  `memory.atomic.wait32/64`
and `memory.atomic.notify` call the runtime (runtime_c/memory.c), which traps a wait on an
unshared memory ("atomic wait on non-shared memory", wasmtime's words); the runtime runs one
thread, so a notify wakes nobody and a wait whose value matches sleeps for its timeout.
"""

from __future__ import annotations

from ..opcodes import OPS, Kind
from . import irbuild as ir
from . import types as T
from .function import HANDLERS, FunctionLowerer
from .memory import effective_address64, rt_call, u32

ORDER = "seq_cst"
_RMW_OPS = {"add": "add", "sub": "sub", "and": "and", "or": "or", "xor": "xor", "xchg": "xchg"}


def atomic_address(fl: FunctionLowerer, instr, width: int) -> ir.Value:
    """The native address of an atomic access of `width` bytes to the address on the stack,
    after its alignment and then its bounds are checked (wasmtime's order: a misaligned address
    past the end is "unaligned atomic")."""
    mem, offset = instr.imm.mem, instr.imm.offset
    addr = fl.pop()
    wide = addr if addr.type == T.I64 else fl.b.zext(addr, T.I64)
    ea = fl.b.add(wide, ir.Constant(T.I64, offset & (2**64 - 1)), name="ea")  # mod 2^64: only
    if width > 1:                                                           # its low bits matter
        low = fl.b.and_(ea, ir.Constant(T.I64, width - 1))
        fl.trap_if(fl.b.icmp_unsigned("!=", low, ir.Constant(T.I64, 0)), T.TRAP_UNALIGNED_ATOMIC)
    if fl.ml.mem_addrs[mem] == "l":
        return effective_address64(fl, addr, offset, width, mem)
    end = fl.b.add(ea, ir.Constant(T.I64, width))  # an i32 address plus a u32 offset: no wrap
    fl.trap_if(fl.b.icmp_unsigned(">", end, fl.memory_bytes(mem)), T.TRAP_MEMORY_OOB)
    return fl.b.gep(fl.mem_bases[mem], [ea], source_etype=T.I8, name="atomic.addr")


def value_type(name: str) -> ir.IntType:
    return T.I64 if name.startswith("i64") else T.I32


def narrow(fl: FunctionLowerer, v: ir.Value, mem_ty: ir.IntType) -> ir.Value:
    return v if v.type == mem_ty else fl.b.trunc(v, mem_ty)


def widen(fl: FunctionLowerer, v: ir.Value, vt: ir.IntType) -> ir.Value:
    return v if v.type == vt else fl.b.zext(v, vt)


def make_atomic(name: str, width: int):
    vt = value_type(name)
    mem_ty = ir.IntType(8 * width)
    op = name.split(".")[-1].removesuffix("_u")  # load8_u -> load8, rmw8.add_u -> add

    def lower(fl: FunctionLowerer, instr) -> None:
        if ".atomic.load" in name:
            ptr = atomic_address(fl, instr, width)
            fl.push(widen(fl, fl.b.load_atomic(ptr, ORDER, width, typ=mem_ty, name=name), vt))
        elif ".atomic.store" in name:
            v = narrow(fl, fl.pop(), mem_ty)
            fl.b.store_atomic(v, atomic_address(fl, instr, width), ORDER, width)
        elif op == "cmpxchg":
            new, expected = narrow(fl, fl.pop(), mem_ty), narrow(fl, fl.pop(), mem_ty)
            pair = fl.b.cmpxchg(atomic_address(fl, instr, width), expected, new, ORDER, ORDER)
            fl.push(widen(fl, fl.b.extract_value(pair, 0, name=name), vt))
        else:
            v = narrow(fl, fl.pop(), mem_ty)
            old = fl.b.atomic_rmw(_RMW_OPS[op], atomic_address(fl, instr, width), v, ORDER,
                                  name=name)
            fl.push(widen(fl, old, vt))
    return lower


def lower_fence(fl: FunctionLowerer, instr) -> None:
    fl.b.fence(ORDER)


def lower_wait(fl: FunctionLowerer, instr) -> None:
    """memory.atomic.wait32/64: [addr expected timeout] -> 0 woken, 1 not equal, 2 timed out."""
    width = 4 if instr.op.name.endswith("32") else 8
    timeout, expected = fl.pop(), fl.pop()
    ptr = atomic_address(fl, instr, width)
    if expected.type != T.I64:
        expected = fl.b.zext(expected, T.I64)
    fl.push(rt_call(fl, "wasmc_rt_atomic_wait", [u32(instr.imm.mem), ptr, expected, timeout,
                                                 u32(width)]))


def lower_notify(fl: FunctionLowerer, instr) -> None:
    """memory.atomic.notify: [addr count] -> how many waiters were woken."""
    count = fl.pop()
    ptr = atomic_address(fl, instr, 4)
    fl.push(rt_call(fl, "wasmc_rt_atomic_notify", [u32(instr.imm.mem), ptr, count]))


for _op in OPS:
    if _op.kind is Kind.ATOMIC and _op.mem_bytes and "memory.atomic" not in _op.name:
        HANDLERS[_op.name] = make_atomic(_op.name, _op.mem_bytes)
HANDLERS.update({
    "atomic.fence": lower_fence,
    "memory.atomic.wait32": lower_wait,
    "memory.atomic.wait64": lower_wait,
    "memory.atomic.notify": lower_notify,
})
