"""A fast, minimal stand-in for the part of `llvmlite.ir` that wasmc's lowering uses.

Why: llvmlite.ir costs 20-40 µs per LLVM instruction -- a large Python object graph, a name
scope probed for every value, per-instruction `descr()` methods and many small `format()` and
`__str__` calls when the module is printed (which alone is about half the time).  The lowering
only ever *builds* IR and prints it once, so this module keeps just enough structure for that.

Strategy:
  - Types are interned (`IntType(32) is IntType(32)`, likewise vectors, arrays, structs, function
    types), so equality is identity and each type carries its IR text in `.s`, made once.
  - Every value carries its reference text in `.ref` (`%x.3`, `@"f"`, `42`, `zeroinitializer`),
    made when the value is created; an instruction makes its whole line in one f-string when it
    is built (`.text`), so printing a module is one `"".join` over strings that already exist.
    Only phi, switch and indirectbr (whose operands arrive later; they override `line()`) and
    global variables (whose fields are set after construction) are formatted when printed.
    Metadata attached later is appended to `.text`; an `align` set later re-renders the line.
  - Local names come from one counter per function: a value named `x` becomes `%x.N`, an unnamed
    one `%.N`, a block `x.N:`.  N is unique within the function, so names are unique without a
    per-function set of used names, and the readable part stays for `--emit=llvm`.  Characters
    an unquoted LLVM identifier cannot hold become `_`, so local references never need quotes.
  - Written for mypyc (compiler/native.py), which compiles this module: values, instructions,
    blocks, functions and the builder are native classes (typed attributes, made by their
    constructors, single inheritance, one method per builder operation); types stay interpreted
    classes (interned through `__new__`, pickled by the partition processes), and so does
    AttributeSet (a `set`).  As plain Python the same code runs with `__slots__`.

Compatibility: the API follows llvmlite.ir (class names, constructor and method signatures,
`isinstance` targets such as `LoadInstr`/`CastInstr`/`PhiInstr`, `b._insert`, `ty.width`,
duck-typed callees with `function_type` and `get_reference()`), so switching is
`from . import irbuild as ir`.  The IR is the same as
llvmlite's: the same instructions, operands, flags, metadata, linkage and attributes.  Differences
in the text only: local names carry a `.N` suffix; float constants are always exact hex, and an
integer constant bitcast to float (`Constant(i32, bits).bitcast(float)`) is folded to its float
constant, NaN payload included, instead of a `bitcast (...)` constant expression; a block given
no instructions is left out (llvmlite prints its label alone, which LLVM rejects).
One addition: `LoadInstr.volatile` (llvmlite.ir has no volatile loads; the tests patch it in).
Not provided: typed pointers, identified struct types, debug info, invoke/landingpad,
fast-math flag validation, and changing an instruction's operands or a call's attributes after it
was built (its line is already made).
"""

from __future__ import annotations

