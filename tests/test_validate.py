"""Validator tests: the core-2.0 suite's `assert_invalid` modules must be rejected with the expected
message, and every plain `(module ...)` in the suite must be accepted (no false positives).

The .wast files are read with the package's own reader (wasmc.wast.sexpr, through tests/wast_forms.py);
module text becomes bytes through `wasmtime.wat2wasm` (which does not validate), `(module binary "...")`
strings are the reader's decoded bytes.
"""

from __future__ import annotations

import time

import pytest
from wasmc.errors import DecodeError, ValidationError
from wasmc.features import WASM_2_0
from wasmc.module import Code, FuncType, Instr, MemArg, Module
from wasmc.opcodes import BY_NAME, OPS
from wasmc.validate import HANDLERS, validate_module
from wasmc.wast.sexpr import read, to_text
from wast_forms import SPEC_DIR, expected_message, module_arg, module_binary, module_kind, scripts, source

# (file, line) -> reason.  Cases whose expected outcome we knowingly do not reproduce.
KNOWN_INVALID_MISMATCHES: dict[tuple[str, int], str] = {}
KNOWN_VALID_MISMATCHES: dict[tuple[str, int], str] = {}


def module_bytes(form: str) -> bytes:
    """Binary of a `(module ...)` form's source: text via wat2wasm, `binary` strings as read."""
    (node,) = read(form)
    binary = module_binary(node)
    if binary is not None:
        return binary
    import wasmtime

    # wat2wasm refuses "confusing" Unicode even inside strings and comments; re-printed without
    # comments and with every string escaped, the module means the same
    return bytes(wasmtime.wat2wasm(form if form.isascii() else to_text([node])))


def collect():
    invalid, valid = [], []
    for name, text, forms in scripts():
        for form in forms:
            key = (name, form.line)
            case_id = f"{name}:{form.line}"
            if form.head == "assert_invalid":
                module = module_arg(form)
                invalid.append(pytest.param(source(text, module), expected_message(form), key, id=case_id))
            elif form.head == "module" and module_kind(form) != "quote":
                valid.append(pytest.param(source(text, form), key, id=case_id))
            elif form.head in ("assert_unlinkable", "assert_trap", "assert_uninstantiable"):
                # valid modules that fail only at link or instantiation time
                module = module_arg(form)
                if module is not None:
                    valid.append(pytest.param(source(text, module), key, id=case_id))
    return invalid, valid


INVALID, VALID = collect()


def decode(data: bytes) -> Module:
    decode_mod = pytest.importorskip("wasmc.decode")
    return decode_mod.decode_module(data, features=WASM_2_0)  # the 2.0 suite's rules


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


def test_assert_invalid_through_the_driver() -> None:
    """The compiler validates bodies a partition at a time, after the exports and the start
    function (driver.compile_module); it must still report each module's first error."""
    from wasmc import driver

    wrong = []
    for case in INVALID:
        form, msg, key = case.values
        try:
            driver.compile_module(module_bytes(form), driver.Options(jobs=1, features=WASM_2_0))
            wrong.append(f"{key}: accepted")
        except ValidationError as e:
            if msg not in e.message:
                wrong.append(f"{key}: {e.message!r}, expected {msg!r}")
    assert not wrong, wrong


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
