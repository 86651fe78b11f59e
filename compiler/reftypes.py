"""Reference types (Wasm 3.0's typed function references): one character per reference type.

Strategy.  Every phase spells a value type as one character ("i" i32, "l" i64, "f", "d", "v", "F"
funcref, "E" externref; see module.py), so a function type is two short strings and the validator
compares types by string equality.  Wasm 3.0 adds `(ref null? heaptype)`: a heap type is abstract
(`func`, `extern`, `any`, ... `nofunc`) or a defined function type.  Each reference type gets its
own character, interned here for the whole process: "F" and "E" stay `(ref null func)` and
`(ref null extern)`, every other one takes the next character of Unicode's private use area.

A defined type is keyed by its structure, the `FuncType` with its own parameter and result
characters, not by its index, so equal characters mean equivalent types in any module (the spec's
type equivalence for types without recursion groups, which GC would add).  The characters are
never written out: signature strings that leave the process (the runtime's canonical type ids,
compiled into objects that a cache may reuse in another process) use `text`, which is stable.

Subtyping is the spec's: `(ref ht1) <: (ref null ht1)`, and heap types form the hierarchies
none <: i31, struct, array <: eq <: any; nofunc <: each function type <: func; noextern <: extern;
noexn <: exn.  A function type is a subtype only of itself (no GC declared subtypes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Heap type codes of the binary format (s33 LEB128s below zero, one byte each).
ABSTRACT_HEAP = {0x70: "func", 0x6F: "extern", 0x6E: "any", 0x6D: "eq", 0x6C: "i31", 0x6B: "struct",
                 0x6A: "array", 0x71: "none", 0x72: "noextern", 0x73: "nofunc", 0x69: "exn",
                 0x74: "noexn"}
# The hierarchy each abstract heap type belongs to (its top type).
TOP = {"func": "func", "nofunc": "func", "extern": "extern", "noextern": "extern", "any": "any",
       "eq": "any", "i31": "any", "struct": "any", "array": "any", "none": "any", "exn": "exn",
       "noexn": "exn"}
BOTTOM = {"func": "nofunc", "extern": "noextern", "any": "none", "exn": "noexn"}
_SUPERS = {"eq": {"any"}, "i31": {"eq", "any"}, "struct": {"eq", "any"}, "array": {"eq", "any"},
           "none": {"i31", "struct", "array", "eq", "any"}, "nofunc": {"func"},
           "noextern": {"extern"}, "noexn": {"exn"}}

Heap = str | object  # an abstract heap type's name, or a defined type (FuncType or DefType)


@dataclass(frozen=True)
class RecRef:
    """Inside a recursion group being read: a reference to its k-th type (iso-recursive types
    are compared with such references in place of the group's own indices)."""

    k: int


@dataclass(frozen=True)
class SubType:
    """One type of a recursion group: final or not, its declared supertypes (heaps, RecRef for
    the group's own) and its composite type (module.FuncType/StructType/ArrayType)."""

    final: bool
    supers: tuple
    comp: object


@dataclass(frozen=True)
class DefType:
    """A defined type other than a plain function type: the `index`-th type of a recursion
    group, keyed by the group's whole canonical structure, so equal keys mean equivalent types
    in any module (the spec's iso-recursive equivalence)."""

    group: tuple  # of SubType
    index: int

    @property
    def sub(self) -> SubType:
        return self.group[self.index]

    def supers(self) -> list:
        return [DefType(self.group, s.k) if isinstance(s, RecRef) else s for s in self.sub.supers]


def comp_valtypes(comp) -> list[str]:
    """The value types a composite type mentions (parameters, results, unpacked fields)."""
    if comp.kind == "func":
        return list(comp.params + comp.results)
    return [f.storage for f in comp.fields if f.storage not in ("8", "16")]  # not packed


def unroll(comp, heaps: list):
    """`comp` with each reference to its own recursion group (RecRef k) made a reference to the
    group's k-th canonical heap: the form the validator and the lowering read."""
    def own(t: str) -> str:
        r = _REF.get(t)
        if r is None or not isinstance(r[1], RecRef):
            return t
        return ref(r[0], heaps[r[1].k])

    if comp.kind == "func":
        return replace(comp, params="".join(map(own, comp.params)),
                       results="".join(map(own, comp.results)))
    if comp.kind == "struct":
        return replace(comp, fields=tuple(replace(f, storage=own(f.storage)) for f in comp.fields))
    return replace(comp, field=replace(comp.field, storage=own(comp.field.storage)))


def kind_of(heap: Heap) -> str:
    """A defined type's kind: "func", "struct" or "array"."""
    return heap.sub.comp.kind if isinstance(heap, DefType) else "func"  # type: ignore[attr-defined]

_CHAR: dict[tuple[bool, Heap], str] = {(True, "func"): "F", (True, "extern"): "E"}
_REF: dict[str, tuple[bool, Heap]] = {c: k for k, c in _CHAR.items()}
_NEXT = [0xE000]  # the private use area: never a letter the other value types use


def ref(nullable: bool, heap: Heap) -> str:
    """The character of `(ref null? heap)`."""
    key = (nullable, heap)
    c = _CHAR.get(key)
    if c is None:
        c = _CHAR[key] = chr(_NEXT[0])
        _REF[c] = key
        _NEXT[0] += 1
    return c


def is_ref(t: str) -> bool:
    return t in _REF


def unpack(t: str) -> tuple[bool, Heap]:
    """(nullable, heap type) of a reference type's character."""
    return _REF[t]


def top_of(heap: Heap) -> str:
    """The top of a heap type's hierarchy: "func", "extern", "any" or "exn"."""
    if isinstance(heap, str):
        return TOP[heap]
    return "func" if kind_of(heap) == "func" else "any"


def traced(t: str) -> bool:
    """Whether a value of type `t` may be a GC object (or hold one made extern), so the collector
    must see it: the any, extern and exn hierarchies (exceptions are GC objects too)."""
    return is_ref(t) and top_of(_REF[t][1]) != "func"


def family(t: str) -> str:
    """How a reference crosses the host boundary: "F" (a funcref record pointer) for the func
    hierarchy, "E" (an opaque host value) for every other one."""
    return "F" if top_of(_REF[t][1]) == "func" else "E"


_KIND_SUPERS = {"func": {"func"}, "struct": {"struct", "eq", "any"}, "array": {"array", "eq", "any"}}


def heap_sub(a: Heap, b: Heap) -> bool:
    if a == b:
        return True
    if isinstance(a, str):
        if isinstance(b, str):
            return b in _SUPERS.get(a, ())
        return a == BOTTOM[top_of(b)]  # nofunc / none are below every defined type of theirs
    if isinstance(b, str):
        return b in _KIND_SUPERS[kind_of(a)]
    # two defined types: along `a`'s declared supertypes (a plain function type has none)
    return isinstance(a, DefType) and any(heap_sub(s, b) for s in a.supers())


def subtype(a: str, b: str) -> bool:
    """Value type `a` matches `b` (equal, or both references and `a` the narrower)."""
    if a == b:
        return True
    ra, rb = _REF.get(a), _REF.get(b)
    if ra is None or rb is None:
        return False
    return (rb[0] or not ra[0]) and heap_sub(ra[1], rb[1])


def defaultable(t: str) -> bool:
    """Has a default value (a local need not be set before it is read): all but non-null refs."""
    r = _REF.get(t)
    return r is None or r[0]


def heap_text(heap: Heap) -> str:
    """A heap type as stable text: also the canonical spelling of a defined type in the
    runtime's type ids, so it names everything that makes two types different."""
    if isinstance(heap, str):
        return heap
    if isinstance(heap, RecRef):
        return f"rec.{heap.k}"
    if isinstance(heap, DefType):
        subs = " ".join(_sub_text(s) for s in heap.group)
        return f"(rec {subs}).{heap.index}"
    return f"(func {heap.params_text()} -> {heap.results_text()})"  # type: ignore[attr-defined]


def _sub_text(s: SubType) -> str:
    supers = "".join(f" {heap_text(h)}" for h in s.supers)
    return f"(sub{' final' if s.final else ''}{supers} {comp_text(s.comp)})"


def comp_text(comp) -> str:
    if comp.kind == "func":
        return heap_text(comp)
    body = " ".join(f"({'mut ' if f.mutable else ''}{_storage_text(f.storage)})"
                    for f in comp.fields)
    return f"({comp.kind} {body})"


def _storage_text(t: str) -> str:
    return {"8": "i8", "16": "i16"}.get(t) or ({"i": "i32", "l": "i64", "f": "f32", "d": "f64",
                                                  "v": "v128"}.get(t) or text(t))


def text(t: str) -> str:
    """A reference type as the text format writes it (stable across processes)."""
    nullable, heap = _REF[t]
    if nullable and heap in ("func", "extern"):
        return f"{heap}ref"
    return f"(ref {'null ' if nullable else ''}{heap_text(heap)})"


def sig_text(types: str) -> str:
    """A string of value type characters with each reference type other than F and E spelt out,
    for signature strings that leave the process (runtime type ids)."""
    if all(c < "\ue000" for c in types):
        return types
    return "".join(c if c < "\ue000" else f"<{text(c)}>" for c in types)


def host_letter(t: str) -> str:
    """A value type letter as the runtime and the host side see it: a reference type is "F" or
    "E" by its family; the other letters are themselves."""
    return family(t) if t in _REF else t