import re
import struct
from typing import Any, ClassVar

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # without mypy installed: the decorator only matters to mypyc
    def mypyc_attr(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        return lambda cls: cls

# --- text helpers ---------------------------------------------------------------------------------

# Characters llvmlite leaves unescaped in c"..." strings and metadata strings; the rest become \xx.
_VALID = frozenset(map(ord, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            " !#$%&'()*+,-./:;<=>?@[]^_`{|}~"))
# str.translate table over latin-1-decoded bytes: one C-level pass, even for megabyte data segments.
_CSTR_TABLE = {c: f"\\{c:02x}" for c in range(256) if c not in _VALID}
# Quoted identifiers: escape what would end or break the quoted form.
_NAME_TABLE = {c: f"\\{c:02x}" for c in [*range(32), 0x22, 0x5C, 0x7F]}


def _escape_bytes(data) -> str:
    return bytes(data).decode("latin-1").translate(_CSTR_TABLE)


def _quote(name: str) -> str:
    return '"' + name.translate(_NAME_TABLE) + '"'


# name -> "%name." : the reference of the N-th value of that name is that head followed by N.
# Characters not allowed in an unquoted LLVM identifier become "_" (local names are cosmetic, the
# counter alone makes them unique), so no reference needs quotes and a name costs one dict probe.
_HEADS: dict = {}
_NOT_IDENT = re.compile(r"[^-a-zA-Z$._0-9]")


def _head(name) -> str:
    if len(_HEADS) > 100_000:  # bound the cache in long-running processes
        _HEADS.clear()
    if not name:
        h = "%."
    else:
        base = _NOT_IDENT.sub("_", name)
        h = f"%{'_' if base[0].isdigit() else ''}{base}."
    _HEADS[name] = h
    return h


def _local_ref(fn: Function, name: str) -> str:
    """A fresh local reference in function `fn` (see the module docstring for the scheme)."""
    n = fn._n
    fn._n = n + 1
    return f"{_HEADS.get(name) or _head(name)}{n}"


_D = struct.Struct("<d")
_Q = struct.Struct("<Q")
_F = struct.Struct("<f")
_I = struct.Struct("<I")


def _double_hex(x) -> str:
    """LLVM's exact form of a double: 0x + its 16 hex bit digits."""
    return f"0x{_Q.unpack(_D.pack(x))[0]:016X}"


def _float_hex(x) -> str:
    """A float constant from a Python number: rounded to f32 first (as llvmlite does), then written
    as the double that holds it exactly (LLVM's textual form of float constants)."""
    return _double_hex(_F.unpack(_F.pack(x))[0])


def _f32_bits_hex(bits: int) -> str:
    """An f32 bit pattern as LLVM float text.  NaNs are widened by hand (sign, all-ones exponent,
    payload in the top mantissa bits): a C float->double conversion would quieten a signalling NaN,
    while LLVM's parser narrows this form back to exactly `bits`, signalling or not."""
    bits &= 0xFFFFFFFF
    if bits & 0x7F800000 == 0x7F800000 and bits & 0x7FFFFF:
        return f"0x{((bits >> 31) << 63) | (0x7FF << 52) | ((bits & 0x7FFFFF) << 29):016X}"
    return _double_hex(_F.unpack(_I.pack(bits))[0])


# --- types ------------------------------------------------------------------------------------------

@mypyc_attr(native_class=False)
class Type:
    """Base of all types.  Instances are interned, so `==` is identity (the default)."""

    __slots__ = ("s",)
    s: str
    null = "zeroinitializer"
    is_pointer = False

    def __str__(self) -> str:
        return self.s

    def __repr__(self) -> str:
        return f"<irbuild.{type(self).__name__} {self.s}>"

    def as_pointer(self, addrspace: int = 0) -> PointerType:
        return PointerType(None, addrspace)

    def __call__(self, value) -> Constant:
        """`ty(value)` is a constant, as in llvmlite."""
        return Constant(self, value)

    def _fmt(self, value) -> str:
        raise TypeError(f"cannot make a constant of type {self.s} from {value!r}")


def _interned(cls: Any, key: Any, attrs: dict[str, Any]) -> Any:
    """A new instance of a type class with these attributes, cached under `key`."""
    t = object.__new__(cls)
    for name, value in attrs.items():
        setattr(t, name, value)
    cls._cache[key] = t
    return t


@mypyc_attr(native_class=False)
class VoidType(Type):
    __slots__ = ()
    _cache: ClassVar[dict] = {}

    def __new__(cls):
        return cls._cache.get(None) or _interned(cls, None, {"s": "void"})

    def __reduce__(self):
        return (VoidType, ())


@mypyc_attr(native_class=False)
class LabelType(Type):
    __slots__ = ()
    _cache: ClassVar[dict] = {}

    def __new__(cls):
        return cls._cache.get(None) or _interned(cls, None, {"s": "label"})

    def __reduce__(self):
        return (LabelType, ())


@mypyc_attr(native_class=False)
class MetaDataType(Type):
    __slots__ = ()
    _cache: ClassVar[dict] = {}

    def __new__(cls):
        return cls._cache.get(None) or _interned(cls, None, {"s": "metadata"})

    def __reduce__(self):
        return (MetaDataType, ())


@mypyc_attr(native_class=False)
class IntType(Type):
    __slots__ = ("width",)
    width: int
    null = "0"
    _cache: ClassVar[dict] = {}

    def __new__(cls, bits: int):
        t = cls._cache.get(bits)
        if t is None:
            t = _interned(cls, bits, {"width": bits, "s": f"i{bits}"})
        return t

    def __reduce__(self):
        return (IntType, (self.width,))

    @property
    def intrinsic_name(self) -> str:
        return self.s

    def _fmt(self, value) -> str:
        if value is True:
            return "true"
        if value is False:
            return "false"
        return str(int(value))


@mypyc_attr(native_class=False)
class FloatType(Type):
    __slots__ = ()
    null = "0.0"
    intrinsic_name = "f32"
    _cache: ClassVar[dict] = {}

    def __new__(cls):
        return cls._cache.get(None) or _interned(cls, None, {"s": "float"})

    def __reduce__(self):
        return (FloatType, ())

    def _fmt(self, value) -> str:
        return _float_hex(value)


@mypyc_attr(native_class=False)
class DoubleType(Type):
    __slots__ = ()
    null = "0.0"
    intrinsic_name = "f64"
    _cache: ClassVar[dict] = {}

    def __new__(cls):
        return cls._cache.get(None) or _interned(cls, None, {"s": "double"})

    def __reduce__(self):
        return (DoubleType, ())

    def _fmt(self, value) -> str:
        return _double_hex(value)


@mypyc_attr(native_class=False)
class PointerType(Type):
    """The opaque pointer type `ptr` (llvmlite's `PointerType()`; a pointee is accepted and
    ignored, as with LLVM's opaque pointers)."""

    __slots__ = ("addrspace",)
    addrspace: int
    null = "null"
    is_pointer = True
    is_opaque = True
    _cache: ClassVar[dict] = {}

    def __new__(cls, pointee=None, addrspace: int = 0):
        t = cls._cache.get(addrspace)
        if t is not None:
            return t
        return _interned(cls, addrspace, {
            "addrspace": addrspace,
            "s": "ptr" if addrspace == 0 else f"ptr addrspace({addrspace})"})

    def __reduce__(self):
        return (PointerType, (None, self.addrspace))

    @property
    def intrinsic_name(self) -> str:
        return f"p{self.addrspace}"


def _fmt_elems(types, values) -> str:
    parts = []
    for t, v in zip(types, values):
        if isinstance(v, Value):
            parts.append(f"{v.type.s} {v.ref}")
        elif v is None:
            parts.append(f"{t.s} {t.null}")
        elif v is Undefined:
            parts.append(f"{t.s} undef")
        else:
            parts.append(f"{t.s} {t._fmt(v)}")
    return ", ".join(parts)


@mypyc_attr(native_class=False)
class VectorType(Type):
    __slots__ = ("count", "element")
    count: int
    element: Any
    _cache: ClassVar[dict] = {}

    def __new__(cls, element: Type, count: int):
        t = cls._cache.get((element, count))
        if t is not None:
            return t
        return _interned(cls, (element, count), {
            "element": element, "count": count, "s": f"<{count} x {element.s}>"})

    def __reduce__(self):
        return (VectorType, (self.element, self.count))

    def __len__(self) -> int:
        return self.count

    @property
    def elements(self) -> tuple[Type, ...]:
        return (self.element,) * self.count

    @property
    def intrinsic_name(self) -> str:
        element: Any = self.element
        return f"v{self.count}{element.intrinsic_name}"

    def _fmt(self, value) -> str:
        if not isinstance(value, (list, tuple)):
            value = (value,) * self.count  # a scalar is splatted, as in llvmlite
        elif len(value) != self.count:
            raise ValueError(f"wrong constant size for {self.s}: got {len(value)} elements")
        return "<" + _fmt_elems((self.element,) * self.count, value) + ">"


@mypyc_attr(native_class=False)
class ArrayType(Type):
    __slots__ = ("count", "element")
    count: int
    element: Any
    _cache: ClassVar[dict] = {}

    def __new__(cls, element: Type, count: int):
        t = cls._cache.get((element, count))
        if t is not None:
            return t
        return _interned(cls, (element, count), {
            "element": element, "count": count, "s": f"[{count} x {element.s}]"})

    def __reduce__(self):
        return (ArrayType, (self.element, self.count))

    def __len__(self) -> int:
        return self.count

    @property
    def elements(self) -> tuple[Type, ...]:
        return (self.element,) * self.count

    def _fmt(self, value) -> str:
        if isinstance(value, (bytes, bytearray)):
            return 'c"' + _escape_bytes(value) + '"'
        if len(value) != self.count:
            raise ValueError(f"wrong constant size for {self.s}: got {len(value)} elements")
        return "[" + _fmt_elems((self.element,) * self.count, value) + "]"


@mypyc_attr(native_class=False)
class LiteralStructType(Type):
    __slots__ = ("elements", "packed")
    elements: tuple[Type, ...]
    packed: bool
    _cache: ClassVar[dict] = {}

    def __new__(cls, elems, packed: bool = False):
        elems = tuple(elems)
        t = cls._cache.get((elems, bool(packed)))
        if t is not None:
            return t
        body = "{" + ", ".join([e.s for e in elems]) + "}"
        return _interned(cls, (elems, bool(packed)), {
            "elements": elems, "packed": bool(packed), "s": f"<{body}>" if packed else body})

    def __reduce__(self):
        return (LiteralStructType, (self.elements, self.packed))

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self):
        return iter(self.elements)

    def _fmt(self, value) -> str:
        if len(value) != len(self.elements):
            raise ValueError(f"wrong constant size for {self.s}: got {len(value)} elements")
        body = "{" + _fmt_elems(self.elements, value) + "}"
        return f"<{body}>" if self.packed else body


@mypyc_attr(native_class=False)
class FunctionType(Type):
    __slots__ = ("args", "return_type", "var_arg")
    args: tuple[Type, ...]
    return_type: Type
    var_arg: bool
    _cache: ClassVar[dict] = {}

    def __new__(cls, return_type: Type, args, var_arg: bool = False):
        args = tuple(args)
        t = cls._cache.get((return_type, args, bool(var_arg)))
        if t is not None:
            return t
        a = ", ".join([x.s for x in args])
        if var_arg:
            a = f"{a}, ..." if args else "..."
        return _interned(cls, (return_type, args, bool(var_arg)), {
            "return_type": return_type, "args": args, "var_arg": bool(var_arg),
            "s": f"{return_type.s} ({a})"})

    def __reduce__(self):
        return (FunctionType, (self.return_type, self.args, self.var_arg))


_VOID = VoidType()
_LABEL = LabelType()
_MD = MetaDataType()
_I1 = IntType(1)
_I32 = IntType(32)
_PTR = PointerType()


# --- values -----------------------------------------------------------------------------------------

