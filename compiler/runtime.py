"""In-process embedding of compiled modules through ctypes (spec-test runner, Python API).

Strategy: the C runtime is built once into `libwasmc_rt.so` (link.runtime_shared_lib) and loaded with
RTLD_GLOBAL, so every compiled-module `.so` resolves its `wasmc_rt_*` references against that one copy
(one trap stack, one type-id table, one fault handler for the whole process).  Python objects here are
thin handles on the C objects: a `Memory` is a `wasmc_memory*`, a `Func` a `wasmc_funcref*`, and so on.
Values cross the boundary in 16-byte `wasmc_val` slots, packed with `struct` so that bit patterns (NaN
payloads) survive exactly; `Func.call_raw` exposes those bit patterns to the spec runner.

Lifetime: C objects are never freed from Python.  A funcref can sit in another instance's table long
after its own instance is unreachable from Python, so freeing would be unsafe; the leak is bounded by
what a test or program creates.  Python handles are kept in a process-wide registry keyed by the C
address, so a funcref read back from a table maps to the same `Func` (or `HostFunc`) object.

Import matching (spec "import subtyping") is done here, before the C instantiation, which only checks
that every import object exists.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from pathlib import Path

from .errors import LinkError
from .link import runtime_shared_lib
from .module import ExternKind, FuncType, Limits, Module
from .reftypes import heap_sub, host_letter, sig_text, subtype
from .traps import *

PAGE_SIZE = 65536
MAX_PAGES = 65536
NO_TABLE_MAX = 0xFFFFFFFF
SLOT = 16  # sizeof(wasmc_val)


# --- C struct mirrors -------------------------------------------------------------------------------
class CMemory(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("bytes", ctypes.c_uint64), ("max_pages", ctypes.c_uint64),
                ("reserved", ctypes.c_uint64), ("flags", ctypes.c_uint32), ("pad", ctypes.c_uint32)]


MEMORY_INDEX64, MEMORY_SHARED = 1, 2  # wasmc_memory.flags


class CFuncRef(ctypes.Structure):
    _fields_ = [("code", ctypes.c_void_p), ("instance", ctypes.c_void_p), ("type_id", ctypes.c_uint32),
                ("flags", ctypes.c_uint32)]


class CTable(ctypes.Structure):
    _fields_ = [("elems", ctypes.POINTER(ctypes.c_void_p)), ("size", ctypes.c_uint32),
                ("max", ctypes.c_uint32), ("elemtype", ctypes.c_uint8)]


class CInstance(ctypes.Structure):
    _fields_ = [("mem0_base", ctypes.c_void_p), ("memories", ctypes.POINTER(ctypes.c_void_p)),
                ("tables", ctypes.POINTER(ctypes.c_void_p)), ("globals", ctypes.POINTER(ctypes.c_void_p)),
                ("funcs", ctypes.POINTER(ctypes.c_void_p)), ("type_ids", ctypes.POINTER(ctypes.c_uint32)),
                ("data_segs", ctypes.c_void_p), ("elem_segs", ctypes.c_void_p),
                ("module", ctypes.c_void_p), ("host_data", ctypes.c_void_p),
                ("load_witness", ctypes.c_uint64), ("tags", ctypes.POINTER(ctypes.c_void_p))]


HOST_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)


class CHostFunc(ctypes.Structure):
    _fields_ = [("callback", HOST_CALLBACK), ("env", ctypes.c_void_p)]


class CModuleDesc(ctypes.Structure):
    _fields_ = [
        ("abi_version", ctypes.c_uint32), ("num_types", ctypes.c_uint32),
        ("type_sigs", ctypes.POINTER(ctypes.c_char_p)),
        ("num_imports", ctypes.c_uint32), ("imports", ctypes.c_void_p),
        ("num_funcs", ctypes.c_uint32), ("num_imported_funcs", ctypes.c_uint32),
        ("func_types", ctypes.POINTER(ctypes.c_uint32)), ("func_code", ctypes.POINTER(ctypes.c_void_p)),
        ("func_entries", ctypes.POINTER(ctypes.c_void_p)), ("host_stubs", ctypes.POINTER(ctypes.c_void_p)),
        ("num_tables", ctypes.c_uint32), ("num_imported_tables", ctypes.c_uint32),
        ("tables", ctypes.c_void_p),
        ("num_memories", ctypes.c_uint32), ("num_imported_memories", ctypes.c_uint32),
        ("memories", ctypes.c_void_p),
        ("num_globals", ctypes.c_uint32), ("num_imported_globals", ctypes.c_uint32),
        ("globals", ctypes.c_void_p),
        ("num_exports", ctypes.c_uint32), ("exports", ctypes.c_void_p),
        ("num_elems", ctypes.c_uint32), ("elems", ctypes.c_void_p),
        ("num_datas", ctypes.c_uint32), ("datas", ctypes.c_void_p),
        ("init_globals", ctypes.c_void_p), ("init_segments", ctypes.c_void_p),
        ("start_func", ctypes.c_int32), ("func_names", ctypes.c_void_p),
    ]


# --- the runtime library ----------------------------------------------------------------------------
_lib: ctypes.CDLL | None = None


def lib() -> ctypes.CDLL:
    """The runtime, built if needed and loaded once with RTLD_GLOBAL."""
    global _lib
    if _lib is None:
        dll = ctypes.CDLL(str(runtime_shared_lib()), mode=ctypes.RTLD_GLOBAL)
        p, u32, u64, i32, i64 = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int32,
                                 ctypes.c_int64)
        sigs = {
            "wasmc_rt_trap_message": (ctypes.c_char_p, [i32]),
            "wasmc_rt_type_id": (u32, [ctypes.c_char_p]),
            "wasmc_rt_instantiate": (i32, [p, p, p, ctypes.POINTER(p), ctypes.c_char_p, ctypes.c_size_t]),
            "wasmc_rt_instance_free": (None, [p]),
            "wasmc_rt_invoke": (i32, [p, u32, p]),
            "wasmc_rt_memory_new": (p, [u64, u64, u32]),
            "wasmc_rt_memory_grow_mem": (i64, [p, u64]),
            "wasmc_rt_table_new": (p, [u32, u32, u32]),
            "wasmc_rt_table_grow_tab": (i64, [p, p, u64]),
            "wasmc_rt_global_new": (p, []),
            "wasmc_rt_funcref_new": (p, [p, p, ctypes.c_char_p, u32]),
            "wasmc_rt_last_backtrace": (ctypes.c_size_t, [ctypes.c_char_p, ctypes.c_size_t]),
            "wasmc_rt_gc_pin": (None, [p]),
            "wasmc_rt_gc_collect": (None, []),
            "wasmc_rt_gc_live_objects": (u64, []),
        }
        for name, (res, args) in sigs.items():
            fn = getattr(dll, name)
            fn.restype, fn.argtypes = res, args
        _lib = dll
    return _lib


def trap_message(kind: int) -> str:
    return lib().wasmc_rt_trap_message(kind).decode()


def type_id(sig: str) -> int:
    return lib().wasmc_rt_type_id(sig.encode())


def signature(ft: FuncType) -> str:
    """The runtime's signature string (canonical type ids): typed references spelt out."""
    return f"{sig_text(ft.params)}:{sig_text(ft.results)}"


