"""Unit tests for the .wast reader and literal parsing (no compiler needed)."""

from __future__ import annotations

import struct

import pytest
from wasmc.wast.script import iter_commands, message_matches
from wasmc.wast.sexpr import Atom, ParseError, SList, Str, read
from wasmc.wast.values import (
    F32,
    F64,
    LiteralError,
    NanPattern,
    Num,
    RefExtern,
    RefNull,
    V128Pattern,
    parse_const,
    parse_float,
    parse_int,
)


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# --- integers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "bits", "expected"), [
    ("0", 32, 0), ("-1", 32, 0xFFFFFFFF), ("0xffff_ffff", 32, 0xFFFFFFFF), ("+7", 32, 7),
    ("-0x8000_0000", 32, 0x80000000), ("4294967295", 32, 0xFFFFFFFF), ("1_000", 32, 1000),
    ("-9223372036854775808", 64, 1 << 63), ("0xFFFFFFFFFFFFFFFF", 64, (1 << 64) - 1),
])
def test_int(text, bits, expected):
    assert parse_int(text, bits) == expected


@pytest.mark.parametrize(("text", "bits"), [
    ("4294967296", 32), ("-2147483649", 32), ("0x1__0", 32), ("_1", 32), ("1_", 32), ("0x", 32), ("", 32),
    ("1.0", 32), ("18446744073709551616", 64),
])
def test_int_rejected(text, bits):
    with pytest.raises(LiteralError):
        parse_int(text, bits)


# --- floats -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["0.1", "1.5", "3.14159", "1e10", "6.02e23", "1e-40", "123456789", "0.0",
                                  "3.4028234663852886e38", "1.17549435e-38", "2.5e-45"])
def test_f32_decimal_matches_correctly_rounded(text):
    # Python's float() rounds decimal -> f64 correctly; for these, f64 -> f32 is not a double-rounding case
    assert parse_float(text, F32) == f32_bits(float(text))
    assert parse_float(text, F64) == f64_bits(float(text))


@pytest.mark.parametrize(("text", "expected"), [
    # ties and near-ties that double rounding through f64 would get wrong
    ("0x1.000001p0", 0x3F800000),  # exactly half an ulp above 1: tie, to even (down)
    ("0x1.000003p0", 0x3F800002),  # tie, to even (up)
    ("0x1.0000010000000000000001p0", 0x3F800001),  # just above the tie
    ("1.000000059604644775390625", 0x3F800000),  # decimal tie: 1 + 2^-24 exactly
    ("1.000000059604644775390626", 0x3F800001),  # just above
    ("16777217", 0x4B800000), ("16777219", 0x4B800002),  # 2^24 + 1 ties to even, 2^24 + 3 up
    ("0x1.fffffep127", 0x7F7FFFFF), ("0x1.ffffffp127", 0x7F800000),  # max, and the tie that overflows
    ("0x1.fffffefffffffffp127", 0x7F7FFFFF), ("3.4028235677973366e38", 0x7F7FFFFF), ("3.4028235677973367e38", 0x7F800000),
    ("0x1p-149", 0x00000001), ("0x1p-150", 0), ("0x1.000001p-150", 1),  # min subnormal, tie to 0, above
    ("0x1.fffffcp-127", 0x007FFFFF), ("0x1.fffffep-127", 0x00800000),  # largest subnormal, rounds to normal
    ("1e-50", 0), ("1e50", 0x7F800000), ("1e1000000", 0x7F800000), ("1e-1000000", 0),
    ("0x0.0000000000000000000000000001p0", 0x07800000), ("0x0.00000000000000000000000000000000000001p0", 0), ("0x1p+1000000", 0x7F800000),
    ("inf", 0x7F800000), ("-inf", 0xFF800000), ("+inf", 0x7F800000), ("-0", 0x80000000),
    ("-0.0", 0x80000000), ("0x1.8p1", 0x40400000), ("0x.8p1", None), ("1.", 0x3F800000),
    ("0x1.", 0x3F800000), ("1.e1", 0x41200000), ("1_000.000_1", f32_bits(1000.0001)),
])
def test_f32_exact(text, expected):
    if expected is None:
        with pytest.raises(LiteralError):
            parse_float(text, F32)
    else:
        assert parse_float(text, F32) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("0x1p-1074", 1), ("0x1p-1075", 0), ("0x1.8p-1074", 2), ("0x1.fffffffffffff8p1023", 0x7FF0000000000000),
    ("0x1.fffffffffffff7ffp1023", 0x7FEFFFFFFFFFFFFF), ("4.9406564584124654e-324", 1),
    ("2.4703282292062327e-324", 0), ("2.4703282292062328e-324", 1),  # the tie below min subnormal and above
    ("1.7976931348623157e308", 0x7FEFFFFFFFFFFFFF), ("1.7976931348623159e308", 0x7FF0000000000000),
    ("9007199254740993", 0x4340000000000000),  # 2^53 + 1 ties to even
])
def test_f64_exact(text, expected):
    assert parse_float(text, F64) == expected


