"""Validator tests: the core-2.0 suite's `assert_invalid` modules must be rejected with the expected
message, and every plain `(module ...)` in the suite must be accepted (no false positives).

The .wast files are scanned with a small balanced-paren scanner; module text becomes bytes through
`wasmtime.wat2wasm` (which does not validate), `(module binary "...")` strings are unescaped here.
SIMD files are skipped until the validator covers SIMD.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from wasmc.errors import DecodeError, ValidationError
from wasmc.module import Code, FuncType, Instr, MemArg, Module
from wasmc.opcodes import BY_NAME, OPS
from wasmc.validate import HANDLERS, validate_module

# $WASMC_SPEC_DIR may name the suite itself or (as in conftest.py) the folder holding core-2.0/
SPEC_DIR = Path(os.environ.get("WASMC_SPEC_DIR") or Path(__file__).resolve().parents[2] / "shared" / "spec")
if (SPEC_DIR / "core-2.0").is_dir():
    SPEC_DIR = SPEC_DIR / "core-2.0"

# (file, line) -> reason.  Cases whose expected outcome we knowingly do not reproduce.
KNOWN_INVALID_MISMATCHES: dict[tuple[str, int], str] = {}
KNOWN_VALID_MISMATCHES: dict[tuple[str, int], str] = {}


# --- .wast scanning ---------------------------------------------------------------------------
def sexprs(text: str, i: int = 0, end: int | None = None):
    """Yield (start, end) of each parenthesised form at depth 0 of text[i:end]."""
    n = len(text) if end is None else end
    depth = start = 0
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == ";" and text.startswith(";;", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c == "(" and text.startswith("(;", i):
            d, i = 1, i + 2
            while d:
                if text.startswith("(;", i):
                    d, i = d + 1, i + 2
                elif text.startswith(";)", i):
                    d, i = d - 1, i + 2
                else:
                    i += 1
            continue
        elif c == "(":
            if depth == 0:
                start = i
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                yield start, i + 1
        i += 1


ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", "'": b"'", '"': b'"'}
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)


def strip_comments(text: str) -> str:
    """Text with `;; ...` and `(; ... ;)` comments removed (strings kept intact)."""
    out, i = [], 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|;;[^\n]*|\(;', text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        tok = m.group()
        if tok.startswith('"'):
            out.append(tok)
            i = m.end()
        elif tok.startswith(";;"):
            i = m.end()
        else:  # block comments nest
            depth, j = 1, m.end()
            while depth:
                if text.startswith("(;", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith(";)", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
    out.append(text[i:])
    return "".join(out)


def unescape(s: str) -> bytes:
    """A .wast string literal's bytes (\\hh, \\n, \\t, \\\\, \\', \\", \\u{...}, UTF-8 text)."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = s[i + 1]
        if e in "0123456789abcdefABCDEF":
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
        elif e == "u":
            j = s.index("}", i)
            out += chr(int(s[i + 3:j], 16)).encode()
            i = j + 1
        else:
            out += ESCAPES[e]
            i += 2
    return bytes(out)


def module_bytes(form: str) -> bytes:
    """Binary of a `(module ...)` form: text via wat2wasm, `binary` strings unescaped."""
    m = re.match(r"\(module(?:\s+\$\S+)?\s+(binary|quote)\b", form)
    if m and m.group(1) == "binary":
        return b"".join(unescape(s) for s in STRING.findall(strip_comments(form[m.end():])))
    import wasmtime

    # wat2wasm refuses "confusing" Unicode even inside strings; non-ASCII only occurs in strings and
    # comments, where \hh escapes of its UTF-8 bytes mean the same
    form = re.sub(r"[^\x00-\x7f]", lambda c: "".join(f"\\{b:02x}" for b in c.group().encode()), form)
    return bytes(wasmtime.wat2wasm(form))


def collect():
    invalid, valid = [], []
    for path in sorted(SPEC_DIR.glob("*.wast")):
        text = path.read_text(encoding="utf-8")
        for start, end in sexprs(text):
            form = text[start:end]
            line = text.count("\n", 0, start) + 1
            key = (path.name, line)
            if form.startswith("(assert_invalid"):
                (ms, me), = list(sexprs(text, start + 1, end - 1))[:1]
                msg = STRING.findall(strip_comments(text[me:end]))[-1]
                invalid.append(pytest.param(text[ms:me], msg, key, id=f"{path.name}:{line}"))
            elif re.match(r"\(module\b", form) and not re.match(r"\(module(\s+\$\S+)?\s+quote\b", form):
                valid.append(pytest.param(form, key, id=f"{path.name}:{line}"))
            elif re.match(r"\((assert_unlinkable|assert_trap|assert_uninstantiable)\s+\(module\b", form):
                # valid modules that fail only at link or instantiation time
                (ms, me), = list(sexprs(text, start + 1, end - 1))[:1]
                valid.append(pytest.param(text[ms:me], key, id=f"{path.name}:{line}"))
    return invalid, valid


