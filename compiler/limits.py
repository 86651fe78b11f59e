"""Explicit implementation limits: a module beyond these is refused with a LimitError, not compiled.

Sandbox-critical: these bound the compiler's time and memory on hostile input (fuzz/hostile.py).
The spec allows any u32 count; engines agree on common limits (wasmparser's `limits.rs`, used by
wasmtime, and V8's `wasm-limits.h`), so a module valid elsewhere is valid here.  Where our own
cost is the tighter bound (LLVM time grows with nesting, switch size and stack depth), the number
is ours and says so.

Where each is checked (the phase that first sees the number, before allocating for it):

| constant               | phase / function                                           | offset at          |
|------------------------|------------------------------------------------------------|--------------------|
| MAX_MODULE_SIZE        | decode.decode_module, before anything                      | 0                  |
| MAX_TYPES              | decode._read_type_section, after the count                 | the count          |
| MAX_FUNCTION_PARAMS/   | decode._read_resulttype (params and results of a functype) | the count          |
|   MAX_FUNCTION_RESULTS |                                                            |                    |
| MAX_IMPORTS            | decode._read_import_section                                | the count          |
| MAX_FUNCTIONS          | decode._read_function_section (imported + defined)         | the count          |
| MAX_TABLES/MAX_MEMORIES| decode._read_table/_memory_section (imported + defined)    | the count          |
| MAX_GLOBALS            | decode._read_global_section (imported + defined)           | the count          |
| MAX_EXPORTS            | decode._read_export_section                                | the count          |
| MAX_ELEM_SEGMENTS      | decode._read_elem_section                                  | the count          |
| MAX_DATA_SEGMENTS      | decode._read_data_section                                  | the count          |
| MAX_NAME_LENGTH        | decode._read_name                                          | the length         |
| MAX_FUNCTION_SIZE      | decode._read_code_section, the body's size                 | the size           |
| MAX_FUNCTION_LOCALS    | decode._read_code_section, running total incl. params      | the locals vector  |
|                        | (check inside the loop: `total` can reach 2^32 x count)    |                    |
| MAX_BR_TABLE_TARGETS   | decode._read_br_table, after the count                     | the count          |
| MAX_CONTROL_DEPTH      | decode._read_expr (block/loop/if push) or                  | the opcode         |
|                        | validate.FuncValidator.push_ctrl                           |                    |
| MAX_OPERAND_STACK      | validate.FuncValidator.push_val                            | the instruction    |
| MAX_TABLE_ENTRIES      | validate.check_table_type (min, and max when given)        | the table type     |
| MAX_MEMORY_PAGES       | validate.check_mem_type (already there as MAX_PAGES; its   | the memory type    |
|                        | ValidationError must carry the offset: today it has none)  |                    |

Counts are checked *before* the vector is read, so a hostile count costs nothing.
"""

from __future__ import annotations

# --- module-level counts (wasmparser / V8, agreed between engines) --------------------------------
MAX_MODULE_SIZE = 1024 * 1024 * 1024  # 1 GiB, as wasmparser
MAX_TYPES = 1_000_000
MAX_FUNCTIONS = 1_000_000  # imported + defined
MAX_IMPORTS = 100_000
MAX_EXPORTS = 100_000
MAX_GLOBALS = 1_000_000
MAX_TABLES = 100  # Wasm 2.0 has several tables; engines allow 100
MAX_MEMORIES = 1  # Wasm 2.0: at most one memory (already a validation rule)
MAX_ELEM_SEGMENTS = 100_000
MAX_DATA_SEGMENTS = 100_000
MAX_NAME_LENGTH = 100_000  # bytes of an import/export name (wasmparser's MAX_WASM_STRING_SIZE)

# --- function-level (wasmparser / V8) -------------------------------------------------------------
MAX_FUNCTION_PARAMS = 1_000
MAX_FUNCTION_RESULTS = 1_000
MAX_FUNCTION_LOCALS = 50_000  # including parameters; wasmparser and V8 agree
MAX_FUNCTION_SIZE = 7_654_321  # bytes of one body: V8's kV8MaxWasmFunctionSize

# --- ours: bounds on LLVM's time and Python's recursion -------------------------------------------
# Measured (fuzz/hostile.py, -O1): 100k nested blocks take ~14 s to compile, 1M do not finish in a
# minute; a 100k-target br_table ~6 s, 1M does not finish; an operand stack 100k deep ~5 s.
# Nesting is not cheap when the blocks hold code: the switch shape of compiled C (an N-target
# br_table inside N nested blocks, each case some arithmetic and a branch out; gen_stress.py's
# huge functions) costs LLVM's -O1 pipeline about N^2.4 -- 5 s of CPU at N = 2,000, 46 s at
# 5,000; at 20,000 it had not finished after 10 minutes of wall time (2026-11-26, on a machine
# shared with other work), while -O0 compiles N = 20,000 in 11 s.  So the limit stays at 10,000
# until such functions get a pipeline without that cost.
MAX_CONTROL_DEPTH = 10_000  # nested block/loop/if in one function
MAX_BR_TABLE_TARGETS = 65_536  # labels of one br_table (V8 allows more; LLVM's switch is the cost)
MAX_OPERAND_STACK = 50_000  # values live on the operand stack at once

# --- instance sizes -------------------------------------------------------------------------------
MAX_TABLE_ENTRIES = 10_000_000  # table min (and growth): wasmparser's MAX_WASM_TABLE_ENTRIES
MAX_MEMORY_PAGES = 65_536  # 4 GiB: the Wasm 2.0 bound for 32-bit memories (spec, not a choice)
# i64 memories (memory64) validate up to 2^48 pages (validate.MAX_PAGES_64), as the spec says; the
# runtime lets them grow to WASMC_MEMORY64_MAX_PAGES (64 GiB), and memory.grow fails past that.
