"""The runner's side of the embedding: the `spectest` module and script values <-> raw bits.

Strategy: everything crosses `runtime.py` as bit patterns (`Func.call_raw`, `Global.raw`), so NaN
payloads survive; this file is the only one that knows how the runtime encodes references (null = 0,
a funcref = its record's address, `ref.extern N` = the host pointer N + 1).
"""

from __future__ import annotations

import ctypes
from types import SimpleNamespace

from .. import reftypes, runtime
from ..reftypes import host_letter
from ..runtime import Func, Global, HostFunc, Memory, Table, Trap
from .values import (
    F32,
    F64,
    Either,
    NanPattern,
    Num,
    RefExtern,
    RefExternAny,
    RefFunc,
    RefHost,
    RefKind,
    RefNull,
    V128Pattern,
    parse_float,
)

_TYPE_NAME = {"i": "i32", "l": "i64", "f": "f32", "d": "f64", "v": "v128"}


def spectest() -> SimpleNamespace:
    """The `spectest` host module.  Its print functions print nothing (output is not checked)."""

    def quiet(*_args) -> None:
        return None

    def glob(letter: str, bits: int) -> Global:
        g = Global.new(letter, False, 0)
        g.raw = bits
        return g

    exports = {
        "print": HostFunc("", "", quiet),
        "print_i32": HostFunc("i", "", quiet),
        "print_i64": HostFunc("l", "", quiet),
        "print_f32": HostFunc("f", "", quiet),
        "print_f64": HostFunc("d", "", quiet),
        "print_i32_f32": HostFunc("if", "", quiet),
        "print_f64_f64": HostFunc("dd", "", quiet),
        "global_i32": glob("i", 666),
        "global_i64": glob("l", 666),
        "global_f32": glob("f", parse_float("666.6", F32)),
        "global_f64": glob("d", parse_float("666.6", F64)),
        "table": Table.new("F", 10, 20),
        "table64": Table.new("F", 10, 20, addrtype="l"),
        "memory": Memory.new(1, 2),
        "shared_memory": Memory.new(1, 2, shared=True),  # the threads proposal's
    }
    return SimpleNamespace(exports=exports)


def exports_of(provider) -> dict:
    return provider.exports


def instantiate(so_path, ir, imports):
    return runtime.Instance(so_path, ir, imports)


def trap_message(t: Trap) -> str:
    return t.message


# --- values -----------------------------------------------------------------------------------------
class Result:
    """A value produced by Wasm: its type letter and raw bits."""

    __slots__ = ("bits", "letter")

    def __init__(self, letter: str, bits: int):
        self.letter = letter
        self.bits = bits

    def __str__(self) -> str:
        if reftypes.is_ref(self.letter):
            if self.bits == 0:
                return f"ref.null {_top(self.letter)}"
            if host_letter(self.letter) == "F":
                return f"ref.func@0x{self.bits:x}"
            return f"ref.extern {self.bits - 1}"
        return str(Num(_TYPE_NAME[self.letter], self.bits))


def _top(letter: str) -> str:
    """The hierarchy of a reference type ("func", "extern", "any", "exn")."""
    return reftypes.top_of(reftypes.unpack(letter)[1])


def to_raw(value, letter: str) -> int:
    """The bits of a script argument for a parameter of type `letter`; TypeError on a type mismatch."""
    if isinstance(value, Num):
        if _TYPE_NAME.get(letter) != value.type:
            raise TypeError(f"argument {value} for a {letter!r} parameter")
        return value.bits
    if isinstance(value, RefNull):
        if not reftypes.is_ref(letter) or _top(letter) != reftypes.TOP[value.heap]:
            raise TypeError(f"argument {value} for a {letter!r} parameter")
        return 0
    if isinstance(value, RefHost):  # a host value inside `any` (lower/gcrefs.py's encoding)
        if not reftypes.is_ref(letter) or _top(letter) != "any":
            raise TypeError(f"argument {value} for a {letter!r} parameter")
        return ((value.n + 1) << 2) | 2
    if isinstance(value, RefExtern):
        if not reftypes.is_ref(letter) or host_letter(letter) != "E":
            raise TypeError(f"argument {value} for a {letter!r} parameter")
        return value.n + 1
    raise TypeError(f"unsupported argument {value}")


def matches(pattern, got: Result) -> bool:
    letter, bits = got.letter, got.bits
    if isinstance(pattern, Either):
        return any(matches(p, got) for p in pattern.alternatives)
    if isinstance(pattern, Num):
        return _TYPE_NAME.get(letter) == pattern.type and bits == pattern.bits
    if isinstance(pattern, NanPattern):
        return _TYPE_NAME.get(letter) == pattern.type and pattern.matches(bits)
    if isinstance(pattern, V128Pattern):
        return letter == "v" and pattern.matches(bits)
    if not reftypes.is_ref(letter):
        return False
    if isinstance(pattern, RefNull):
        return bits == 0 and (not pattern.heap or _top(letter) == reftypes.TOP[pattern.heap])
    if isinstance(pattern, RefExtern):
        return host_letter(letter) == "E" and bits == pattern.n + 1
    if isinstance(pattern, RefExternAny):
        return host_letter(letter) == "E" and bits != 0
    if isinstance(pattern, RefFunc):
        return host_letter(letter) == "F" and bits != 0
    if isinstance(pattern, RefHost):
        return _top(letter) == "any" and bits == ((pattern.n + 1) << 2) | 2
    if isinstance(pattern, RefKind):  # lower/gcrefs.py's encodings
        if _top(letter) != "any" or bits == 0:
            return False
        if pattern.kind == "any" or (pattern.kind == "i31" and bits & 1):
            return True
        if pattern.kind == "eq":  # an i31 or an object
            return bits & 3 != 2
        # an object (aligned pointer) whose header names its kind: 1 struct, 2 array
        return bits & 3 == 0 and ctypes.c_uint32.from_address(bits + 4).value == \
            {"struct": 1, "array": 2}.get(pattern.kind)
    return False


def invoke(inst, export: str, args: list) -> list[Result]:
    f = inst.exports.get(export)
    if not isinstance(f, (Func, HostFunc)):
        raise TypeError(f"no exported function {export!r}")
    ft = f.type
    if len(args) != len(ft.params):
        raise TypeError(f"{export}: {len(args)} arguments for {ft}")
    raw = f.call_raw([to_raw(a, t) for a, t in zip(args, ft.params)])
    return [Result(t, b) for t, b in zip(ft.results, raw)]


def get_global(inst, export: str) -> Result:
    g = inst.exports.get(export)
    if not isinstance(g, Global):
        raise TypeError(f"no exported global {export!r}")
    return Result(g.valtype, g.raw)