@mypyc_attr(native_class=False)
class _UndefinedType:
    """`undef` (llvmlite's `ir.Undefined`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Undefined"

    def __reduce__(self) -> str:
        return "Undefined"


Undefined = _UndefinedType()


class Value:
    """Base of all values: `type`, and `ref`, the text that refers to the value."""

    __slots__ = ()
    type: Any
    ref: str

    def get_reference(self) -> str:
        return self.ref

    def __str__(self) -> str:
        return f"{self.type.s} {self.ref}"

    def __repr__(self) -> str:
        return f"<irbuild.{type(self).__name__} {self.type} {self.ref}>"


class Constant(Value):
    """A constant: `Constant(type, value)` with value an int/bool/float, None (zero/null), Undefined,
    a bytearray (for i8 arrays) or a sequence of Constants/raw values (vector, array, struct)."""

    __slots__ = ("constant", "ref", "type", "wasm_bits", "wasm_v128")
    constant: Any
    wasm_bits: Any  # set by the lowering on some constants (and tested with hasattr)
    wasm_v128: Any

    def __init__(self, typ: Any, constant: Any) -> None:
        self.type = typ
        self.constant = constant
        if constant.__class__ is int and typ.__class__ is IntType:  # the common case, inline
            self.ref = str(constant)
        elif constant is None:
            self.ref = typ.null
        elif constant is Undefined:
            self.ref = "undef"
        else:
            self.ref = typ._fmt(constant)

    @classmethod
    def literal_array(cls, elems: Any) -> Constant:
        elems = list(elems)
        return Constant(ArrayType(elems[0].type, len(elems)), elems)

    @classmethod
    def literal_struct(cls, elems: Any, packed: bool = False) -> Constant:
        elems = list(elems)
        return Constant(LiteralStructType([e.type for e in elems], packed), elems)

    def bitcast(self, typ: Any) -> Constant:
        """Constant bitcast.  An integer bit pattern to float/double is folded to the exact float
        constant (what LLVM's parser would fold the constant expression to)."""
        if typ is self.type:
            return self
        c = self.constant
        if self.type.__class__ is IntType and c.__class__ is int:
            if typ.__class__ is FloatType and self.type.width == 32:
                return FormattedConstant(typ, _f32_bits_hex(c))
            if typ.__class__ is DoubleType and self.type.width == 64:
                return FormattedConstant(typ, f"0x{c & 0xFFFFFFFFFFFFFFFF:016X}")
        return FormattedConstant(typ, f"bitcast ({self.type.s} {self.ref} to {typ.s})")


class FormattedConstant(Constant):
    """A constant given by its IR text (llvmlite's FormattedConstant)."""

    __slots__ = ()

    def __init__(self, typ: Any, text: str) -> None:
        self.type = typ
        self.constant = text
        self.ref = text


def BlockAddress(function: Any, block: Block) -> Constant:  # noqa: N802 (llvmlite.ir's name)
    """`blockaddress(@f, %bb)`: the address of a block, a target for `indirectbr`."""
    return FormattedConstant(_PTR, f"blockaddress({function.ref}, {block.ref})")


class MetaDataString(Value):
    __slots__ = ("parent", "ref", "string", "type")
    parent: Any
    string: str

    def __init__(self, parent: Any, string: str) -> None:
        self.type = _MD
        self.parent = parent
        self.string = string
        self.ref = '!"' + _escape_bytes(string.encode("utf-8")) + '"'


class MDValue(Value):
    """An unnamed metadata node `!N = !{...}` (made by Module.add_metadata)."""

    __slots__ = ("body", "name", "operands", "parent", "ref", "type")
    parent: Any
    operands: tuple
    name: Any
    body: str

    def __init__(self, parent: Any, operands: Any, name: Any, body: str) -> None:
        self.type = _MD
        self.parent = parent
        self.operands = tuple(operands)
        self.name = name
        self.ref = f"!{name}"
        self.body = body


class NamedMetaData:
    __slots__ = ("operands", "parent")

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        self.operands: list[Any] = []

    def add(self, md: Any) -> None:
        self.operands.append(md)


@mypyc_attr(native_class=False)
class AttributeSet(set):
    """Function / call attributes: any attribute names, printed sorted (as llvmlite does)."""

    def __init__(self, args: Any = ()) -> None:
        super().__init__([args] if isinstance(args, str) else args)

    def _to_list(self, typ: Any = None) -> list[str]:
        return sorted(self)


FunctionAttributes = AttributeSet


class Argument(Value):
    __slots__ = ("_attributes", "_name", "parent", "ref", "type")
    parent: Function
    _name: str
    _attributes: AttributeSet | None

    def __init__(self, parent: Function, typ: Any, name: str = "") -> None:
        self.parent = parent
        self.type = typ
        self._name = name
        self._attributes = None  # made when first asked for: most arguments have none
        self.ref = _local_ref(parent, name)

    @property
    def attributes(self) -> AttributeSet:
        a = self._attributes
        if a is None:
            a = self._attributes = AttributeSet()
        return a

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        # A fresh number too, so the new name cannot clash with any other local.  Instructions
        # built before the rename keep the old reference: name arguments before using them.
        self._name = name
        self.ref = _local_ref(self.parent, name)

    def add_attribute(self, attr: str) -> None:
        self.attributes.add(attr)

    def _decl(self) -> str:
        if self._attributes:
            return f"{self.type.s} {' '.join(sorted(self._attributes))} {self.ref}"
        return f"{self.type.s} {self.ref}"


class Block(Value):
    __slots__ = ("instructions", "label", "name", "parent", "ref", "terminator", "type")
    parent: Function
    name: str
    label: str
    instructions: list[Instruction]
    terminator: Instruction | None

    def __init__(self, parent: Function, name: str = "") -> None:
        self.type = _LABEL
        self.parent = parent
        self.name = name
        self.ref = ref = _local_ref(parent, name)
        self.label = ref[1:]
        self.instructions = []
        self.terminator = None

    @property
    def is_terminated(self) -> bool:
        return self.terminator is not None

    @property
    def function(self) -> Function:
        return self.parent

    @property
    def module(self) -> Module:
        return self.parent.parent


class GlobalValue(Value):
    """Functions and global variables: a `ptr` to a named global, unique in its module."""

    __slots__ = ("linkage", "metadata", "name", "parent", "ref", "section", "storage_class",
                 "type", "visibility")
    parent: Module
    name: str
    linkage: str
    storage_class: str
    visibility: str
    section: str
    metadata: dict[str, Any]

    def _register(self, module: Module, name: str) -> None:
        self.parent = module
        self.name = name
        self.ref = "@" + _quote(name)
        self.linkage = ""
        self.storage_class = ""
        self.visibility = ""
        self.section = ""
        self.metadata = {}
        module.add_global(self)

    def set_metadata(self, name: str, node: Any) -> None:
        self.metadata[name] = node

    def _md_suffix(self, sep: str) -> str:
        return "".join([f"{sep}!{k} {v.ref}" for k, v in self.metadata.items()])

    def _emit(self, out: list[str]) -> None:
        raise NotImplementedError


class GlobalVariable(GlobalValue):
    __slots__ = ("addrspace", "align", "global_constant", "initializer", "unnamed_addr",
                 "value_type")
    value_type: Any
    addrspace: int
    initializer: Any
    unnamed_addr: bool
    global_constant: bool
    align: int | None

    def __init__(self, module: Module, typ: Any, name: str, addrspace: int = 0) -> None:
        self.value_type = typ
        self.addrspace = addrspace
        self.type = PointerType(None, addrspace) if addrspace else _PTR
        self.initializer = None
        self.unnamed_addr = False
        self.global_constant = False
        self.align = None
        self._register(module, name)

    def _emit(self, out: list[str]) -> None:
        linkage = self.linkage or ("external" if self.initializer is None else "")
        parts = [f"{self.ref} ="]
        for p in (linkage, self.visibility, self.storage_class,
                  "unnamed_addr" if self.unnamed_addr else "",
                  f"addrspace({self.addrspace})" if self.addrspace else "",
                  "constant" if self.global_constant else "global", self.value_type.s):
            if p:
                parts.append(p)
        if self.initializer is not None:
            if self.initializer.type is not self.value_type:
                raise TypeError(f"got initializer of type {self.initializer.type} "
                                f"for global value type {self.value_type}")
            parts.append(self.initializer.ref)
        elif linkage not in ("external", "extern_weak"):
            parts.append("undef")
        line = " ".join(parts)
        if self.section:
            line += f', section "{self.section}"'
        if self.align is not None:
            line += f", align {self.align}"
        out.append(line + self._md_suffix(", ") + "\n")


class Function(GlobalValue):
    __slots__ = ("_n", "args", "attributes", "blocks", "calling_convention", "ftype",
                 "function_type")
    ftype: Any
    function_type: Any
    _n: int  # the per-function name counter
    blocks: list[Block]
    attributes: AttributeSet
    calling_convention: str
    args: tuple[Argument, ...]

    def __init__(self, module: Module, ftype: Any, name: str) -> None:
        self.type = _PTR
        self.ftype = ftype
        self.function_type = ftype
        self._n = 0
        self.blocks = []
        self.attributes = AttributeSet()
        self.calling_convention = ""
        self._register(module, name)
        self.args = tuple([Argument(self, t) for t in ftype.args])

    @property
    def module(self) -> Module:
        return self.parent

    @property
    def basic_blocks(self) -> list[Block]:
        return self.blocks

    @property
    def entry_basic_block(self) -> Block:
        return self.blocks[0]

    @property
    def is_declaration(self) -> bool:
        return not self.blocks

    def append_basic_block(self, name: str = "") -> Block:
        blk = Block(self, name)
        self.blocks.append(blk)
        return blk

    def insert_basic_block(self, before: int, name: str = "") -> Block:
        blk = Block(self, name)
        self.blocks.insert(before, blk)
        return blk

    def _emit(self, out: list[str]) -> None:
        ft = self.ftype
        args = ", ".join([a._decl() for a in self.args])
        if ft.var_arg:
            args = f"{args}, ..." if args else "..."
        head = " ".join([p for p in ("define" if self.blocks else "declare", self.linkage,
                                     self.visibility, self.storage_class,
                                     self.calling_convention, ft.return_type.s) if p])
        attrs = "".join([" " + a for a in sorted(self.attributes)])
        section = f' section "{self.section}"' if self.section else ""
        out.append(f"{head} {self.ref}({args}){attrs}{section}{self._md_suffix(' ')}")
        if not self.blocks:
            out.append("\n")
            return
        out.append(" {\n")
        for blk in self.blocks:
            if not blk.instructions:  # never used (an `if`'s false arm when it has no `else`)
                continue
            out.append(blk.label)
            out.append(":\n  ")
            out.append("\n  ".join([i.line() for i in blk.instructions]))
            out.append("\n")
        out.append("}\n")

    def __str__(self) -> str:
        out: list[str] = []
        self._emit(out)
        return "".join(out)


class InlineAsm(Value):
    """An inline-assembly callee (made by IRBuilder.asm)."""

    __slots__ = ("asm", "constraint", "function_type", "ref", "side_effect", "type")
    function_type: Any
    asm: str
    constraint: str
    side_effect: bool

    def __init__(self, ftype: Any, asm: str, constraint: str, side_effect: bool = False) -> None:
        self.type = ftype.return_type
        self.function_type = ftype
        self.asm = asm
        self.constraint = constraint
        self.side_effect = side_effect
        self.ref = f'asm {"sideeffect " if side_effect else ""}"{asm}", "{constraint}"'


# --- instructions -----------------------------------------------------------------------------------

class Instruction(Value):
    """An instruction; `text` is its whole line (without indentation), metadata included, made
    when it is built.  Phi, switch and indirectbr, whose operands arrive later, make theirs when
    printed (`line()`)."""

    # Operands: one or two in `_a`/`_b` (`_b` None for one), otherwise `_a` None and a tuple in
    # `_ops`.  Slots instead of a tuple per instruction: one object fewer for the common shapes.
    __slots__ = ("_a", "_b", "_ops", "md", "opname", "parent", "ref", "text", "type")
    parent: Block
    opname: str
    _a: Any
    _b: Any
    _ops: tuple
    text: str
    md: dict[str, Any] | None

    def __init__(self, parent: Block, typ: Any, ref: str, opname: str, a: Any, b: Any,
                 ops: tuple, text: str) -> None:
        self.parent = parent
        self.type = typ
        self.ref = ref
        self.opname = opname
        self._a = a
        self._b = b
        self._ops = ops
        self.text = text
        self.md = None

    @property
    def operands(self) -> tuple:
        a = self._a
        if a is None:
            return self._ops
        b = self._b
        return (a,) if b is None else (a, b)

    @operands.setter
    def operands(self, ops: Any) -> None:
        ops = tuple(ops)
        if 1 <= len(ops) <= 2 and all(x is not None for x in ops):
            self._a = ops[0]
            self._b = ops[1] if len(ops) == 2 else None
        else:
            self._a = None
            self._ops = ops

    @property
    def name(self) -> str:
        return self.ref[1:]

    @property
    def function(self) -> Function:
        return self.parent.parent

    @property
    def module(self) -> Module:
        return self.parent.parent.parent

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.md) if self.md else {}

    def set_metadata(self, name: str, node: Any) -> None:
        md = self.md
        if md is None:  # the usual case: append to the line
            self.md = {name: node}
            self.text = f"{self.text}, !{name} {node.ref}"
            return
        old = _md_text(md)
        md[name] = node
        self.text = self.text[:len(self.text) - len(old)] + _md_text(md)

    def set_weights(self, weights: Any) -> None:
        """Branch weights (`!prof`) of a conditional branch or switch (llvmlite's
        PredictableInstr)."""
        mod = self.parent.parent.parent
        key = tuple(weights)
        md = mod._weights.get(key)  # one node per distinct weights (add_metadata shares them)
        if md is None:
            ops: list[Any] = [MetaDataString(mod, "branch_weights")]
            for w in weights:
                if w < 0:
                    raise ValueError("branch weight must be a positive integer")
                ops.append(Constant(_I32, w))
            md = mod._weights[key] = mod.add_metadata(ops)
        self.set_metadata("prof", md)

    def line(self) -> str:
        """The instruction's text, metadata included."""
        return self.text

    def __str__(self) -> str:
        return self.line()