def last_backtrace() -> str:
    """The Wasm call chain of the most recent trap ("wasm backtrace:" block), or ""."""
    buf = ctypes.create_string_buffer(8192)
    n = lib().wasmc_rt_last_backtrace(buf, len(buf))
    return buf.raw[:n].decode(errors="replace")


class Trap(Exception):
    """A Wasm trap: `.kind` is the wasmc_trap number, `.message` the spec wording and
    `.backtrace` the chain of Wasm functions that led to it."""

    def __init__(self, kind: int, message: str | None = None, backtrace: str = ""):
        self.kind = kind
        self.message = message or trap_message(kind)
        self.backtrace = backtrace
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.backtrace}wasm trap: {self.message}" if self.backtrace else self.message


# --- value marshalling ------------------------------------------------------------------------------
# Raw bit patterns per type letter: struct format of the low bytes of a slot.
_RAW_FMT = {"i": "<I", "l": "<Q", "f": "<I", "d": "<Q", "F": "<Q", "E": "<Q"}
_MASK = {"i": 0xFFFFFFFF, "f": 0xFFFFFFFF, "l": (1 << 64) - 1, "d": (1 << 64) - 1,
         "F": (1 << 64) - 1, "E": (1 << 64) - 1, "v": (1 << 128) - 1}

# address of a funcref record -> the Python object standing for it (Func or HostFunc)
_funcs_by_addr: dict[int, Func | HostFunc] = {}


def _pack_raw(buf, i: int, t: str, bits: int) -> None:
    t = host_letter(t)
    if t == "v":
        struct.pack_into("<16s", buf, i * SLOT, (bits & _MASK["v"]).to_bytes(16, "little"))
    else:
        struct.pack_into(_RAW_FMT[t], buf, i * SLOT, bits & _MASK[t])