INVALID, VALID = collect() if SPEC_DIR.is_dir() else ([], [])


def decode(data: bytes) -> Module:
    decode_mod = pytest.importorskip("wasmc.decode")
    return decode_mod.decode_module(data)


@pytest.mark.parametrize("form,msg,key", INVALID)
def test_assert_invalid(form: str, msg: str, key: tuple[str, int]) -> None:
    if key in KNOWN_INVALID_MISMATCHES:
        pytest.xfail(KNOWN_INVALID_MISMATCHES[key])
    data = module_bytes(form)
    try:
        m = decode(data)
    except DecodeError as e:
        pytest.fail(f"decoder rejected an assert_invalid module ({msg!r}): {e}")
    with pytest.raises(ValidationError) as info:
        validate_module(m)
    assert msg in info.value.message
    if info.value.instr is not None:  # errors at an instruction carry its offset
        assert info.value.offset is not None


@pytest.mark.parametrize("form,key", VALID)
def test_valid_module(form: str, key: tuple[str, int]) -> None:
    if key in KNOWN_VALID_MISMATCHES:
        pytest.xfail(KNOWN_VALID_MISMATCHES[key])
    validate_module(decode(module_bytes(form)))


def test_suite_found() -> None:
    assert len(INVALID) > 1000 and len(VALID) > 500, SPEC_DIR


# --- unit tests on hand-built modules -----------------------------------------------------------
def body(*items: tuple) -> list[Instr]:
    """Instructions from (mnemonic, imm) pairs, offsets 100, 101, ... and a final `end`."""
    out = [Instr(BY_NAME[name], imm, 100 + i) for i, (name, imm) in enumerate(items)]
    return out + [Instr(BY_NAME["end"], None, 100 + len(out))]


def one_func(params: str, results: str, *items: tuple, locals_: str = "") -> Module:
    return Module(types=[FuncType(params, results)], funcs=[0],
                  codes=[Code([(1, t) for t in locals_], body(*items), 90, 10)])


def test_every_op_typed() -> None:
    assert all(op.sig is not None or op.name in HANDLERS for op in OPS)


def test_error_offset_and_function() -> None:
    m = one_func("", "i", ("i32.const", 1), ("i64.const", 2), ("i32.add", None))
    with pytest.raises(ValidationError) as info:
        validate_module(m)
    e = info.value
    assert (e.message, e.offset, e.func, e.instr) == ("type mismatch", 102, 0, "i32.add")


def test_unreachable_polymorphic_stack() -> None:
    # unreachable; i32.add -> i32 result from unknowns is fine; br_table over labels of equal arity
    validate_module(one_func("", "i", ("unreachable", None), ("i32.add", None)))
    validate_module(one_func("", "", ("block", "i"), ("unreachable", None),
                             ("br_table", ((0,), 0)), ("end", None), ("drop", None)))
    # spec subtlety: an Unknown popped for one label stays Unknown, so f32 and i64 labels both match
    m = one_func("", "", ("block", "f"), ("block", "l"), ("unreachable", None),
                 ("br_table", ((0,), 1)), ("end", None), ("drop", None), ("unreachable", None), ("end", None),
                 ("drop", None))
    validate_module(m)
    # ... but a known value must match every label
    m = one_func("", "", ("block", "f"), ("block", "l"), ("unreachable", None), ("f32.const", 0),
                 ("br_table", ((0,), 1)), ("end", None), ("drop", None), ("unreachable", None), ("end", None),
                 ("drop", None))
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(m)


def test_alignment() -> None:
    from wasmc.module import Limits, MemType

    m = one_func("i", "i", ("local.get", 0), ("i32.load", MemArg(3, 0)))
    m.mems = [MemType(Limits(1, None))]
    with pytest.raises(ValidationError, match="alignment must not be larger than natural"):
        validate_module(m)
    m.codes[0].body[1] = Instr(BY_NAME["i32.load"], MemArg(2, 0), 101)
    validate_module(m)
    m.mems = []
    with pytest.raises(ValidationError, match="unknown memory 0"):
        validate_module(m)


def test_speed() -> None:
    """Validation is linear: one million simple instructions well under the decoder's cost."""
    items = [("local.get", 0), ("i32.const", 1), ("i32.add", None), ("local.set", 0)] * 250_000
    m = one_func("i", "", *items)
    t = time.perf_counter()
    validate_module(m)
    assert time.perf_counter() - t < 10