def _md_text(md: dict[str, Any]) -> str:
    return "".join([f", !{k} {v.ref}" for k, v in md.items()])


class CastInstr(Instruction):
    __slots__ = ()

    def __init__(self, parent: Block, op: str, val: Any, typ: Any, name: str = "") -> None:
        ref = _local_ref(parent.parent, name)
        Instruction.__init__(self, parent, typ, ref, op, val, None, (),
                             f"{ref} = {op} {val.type.s} {val.ref} to {typ.s}")


class _Aligned(Instruction):
    """Load, store, alloca: `align` may also be set after creation (llvmlite style)."""

    __slots__ = ("_align",)
    _align: int | None

    @property
    def align(self) -> int | None:
        return self._align

    @align.setter
    def align(self, value: int | None) -> None:
        self._align = value
        self.text = self._render() + (_md_text(self.md) if self.md else "")

    def _render(self) -> str:
        raise NotImplementedError


class LoadInstr(_Aligned):
    """`volatile` may be set after creation, like `align`."""

    __slots__ = ("_is_volatile",)
    _is_volatile: bool

    @property
    def volatile(self) -> bool:
        return self._is_volatile

    @volatile.setter
    def volatile(self, value: bool) -> None:
        if value == self._is_volatile:
            return
        self._is_volatile = value
        if value:  # (every load at -O0: one replace, not a re-render)
            self.text = self.text.replace(" = load ", " = load volatile ", 1)
        else:
            self.text = self._render() + (_md_text(self.md) if self.md else "")

    def _render(self) -> str:
        p = self._a
        a = f", align {self._align}" if self._align is not None else ""
        v = "volatile " if self._is_volatile else ""
        return f"{self.ref} = load {v}{self.type.s}, {p.type.s} {p.ref}{a}"


