"""THE skip list of the spec-suite runner: every assertion we knowingly do not pass, with its reason.

Skipped assertions are counted as skipped, never as passed.  Two kinds of entry:
  - `SKIP_FILES[basename]`: the whole file (every assertion in it counts as skipped);
  - `SKIP_COMMANDS[(basename, line)]`: one command, by the line its form starts on.
SIMD files (`simd_*.wast`) run by default; `--no-simd` or WASMC_WAST_SIMD=0 skips them with `SIMD_REASON`.
"""

from __future__ import annotations

SIMD_REASON = "SIMD files disabled (--no-simd or WASMC_WAST_SIMD=0)"

SKIP_FILES: dict[str, str] = {}

# wasmtime's text parser reads limits and memarg offsets as 64-bit (memory64 syntax) and encodes them as
# an over-long u32 LEB128.  Our decoder rejects that binary ("integer too large"), but the check the
# script means ("i32 constant out of range") is a text-format one, and the text parser is not ours.
_WAT_U64 = "wasmtime's text parser accepts a u64 limit/offset here (memory64 syntax); text-level check"

SKIP_COMMANDS: dict[tuple[str, int], str] = {
    ("address.wast", 213): _WAT_U64,
    ("simd_address.wast", 143): _WAT_U64,
    ("simd_address.wast", 151): _WAT_U64,
    ("memory.wast", 79): _WAT_U64,
    ("memory.wast", 83): _WAT_U64,
    ("memory.wast", 87): _WAT_U64,
    ("table.wast", 27): _WAT_U64,
    ("table.wast", 31): _WAT_U64,
    ("table.wast", 35): _WAT_U64,
}


def file_skip_reason(basename: str, simd: bool) -> str | None:
    if basename in SKIP_FILES:
        return SKIP_FILES[basename]
    if basename.startswith("simd_") and not simd:
        return SIMD_REASON
    return None


# The same for the Wasm 3.0 suite (`core/`), whose files of the same names have other line numbers.
SKIP_COMMANDS_3_0: dict[tuple[str, int], str] = {}


def command_skips(basename: str, wasm: str = "2.0") -> dict[int, str]:
    """Skipped lines of one file of the `wasm` version's suite, line -> reason."""
    table = SKIP_COMMANDS if wasm == "2.0" else SKIP_COMMANDS_3_0
    return {line: reason for (name, line), reason in table.items() if name == basename}
