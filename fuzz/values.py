"""Wasm values as bit patterns, the spec's NaN rules, argument pools and memory comparison.

Values cross every boundary here as (type letter, bit pattern) so NaN payloads and signed zeros are
never laundered through Python floats.  Type letters follow wasmc.runtime: i=i32 l=i64 f=f32 d=f64
F=funcref E=externref.

NaN rule (conservative, as the brief asks): a NaN result matches any NaN result.  The spec allows
any arithmetic NaN where an input was a NaN, and either sign of the canonical NaN otherwise, so
comparing payloads of arithmetic results would report differences both engines are free to make.
Bit-exact float operations (load/store, reinterpret, abs/neg/copysign) are checked separately by
generators that return their results as integers.
"""

from __future__ import annotations

import random
import struct

WIDTH = {"i": 32, "l": 64, "f": 32, "d": 64}
MASK = {t: (1 << w) - 1 for t, w in WIDTH.items()}
REF_TYPES = "FE"


def is_nan(t: str, bits: int) -> bool:
    if t == "f":
        return (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF != 0
    if t == "d":
        return (bits & 0x7FF0000000000000) == 0x7FF0000000000000 and bits & (2**52 - 1) != 0
    return False


def same_value(t: str, expected: int | None, got: int | None) -> bool:
    """`expected`/`got` are bit patterns; for reference types, None stands for null."""
    if t in REF_TYPES:
        return (expected is None) == (got is None)
    if is_nan(t, expected) and is_nan(t, got):
        return True
    return expected == got


def show(t: str, bits: int | None) -> str:
    if t in REF_TYPES:
        return "null" if bits is None else "ref"
    if t == "f":
        return f"f32:{bits:#010x}({struct.unpack('<f', struct.pack('<I', bits))[0]!r})"
    if t == "d":
        return f"f64:{bits:#018x}({struct.unpack('<d', struct.pack('<Q', bits))[0]!r})"
    return f"{'i32' if t == 'i' else 'i64'}:{bits:#x}"


# --- Python value <-> bits for the wasmtime side --------------------------------------------------
def to_py(t: str, bits: int):
    """A bit pattern as the Python value wasmtime-py takes (floats: quiet NaNs survive, sNaN not)."""
    if t == "i":
        return bits - (1 << 32) if bits >> 31 else bits
    if t == "l":
        return bits - (1 << 64) if bits >> 63 else bits
    if t == "f":
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    if t == "d":
        return struct.unpack("<d", struct.pack("<Q", bits))[0]
    return None  # references: we only ever pass null


def from_py(t: str, value) -> int | None:
    if t in "il":
        return value & MASK[t]
    if t == "f":
        return struct.unpack("<I", struct.pack("<f", value))[0]
    if t == "d":
        return struct.unpack("<Q", struct.pack("<d", value))[0]
    return None if value is None else 1


# --- argument pools ------------------------------------------------------------------------------
# Floats passed as arguments are never signalling NaNs: wasmtime-py carries floats as Python floats,
# and the f32 -> double -> f32 round trip quiets a signalling NaN.
EDGE = {
    "i": [0, 1, 2, 7, 31, 32, 0x7F, 0x80, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
          0xFFFFFFFE, 0xFFFF0000, 65536 * 16 - 1],
    "l": [0, 1, 2, 63, 64, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 2**63 - 1, 2**63,
          2**64 - 1, 2**64 - 2],
    "f": [0, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
          0x7FC00001, 0x00000001, 0x80000001, 0x7F7FFFFF, 0x4F000000, 0xCF000000, 0x5F000000,
          0x3F000000, 0x4EFFFFFF, 0xCF000001],
    "d": [0, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000, 0x7FF0000000000000,
          0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000000001, 1,
          0x41E0000000000000, 0xC1E0000000000000, 0x43E0000000000000, 0xC3E0000000000000,
          0x3FE0000000000000, 0x41DFFFFFFFC00000, 0xC1E0000000200000],
}


def random_arg(t: str, rng: random.Random) -> int | None:
    if t in REF_TYPES:
        return None
    if rng.random() < 0.6:
        return rng.choice(EDGE[t])
    bits = rng.getrandbits(WIDTH[t])
    if is_nan(t, bits):  # keep NaN arguments quiet (see above)
        bits |= 0x00400000 if t == "f" else 0x0008000000000000
    return bits


# --- memory ---------------------------------------------------------------------------------------
def _nan_window(a: bytes, b: bytes, i: int) -> bool:
    """Is byte i inside some (possibly unaligned) f32 or f64 that is a NaN in both memories?"""
    for size, t, fmt in ((4, "f", "<I"), (8, "d", "<Q")):
        for start in range(max(0, i - size + 1), min(i, len(a) - size) + 1):
            x = struct.unpack_from(fmt, a, start)[0]
            y = struct.unpack_from(fmt, b, start)[0]
            if is_nan(t, x) and is_nan(t, y):
                return True
    return False


def memory_diff(expected, got, limit: int = 8) -> list[str]:
    """Differences between two final memories, NaN-excused bytes left out; [] when they agree.
    Big memories arrive as digests (engines.BigMemory): then the first differing MiB is named."""
    if not isinstance(expected, bytes) or not isinstance(got, bytes):
        if type(expected) is not type(got) or expected.size != got.size:
            size = lambda m: m.size if hasattr(m, "size") else len(m)
            return [f"memory size: expected {size(expected)} bytes, got {size(got)}"]
        for k, (a, b) in enumerate(zip(expected.digests, got.digests)):
            if a != b:
                return [f"memory MiB {k} ({k << 20:#x}..) differs (compared by digest)"]
        return []
    if len(expected) != len(got):
        return [f"memory size: expected {len(expected)} bytes, got {len(got)}"]
    out: list[str] = []
    chunk = 4096
    for base in range(0, len(expected), chunk):
        if expected[base:base + chunk] == got[base:base + chunk]:
            continue
        for i in range(base, min(base + chunk, len(expected))):
            if expected[i] != got[i] and not _nan_window(expected, got, i):
                out.append(f"memory[{i:#x}]: expected {expected[i]:#04x}, got {got[i]:#04x}")
                if len(out) >= limit:
                    return out
    return out