class StoreInstr(_Aligned):
    __slots__ = ()

    def _render(self) -> str:
        v, p = self._a, self._b
        a = f", align {self._align}" if self._align is not None else ""
        return f"store {v.type.s} {v.ref}, {p.type.s} {p.ref}{a}"


class AllocaInstr(_Aligned):
    __slots__ = ("allocated_type",)
    allocated_type: Any

    def _render(self) -> str:
        ops = self.operands
        n = f", {ops[0].type.s} {ops[0].ref}" if ops else ""
        a = f", align {self._align}" if self._align is not None else ""
        return f"{self.ref} = alloca {self.allocated_type.s}{n}{a}"


class GEPInstr(Instruction):
    __slots__ = ("inbounds", "source_etype")
    inbounds: bool
    source_etype: Any

    @property
    def pointer(self) -> Any:
        return self.operands[0]

    @property
    def indices(self) -> tuple:
        return self.operands[1:]


class CompareInstr(Instruction):
    __slots__ = ("op",)
    op: str


class ICMPInstr(CompareInstr):
    __slots__ = ()


class FCMPInstr(CompareInstr):
    __slots__ = ()


class SelectInstr(Instruction):
    __slots__ = ()


class CallInstr(Instruction):
    __slots__ = ("attributes", "cconv", "tail")
    attributes: Any
    cconv: str
    tail: str

    @property
    def callee(self) -> Any:
        return self.operands[0]

    @property
    def called_function(self) -> Any:
        return self.operands[0]

    @property
    def args(self) -> tuple:
        return self.operands[1:]


def _lazy_set_metadata(i: Instruction, name: str, node: Any) -> None:
    if i.md is None:
        i.md = {}
    i.md[name] = node


def _lazy_line(i: Instruction, line: str) -> str:
    return line + _md_text(i.md) if i.md else line


class PhiInstr(Instruction):
    __slots__ = ("incomings",)
    incomings: list[tuple[Any, Block]]

    def add_incoming(self, value: Any, block: Block) -> None:
        self.incomings.append((value, block))

    def set_metadata(self, name: str, node: Any) -> None:
        _lazy_set_metadata(self, name, node)

    def line(self) -> str:
        inc = ", ".join([f"[{v.ref}, {b.ref}]" for v, b in self.incomings])
        return _lazy_line(self, f"{self.ref} = phi {self.type.s} {inc}")


class ExtractValue(Instruction):
    __slots__ = ("indices",)
    indices: list[int]


class InsertValue(Instruction):
    __slots__ = ("indices",)
    indices: list[int]


class ExtractElement(Instruction):
    __slots__ = ()


class InsertElement(Instruction):
    __slots__ = ()


class ShuffleVector(Instruction):
    __slots__ = ()


class Terminator(Instruction):
    __slots__ = ()


class Ret(Terminator):
    __slots__ = ()

    @property
    def return_value(self) -> Any:
        return self._a


class Branch(Terminator):
    __slots__ = ()


class ConditionalBranch(Terminator):
    __slots__ = ()


class SwitchInstr(Terminator):
    __slots__ = ("cases", "default")
    cases: list[tuple[Any, Block]]
    default: Block

    @property
    def value(self) -> Any:
        return self._a

    def add_case(self, val: Any, block: Block) -> None:
        if not isinstance(val, Value):
            val = Constant(self._a.type, val)
        self.cases.append((val, block))

    def set_metadata(self, name: str, node: Any) -> None:
        _lazy_set_metadata(self, name, node)

    def line(self) -> str:
        v = self._a
        cases = " ".join([f"{c.type.s} {c.ref}, label {b.ref}" for c, b in self.cases])
        return _lazy_line(self, f"switch {v.type.s} {v.ref}, label {self.default.ref} [{cases}]")


class Unreachable(Terminator):
    __slots__ = ()


class IndirectBranch(Terminator):
    __slots__ = ("destinations",)
    destinations: list[Block]

    def add_destination(self, block: Block) -> None:
        self.destinations.append(block)

    def set_metadata(self, name: str, node: Any) -> None:
        _lazy_set_metadata(self, name, node)

    def line(self) -> str:
        dests = ", ".join([f"label {d.ref}" for d in self.destinations])
        return _lazy_line(self, f"indirectbr ptr {self._a.ref}, [{dests}]")


# --- the builder ------------------------------------------------------------------------------------

_CMP = {">": "gt", "<": "lt", "==": "eq", "!=": "ne", ">=": "ge", "<=": "le"}
_ICMP_S = {k: ("s" + v if k not in ("==", "!=") else v) for k, v in _CMP.items()}
_ICMP_U = {k: ("u" + v if k not in ("==", "!=") else v) for k, v in _CMP.items()}
_NO_PREDS: dict[str, str] = {}
_TAILS = frozenset(("tail", "musttail", "notail"))
_NO_ATTRS: frozenset[str] = frozenset()  # a call's attributes when it has none
_REG_READS: dict[tuple[Any, str], InlineAsm] = {}  # (type, register) -> its reading InlineAsm
_ALL_ONES: dict[Any, Constant] = {}


def _all_ones(ty: Any) -> Constant:
    c = _ALL_ONES.get(ty)
    if c is None:
        c = _ALL_ONES[ty] = Constant(ty, (-1,) * ty.count if isinstance(ty, VectorType) else -1)
    return c


