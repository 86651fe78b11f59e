"""Tests of compiler/decode.py: the spec suite's binary modules, text modules through wat2wasm, the
shapes of immediates, and hostile input (truncations, byte flips, huge counts)."""

from __future__ import annotations

import functools
import random

import pytest
from wasmc import driver, reftypes
from wasmc.decode import _READERS, decode_module, read_bodies
from wasmc.errors import DecodeError, LimitError
from wasmc.features import DEFAULT, WASM_2_0
from wasmc.module import ExternKind, MemArg, SegmentMode
from wasmc.opcodes import OPS
from wasmc.wast.sexpr import Atom, Str, read
from wast_forms import SPEC_DIR, module_arg, module_binary, module_kind, scripts, source

wasmtime = pytest.importorskip("wasmtime")

HEADER = b"\x00asm\x01\x00\x00\x00"

# (file, index among that file's assert_malformed binary modules) -> reason we differ.  Empty: every
# expected message is found in ours.
KNOWN_MISMATCHES: dict[tuple[str, int], str] = {}


def collect():
    """(malformed cases, binary modules that must decode, text module sources)."""
    malformed, good, texts = [], [], []
    for name, src, forms in scripts():
        count = 0
        for cmd in forms:
            module = cmd if cmd.head == "module" else module_arg(cmd)
            if cmd.head == "assert_malformed":
                binary = module_binary(module)
                if binary is not None:
                    malformed.append((name, count, binary, cmd.items[2].value.decode()))
                    count += 1
            elif module_kind(module) == "binary" and cmd.head != "assert_invalid":
                good.append((name, module.start, module_binary(module)))
            elif module_kind(module) == "text":  # assert_invalid ones too: they are well-formed
                texts.append((name, module.start, source(src, module)))
    return malformed, good, texts


MALFORMED, GOOD, TEXTS = collect()
needs_spec = pytest.mark.skipif(not MALFORMED, reason=f"spec suite not found at {SPEC_DIR}")


def test_scanner_decodes_escapes():
    """The shared .wast reader (wasmc.wast.sexpr) the cases above are found with."""
    (cmd,) = read(r'(x "a\00\ff\n\t\\\'\"\u{e9}\u{1F600}" (; c (; n ;) ;) y) ;; z')
    assert [n.text if isinstance(n, Atom) else n.value for n in cmd.items] == [
        "x", b"a\x00\xff\n\t\\'\"" + "é😀".encode(), "y"]
    assert isinstance(cmd[1], Str) and (cmd.start, cmd.end, cmd.line) == (0, 56, 1)  # span: no comment


# --- the spec suite ------------------------------------------------------------------------------

@needs_spec
def test_spec_suite_found():
    assert len(MALFORMED) > 500 and len(GOOD) > 50 and len(TEXTS) > 1000


@needs_spec
@pytest.mark.parametrize("name,index,binary,expected", MALFORMED,
                         ids=[f"{c[0]}#{c[1]}" for c in MALFORMED])
def test_spec_malformed(name, index, binary, expected):
    with pytest.raises(DecodeError) as info:
        decode_module(binary, features=WASM_2_0)
    message = info.value.message
    if (name, index) in KNOWN_MISMATCHES:
        pytest.xfail(KNOWN_MISMATCHES[(name, index)])
    # The reference interpreter checks that its message starts with the expected text.
    assert message.startswith(expected), f"expected {expected!r}, got {message!r}"
    assert info.value.offset is not None and 0 <= info.value.offset <= len(binary)


@needs_spec
def test_spec_binary_modules_decode():
    failures = []
    for name, at, binary in GOOD:
        try:
            decode_module(binary)
        except DecodeError as e:
            failures.append(f"{name}@{at}: {e.message} at {e.offset}")
    assert not failures, failures