def _unpack_raw(buf, i: int, t: str) -> int:
    t = host_letter(t)
    if t == "v":
        return int.from_bytes(bytes(buf[i * SLOT:(i + 1) * SLOT]), "little")
    bits = struct.unpack_from(_RAW_FMT[t], buf, i * SLOT)[0]
    if t == "E" and bits:
        lib().wasmc_rt_gc_pin(bits)  # Python holds it now: a GC object must outlive the call
    return bits


def to_bits(t: str, value) -> int:
    """A Python value of Wasm type `t` as its bit pattern.

    Refs: None is null; a funcref is a Func/HostFunc (or a raw address); an externref int `n` is the
    host pointer n + 1, so that `ref.extern 0` is not null.
    """
    if t == "i":
        return value & 0xFFFFFFFF
    if t == "l":
        return value & _MASK["l"]
    if t == "f":
        return struct.unpack("<I", struct.pack("<f", value))[0]
    if t == "d":
        return struct.unpack("<Q", struct.pack("<d", value))[0]
    if t == "v":
        return value & _MASK["v"]
    if value is None:
        return 0
    if host_letter(t) == "F":
        return value.addr if isinstance(value, Func) else int(value)
    return int(value) + 1


def from_bits(t: str, bits: int):
    """The inverse of to_bits (i32/i64 come back signed)."""
    if t == "i":
        return bits - (1 << 32) if bits & 0x80000000 else bits
    if t == "l":
        return bits - (1 << 64) if bits >> 63 else bits
    if t == "f":
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    if t == "d":
        return struct.unpack("<d", struct.pack("<Q", bits))[0]
    if t == "v":
        return bits
    if bits == 0:
        return None
    if host_letter(t) == "F":
        return _funcs_by_addr.get(bits) or Func(bits, None)
    return bits - 1


# --- extern objects ---------------------------------------------------------------------------------
class Func:
    """A funcref record (`wasmc_funcref*`).  Callable when it belongs to an instance (`owner`)."""

    def __init__(self, addr: int, type: FuncType | None, owner: Instance | None = None,
                 index: int | None = None, heap: object = None):
        self.addr = addr
        self.type = type
        self.owner = owner
        self.index = index
        self.heap = heap or type  # its type as a heap type (a GC DefType, else the FuncType)

    def call_raw(self, args: list[int]) -> list[int]:
        """Call with bit patterns (one int per param); returns the results' bit patterns."""
        if self.owner is None or self.type is None:
            raise TypeError("this funcref does not belong to an instance known to Python")
        ft = self.type
        if len(args) != len(ft.params):
            raise TypeError(f"expected {len(ft.params)} arguments, got {len(args)}")
        buf = ctypes.create_string_buffer(SLOT * max(1, len(ft.params), len(ft.results)))
        for i, (t, a) in enumerate(zip(ft.params, args)):
            _pack_raw(buf, i, t, a)
        _HostErrors.clear()
        rc = lib().wasmc_rt_invoke(self.owner.ptr, self.index, buf)
        if rc == -1:
            raise RuntimeError(f"function {self.index} has no entry point")
        if rc != 0:
            raise _trap_from(rc)
        return [_unpack_raw(buf, i, t) for i, t in enumerate(ft.results)]

    def __call__(self, *args):
        ft = self.type
        if ft is None:
            raise TypeError("funcref of unknown type")
        res = self.call_raw([to_bits(t, a) for t, a in zip(ft.params, args, strict=True)])
        out = [from_bits(t, b) for t, b in zip(ft.results, res)]
        return None if not out else out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        return f"<Func {self.type} at 0x{self.addr:x}>"


class _HostErrors:
    """The last Python exception raised by a host function, to explain a WASMC_TRAP_HOST."""

    last: BaseException | None = None

    @classmethod
    def clear(cls) -> None:
        cls.last = None


def _trap_from(kind: int) -> Trap:
    bt = last_backtrace()
    if kind == TRAP_HOST and _HostErrors.last is not None:
        return Trap(kind, f"host function failed: {_HostErrors.last!r}", bt)
    return Trap(kind, backtrace=bt)


