"""Trap kinds: the Python mirror of `enum wasmc_trap` in runtime_c/wasmc_rt.h (one place for both
the lowering, which emits the numbers, and the embedding, which reads them back)."""

TRAP_UNREACHABLE = 1
TRAP_MEMORY_OOB = 2
TRAP_TABLE_OOB = 3
TRAP_UNDEFINED_ELEMENT = 4
TRAP_UNINITIALIZED_ELEMENT = 5
TRAP_INDIRECT_CALL_TYPE = 6
TRAP_INT_DIV_BY_ZERO = 7
TRAP_INT_OVERFLOW = 8
TRAP_INVALID_CONVERSION = 9
TRAP_STACK_EXHAUSTED = 10
TRAP_NULL_REFERENCE = 11
TRAP_HOST = 12
TRAP_EXIT = 13
TRAP_EXCEPTION = 14  # an exception no Wasm code caught
TRAP_CAST = 15
TRAP_ARRAY_OOB = 16
TRAP_ALLOCATION_TOO_LARGE = 17
TRAP_OUT_OF_MEMORY = 18  # the GC heap's
TRAP_UNALIGNED_ATOMIC = 19
TRAP_WAIT_UNSHARED = 20