@needs_spec
def test_spec_malformed_through_the_driver():
    """The compiler decodes bodies lazily, a partition at a time (driver.compile_module); it must
    still report each malformed module's first error, as the spec defines it."""
    wrong = []
    for name, index, binary, expected in MALFORMED:
        try:
            driver.compile_module(binary, driver.Options(jobs=1, features=WASM_2_0))
            wrong.append(f"{name}#{index}: accepted")
        except DecodeError as e:
            if not e.message.startswith(expected):
                wrong.append(f"{name}#{index}: {e.message!r}, expected {expected!r}")
    assert not wrong, wrong


def decode_lazily(binary: bytes, features=DEFAULT):
    m = decode_module(binary, lazy_bodies=True, features=features)
    assert all(c.body is None for c in m.codes) and m.binary == binary
    read_bodies(m, reversed(range(len(m.codes))))  # any order
    return m


@needs_spec
def test_lazy_bodies_decode_like_eager_ones():
    for binary in [b for _, _, b in GOOD] + real_modules():
        eager, lazy = decode_module(binary), decode_lazily(binary)
        assert [(c.locals, c.body, c.offset, c.size, c.body_at) for c in eager.codes] == \
            [(c.locals, c.body, c.offset, c.size, c.body_at) for c in lazy.codes]


@needs_spec
def test_spec_malformed_lazily():
    """Decoded lazily, every malformed module is still refused (its message may name a later
    error: a body is read after the sections that follow it)."""
    for _, _, binary, _ in MALFORMED:
        with pytest.raises(DecodeError):
            decode_lazily(binary, WASM_2_0)


def wat2wasm_or_none(text: str) -> bytes | None:
    try:
        return wasmtime.wat2wasm(text)
    except wasmtime.WasmtimeError:
        return None


@needs_spec
def test_spec_text_modules_decode():
    """Every text module of the suite (outside assert_malformed) that wat2wasm accepts decodes."""
    failures, converted = [], 0
    for name, at, text in TEXTS:
        binary = wat2wasm_or_none(text)
        if binary is None:  # wat2wasm's own refusals (module quote, ...) are not our business
            continue
        converted += 1
        try:
            decode_module(binary)
        except DecodeError as e:
            failures.append(f"{name}@{at}: {e.message} at {e.offset}")
    assert converted > 1000
    assert not failures, failures


# --- structure and immediate shapes --------------------------------------------------------------