class HostFunc:
    """A Python function importable by modules: `HostFunc("ii", "l", fn)`.

    `fn` receives Python values (see to_bits/from_bits) and returns None, one value, or a sequence.
    Raising `Trap` traps with its kind; any other exception traps with WASMC_TRAP_HOST.
    """

    def __init__(self, params: str, results: str, fn: Callable):
        self.type = FuncType(params, results)
        self.heap = self.type
        self.fn = fn
        self._callback = HOST_CALLBACK(self._invoke)
        self._struct = CHostFunc(self._callback, None)
        self._records: dict[int, int] = {}  # id(module desc) -> funcref address (one per importer)

    def _invoke(self, _env, vals) -> int:
        try:
            ft = self.type
            buf = (ctypes.c_char * (SLOT * max(1, len(ft.params), len(ft.results)))).from_address(vals)
            args = [from_bits(t, _unpack_raw(buf, i, t)) for i, t in enumerate(ft.params)]
            res = self.fn(*args)
            if len(ft.results) == 0:
                res = []
            elif len(ft.results) == 1:
                res = [res]
            for i, (t, v) in enumerate(zip(ft.results, res, strict=True)):
                _pack_raw(buf, i, t, to_bits(t, v))
            return 0
        except Trap as e:
            return e.kind
        except BaseException as e:  # noqa: BLE001 - must not unwind through C frames
            _HostErrors.last = e
            return TRAP_HOST

    def record_for(self, desc: CModuleDesc, typeidx: int) -> int:
        """The funcref record binding this function into the module `desc` (through its host stub)."""
        key = ctypes.addressof(desc)
        if key not in self._records:
            stub = desc.host_stubs[typeidx] if desc.host_stubs else None
            if not stub:
                raise RuntimeError(f"module has no host stub for type {typeidx}")
            addr = lib().wasmc_rt_funcref_new(stub, ctypes.addressof(self._struct),
                                             signature(self.type).encode(), 0)
            if not addr:
                raise MemoryError("wasmc_rt_funcref_new")
            self._records[key] = addr
            _funcs_by_addr[addr] = self
        return self._records[key]

    def call_raw(self, args: list[int]) -> list[int]:
        ft = self.type
        res = self(*[from_bits(t, a) for t, a in zip(ft.params, args, strict=True)])
        res = [] if not ft.results else [res] if len(ft.results) == 1 else list(res)
        return [to_bits(t, v) for t, v in zip(ft.results, res)]

    def __call__(self, *args):
        return self.fn(*args)


class Memory:
    """A linear memory (`wasmc_memory*`) of address type `addrtype` ("i": i32, "l": i64)."""

    def __init__(self, addr: int, max: int | None, addrtype: str = "i"):
        self.addr = addr
        self.max = max
        self.addrtype = addrtype
        self._c = CMemory.from_address(addr)

    @property
    def shared(self) -> bool:
        """A shared memory (the threads proposal)."""
        return bool(self._c.flags & MEMORY_SHARED)

    @classmethod
    def new(cls, min: int, max: int | None = None, addrtype: str = "i",
            shared: bool = False) -> Memory:
        flags = (MEMORY_INDEX64 if addrtype == "l" else 0) | (MEMORY_SHARED if shared else 0)
        addr = lib().wasmc_rt_memory_new(min, 2**64 - 1 if max is None else max, flags)
        if not addr:
            raise MemoryError(f"cannot create memory ({min}, {max})")
        return cls(addr, max, addrtype)

    @property
    def pages(self) -> int:
        return self._c.bytes // PAGE_SIZE

    @property
    def limits(self) -> Limits:
        return Limits(self.pages, self.max)

    def __len__(self) -> int:
        return self._c.bytes

    def view(self) -> memoryview:
        """The live bytes (invalidated by grow only in length; the base never moves)."""
        return memoryview((ctypes.c_uint8 * self._c.bytes).from_address(self._c.base)).cast("B")

    def read(self, addr: int, n: int) -> bytes:
        if addr < 0 or n < 0 or addr + n > self._c.bytes:
            raise Trap(TRAP_MEMORY_OOB)
        return ctypes.string_at(self._c.base + addr, n)

    def write(self, addr: int, data: bytes) -> None:
        if addr < 0 or addr + len(data) > self._c.bytes:
            raise Trap(TRAP_MEMORY_OOB)
        ctypes.memmove(self._c.base + addr, bytes(data), len(data))

    def grow(self, delta: int) -> int:
        """memory.grow: the old size in pages, or -1."""
        if delta < 0:
            return -1
        return lib().wasmc_rt_memory_grow_mem(self.addr, delta)


