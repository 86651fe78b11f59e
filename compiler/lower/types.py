"""LLVM types of Wasm values and of the runtime ABI (mirrors runtime_c/wasmc_rt.h).

Everything generated code reads from the runtime goes through the offsets named here, so a change
to wasmc_rt.h has exactly one counterpart in the compiler.
"""

from __future__ import annotations

from .. import reftypes
from ..traps import (  # noqa: F401  (re-exported: handlers use T.TRAP_*)
    TRAP_ARRAY_OOB,
    TRAP_CAST,
    TRAP_INDIRECT_CALL_TYPE,
    TRAP_INT_DIV_BY_ZERO,
    TRAP_INT_OVERFLOW,
    TRAP_INVALID_CONVERSION,
    TRAP_MEMORY_OOB,
    TRAP_NULL_REFERENCE,
    TRAP_STACK_EXHAUSTED,
    TRAP_TABLE_OOB,
    TRAP_UNALIGNED_ATOMIC,
    TRAP_UNDEFINED_ELEMENT,
    TRAP_UNINITIALIZED_ELEMENT,
    TRAP_UNREACHABLE,
)
from . import irbuild as ir

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F32 = ir.FloatType()
F64 = ir.DoubleType()
V128 = ir.VectorType(ir.IntType(64), 2)
PTR = ir.PointerType()
VOID = ir.VoidType()

class _LLVMTypes(dict):
    """Value type letter -> LLVM type; every reference type (reftypes.py) is a pointer."""

    def __missing__(self, t: str) -> ir.Type:
        if reftypes.is_ref(t):
            return PTR
        raise KeyError(t)


LLVM_TYPE = _LLVMTypes({"i": I32, "l": I64, "f": F32, "d": F64, "v": V128, "F": PTR, "E": PTR})

ABI_VERSION = 3  # WASMC_ABI_VERSION

# wasmc_instance field offsets (bytes)
INST_MEM0_BASE = 0
INST_MEMORIES = 8
INST_TABLES = 16
INST_GLOBALS = 24
INST_FUNCS = 32
INST_TYPE_IDS = 40
INST_ELEM_SEGS = 56
INST_LOAD_WITNESS = 80

# wasmc_memory / wasmc_table / wasmc_funcref field offsets
MEMORY_BASE = 0
MEMORY_BYTES = 8
TABLE_ELEMS = 0
TABLE_SIZE = 8
TABLE_STRUCT_SIZE = 24
FUNCREF_CODE = 0
FUNCREF_INSTANCE = 8
FUNCREF_TYPE_ID = 16

VAL_SIZE = 16  # wasmc_val slot
SEGMENT_ITEMS = 0  # wasmc_segment: its items
SEGMENT_SIZE = 16



def zero_value(t: str) -> ir.Constant:
    """The default value of a local of Wasm type `t`."""
    ty = LLVM_TYPE[t]
    if ty is PTR:
        return ir.Constant(PTR, None)
    if t == "v":
        return ir.Constant(V128, [ir.Constant(I64, 0), ir.Constant(I64, 0)])
    return ir.Constant(ty, 0)


def zero_of(ty: ir.Type) -> ir.Constant:
    """Zero of an integer or V128 type."""
    if ty == V128:
        return ir.Constant(V128, [ir.Constant(I64, 0), ir.Constant(I64, 0)])
    return ir.Constant(ty, 0)


def func_llvm_type(params: str, results: str) -> ir.FunctionType:
    """Native signature of a Wasm function: the instance first, several results as a struct."""
    return ir.FunctionType(result_type(results), [PTR] + [LLVM_TYPE[t] for t in params])


def result_type(results: str) -> ir.Type:
    if not results:
        return VOID
    if len(results) == 1:
        return LLVM_TYPE[results]
    return ir.LiteralStructType([LLVM_TYPE[t] for t in results])