def wat(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


def body_of(text: str, func: int = 0):
    return [(i.op.name, i.imm) for i in decode_module(wat(text)).codes[func].body]


def test_sections_structure():
    m = decode_module(wat("""
      (module $mod
        (type $t (func (param i32 i64) (result f32)))
        (import "env" "f" (func $imp (type $t)))
        (import "env" "tab" (table 1 10 externref))
        (import "env" "mem" (memory 1))
        (import "env" "g" (global (mut f64)))
        (table $tab 2 funcref)
        (memory 1 3)
        (global $g i32 (i32.const 42))
        (global $h (mut i64) (i64.const -1))
        (func $a (param i32 i64) (result f32) (local i32 i32 f64) f32.const 1.5)
        (func $b)
        (export "a" (func $a)) (export "m" (memory 0)) (export "g" (global $g))
        (start $b)
        (elem (i32.const 0) $a $b)
        (elem funcref (ref.null func) (ref.func $a))
        (elem declare func $b)
        (elem (table $tab) (offset (i32.const 1)) funcref (ref.func $b))
        (data (i32.const 8) "abc")
        (data "passive"))
    """))
    assert [str(t) for t in m.types] == ["[i32 i64] -> [f32]", "[] -> []"]
    assert [(i.module, i.name, i.kind) for i in m.imports] == [
        ("env", "f", ExternKind.FUNC), ("env", "tab", ExternKind.TABLE),
        ("env", "mem", ExternKind.MEMORY), ("env", "g", ExternKind.GLOBAL)]
    assert m.imports[0].desc == 0
    assert m.imports[1].desc.elem == "E" and m.imports[1].desc.limits.max == 10
    assert m.imports[3].desc.valtype == "d" and m.imports[3].desc.mutable
    assert m.funcs == [0, 1]
    assert m.tables[0].elem == "F" and m.tables[0].limits.min == 2
    assert m.mems[0].limits.min == 1 and m.mems[0].limits.max == 3
    assert [(g.type.valtype, g.type.mutable, [(i.op.name, i.imm) for i in g.init]) for g in m.globals] \
        == [("i", False, [("i32.const", 42)]), ("l", True, [("i64.const", -1)])]
    assert [(e.name, e.kind, e.index) for e in m.exports] == [
        ("a", ExternKind.FUNC, 1), ("m", ExternKind.MEMORY, 0), ("g", ExternKind.GLOBAL, 1)]
    assert m.start == 2
    assert [e.mode for e in m.elems] == [SegmentMode.ACTIVE, SegmentMode.PASSIVE,
                                         SegmentMode.DECLARATIVE, SegmentMode.ACTIVE]
    assert [[(i.op.name, i.imm) for i in item] for item in m.elems[0].items] == [
        [("ref.func", 1)], [("ref.func", 2)]]
    assert [[(i.op.name, i.imm) for i in item] for item in m.elems[1].items] == [
        [("ref.null", "F")], [("ref.func", 1)]]
    assert m.elems[3].table == 1 and [i.imm for i in m.elems[3].offset_expr] == [1]
    assert m.datas[0].mode == SegmentMode.ACTIVE and m.datas[0].init == b"abc"
    assert [(i.op.name, i.imm) for i in m.datas[0].offset_expr] == [("i32.const", 8)]
    assert m.datas[1].mode == SegmentMode.PASSIVE and m.datas[1].init == b"passive"
    assert m.data_count is None or m.data_count == 2
    code = m.codes[0]
    assert code.locals == [(2, "i"), (1, "d")] and code.local_types() == "iid"
    assert [i.op.name for i in code.body] == ["f32.const", "end"]
    assert m.module_name == "mod" and m.names == {0: "imp", 1: "a", 2: "b"}
    assert [c[0] for c in m.custom_sections] == ["name"]


def test_immediate_shapes():
    body = body_of("""
      (module (type $t (func (param i32) (result i32))) (memory 1) (table 2 funcref)
        (elem $e func) (data $d "x")
        (func (param i32) (result i32)
          (block $l (result i32) (loop (param i32) (result i32) (if (param i32) (result i32)
            (then) (else))))
          (block (type $t) (local.get 0)) drop
          (br_table 0 1 0 (local.get 0))
          (call_indirect (type $t) (i32.const 1) (i32.const 0)) drop
          (i32.load8_u offset=300 (i32.const 0)) drop
          (i64.const -9223372036854775808) drop (i32.const 2147483647) drop
          (f32.const nan:0x200001) drop (f64.const -nan:0x8000000000001) drop
          (select (result i32) (i32.const 1) (i32.const 2) (i32.const 3)) drop
          (ref.null extern) drop
          (memory.size) (memory.grow) drop
          (memory.init $d (i32.const 0) (i32.const 0) (i32.const 0))
          (memory.copy (i32.const 0) (i32.const 0) (i32.const 0))
          (table.init $e (i32.const 0) (i32.const 0) (i32.const 0))
          (table.copy (i32.const 0) (i32.const 0) (i32.const 0))
          (i32.trunc_sat_f32_s (f32.const 0)) drop
          (global.get 0) unreachable))
    """.replace("(global.get 0)", "(local.get 0)"))
    imms = {}
    for name, imm in body:
        imms.setdefault(name, []).append(imm)
    assert imms["block"] == ["i", 0]
    assert imms["loop"] == [0] and imms["if"] == [0]
    assert imms["br_table"] == [((0, 1), 0)]
    assert imms["call_indirect"] == [(0, 0)]
    assert imms["i32.load8_u"] == [MemArg(0, 300)]
    assert imms["i64.const"] == [-(2**63)]
    assert 2147483647 in imms["i32.const"]
    assert imms["f32.const"][0] == 0x7FA00001  # NaN payload kept
    assert imms["f64.const"] == [0xFFF8000000000001]
    assert imms["select_t"] == [("i",)]
    assert imms["ref.null"] == ["E"]
    assert imms["memory.size"] == [0] and imms["memory.grow"] == [0]
    assert imms["memory.init"] == [(0, 0)] and imms["memory.copy"] == [(0, 0)]
    assert imms["table.init"] == [(0, 0)] and imms["table.copy"] == [(0, 0)]
    assert imms["i32.trunc_sat_f32_s"] == [None]
    assert imms["else"] == [None] and body[-1] == ("end", None)


def test_blocktype_and_padded_indices():
    # block with type index 1 in a 5-byte s33, call_indirect with padded typeidx/tableidx
    func = (b"\x00"                                  # no locals
            b"\x02\x81\x80\x80\x80\x00\x0b"              # block (type 1) end
            b"\x41\x00\x11\x80\x80\x80\x80\x00\x80\x00"  # i32.const 0; call_indirect 0 0 padded
            b"\x0b")
    binary = (HEADER + b"\x01\x07\x02\x60\x00\x00\x60\x00\x00"
              + b"\x03\x02\x01\x00" + b"\x04\x04\x01\x70\x00\x00"
              + b"\x0a" + bytes([len(func) + 2, 1, len(func)]) + func)
    body = [(i.op.name, i.imm) for i in decode_module(binary).codes[0].body]
    assert body == [("block", 1), ("end", None), ("i32.const", 0), ("call_indirect", (0, 0)),
                    ("end", None)]


def test_body_includes_nested_ends_and_offsets():
    binary = wat("(module (func (block (nop)) (if (i32.const 0) (then) (else (nop)))))")
    code = decode_module(binary).codes[0]
    assert [i.op.name for i in code.body] == ["block", "nop", "end", "i32.const", "if", "else", "nop",
                                               "end", "end"]
    for instr in code.body:  # offsets point at the opcode byte
        assert binary[instr.offset] == instr.op.code
    assert binary[code.offset] == code.size


def test_every_immediate_kind_has_a_reader():
    assert not {op.imm for op in OPS} - set(_READERS)


def test_malformed_name_section_is_ignored():
    func_names = b"\x01\x05\x01\x00\x01f\x07"  # function names: 1 entry, then a stray byte
    name = b"\x04name" + b"\x00\x02\x01m" + func_names
    binary = (HEADER + b"\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x04\x01\x02\x00\x0b"
              + b"\x00" + bytes([len(name)]) + name)
    m = decode_module(binary)
    assert m.module_name is None and m.names == {}
    assert [c[0] for c in m.custom_sections] == ["name"]
    fixed = binary[:-len(func_names)] + b"\x01\x04\x01\x00\x01f"
    fixed = fixed.replace(bytes([len(name)]) + b"\x04name", bytes([len(name) - 1]) + b"\x04name")
    m = decode_module(fixed)
    assert m.module_name == "m" and m.names == {0: "f"}
    bad_utf8 = HEADER + b"\x00\x0a\x04name\x00\x03\x02\xff\xfe"
    m = decode_module(bad_utf8)
    assert m.module_name is None and [c[0] for c in m.custom_sections] == ["name"]


def test_custom_sections_recorded_not_copied():
    payload = b"x" * 1000
    size = 1 + 5 + len(payload)
    binary = HEADER + b"\x00" + bytes([0x80 | (size & 0x7F), size >> 7]) + b"\x05hello" + payload
    m = decode_module(binary)
    assert m.custom_sections == [("hello", len(binary) - len(payload), len(payload))]


def test_data_count_required():
    # wat2wasm emits the data count section when it is needed; remove it by hand
    binary = wat("(module (memory 1) (data \"\") (func (memory.init 0 (i32.const 0) (i32.const 0)"
                 " (i32.const 0))))")
    at = binary.index(b"\x0c\x01\x01")
    with pytest.raises(DecodeError, match="data count section required"):
        decode_module(binary[:at] + binary[at + 3:])
    with pytest.raises(DecodeError, match="data count section required"):
        decode_lazily(binary[:at] + binary[at + 3:])


# --- hostile input -------------------------------------------------------------------------------

@functools.cache
def real_modules() -> list[bytes]:
    texts = [
        """(module $m (type (func (param i32) (result i32)))
          (import "env" "f" (func (param i32))) (memory 1) (table 4 funcref)
          (global (mut i32) (i32.const 0))
          (func $fib (param i32) (result i32)
            (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
              (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                             (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
          (func (param i64 f32 f64) (local i32) (block (loop (br_table 0 1 (local.get 3))))
            (i64.store offset=4 (i32.const 0) (i64.const 123456789))
            (drop (f64.const 1e300)) (drop (select (result f32) (local.get 1) (f32.const 2)
            (i32.const 0))) (memory.fill (i32.const 0) (i32.const 0) (i32.const 0)))
          (elem (i32.const 0) $fib) (elem funcref (ref.null func))
          (data (i32.const 16) "hello") (data "passive")
          (export "fib" (func $fib)))""",
    ]
    mods = [wat(t) for t in texts]
    for name in ("fac.wast", "br_table.wast", "memory_copy.wast"):
        for n, at, text in TEXTS:
            if n == name:
                mods.append(wat(text))
                break
    return mods


def test_truncations_raise_only_decode_error():
    rng = random.Random(99)
    for binary in real_modules():
        decode_module(binary)
        cuts = range(len(binary)) if len(binary) < 2000 else sorted(rng.sample(range(len(binary)), 800))
        for cut in cuts:
            try:
                decode_module(binary[:cut])
            except DecodeError:
                pass


def test_byte_flips_raise_only_decode_error():
    rng = random.Random(1234)
    for binary in real_modules():
        for _ in range(1500 if len(binary) < 2000 else 300):
            mutated = bytearray(binary)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(8, len(mutated))
                mutated[i] = rng.choice([rng.randrange(256), 0xFF, 0x80, 0x00, 0x7F])
            try:
                decode_module(bytes(mutated))
            except DecodeError:
                pass
            try:
                decode_lazily(bytes(mutated))
            except (DecodeError, LimitError):
                pass


def test_lazy_truncations_raise_only_decode_error():
    for binary in real_modules():
        for cut in range(0, len(binary), 7):
            try:
                decode_lazily(binary[:cut])
            except (DecodeError, LimitError):
                pass


@pytest.mark.parametrize("section", [
    b"\x01\x05\xff\xff\xff\xff\x0f",  # 4 billion types
    b"\x03\x05\xff\xff\xff\xff\x0f",  # functions
    b"\x0a\x05\xff\xff\xff\xff\x0f",  # code bodies
    b"\x0b\x05\xff\xff\xff\xff\x0f",  # data segments
    b"\x00\x07\x01a\xff\xff\xff\x0f",  # custom section payload larger than the module
])
def test_huge_counts_fail_fast(section):
    with pytest.raises(DecodeError) as info:
        decode_module(HEADER + section)
    assert info.value.message in ("length out of bounds", "unexpected end of section or function",
                                  "section size mismatch")


def test_huge_data_segment_length_fails_fast():
    binary = HEADER + b"\x05\x03\x01\x00\x01" + b"\x0b\x09\x01\x01\xff\xff\xff\xff\x0f\x00\x00"
    with pytest.raises(DecodeError, match="length out of bounds"):
        decode_module(binary)


def test_deep_nesting_is_not_recursive():
    depth = 100_000
    func = b"\x00" + b"\x02\x40" * depth + b"\x0b" * depth + b"\x0b"
    size = len(func)
    leb = bytes([0x80 | (size & 0x7F), 0x80 | ((size >> 7) & 0x7F), size >> 14])
    code = b"\x01" + leb + func
    sleb = bytes([0x80 | (len(code) & 0x7F), 0x80 | ((len(code) >> 7) & 0x7F), len(code) >> 14])
    binary = HEADER + b"\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a" + sleb + code
    assert len(decode_module(binary).codes[0].body) == 2 * depth + 1
    with pytest.raises(DecodeError, match="length out of bounds"):
        decode_module(binary[:-depth])


def test_accepts_bytearray_and_memoryview():
    binary = wat("(module (func))")
    assert len(decode_module(bytearray(binary)).codes) == 1
    assert len(decode_module(memoryview(binary)).codes) == 1


@pytest.mark.parametrize("flags,payload,mode,table,elemtype,items", [
    (0, b"\x41\x01\x0b\x02\x00\x00", SegmentMode.ACTIVE, 0, "F", [[("ref.func", 0)]] * 2),
    (1, b"\x00\x01\x00", SegmentMode.PASSIVE, 0, "F", [[("ref.func", 0)]]),
    (2, b"\x01\x41\x01\x0b\x00\x01\x00", SegmentMode.ACTIVE, 1, "F", [[("ref.func", 0)]]),
    (3, b"\x00\x01\x00", SegmentMode.DECLARATIVE, 0, "F", [[("ref.func", 0)]]),
    (4, b"\x41\x01\x0b\x01\xd2\x00\x0b", SegmentMode.ACTIVE, 0, "F", [[("ref.func", 0)]]),
    (5, b"\x6f\x01\xd0\x6f\x0b", SegmentMode.PASSIVE, 0, "E", [[("ref.null", "E")]]),
    (6, b"\x01\x41\x01\x0b\x70\x01\xd0\x70\x0b", SegmentMode.ACTIVE, 1, "F", [[("ref.null", "F")]]),
    (7, b"\x70\x00", SegmentMode.DECLARATIVE, 0, "F", []),
])
def test_elem_encodings(flags, payload, mode, table, elemtype, items):
    segment = bytes([1, flags]) + payload
    binary = HEADER + b"\x09" + bytes([len(segment)]) + segment
    (elem,) = decode_module(binary, features=WASM_2_0).elems
    assert (elem.mode, elem.table, elem.elemtype) == (mode, table, elemtype)
    # Wasm 3.0 (typed references): a vector of function indices has type (ref func)
    typed = decode_module(binary).elems[0].elemtype
    assert typed == (reftypes.ref(False, "func") if flags < 4 else elemtype)
    assert [[(i.op.name, i.imm) for i in item] for item in elem.items] == items
    assert (elem.offset_expr is None) == (mode != SegmentMode.ACTIVE)
    if elem.offset_expr is not None:
        assert [(i.op.name, i.imm) for i in elem.offset_expr] == [("i32.const", 1)]


@pytest.mark.parametrize("section,message", [
    (b"\x09\x02\x01\x08", "malformed elements segment kind"),
    (b"\x09\x04\x01\x01\x01\x00", "malformed element kind"),
    (b"\x0b\x02\x01\x03", "malformed data segment kind"),
    (b"\x07\x04\x01\x00\x05\x00", "malformed export kind"),  # (4 is a tag in 3.0)
    (b"\x01\x04\x01\x61\x00\x00", "malformed function type"),
    (b"\x01\x05\x01\x60\x01\x7a\x00", "malformed value type"),
])
def test_other_malformed_wordings(section, message):
    with pytest.raises(DecodeError, match=message):
        decode_module(HEADER + section)


def test_data_segment_with_memory_index():
    segment = b"\x01\x02\x00\x41\x05\x0b\x03abc"
    (data,) = decode_module(HEADER + b"\x0b" + bytes([len(segment)]) + segment).datas
    assert (data.mode, data.memory, data.init) == (SegmentMode.ACTIVE, 0, b"abc")
    assert [(i.op.name, i.imm) for i in data.offset_expr] == [("i32.const", 5)]


def test_else_outside_if_is_malformed():
    func = b"\x00\x02\x40\x05\x0b\x0b"  # block else end end
    binary = (HEADER + b"\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a"
              + bytes([len(func) + 2, 1, len(func)]) + func)
    with pytest.raises(DecodeError, match="END opcode expected") as info:
        decode_module(binary)
    assert binary[info.value.offset] == 0x05


def test_multi_memory_immediates_follow_the_feature_set():
    """Multi-memory (Wasm 3.0): a memarg with bit 6 set names its memory and `memory.*` take u32
    indices; under 2.0 the same bytes are malformed ("malformed memop flags", "zero byte
    expected"), as the 2.0 suite requires."""
    mem2 = "(memory $a 1) (memory $b 1)"
    binary = wasmtime.wat2wasm(f"""(module {mem2} (data $d "x")
      (func (param i32) (result i32)
        (i32.store16 $b offset=3 (local.get 0) (i32.load8_s $b align=1 (local.get 0)))
        (memory.copy $a $b (i32.const 0) (i32.const 0) (i32.const 0))
        (memory.init $b $d (i32.const 0) (i32.const 0) (i32.const 0))
        (memory.fill $b (i32.const 0) (i32.const 0) (i32.const 0))
        (drop (memory.grow $b (i32.const 0)))
        (memory.size $b)))""")
    body = decode_module(binary).codes[0].body
    imms = {i.op.name: i.imm for i in body}
    assert imms["i32.load8_s"] == MemArg(0, 0, 1) and imms["i32.store16"] == MemArg(1, 3, 1)
    assert imms["memory.copy"] == (0, 1) and imms["memory.init"] == (0, 1)
    assert imms["memory.fill"] == imms["memory.grow"] == imms["memory.size"] == 1
    with pytest.raises(DecodeError) as info:
        decode_module(binary, features=WASM_2_0)
    assert info.value.message == "malformed memop flags"
    assert decode_lazily(binary).codes[0].body == body  # the lazy path uses the same tables
    # flags of 128 and more are malformed in both
    bad = wasmtime.wat2wasm(f"(module {mem2} (func (drop (i32.load (i32.const 0)))))")
    at = bad.index(bytes([0x28, 0x02, 0x00]))  # i32.load align=2 offset=0
    bad = bad[:at + 1] + bytes([0x80, 0x01]) + bad[at + 2:]  # flags 128 as a 2-byte LEB128
    bad = bad.replace(bytes([0x0A, 0x0A]), bytes([0x0A, 0x0B]), 1)
    bad = bad.replace(bytes([0x08, 0x00, 0x41]), bytes([0x09, 0x00, 0x41]), 1)
    with pytest.raises(DecodeError) as info:
        decode_module(bad)
    assert info.value.message == "malformed memop flags"


def test_relaxed_simd_is_a_3_0_feature():
    """Relaxed SIMD's opcodes (0xFD 0x100...) decode under 3.0 and are illegal under 2.0."""
    binary = wasmtime.wat2wasm("""(module (func (param v128 v128 v128) (result v128)
      (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))""")
    assert decode_module(binary).codes[0].body[3].op.name == "f32x4.relaxed_madd"
    with pytest.raises(DecodeError) as info:
        decode_module(binary, features=WASM_2_0)
    assert info.value.message == "illegal opcode"


def test_u64_leb128_bounds():
    """memarg offsets of Wasm 3.0 are u64: ten bytes at most, one value bit in the tenth."""
    from wasmc.decode import _read_u64

    assert _read_u64(b"\x05", 0) == (5, 1) and _read_u64(b"\x80\x01", 0) == (128, 2)
    assert _read_u64(b"\xff" * 9 + b"\x01", 0) == (2**64 - 1, 10)
    for bad, message in [(b"\xff" * 9 + b"\x02", "integer too large"),
                         (b"\x80" * 9 + b"\x81\x00", "integer representation too long")]:
        with pytest.raises(DecodeError) as info:
            _read_u64(bad, 0)
        assert info.value.message == message