class Table:
    """A table (`wasmc_table*`) of funcrefs ('F') or externrefs ('E'), indexed by `addrtype`
    ("i": i32, "l": i64)."""

    def __init__(self, addr: int, max: int | None, addrtype: str = "i", reftype: str | None = None):
        self.addr = addr
        self.max = max  # declared maximum (the C side cannot tell 0xFFFFFFFF from "none")
        self.addrtype = addrtype
        self._c = CTable.from_address(addr)
        self.reftype = reftype or self.elemtype  # its declared element type (3.0: typed refs)

    @classmethod
    def new(cls, elemtype: str, min: int, max: int | None = None, addrtype: str = "i") -> Table:
        cmax = NO_TABLE_MAX if max is None or max > NO_TABLE_MAX else max
        addr = lib().wasmc_rt_table_new(ord(elemtype), min, cmax)
        if not addr:
            raise MemoryError(f"cannot create table ({min}, {max})")
        return cls(addr, max, addrtype)

    @property
    def elemtype(self) -> str:
        return chr(self._c.elemtype)

    @property
    def size(self) -> int:
        return self._c.size

    @property
    def limits(self) -> Limits:
        return Limits(self.size, self.max)

    def get(self, i: int):
        if not 0 <= i < self._c.size:
            raise Trap(TRAP_TABLE_OOB)
        bits = self._c.elems[i] or 0
        if bits and host_letter(self.elemtype) == "E":
            lib().wasmc_rt_gc_pin(bits)  # the host holds it now (as _unpack_raw's values)
        return from_bits(self.elemtype, bits)

    def set(self, i: int, value) -> None:
        if not 0 <= i < self._c.size:
            raise Trap(TRAP_TABLE_OOB)
        self._c.elems[i] = to_bits(self.elemtype, value) or None

    def grow(self, delta: int, init=None) -> int:
        if delta < 0 or delta >= 2**64:
            return -1
        return lib().wasmc_rt_table_grow_tab(self.addr, to_bits(self.elemtype, init) or None, delta)


class Global:
    """A global cell (`wasmc_global_cell*`) of value type `valtype` (a letter)."""

    def __init__(self, addr: int, valtype: str, mutable: bool):
        self.addr = addr
        self.valtype = valtype
        self.mutable = mutable
        self._buf = (ctypes.c_char * SLOT).from_address(addr)

    @classmethod
    def new(cls, valtype: str, mutable: bool, value=0) -> Global:
        addr = lib().wasmc_rt_global_new()
        if not addr:
            raise MemoryError("wasmc_rt_global_new")
        g = cls(addr, valtype, mutable)
        g.raw = to_bits(valtype, value)
        return g

    @property
    def raw(self) -> int:
        return _unpack_raw(self._buf, 0, self.valtype)

    @raw.setter
    def raw(self, bits: int) -> None:
        _pack_raw(self._buf, 0, self.valtype, bits)

    @property
    def value(self):
        return from_bits(self.valtype, self.raw)

    @value.setter
    def value(self, v) -> None:
        self.raw = to_bits(self.valtype, v)


class Tag:
    """An exception tag (`wasmc_tag*`, Wasm 3.0): an identity with a payload type."""

    def __init__(self, addr: int, type: FuncType, heap: object = None):
        self.addr = addr
        self.type = type
        self.heap = heap or type  # its identity's type: tags match only an equal type


Extern = Func | HostFunc | Memory | Table | Global | Tag


# --- import matching --------------------------------------------------------------------------------
def _limits_match(actual: Limits, expected: Limits) -> bool:
    if actual.min < expected.min:
        return False
    return expected.max is None or (actual.max is not None and actual.max <= expected.max)


def _import_matches(module: Module, imp, ext) -> bool:
    if imp.kind == ExternKind.FUNC:  # a function of a declared subtype will do (GC)
        return isinstance(ext, (Func, HostFunc)) and heap_sub(ext.heap, module.heap(imp.desc))
    if imp.kind == ExternKind.TABLE:
        return (isinstance(ext, Table) and ext.reftype == imp.desc.elem
                and ext.addrtype == imp.desc.addrtype and _limits_match(ext.limits, imp.desc.limits))
    if imp.kind == ExternKind.MEMORY:
        return (isinstance(ext, Memory) and ext.addrtype == imp.desc.addrtype
                and ext.shared == imp.desc.shared and _limits_match(ext.limits, imp.desc.limits))
    if imp.kind == ExternKind.TAG:
        return isinstance(ext, Tag) and ext.heap == module.heap(imp.desc)
    # a mutable global's type must be equal (it is read and written), an immutable one's may be
    # narrower (3.0's subtyping)
    return (isinstance(ext, Global) and ext.mutable == imp.desc.mutable
            and (ext.valtype == imp.desc.valtype
                 or not ext.mutable and subtype(ext.valtype, imp.desc.valtype)))


