"""Which version of WebAssembly the front end accepts: Wasm 2.0, or the parts of Wasm 3.0 built so far.

Strategy.  A module records its feature set (`Module.features`, chosen when it is decoded) and the
decoder and validator consult it only where the two versions disagree about the same bytes, such as
a constant expression that reads a global defined in the module: Wasm 2.0 says "unknown global",
3.0 accepts it.  Each 3.0 proposal that is implemented adds its name to `WASM_3_0`; the default is
the newest version, as in wasmtime (our oracle), and `--wasm 2.0` asks for 2.0's rules, which the
2.0 spec suite checks.
"""

from __future__ import annotations

# Extended constant expressions: `i32/i64.add/sub/mul` in constant expressions, and `global.get`
# of any earlier immutable global (not only imported ones); segments see every global.
EXTENDED_CONST = "extended-const"
# Multi-memory: several memories; memory instructions and data segments name theirs.
MULTI_MEMORY = "multi-memory"
# Relaxed SIMD: vector instructions whose results may differ between hosts (opcodes.Op.feature).
RELAXED_SIMD = "relaxed-simd"
# Tail calls: return_call, return_call_indirect.
TAIL_CALL = "tail-call"
# Memory64 (with table64): memories and tables whose address type is i64, 64-bit limits.
MEMORY64 = "memory64"
# Typed function references: (ref null? heaptype) value types (reftypes.py), call_ref,
# ref.as_non_null, br_on_null, br_on_non_null, table initialisers, non-defaultable locals.
FUNCTION_REFERENCES = "function-references"
# Exception handling: tags, throw, throw_ref, try_table, exnref (not the legacy try/catch).
EXCEPTION_HANDLING = "exceptions"
# Garbage collection's type system: recursion groups, declared subtypes, struct and array types
# (reftypes.DefType); its instructions are the three features after it.
GC_TYPES = "gc-types"
# GC's instructions on references that need no heap objects: i31, ref.eq, ref.test / ref.cast /
# br_on_cast(_fail), any.convert_extern / extern.convert_any.
GC_REFS = "gc-refs"
# GC's struct instructions: struct.new(_default), struct.get(_s/_u), struct.set.
GC_STRUCTS = "gc-structs"
# GC's array instructions: array.new(_default/_fixed/_data/_elem), array.get(_s/_u), array.set,
# array.len, array.fill, array.copy, array.init_data, array.init_elem.
GC_ARRAYS = "gc-arrays"

# Legacy exception handling: try, catch, catch_all, rethrow, delegate (not part of Wasm 3.0,
# which replaced them with try_table and exnref, but what Emscripten emits and browsers run; on by
# default, where wasmtime refuses them).
LEGACY_EXCEPTIONS = "legacy-exceptions"
# Threads: shared memories (limits flags 2/3, 6/7) and the atomic memory instructions (0xFE).
# Not part of Wasm 3.0 but on by default in wasmtime (our oracle), so in our 3.0 set too.
THREADS = "threads"

Features = frozenset  # of the names above

WASM_2_0: Features = frozenset()
# Wasm 3.0, with the legacy exception instructions and the threads proposal.
WASM_3_0: Features = frozenset({EXCEPTION_HANDLING, EXTENDED_CONST, FUNCTION_REFERENCES, GC_ARRAYS,
                                GC_REFS, GC_STRUCTS, GC_TYPES, MEMORY64, MULTI_MEMORY, RELAXED_SIMD,
                                TAIL_CALL, THREADS, LEGACY_EXCEPTIONS})
VERSIONS: dict[str, Features] = {"2.0": WASM_2_0, "3.0": WASM_3_0}
DEFAULT: Features = WASM_3_0


def version_name(features: Features) -> str:
    """The version whose feature set this is (for cache keys and messages)."""
    for name, fs in VERSIONS.items():
        if fs == features:
            return name
    return "+".join(sorted(features)) or "2.0"