def test_nan_literals():
    assert parse_float("nan", F32) == 0x7FC00000
    assert parse_float("-nan", F32) == 0xFFC00000
    assert parse_float("nan:0x1", F32) == 0x7F800001
    assert parse_float("-nan:0x7f_ffff", F32) == 0xFFFFFFFF
    assert parse_float("nan", F64) == 0x7FF8000000000000
    assert parse_float("nan:0x4000000000000", F64) == 0x7FF4000000000000
    for bad in ("nan:0x0", "nan:0x800000"):
        with pytest.raises(LiteralError):
            parse_float(bad, F32)


def test_nan_patterns():
    canon, arith = NanPattern("f32", "canonical"), NanPattern("f32", "arithmetic")
    assert canon.matches(0x7FC00000) and canon.matches(0xFFC00000)
    assert not canon.matches(0x7FC00001) and not canon.matches(0x7FA00000) and not canon.matches(0x7F800000)
    assert arith.matches(0x7FC00000) and arith.matches(0xFFE00001)
    assert not arith.matches(0x7FA00000) and not arith.matches(0x3F800000)
    assert NanPattern("f64", "canonical").matches(0xFFF8000000000000)
    assert not NanPattern("f64", "canonical").matches(0x7FF8000000000001)


def test_parse_const():
    assert parse_const("i32.const", ["-1"]) == Num("i32", 0xFFFFFFFF)
    assert parse_const("f64.const", ["-0x1p-1"]) == Num("f64", 0xBFE0000000000000)
    assert parse_const("f32.const", ["nan:canonical"], pattern=True) == NanPattern("f32", "canonical")
    assert parse_const("ref.null", ["extern"]) == RefNull("extern")
    assert parse_const("ref.extern", ["7"]) == RefExtern(7)
    assert parse_const("v128.const", ["i32x4", "1", "2", "3", "-1"]) == \
        Num("v128", 1 | 2 << 32 | 3 << 64 | 0xFFFFFFFF << 96)
    pat = parse_const("v128.const", ["f32x4", "nan:canonical", "1", "2", "nan:arithmetic"], pattern=True)
    assert isinstance(pat, V128Pattern)
    assert pat.matches(0x7FC00000 | 0x3F800000 << 32 | 0x40000000 << 64 | 0xFFC00001 << 96)
    with pytest.raises(LiteralError):
        parse_const("f32.const", ["nan:canonical"], pattern=False)


# --- reader -----------------------------------------------------------------------------------------
def test_reader_comments_strings_annotations():
    text = ';; line\n(module (; block (; nested ;) ;) "a\\n\\00\\ff\\u{263a}\\"" (@ann x "y)") $x)\n(foo)'
    forms = read(text)
    assert len(forms) == 2
    mod = forms[0]
    assert isinstance(mod, SList) and mod.head == "module" and mod.line == 2
    assert isinstance(mod[1], Str) and mod[1].value == b'a\n\x00\xff\xe2\x98\xba"'
    assert isinstance(mod[2], Atom) and mod[2].text == "$x"
    assert len(mod) == 3
    assert text[mod.start:mod.end].startswith("(module") and text[mod.start:mod.end].endswith(")")
    assert forms[1].line == 3


def test_reader_errors():
    for bad in ["(module", ")", '"abc', "(; open", '"\\q"']:
        with pytest.raises(ParseError):
            read(bad)


def test_inline_module_grouping():
    forms = read('(func) (memory 1) (assert_return (invoke "f")) (func)')
    kinds = [kw for kw, _, _ in iter_commands(forms)]
    assert kinds == ["inline", "assert_return", "inline"]


def test_message_matches():
    assert message_matches("type mismatch: expected i32", "type mismatch")
    assert message_matches("unexpected end", "unexpected end of section or function")
    assert not message_matches("", "type mismatch")
    assert not message_matches("unknown type", "type mismatch")