# Compiled modules stay loaded for the life of the process: their code may sit in any table.
_LIVE_DLLS: list[ctypes.CDLL] = []


# --- instances --------------------------------------------------------------------------------------
class Instance:
    """An instance of a compiled module.

    `so_path` is the module's shared object (link.link_shared), `module` its IR, `imports` maps
    (module name, field name) to an extern.  Raises LinkError on a bad import and Trap when the
    active segments or the start function trap (their effects on imported objects persist).
    """

    def __init__(self, so_path: str | Path, module: Module,
                 imports: dict[tuple[str, str], Extern] | None = None, host_data: int | None = None):
        lib()
        imports = imports or {}
        self.module = module
        self.dll = ctypes.CDLL(str(so_path))
        _LIVE_DLLS.append(self.dll)
        self.desc = CModuleDesc.in_dll(self.dll, "wasmc_module_desc")

        resolved: list[Extern] = []
        for imp in module.imports:
            ext = imports.get((imp.module, imp.name))
            if ext is None:
                raise LinkError("unknown import", imp.offset)
            if not _import_matches(module, imp, ext):
                raise LinkError("incompatible import type", imp.offset)
            resolved.append(ext)
        self.imports = resolved

        c_imports = (ctypes.c_void_p * max(1, len(resolved)))()
        for k, (imp, ext) in enumerate(zip(module.imports, resolved)):
            c_imports[k] = ext.record_for(self.desc, imp.desc) if isinstance(ext, HostFunc) else ext.addr

        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(512)
        _HostErrors.clear()
        rc = lib().wasmc_rt_instantiate(ctypes.addressof(self.desc), c_imports, host_data,
                                        ctypes.byref(out), err, len(err))
        if rc == -1:
            raise LinkError(err.value.decode(errors="replace") or "instantiation failed")
        self.ptr = out.value
        self._c = CInstance.from_address(self.ptr)
        self._build_objects()
        if rc != 0:
            trap = _trap_from(rc)
            trap.instance = self  # type: ignore[attr-defined]  # partial effects stay visible
            raise trap

    def _build_objects(self) -> None:
        """Python handles for every function, memory, table and global in the index spaces."""
        m, c = self.module, self._c
        by_kind: dict[ExternKind, list[Extern]] = {k: [] for k in ExternKind}
        for imp, ext in zip(m.imports, self.imports):
            by_kind[imp.kind].append(ext)
        funcs = by_kind[ExternKind.FUNC]
        for i in range(len(funcs), len(m.func_type_indices())):
            f = Func(c.funcs[i], m.func_type(i), self, i, m.heap(m.func_type_indices()[i]))
            _funcs_by_addr.setdefault(f.addr, f)
            funcs.append(f)
        mems = by_kind[ExternKind.MEMORY]
        for i, mt in enumerate(m.mem_types()[len(mems):], start=len(mems)):
            mems.append(Memory(c.memories[i], mt.limits.max, mt.addrtype))
        tables = by_kind[ExternKind.TABLE]
        for i, tt in enumerate(m.table_types()[len(tables):], start=len(tables)):
            tables.append(Table(c.tables[i], tt.limits.max, tt.addrtype, tt.elem))
        tags = by_kind[ExternKind.TAG]
        for i, typeidx in enumerate(m.tag_types()[len(tags):], start=len(tags)):
            tags.append(Tag(c.tags[i], m.types[typeidx], m.heap(typeidx)))  # type: ignore[arg-type]
        globs = by_kind[ExternKind.GLOBAL]
        for i, gt in enumerate(m.global_types()[len(globs):], start=len(globs)):
            globs.append(Global(c.globals[i], gt.valtype, gt.mutable))
        self.funcs: list[Func | HostFunc] = funcs  # type: ignore[assignment]
        self.memories: list[Memory] = mems  # type: ignore[assignment]
        self.tables: list[Table] = tables  # type: ignore[assignment]
        self.globals: list[Global] = globs  # type: ignore[assignment]
        self.exports: dict[str, Extern] = {e.name: by_kind[e.kind][e.index] for e in m.exports}

    def __getitem__(self, name: str) -> Extern:
        return self.exports[name]