class IRBuilder:
    """llvmlite's IRBuilder, appending at the end of `block` unless positioned otherwise.

    The builder methods name their result inline (see _local_ref) and make the instruction's
    line in one f-string: these run once per LLVM instruction of the module."""

    __slots__ = ("_anchor", "_fn", "block", "debug_metadata")
    block: Block
    _fn: Function
    _anchor: int  # where the next instruction goes in `block`; -1: at its end
    debug_metadata: Any

    def __init__(self, block: Block | None = None) -> None:
        self.debug_metadata = None
        self._anchor = -1
        if block is not None:
            self.position_at_end(block)

    # --- position -------------------------------------------------------------------------------
    @property
    def basic_block(self) -> Block:
        return self.block

    @property
    def function(self) -> Function:
        return self.block.parent

    @property
    def module(self) -> Module:
        return self.block.parent.parent

    def position_at_end(self, block: Block) -> None:
        self.block = block
        self._fn = block.parent
        self._anchor = -1

    def _position_at(self, block: Block, index: int) -> None:
        self.block = block
        self._fn = block.parent
        self._anchor = index

    def position_at_start(self, block: Block) -> None:
        self._position_at(block, 0)

    def position_before(self, instr: Instruction) -> None:
        self._position_at(instr.parent, instr.parent.instructions.index(instr))

    def position_after(self, instr: Instruction) -> None:
        self._position_at(instr.parent, instr.parent.instructions.index(instr) + 1)

    def _ins(self, instr: Instruction) -> None:
        at = self._anchor
        if at < 0:
            self.block.instructions.append(instr)
        else:
            self.block.instructions.insert(at, instr)
            self._anchor = at + 1

    def _insert(self, instr: Instruction) -> None:
        self._ins(instr)

    def append_basic_block(self, name: str = "") -> Block:
        return self.block.parent.append_basic_block(name)

    def _ref(self, name: str) -> str:
        fn = self._fn
        n = fn._n
        fn._n = n + 1
        return f"{_HEADS.get(name) or _head(name)}{n}"

    def _terminate(self, i: Instruction) -> Instruction:
        blk = self.block
        assert blk.terminator is None, "block already terminated"
        blk.terminator = i
        self._ins(i)
        return i

    # --- arithmetic -----------------------------------------------------------------------------
    def _binop(self, opname: str, lhs: Value, rhs: Value, name: str, flags: Any) -> Instruction:
        ref = self._ref(name)
        ty = lhs.type
        if flags:
            text = f"{ref} = {opname} {' '.join(flags)} {ty.s} {lhs.ref}, {rhs.ref}"
        else:
            text = f"{ref} = {opname} {ty.s} {lhs.ref}, {rhs.ref}"
        i = Instruction(self.block, ty, ref, opname, lhs, rhs, (), text)
        self._ins(i)
        return i

    def add(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("add", lhs, rhs, name, flags)

    def sub(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("sub", lhs, rhs, name, flags)

    def mul(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("mul", lhs, rhs, name, flags)

    def udiv(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("udiv", lhs, rhs, name, flags)

    def sdiv(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("sdiv", lhs, rhs, name, flags)

    def urem(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("urem", lhs, rhs, name, flags)

    def srem(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("srem", lhs, rhs, name, flags)

    def fadd(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("fadd", lhs, rhs, name, flags)

    def fsub(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("fsub", lhs, rhs, name, flags)

    def fmul(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("fmul", lhs, rhs, name, flags)

    def fdiv(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("fdiv", lhs, rhs, name, flags)

    def frem(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("frem", lhs, rhs, name, flags)

    def shl(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("shl", lhs, rhs, name, flags)

    def lshr(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("lshr", lhs, rhs, name, flags)

    def ashr(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("ashr", lhs, rhs, name, flags)

    def and_(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("and", lhs, rhs, name, flags)

    def or_(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("or", lhs, rhs, name, flags)

    def xor(self, lhs: Value, rhs: Value, name: str = "", flags: Any = ()) -> Instruction:
        return self._binop("xor", lhs, rhs, name, flags)

    def not_(self, value: Value, name: str = "") -> Instruction:
        return self._binop("xor", value, _all_ones(value.type), name, ())

    def neg(self, value: Value, name: str = "") -> Instruction:
        return self._binop("sub", Constant(value.type, 0), value, name, ())

    def fneg(self, arg: Value, name: str = "", flags: Any = ()) -> Instruction:
        ref = self._ref(name)
        opf = f"fneg {' '.join(flags)}" if flags else "fneg"
        i = Instruction(self.block, arg.type, ref, "fneg", arg, None, (),
                        f"{ref} = {opf} {arg.type.s} {arg.ref}")
        self._ins(i)
        return i

    def freeze(self, arg: Value, name: str = "") -> Instruction:
        ref = self._ref(name)
        i = Instruction(self.block, arg.type, ref, "freeze", arg, None, (),
                        f"{ref} = freeze {arg.type.s} {arg.ref}")
        self._ins(i)
        return i

    # --- atomics (the threads proposal; llvmlite.ir's names and signatures) ----------------------
    def load_atomic(self, ptr: Value, ordering: str, align: int, name: str = "",
                    typ: Any = None) -> Instruction:
        ref = self._ref(name)
        # a plain Instruction, not a LoadInstr: nothing that reasons about loads sees it
        i = Instruction(self.block, typ, ref, "load", ptr, None, (),
                        f"{ref} = load atomic {typ.s}, {ptr.type.s} {ptr.ref} {ordering}, "
                        f"align {align}")
        self._ins(i)
        return i

    def store_atomic(self, value: Value, ptr: Value, ordering: str, align: int) -> Instruction:
        i = Instruction(self.block, _VOID, "", "store", value, ptr, (),
                        f"store atomic {value.type.s} {value.ref}, {ptr.type.s} {ptr.ref} "
                        f"{ordering}, align {align}")
        self._ins(i)
        return i

    def atomic_rmw(self, op: str, ptr: Value, val: Value, ordering: str,
                   name: str = "") -> Instruction:
        ref = self._ref(name)
        i = Instruction(self.block, val.type, ref, "atomicrmw", ptr, val, (),
                        f"{ref} = atomicrmw {op} {ptr.type.s} {ptr.ref}, {val.type.s} {val.ref} "
                        f"{ordering}")
        self._ins(i)
        return i

    def cmpxchg(self, ptr: Value, cmp: Value, val: Value, ordering: str, failordering: str,
                name: str = "") -> Instruction:
        ref = self._ref(name)
        ty = LiteralStructType([val.type, _I1])
        i = Instruction(self.block, ty, ref, "cmpxchg", None, None, (ptr, cmp, val),
                        f"{ref} = cmpxchg {ptr.type.s} {ptr.ref}, {cmp.type.s} {cmp.ref}, "
                        f"{val.type.s} {val.ref} {ordering} {failordering}")
        self._ins(i)
        return i

    def fence(self, ordering: str) -> Instruction:
        i = Instruction(self.block, _VOID, "", "fence", None, None, (), f"fence {ordering}")
        self._ins(i)
        return i

    # --- comparisons ----------------------------------------------------------------------------
    def _cmp(self, icmp: bool, cmpop: str, lhs: Value, rhs: Value, name: str, flags: Any,
             preds: dict[str, str], prefix: str) -> CompareInstr:
        pred = preds.get(cmpop) or (prefix + _CMP[cmpop] if cmpop in _CMP else cmpop)
        opname = "icmp" if icmp else "fcmp"
        ref = self._ref(name)
        t = lhs.type
        ty = VectorType(_I1, t.count) if t.__class__ is VectorType else _I1
        if flags:
            text = f"{ref} = {opname} {' '.join(flags)} {pred} {t.s} {lhs.ref}, {rhs.ref}"
        else:
            text = f"{ref} = {opname} {pred} {t.s} {lhs.ref}, {rhs.ref}"
        i: CompareInstr
        if icmp:
            i = ICMPInstr(self.block, ty, ref, opname, lhs, rhs, (), text)
        else:
            i = FCMPInstr(self.block, ty, ref, opname, lhs, rhs, (), text)
        i.op = pred
        self._ins(i)
        return i

    def icmp_signed(self, cmpop: str, lhs: Value, rhs: Value, name: str = "",
                    flags: Any = ()) -> CompareInstr:
        return self._cmp(True, cmpop, lhs, rhs, name, flags, _ICMP_S, "s")

    def icmp_unsigned(self, cmpop: str, lhs: Value, rhs: Value, name: str = "",
                      flags: Any = ()) -> CompareInstr:
        return self._cmp(True, cmpop, lhs, rhs, name, flags, _ICMP_U, "u")

    def fcmp_ordered(self, cmpop: str, lhs: Value, rhs: Value, name: str = "",
                     flags: Any = ()) -> CompareInstr:
        return self._cmp(False, cmpop, lhs, rhs, name, flags, _NO_PREDS, "o")

    def fcmp_unordered(self, cmpop: str, lhs: Value, rhs: Value, name: str = "",
                       flags: Any = ()) -> CompareInstr:
        return self._cmp(False, cmpop, lhs, rhs, name, flags, _NO_PREDS, "u")

    def select(self, cond: Value, lhs: Value, rhs: Value, name: str = "",
               flags: Any = ()) -> Instruction:
        ref = self._ref(name)
        fl = "".join([" " + f for f in flags])
        i = SelectInstr(self.block, lhs.type, ref, "select", None, None, (cond, lhs, rhs),
                        f"{ref} = select{fl} {cond.type.s} {cond.ref}, {lhs.type.s} {lhs.ref}, "
                        f"{rhs.type.s} {rhs.ref}")
        self._ins(i)
        return i

    # --- casts ----------------------------------------------------------------------------------
    def _cast(self, opname: str, val: Value, typ: Any, name: str) -> Value:
        if val.type is typ:
            return val
        i = CastInstr(self.block, opname, val, typ, name)
        self._ins(i)
        return i

    def trunc(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("trunc", val, typ, name)

    def zext(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("zext", val, typ, name)

    def sext(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("sext", val, typ, name)

    def fptrunc(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("fptrunc", val, typ, name)

    def fpext(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("fpext", val, typ, name)

    def bitcast(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("bitcast", val, typ, name)

    def addrspacecast(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("addrspacecast", val, typ, name)

    def fptoui(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("fptoui", val, typ, name)

    def uitofp(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("uitofp", val, typ, name)

    def fptosi(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("fptosi", val, typ, name)

    def sitofp(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("sitofp", val, typ, name)

    def ptrtoint(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("ptrtoint", val, typ, name)

    def inttoptr(self, val: Value, typ: Any, name: str = "") -> Value:
        return self._cast("inttoptr", val, typ, name)

    # --- memory ---------------------------------------------------------------------------------
    def alloca(self, typ: Any, size: Any = None, name: str = "") -> AllocaInstr:
        ref = self._ref(name)
        if size is None:  # the usual case
            i = AllocaInstr(self.block, _PTR, ref, "alloca", None, None, (),
                            f"{ref} = alloca {typ.s}")
        else:
            if not isinstance(size, Value):
                size = Constant(_I32, size)
            i = AllocaInstr(self.block, _PTR, ref, "alloca", size, None, (),
                            f"{ref} = alloca {typ.s}, {size.type.s} {size.ref}")
        i.allocated_type = typ
        i._align = None
        self._ins(i)
        return i

    def load(self, ptr: Value, name: str = "", align: int | None = None,
             typ: Any = None) -> LoadInstr:
        if typ is None:
            typ = getattr(ptr, "allocated_type", None) or getattr(ptr, "value_type", None)
            if typ is None:
                raise ValueError("Load lacks type.")
        ref = self._ref(name)
        if align is None:
            text = f"{ref} = load {typ.s}, {ptr.type.s} {ptr.ref}"
        else:
            text = f"{ref} = load {typ.s}, {ptr.type.s} {ptr.ref}, align {align}"
        i = LoadInstr(self.block, typ, ref, "load", ptr, None, (), text)
        i._align = align
        i._is_volatile = False
        self._ins(i)
        return i

    def store(self, value: Value, ptr: Value, align: int | None = None) -> StoreInstr:
        if align is None:
            text = f"store {value.type.s} {value.ref}, {ptr.type.s} {ptr.ref}"
        else:
            text = f"store {value.type.s} {value.ref}, {ptr.type.s} {ptr.ref}, align {align}"
        i = StoreInstr(self.block, _VOID, "", "store", value, ptr, (), text)
        i._align = align
        self._ins(i)
        return i

    def gep(self, ptr: Value, indices: Any, inbounds: bool = False, name: str = "",
            source_etype: Any = None) -> GEPInstr:
        if source_etype is None:
            source_etype = getattr(ptr, "allocated_type", None) or getattr(ptr, "value_type", None)
            if source_etype is None:
                raise ValueError("GEP lacks type.")
        ref = self._ref(name)
        head = (f"{ref} = getelementptr{' inbounds' if inbounds else ''} {source_etype.s}, "
                f"{ptr.type.s} {ptr.ref}")
        i: GEPInstr
        if len(indices) == 1:
            x = indices[0]
            i = GEPInstr(self.block, ptr.type, ref, "getelementptr", ptr, x, (),
                         f"{head}, {x.type.s} {x.ref}")
        else:
            idx = ", ".join([f"{x.type.s} {x.ref}" for x in indices])
            i = GEPInstr(self.block, ptr.type, ref, "getelementptr", None, None,
                         (ptr, *indices), f"{head}, {idx}")
        i.source_etype = source_etype
        i.inbounds = inbounds
        self._ins(i)
        return i

    # --- terminators ----------------------------------------------------------------------------
    def branch(self, target: Block) -> Instruction:
        return self._terminate(Branch(self.block, _VOID, "", "br", target, None, (),
                                      f"br label {target.ref}"))

    def cbranch(self, cond: Value, truebr: Block, falsebr: Block) -> Instruction:
        return self._terminate(ConditionalBranch(
            self.block, _VOID, "", "br", None, None, (cond, truebr, falsebr),
            f"br {cond.type.s} {cond.ref}, label {truebr.ref}, label {falsebr.ref}"))

    def switch(self, value: Value, default: Block) -> SwitchInstr:
        i = SwitchInstr(self.block, _VOID, "", "switch", value, None, (), "")
        i.default = default
        i.cases = []
        self._terminate(i)
        return i

    def branch_indirect(self, address: Value) -> IndirectBranch:
        """`indirectbr` to `address` (a `BlockAddress` loaded from somewhere); the possible
        destinations are added with `add_destination`."""
        i = IndirectBranch(self.block, _VOID, "", "indirectbr", address, None, (), "")
        i.destinations = []
        self._terminate(i)
        return i

    def ret_void(self) -> Instruction:
        return self._terminate(Ret(self.block, _VOID, "", "ret", None, None, (), "ret void"))

    def ret(self, value: Value) -> Instruction:
        return self._terminate(Ret(self.block, _VOID, "", "ret", value, None, (),
                                   f"ret {value.type.s} {value.ref}"))

    def unreachable(self) -> Instruction:
        return self._terminate(Unreachable(self.block, _VOID, "", "unreachable", None, None, (),
                                           "unreachable"))

    # --- calls ----------------------------------------------------------------------------------
    def call(self, fn: Any, args: Any, name: str = "", cconv: Any = None, tail: Any = False,
             fastmath: Any = (), attrs: Any = (), arg_attrs: Any = None) -> CallInstr:
        fnty = fn.function_type
        rt = fnty.return_type
        cref = fn.ref if isinstance(fn, Value) else fn.get_reference()
        if cconv is None:
            cconv = fn.calling_convention if isinstance(fn, Function) else ""
        if arg_attrs:
            a = ", ".join([f"{x.type.s} {' '.join(sorted(arg_attrs[k]))} {x.ref}"
                           if k in arg_attrs else f"{x.type.s} {x.ref}"
                           for k, x in enumerate(args)])
        else:
            a = ", ".join([f"{x.type.s} {x.ref}" for x in args])
        if not (tail.__class__ is str and tail in _TAILS):
            tail = "tail" if tail else ""
        attrs = AttributeSet(attrs) if attrs else _NO_ATTRS
        if fastmath or cconv or attrs:
            text = "".join((f"{tail} call" if tail else "call",
                            "".join([" " + f for f in sorted(fastmath)]),
                            f" {cconv}" if cconv else "",
                            f" {fnty.s if fnty.var_arg else rt.s} {cref}({a})",
                            "".join([" " + x for x in sorted(attrs)])))
        else:  # the usual call
            text = (f"{tail} call {fnty.s if fnty.var_arg else rt.s} {cref}({a})" if tail
                    else f"call {fnty.s if fnty.var_arg else rt.s} {cref}({a})")
        if rt is _VOID:
            ref = ""
        else:
            ref = self._ref(name)
            text = f"{ref} = {text}"
        i = CallInstr(self.block, rt, ref, "call", None, None, (), text)
        i.operands = (fn, *args)  # (the setter shapes them: one or two, or a tuple)
        i.tail = tail
        i.attributes = attrs
        i.cconv = cconv
        self._ins(i)
        return i

    def asm(self, ftype: Any, asm: str, constraint: str, args: Any, side_effect: bool,
            name: str = "") -> CallInstr:
        return self.call(InlineAsm(ftype, asm, constraint, side_effect), args, name)

    def load_reg(self, reg_type: Any, reg_name: str, name: str = "") -> CallInstr:
        key = (reg_type, reg_name)
        asm = _REG_READS.get(key)
        if asm is None:
            asm = _REG_READS[key] = InlineAsm(FunctionType(reg_type, []), "",
                                              f"={{{reg_name}}}", False)
        return self.call(asm, (), name)

    def store_reg(self, value: Value, reg_type: Any, reg_name: str, name: str = "") -> CallInstr:
        return self.asm(FunctionType(_VOID, [reg_type]), "", f"{{{reg_name}}}", [value], True,
                        name)

    # --- vectors and aggregates -----------------------------------------------------------------
    def extract_element(self, vector: Value, idx: Value, name: str = "") -> Instruction:
        ref = self._ref(name)
        i = ExtractElement(self.block, vector.type.element, ref, "extractelement", vector, idx,
                           (), f"{ref} = extractelement {vector.type.s} {vector.ref}, "
                               f"{idx.type.s} {idx.ref}")
        self._ins(i)
        return i

    def insert_element(self, vector: Value, value: Value, idx: Value,
                       name: str = "") -> Instruction:
        ref = self._ref(name)
        i = InsertElement(self.block, vector.type, ref, "insertelement", None, None,
                          (vector, value, idx),
                          f"{ref} = insertelement {vector.type.s} {vector.ref}, {value.type.s} "
                          f"{value.ref}, {idx.type.s} {idx.ref}")
        self._ins(i)
        return i

    def shuffle_vector(self, vector1: Value, vector2: Any, mask: Value,
                       name: str = "") -> Instruction:
        ref = self._ref(name)
        t = vector1.type
        ty = VectorType(t.element, mask.type.count)
        v2 = f"{t.s} undef" if vector2 is Undefined else f"{vector2.type.s} {vector2.ref}"
        i = ShuffleVector(self.block, ty, ref, "shufflevector", None, None,
                          (vector1, vector2, mask),
                          f"{ref} = shufflevector {t.s} {vector1.ref}, {v2}, {mask.type.s} "
                          f"{mask.ref}")
        self._ins(i)
        return i

    def extract_value(self, agg: Value, idx: Any, name: str = "") -> Instruction:
        idx = list(idx) if isinstance(idx, (tuple, list)) else [idx]
        ty = agg.type
        for k in idx:
            ty = ty.elements[k]
        ref = self._ref(name)
        i = ExtractValue(self.block, ty, ref, "extractvalue", agg, None, (),
                         f"{ref} = extractvalue {agg.type.s} {agg.ref}, "
                         f"{', '.join(map(str, idx))}")
        i.indices = idx
        self._ins(i)
        return i

    def insert_value(self, agg: Value, value: Value, idx: Any, name: str = "") -> Instruction:
        idx = list(idx) if isinstance(idx, (tuple, list)) else [idx]
        ref = self._ref(name)
        i = InsertValue(self.block, agg.type, ref, "insertvalue", agg, value, (),
                        f"{ref} = insertvalue {agg.type.s} {agg.ref}, {value.type.s} "
                        f"{value.ref}, {', '.join(map(str, idx))}")
        i.indices = idx
        self._ins(i)
        return i

    def phi(self, typ: Any, name: str = "", flags: Any = ()) -> PhiInstr:
        i = PhiInstr(self.block, typ, self._ref(name), "phi", None, None, (), "")
        i.incomings = []
        self._ins(i)
        return i


# --- the module -------------------------------------------------------------------------------------

class Module:
    __slots__ = ("_mdcache", "_reserved", "_unique", "_weights", "context", "data_layout",
                 "globals", "metadata", "name", "namedmetadata", "triple")

    def __init__(self, name: str = "", context: Any = None) -> None:
        self.name = name
        self.context = context
        self.triple = "unknown-unknown-unknown"
        self.data_layout = ""
        self.globals: dict[str, GlobalValue] = {}
        self.metadata: list[MDValue] = []
        self.namedmetadata: dict[str, NamedMetaData] = {}
        self._mdcache: dict[str, MDValue] = {}
        self._weights: dict[tuple, MDValue] = {}  # Instruction.set_weights
        self._unique: dict[str, int] = {}
        self._reserved: set[str] = set()

    @property
    def functions(self) -> list[Function]:
        return [v for v in self.globals.values() if isinstance(v, Function)]

    @property
    def global_values(self) -> Any:
        return self.globals.values()

    def get_global(self, name: str) -> GlobalValue:
        return self.globals[name]

    def add_global(self, gv: GlobalValue) -> None:
        if gv.name in self.globals:
            raise NameError(f"duplicate global name {gv.name!r}")
        self.globals[gv.name] = gv

    def get_unique_name(self, name: str = "") -> str:
        """A global name not used yet (and reserved from now on): `name`, else `name.N`."""
        n = self._unique.get(name, 0)
        cand = name
        while not cand or cand in self.globals or cand in self._reserved:
            n += 1
            cand = f"{name}.{n}"
        self._unique[name] = n
        self._reserved.add(cand)
        return cand

    def add_metadata(self, operands: Any) -> MDValue:
        """An unnamed metadata node with these operands; identical nodes are shared."""
        if not isinstance(operands, (list, tuple)):
            raise TypeError(f"expected a list or tuple of metadata values, got {operands!r}")
        ops = []
        parts = []
        for op in operands:
            if op is None:
                parts.append("null")
            elif isinstance(op, str):
                op = MetaDataString(self, op)
                parts.append(op.ref)
            elif isinstance(op, (list, tuple)):
                op = self.add_metadata(op)
                parts.append(op.ref)
            elif op.type is _MD:
                parts.append(op.ref)
            else:
                parts.append(f"{op.type.s} {op.ref}")
            ops.append(op)
        body = "!{" + ", ".join(parts) + "}"
        md = self._mdcache.get(body)
        if md is None:
            md = MDValue(self, ops, len(self.metadata), body)
            self.metadata.append(md)
            self._mdcache[body] = md
        return md

    def add_named_metadata(self, name: str, element: Any = None) -> NamedMetaData:
        nmd = self.namedmetadata.get(name)
        if nmd is None:
            nmd = self.namedmetadata[name] = NamedMetaData(self)
        if element is not None:
            if not isinstance(element, Value):
                element = self.add_metadata(element)
            nmd.add(element)
        return nmd

    def get_named_metadata(self, name: str) -> NamedMetaData:
        return self.namedmetadata[name]

    def __str__(self) -> str:
        out = [(f'; ModuleID = "{self.name}"\ntarget triple = "{self.triple}"\n'
                f'target datalayout = "{self.data_layout}"\n\n')]
        for g in self.globals.values():
            g._emit(out)
            out.append("\n")
        for name, nmd in self.namedmetadata.items():
            out.append(f"!{name} = !{{{', '.join([m.ref for m in nmd.operands])}}}\n")
        for md in self.metadata:
            out.append(f"{md.ref} = {md.body}\n")
        return "".join(out)

    def __repr__(self) -> str:
        return self.__str__()

    def release(self) -> None:
        """Break the IR's reference cycles so that reference counting frees a printed module at
        once; the module is empty afterwards.  Every instruction and its block refer to each
        other (the block's list, or its terminator), so do a loop's phis and the values flowing
        round it, and globals and their module.  Left to the cyclic collector, freeing is a walk
        over every object of the partition (measured: 0.84 s on top of QuickJS's 1.55 s of
        lowering; this takes 0.17 s)."""
        for gv in self.globals.values():
            if isinstance(gv, Function):
                for blk in gv.blocks:
                    for i in blk.instructions:
                        if not isinstance(i, PhiInstr):
                            break  # phis lead their block
                        i.incomings = []
                    blk.instructions = []
                    blk.terminator = None
                gv.blocks = []
                gv.args = ()
        # Globals and metadata refer to their module: the module is empty from here on.
        self.globals.clear()
        self.metadata.clear()
        self.namedmetadata.clear()
        self._mdcache.clear()
        self._weights.clear()
