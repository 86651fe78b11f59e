"""`wasmc inspect`: what a module contains and which Wasm features it uses.

Sections are listed from the binary (id, offset, size) and the rest from the decoded module, so a
user sees at once whether wasmc supports a module: features are found by scanning the instructions
once against the opcode table, not by trying to compile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .decode import decode_module
from .features import (
    EXCEPTION_HANDLING,
    FUNCTION_REFERENCES,
    GC_ARRAYS,
    GC_REFS,
    GC_STRUCTS,
    LEGACY_EXCEPTIONS,
    RELAXED_SIMD,
    TAIL_CALL,
    THREADS,
)
from .module import ExternKind, Module, valtype_text
from .opcodes import BY_NAME
from .reftypes import DefType
from .validate import CONST_OPS

SECTION_NAMES = ["custom", "type", "import", "function", "table", "memory", "global", "export",
                 "start", "element", "code", "data", "data count", "tag"]

SIGN_EXTENSION = {"i32.extend8_s", "i32.extend16_s", "i64.extend8_s", "i64.extend16_s",
                  "i64.extend32_s"}
REFERENCE_OPS = {"ref.null", "ref.is_null", "ref.func", "table.get", "table.set", "table.grow",
                 "table.size", "table.fill", "select_t"}
BULK_OPS = {"memory.init", "data.drop", "memory.copy", "memory.fill", "table.init", "elem.drop",
            "table.copy"}


@dataclass
class Summary:
    sections: list[tuple[str, int, int]] = field(default_factory=list)  # name, offset, size
    counts: dict[str, int] = field(default_factory=dict)
    imports: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    code_bytes: int = 0
    instructions: int = 0

    def to_dict(self) -> dict:
        return {"sections": [{"name": n, "offset": o, "size": s} for n, o, s in self.sections],
                "counts": self.counts, "imports": self.imports, "exports": self.exports,
                "features": self.features, "code_bytes": self.code_bytes,
                "instructions": self.instructions}

    def text(self) -> str:
        out = ["sections:"]
        out += [f"  {n:<20} offset 0x{o:<8x} {s:>10} bytes" for n, o, s in self.sections]
        out.append("counts: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        out.append(f"code: {self.code_bytes} bytes, {self.instructions} instructions")
        out.append("imports:" + ("" if self.imports else " none"))
        out += [f"  {i}" for i in self.imports]
        out.append("exports:" + ("" if self.exports else " none"))
        out += [f"  {e}" for e in self.exports]
        out.append("features: " + (", ".join(self.features) or "MVP only"))
        return "\n".join(out)


def read_sections(data: bytes) -> list[tuple[str, int, int]]:
    """(name, offset, size) of each section; assumes the module already decoded."""
    pos, out = 8, []
    while pos < len(data):
        sid = data[pos]
        size, shift, p = 0, 0, pos + 1
        while True:
            b = data[p]
            size |= (b & 0x7F) << shift
            shift += 7
            p += 1
            if not b & 0x80:
                break
        name = SECTION_NAMES[sid] if sid < len(SECTION_NAMES) else f"id {sid}"
        if sid == 0:
            n, q = data[p], p + 1  # custom section names are short in practice
            name = f"custom {data[q:q + n].decode('utf-8', 'replace')!r}"
        out.append((name, pos, size))
        pos = p + size
    return out


def features_of(m: Module) -> list[str]:
    names: set[str] = set()
    for code in m.codes:
        for ins in code.body:
            names.add(ins.op.name)
    feats = []
    if any(n.startswith(("v128", "i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2"))
           for n in names):
        feats.append("SIMD")
    if names & BULK_OPS or any(e.mode.value == "passive" for e in m.elems) or \
            any(d.mode.value == "passive" for d in m.datas):
        feats.append("bulk memory")
    if names & REFERENCE_OPS or len(m.table_types()) > 1 or \
            any("E" in t.params + t.results for t in m.types):
        feats.append("reference types")
    if any(len(t.results) > 1 for t in m.types):
        feats.append("multi-value")
    if names & SIGN_EXTENSION:
        feats.append("sign extension")
    if any("trunc_sat" in n for n in names):
        feats.append("non-trapping float-to-int")
    if any(i.kind is ExternKind.GLOBAL and i.desc.mutable for i in m.imports):
        feats.append("mutable-global imports")
    # Wasm 3.0's, as far as wasmc builds them (features.py)
    proposals = {op.feature for n in names if (op := BY_NAME.get(n)) and op.feature}
    if len(m.mem_types()) > 1:
        feats.append("multi-memory (3.0)")
    if any(t.addrtype == "l" for t in (*m.mem_types(), *m.table_types())):
        feats.append("memory64 (3.0)")
    typed = [t for ft in m.types for t in ft.params + ft.results]
    typed += [t.elem for t in m.table_types()] + [g.valtype for g in m.global_types()]
    typed += [t for c in m.codes for _, t in c.locals]
    if FUNCTION_REFERENCES in proposals or any(t.init for t in m.tables) or \
            any(t >= "\ue000" for t in typed):
        feats.append("typed function references (3.0)")
    if EXCEPTION_HANDLING in proposals or m.tag_types():
        feats.append("exception handling (3.0)")
    if LEGACY_EXCEPTIONS in proposals:
        feats.append("legacy exception handling (try, catch, delegate, rethrow)")
    if any(isinstance(h, DefType) for h in m.heaps):
        feats.append("GC types: recursion groups, subtypes, structs, arrays (3.0)")
    if GC_REFS in proposals:
        feats.append("GC references: i31, ref.eq, casts, extern/any conversions (3.0)")
    if GC_STRUCTS in proposals:
        feats.append("GC structs (3.0)")
    if GC_ARRAYS in proposals:
        feats.append("GC arrays (3.0)")
    if THREADS in proposals or any(t.shared for t in m.mem_types()):
        feats.append("threads: shared memories, atomics")
    if TAIL_CALL in proposals:
        feats.append("tail calls (3.0)")
    if RELAXED_SIMD in proposals:
        feats.append("relaxed SIMD (3.0)")
    exprs = [g.init for g in m.globals] + [x.offset_expr or [] for x in (*m.elems, *m.datas)]
    if any(i.op.name not in CONST_OPS for e in exprs for i in e):
        feats.append("extended constant expressions (3.0)")
    if any(i.module.startswith("wasi_snapshot_preview1") for i in m.imports):
        feats.append("WASI preview1")
    return feats


def _limits(lim) -> str:
    return f"{lim.min}..{'' if lim.max is None else lim.max}"


def describe_extern(m: Module, kind: ExternKind, desc) -> str:
    if kind is ExternKind.FUNC:
        return f"func {m.types[desc]}"
    if kind is ExternKind.TABLE:
        i64 = "i64 " if desc.addrtype == "l" else ""
        return f"table {i64}{valtype_text(desc.elem)} {_limits(desc.limits)}"
    if kind is ExternKind.MEMORY:
        return f"memory {'i64 ' if desc.addrtype == 'l' else ''}{_limits(desc.limits)} pages"
    if kind is ExternKind.TAG:
        return f"tag {m.types[desc].params_text()}"
    return f"global {'mut ' if desc.mutable else ''}{valtype_text(desc.valtype)}"


def summarise(data: bytes) -> Summary:
    m = decode_module(data)
    s = Summary(sections=read_sections(data))
    s.counts = {"types": len(m.types), "imports": len(m.imports), "functions": len(m.codes),
                "tables": len(m.table_types()), "memories": len(m.mem_types()),
                "globals": len(m.global_types()), "tags": len(m.tag_types()), "exports": len(m.exports),
                "element segments": len(m.elems), "data segments": len(m.datas)}
    s.code_bytes = sum(c.size for c in m.codes)
    s.instructions = sum(len(c.body) for c in m.codes)
    s.imports = [f"{i.module}::{i.name}: {describe_extern(m, i.kind, i.desc)}" for i in m.imports]
    index_types = {ExternKind.FUNC: m.func_type_indices(), ExternKind.TABLE: m.table_types(),
                   ExternKind.MEMORY: m.mem_types(), ExternKind.GLOBAL: m.global_types(),
                   ExternKind.TAG: m.tag_types()}
    s.exports = [f"{e.name}: {describe_extern(m, e.kind, index_types[e.kind][e.index])}"
                 for e in m.exports]
    s.features = features_of(m)
    return s
