"""Script values: numeric literals to exact bit patterns, and the value/pattern forms of `.wast`.

Strategy: every number becomes its IEEE/two's-complement bit pattern as a Python int, and every
comparison is done on bits.  Floats are parsed to an exact rational (decimal `m * 10^e`, hex
`m * 2^e`) and rounded once, with integer arithmetic, to the target format's precision
(round-to-nearest, ties-to-even), so f32 literals are never double-rounded through f64.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import reftypes

# --------------------------------------------------------------------------------------------
# Literals
# --------------------------------------------------------------------------------------------

_INT_RE = re.compile(r"[+-]?(?:0x[0-9a-fA-F](?:_?[0-9a-fA-F])*|[0-9](?:_?[0-9])*)\Z")
_DEC = r"[0-9](?:_?[0-9])*"
_HEXN = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DEC_FLOAT_RE = re.compile(rf"({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?\Z")
_HEX_FLOAT_RE = re.compile(rf"0x({_HEXN})(?:\.({_HEXN})?)?(?:[pP]([+-]?{_DEC}))?\Z")
_NAN_RE = re.compile(rf"nan(?::0x({_HEXN}))?\Z")


class LiteralError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FloatFormat:
    bits: int
    mant_bits: int  # explicit fraction bits
    exp_bits: int

    @property
    def bias(self) -> int:
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def exp_mask(self) -> int:
        return ((1 << self.exp_bits) - 1) << self.mant_bits

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def quiet_bit(self) -> int:
        return 1 << (self.mant_bits - 1)

    @property
    def inf(self) -> int:
        return self.exp_mask


F32 = FloatFormat(32, 23, 8)
F64 = FloatFormat(64, 52, 11)
FLOAT_FORMATS = {"f32": F32, "f64": F64, 32: F32, 64: F64}


def parse_int(text: str, bits: int) -> int:
    """An integer literal (signed or unsigned, `_` separators, hex) as an unsigned `bits`-bit pattern.

    Out-of-range literals are rejected, as the text format does: unsigned up to 2^bits - 1, signed
    from -2^(bits-1).
    """
    if not _INT_RE.match(text):
        raise LiteralError(f"bad integer literal {text!r}")
    neg = text.startswith("-")
    body = text.lstrip("+-").replace("_", "")
    v = int(body, 16) if body.startswith("0x") else int(body, 10)
    if neg:
        if v > 1 << (bits - 1):
            raise LiteralError(f"integer literal out of range: {text}")
        v = -v
    elif v >= 1 << bits:
        raise LiteralError(f"integer literal out of range: {text}")
    return v & ((1 << bits) - 1)


def round_to_float(num: int, den: int, fmt: FloatFormat) -> int:
    """Bits of the positive rational num/den rounded to `fmt` (nearest, ties to even); inf on overflow."""
    if num == 0:
        return 0
    bias = fmt.bias
    emin, emax = 1 - bias, bias
    # e = floor(log2(num/den)): the bit-length difference is right or one too high.
    e = num.bit_length() - den.bit_length()
    if (den << e if e >= 0 else den) > (num if e >= 0 else num << -e):
        e -= 1
    e = max(e, emin)  # below emin the value is subnormal: fixed scale
    shift = fmt.mant_bits - e
    n, d = (num << shift, den) if shift >= 0 else (num, den << -shift)
    q, r = divmod(n, d)
    if 2 * r > d or (2 * r == d and q & 1):
        q += 1
    if q >> (fmt.mant_bits + 1):  # rounding carried into a new binade
        q >>= 1
        e += 1
    if e > emax:
        return fmt.inf
    if q < 1 << fmt.mant_bits:  # subnormal (only possible at emin)
        return q
    return ((e + bias) << fmt.mant_bits) | (q - (1 << fmt.mant_bits))


def parse_float(text: str, fmt: FloatFormat | int | str) -> int:
    """A float literal (decimal, hex, `inf`, `nan`, `nan:0x...`, with sign) as IEEE bits."""
    if not isinstance(fmt, FloatFormat):
        fmt = FLOAT_FORMATS[fmt]
    sign = fmt.sign_bit if text.startswith("-") else 0
    body = text[1:] if text[:1] in "+-" else text
    if body == "inf":
        return sign | fmt.inf
    m = _NAN_RE.match(body)
    if m:
        payload = int(m.group(1).replace("_", ""), 16) if m.group(1) else fmt.quiet_bit
        if not 0 < payload < 1 << fmt.mant_bits:
            raise LiteralError(f"NaN payload out of range: {text}")
        return sign | fmt.inf | payload
    m = _HEX_FLOAT_RE.match(body)
    if m:
        ip, fp, ep = (g.replace("_", "") if g else "" for g in m.groups())
        mant = int(ip + fp, 16)
        exp2 = (int(ep) if ep else 0) - 4 * len(fp)
        return sign | _scaled(mant, 2, exp2, fmt)
    m = _DEC_FLOAT_RE.match(body)
    if m:
        ip, fp, ep = (g.replace("_", "") if g else "" for g in m.groups())
        mant = int(ip + fp, 10)
        exp10 = (int(ep) if ep else 0) - len(fp)
        return sign | _scaled(mant, 10, exp10, fmt)
    raise LiteralError(f"bad float literal {text!r}")


def _scaled(mant: int, base: int, exp: int, fmt: FloatFormat) -> int:
    """Bits of mant * base^exp, with absurd exponents short-cut before building huge integers."""
    if mant == 0:
        return 0
    digits = mant.bit_length() if base == 2 else len(str(mant))
    limit = 2 * (fmt.bias + fmt.mant_bits + 2)  # far beyond the format's range in both bases
    if digits + exp > limit:
        return fmt.inf
    if digits + exp < -limit:
        return 0
    if exp >= 0:
        return round_to_float(mant * base**exp, 1, fmt)
    return round_to_float(mant, base**-exp, fmt)


def float_to_text(bits: int, fmt: FloatFormat) -> str:
    """Human-readable form of float bits for messages (exact hex for NaN payloads)."""
    import struct

    if (bits & fmt.exp_mask) == fmt.exp_mask and bits & ((1 << fmt.mant_bits) - 1):
        sign = "-" if bits & fmt.sign_bit else ""
        return f"{sign}nan:0x{bits & ((1 << fmt.mant_bits) - 1):x}"
    code = "<f" if fmt is F32 else "<d"
    raw = bits.to_bytes(fmt.bits // 8, "little")
    return repr(struct.unpack(code, raw)[0])


# --------------------------------------------------------------------------------------------
# Script values and result patterns
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Num:
    """A concrete number: type is i32/i64/f32/f64/v128, bits its pattern."""

    type: str
    bits: int

    def __str__(self) -> str:
        if self.type in FLOAT_FORMATS:
            return f"{self.type}:{float_to_text(self.bits, FLOAT_FORMATS[self.type])}"
        if self.type == "v128":
            return f"v128:0x{self.bits:032x}"
        return f"{self.type}:0x{self.bits:x}"


@dataclass(frozen=True, slots=True)
class RefNull:
    heap: str  # an abstract heap type ("func", "extern", "any", ...); "" in a pattern: any null

    def __str__(self) -> str:
        return f"ref.null {self.heap}".rstrip()


@dataclass(frozen=True, slots=True)
class RefExtern:
    """A host reference `ref.extern N` (an opaque externref the script made up)."""

    n: int

    def __str__(self) -> str:
        return f"ref.extern {self.n}"


@dataclass(frozen=True, slots=True)
class RefFunc:
    """Result pattern `ref.func`: any non-null function reference."""

    def __str__(self) -> str:
        return "ref.func"


@dataclass(frozen=True, slots=True)
class NanPattern:
    type: str  # f32 | f64
    kind: str  # canonical | arithmetic

    def __str__(self) -> str:
        return f"{self.type}:nan:{self.kind}"

    def matches(self, bits: int) -> bool:
        fmt = FLOAT_FORMATS[self.type]
        payload_mask = (1 << fmt.mant_bits) - 1
        if (bits & fmt.exp_mask) != fmt.exp_mask:
            return False
        payload = bits & payload_mask
        if self.kind == "canonical":
            return payload == fmt.quiet_bit
        return bool(payload & fmt.quiet_bit)


@dataclass(frozen=True, slots=True)
class V128Pattern:
    """A v128 result with per-lane patterns (lanes are Num or NanPattern of the lane type)."""

    shape: str
    lanes: tuple

    def __str__(self) -> str:
        return f"v128 {self.shape} " + " ".join(str(x) for x in self.lanes)

    def matches(self, bits: int) -> bool:
        width = 128 // len(self.lanes)
        for i, lane in enumerate(self.lanes):
            lb = (bits >> (i * width)) & ((1 << width) - 1)
            if isinstance(lane, NanPattern):
                if not lane.matches(lb):
                    return False
            elif lane.bits != lb:
                return False
        return True


Value = Num | RefNull | RefExtern

_LANES = {"i8x16": ("i8", 16), "i16x8": ("i16", 8), "i32x4": ("i32", 4), "i64x2": ("i64", 2),
          "f32x4": ("f32", 4), "f64x2": ("f64", 2)}


def _lane_bits(text: str, lane: str) -> int:
    if lane.startswith("f"):
        return parse_float(text, lane)
    return parse_int(text, int(lane[1:]))


def parse_const(op: str, args: list[str], *, pattern: bool = False):
    """`(OP ARGS...)` as a value (`pattern=False`, for arguments) or a result pattern.

    `op` is e.g. `i32.const`, `ref.null`, `ref.extern`, `ref.func`, `v128.const`.
    """
    if op in ("i32.const", "i64.const"):
        (a,) = args
        return Num(op[:3], parse_int(a, int(op[1:3])))
    if op in ("f32.const", "f64.const"):
        (a,) = args
        if pattern and a in ("nan:canonical", "nan:arithmetic"):
            return NanPattern(op[:3], a[4:])
        return Num(op[:3], parse_float(a, op[:3]))
    if op == "ref.null":
        if not args and pattern:
            return RefNull("")
        (a,) = args
        if a not in reftypes.TOP:
            raise LiteralError(f"unknown heap type {a}")
        return RefNull(a)
    if op == "ref.extern":
        if not args and pattern:
            return RefExternAny()
        (a,) = args
        return RefExtern(parse_int(a, 32))
    if op == "ref.func" and pattern:
        return RefFunc()
    if op == "ref.host":
        (a,) = args
        return RefHost(parse_int(a, 32))
    if op in ("ref.i31", "ref.eq", "ref.any", "ref.struct", "ref.array") and pattern:
        return RefKind(op[4:])
    if op == "v128.const":
        shape, *lanes = args
        lane, count = _LANES[shape]
        if len(lanes) != count:
            raise LiteralError(f"v128.const {shape} needs {count} lanes")
        width = 128 // count
        nan_lanes = ("nan:canonical", "nan:arithmetic")
        if pattern and lane.startswith("f") and any(x in nan_lanes for x in lanes):
            pats = tuple(NanPattern(lane, x[4:]) if x in nan_lanes
                         else Num(lane, _lane_bits(x, lane)) for x in lanes)
            return V128Pattern(shape, pats)
        bits = 0
        for i, x in enumerate(lanes):
            bits |= (_lane_bits(x, lane) & ((1 << width) - 1)) << (i * width)
        return Num("v128", bits)
    raise LiteralError(f"unsupported constant {op}")


@dataclass(frozen=True, slots=True)
class RefHost:
    """`ref.host N`: a host reference the script made up, passed as an anyref (GC)."""

    n: int

    def __str__(self) -> str:
        return f"ref.host {self.n}"


@dataclass(frozen=True, slots=True)
class RefKind:
    """Result patterns `ref.i31`, `ref.eq`, `ref.any`, `ref.struct`, `ref.array`: any non-null
    reference of that kind."""

    kind: str

    def __str__(self) -> str:
        return f"ref.{self.kind}"


@dataclass(frozen=True, slots=True)
class RefExternAny:
    """Result pattern `ref.extern` without a number: any non-null externref."""

    def __str__(self) -> str:
        return "ref.extern"


@dataclass(frozen=True, slots=True)
class Either:
    """Result pattern `(either r1 r2 ...)`: any one of the alternatives (relaxed SIMD's results,
    where the spec allows each of several answers)."""

    alternatives: tuple

    def __str__(self) -> str:
        return "(either " + " ".join(str(a) for a in self.alternatives) + ")"
