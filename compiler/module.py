"""Module IR: the decoded form of a Wasm binary, in the spec's vocabulary.

The decoder builds these objects and every later phase reads them; nothing here knows about LLVM.
Value types are one-letter strings (the same letters as the opcode table's signatures) so that a
function type is just two short strings and comparisons are cheap.  Function bodies are kept as
byte ranges of the original binary plus a decoded instruction list, which a big module decodes a
partition at a time (`decode.read_bodies`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from . import reftypes
from .features import DEFAULT as DEFAULT_FEATURES
from .opcodes import Op


class ValType(str, enum.Enum):
    I32 = "i"
    I64 = "l"
    F32 = "f"
    F64 = "d"
    V128 = "v"
    FUNCREF = "F"
    EXTERNREF = "E"

    @property
    def is_ref(self) -> bool:
        return self in (ValType.FUNCREF, ValType.EXTERNREF)


VALTYPE_BY_BYTE = {0x7F: "i", 0x7E: "l", 0x7D: "f", 0x7C: "d", 0x7B: "v", 0x70: "F", 0x6F: "E"}
VALTYPE_TEXT = {"i": "i32", "l": "i64", "f": "f32", "d": "f64", "v": "v128", "F": "funcref",
                "E": "externref"}
REF_TYPES = ("F", "E")


def valtype_text(t: str) -> str:
    """A value type as the text format writes it (Wasm 3.0's reference types: reftypes.py)."""
    return VALTYPE_TEXT.get(t) or reftypes.text(t)


class ExternKind(enum.IntEnum):
    FUNC = 0
    TABLE = 1
    MEMORY = 2
    GLOBAL = 3
    TAG = 4  # Wasm 3.0 exception handling


@dataclass(frozen=True, slots=True)
class FuncType:
    params: str  # one letter per value type
    results: str
    kind: ClassVar[str] = "func"  # the composite type's kind (GC adds "struct" and "array")

    def params_text(self) -> str:
        return f"[{' '.join(valtype_text(t) for t in self.params)}]"

    def results_text(self) -> str:
        return f"[{' '.join(valtype_text(t) for t in self.results)}]"

    def __str__(self) -> str:
        return f"{self.params_text()} -> {self.results_text()}"


PACKED = frozenset({"8", "16"})  # GC's packed storage types, i8 and i16


def packed(storage: str) -> bool:
    """Whether a field's storage type is packed (read as an i32 by `.get_s`/`.get_u`)."""
    return storage in PACKED


@dataclass(frozen=True, slots=True)
class FieldType:
    """A struct field or array element (GC): a value type letter, or "8"/"16" for the packed
    i8/i16 storage types, and whether it is mutable."""

    storage: str
    mutable: bool


@dataclass(frozen=True, slots=True)
class StructType:
    fields: tuple[FieldType, ...]
    kind: ClassVar[str] = "struct"


@dataclass(frozen=True, slots=True)
class ArrayType:
    field: FieldType
    kind: ClassVar[str] = "array"

    @property
    def fields(self) -> tuple[FieldType, ...]:
        """Its one element field, as a struct's fields (code that reads either)."""
        return (self.field,)


CompType = FuncType | StructType | ArrayType


@dataclass(frozen=True, slots=True)
class Limits:
    min: int
    max: int | None
    offset: int | None = field(default=None, compare=False)  # of the flags byte, for errors


@dataclass(frozen=True, slots=True)
class TableType:
    elem: str  # "F" or "E"
    limits: Limits
    addrtype: str = "i"  # the type of its indices: "i" (i32), or "l" (i64, memory64's table64)
    # Wasm 3.0: a defined table's initialiser (a constant expression every element starts as);
    # None: null (the only choice in 2.0, and for a nullable element type)
    init: tuple | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MemType:
    limits: Limits  # in 64 KiB pages
    addrtype: str = "i"  # the type of its addresses: "i" (i32), or "l" (i64, memory64)
    shared: bool = False  # a shared memory (the threads proposal)


@dataclass(frozen=True, slots=True)
class GlobalType:
    valtype: str
    mutable: bool


class Instr(NamedTuple):
    op: Op
    imm: object  # shape given by op.imm; see decode.read_instr
    offset: int  # byte offset of the opcode in the module


@dataclass(frozen=True, slots=True)
class BlockType:
    """Resolved block type: the instruction's parameter and result types."""

    params: str
    results: str


@dataclass(frozen=True, slots=True)
class MemArg:
    align: int  # log2
    offset: int
    mem: int = 0  # memory index (multi-memory)


@dataclass(slots=True)
class Import:
    module: str
    name: str
    kind: ExternKind
    desc: object  # typeidx (int) | TableType | MemType | GlobalType
    offset: int = 0


@dataclass(slots=True)
class Export:
    name: str
    kind: ExternKind
    index: int
    offset: int = 0


@dataclass(slots=True)
class Global:
    type: GlobalType
    init: list[Instr]  # constant expression (without the final `end`)
    offset: int = 0


class SegmentMode(enum.Enum):
    ACTIVE = "active"
    PASSIVE = "passive"
    DECLARATIVE = "declarative"


@dataclass(slots=True)
class Elem:
    mode: SegmentMode
    elemtype: str
    items: list[list[Instr]]  # one constant expression per element
    table: int = 0
    offset_expr: list[Instr] | None = None
    offset: int = 0


@dataclass(slots=True)
class Data:
    mode: SegmentMode
    init: bytes
    memory: int = 0
    offset_expr: list[Instr] | None = None
    offset: int = 0


@dataclass(slots=True)
class Code:
    """A function body: declared locals (run-length, as in the binary) and its instructions
    (None while not decoded yet: see `decode.decode_module(lazy_bodies=True)`)."""

    locals: list[tuple[int, str]]
    body: list[Instr] | None
    offset: int  # byte offset of the body's size field
    size: int  # bytes of the body (locals and instructions), as declared
    body_at: int = 0  # byte offset of the first instruction

    def local_types(self) -> str:
        return "".join(t * n for n, t in self.locals)


@dataclass
class Module:
    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[int] = field(default_factory=list)  # type index of each *defined* function
    tables: list[TableType] = field(default_factory=list)  # defined tables
    mems: list[MemType] = field(default_factory=list)  # defined memories
    globals: list[Global] = field(default_factory=list)  # defined globals
    tags: list[int] = field(default_factory=list)  # type index of each defined tag (3.0)
    # The heap type each type index stands for in reference types (reftypes.py): the FuncType
    # itself for a plain function type, else a reftypes.DefType (GC's recursion groups and
    # declared subtypes).  Filled by the decoder; a Module built by hand may leave it empty.
    heaps: list = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[Elem] = field(default_factory=list)
    datas: list[Data] = field(default_factory=list)
    data_count: int | None = None
    codes: list[Code] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # function names from the name section
    module_name: str | None = None
    custom_sections: list[tuple[str, int, int]] = field(default_factory=list)  # name, offset, size
    binary: bytes | None = None  # kept when bodies are decoded lazily (decode.read_bodies)
    features: frozenset[str] = DEFAULT_FEATURES  # the rules it is read under (features.py)

    # Derived index spaces, computed once per shape of the module (lowering asks for a function's
    # type at every call site: rebuilding a 100,000-entry list each time made lowering quadratic).
    _derived: dict[str, tuple[tuple[int, int], object]] = field(
        default_factory=dict, repr=False, compare=False)

    def _memo(self, name: str, compute):
        key = (len(self.imports), len(self.funcs), len(self.types))
        hit = self._derived.get(name)
        if hit is None or hit[0] != key:
            hit = self._derived[name] = (key, compute())
        return hit[1]

    # --- index spaces (imports come first in each) ---
    def imported(self, kind: ExternKind) -> list[Import]:
        return [i for i in self.imports if i.kind == kind]

    @property
    def num_imported_funcs(self) -> int:
        return self._memo("num_imported_funcs",
                          lambda: sum(1 for i in self.imports if i.kind == ExternKind.FUNC))

    def func_type_indices(self) -> list[int]:
        """Type index of every function, imported ones first (shared: do not modify)."""
        return self._memo("func_type_indices",
                          lambda: [i.desc for i in self.imported(ExternKind.FUNC)] + self.funcs)

    def func_type(self, funcidx: int) -> FuncType:
        return self.types[self.func_type_indices()[funcidx]]  # type: ignore[return-value]

    def heap(self, typeidx: int):
        """The canonical heap type of type index `typeidx` (see `heaps`)."""
        return self.heaps[typeidx] if typeidx < len(self.heaps) else self.types[typeidx]

    def first_type_index(self, heap) -> int:
        """The first type index that stands for `heap`: equal for equivalent types, so it is a
        type's class for call_indirect and the index by which the instance finds its type id."""
        def compute() -> dict:
            first: dict = {}
            for i in range(len(self.types)):
                first.setdefault(self.heap(i), i)
            return first
        return self._memo("first_type_index", compute)[heap]

    def table_types(self) -> list[TableType]:
        return [i.desc for i in self.imported(ExternKind.TABLE)] + self.tables  # type: ignore[misc]

    def mem_types(self) -> list[MemType]:
        return [i.desc for i in self.imported(ExternKind.MEMORY)] + self.mems  # type: ignore[misc]

    def tag_types(self) -> list[int]:
        """Type index of every tag, imported ones first."""
        return [i.desc for i in self.imported(ExternKind.TAG)] + self.tags  # type: ignore[misc]

    def global_types(self) -> list[GlobalType]:
        return ([i.desc for i in self.imported(ExternKind.GLOBAL)]  # type: ignore[misc]
                + [g.type for g in self.globals])

    def func_name(self, funcidx: int) -> str:
        return self.names.get(funcidx, f"func{funcidx}")
