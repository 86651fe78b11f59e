"""The Python API: `wasmc.compile` to files, `wasmc.load` to call a module from Python.

`load` compiles the module to native code (a shared object, cached by content) and instantiates
it in this process; exports come back as callable Python objects (numbers in, numbers out, traps
as `wasmc.Trap`), memories as `Memory` objects with a `memoryview`, and imports may be plain Python
callables: their Wasm type is taken from the module's import declaration.

    >>> import wasmc
    >>> inst = wasmc.load("examples/add.wat")
    >>> inst.exports["add"](2, 40)
    42
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from . import driver
from .module import ExternKind, Module
from .runtime import Func, Global, HostFunc, Instance, Memory, Table, Trap

Extern = Func | HostFunc | Memory | Table | Global

__all__ = ["Func", "Global", "HostFunc", "Instance", "Memory", "Table", "Trap", "compile", "load"]


def _module_bytes(module: str | os.PathLike | bytes) -> bytes:
    if isinstance(module, (bytes, bytearray, memoryview)):
        return bytes(module)
    return driver.read_input(module)


def compile(module: str | os.PathLike | bytes, output: str | os.PathLike | None = None, *,
            emit: str = "exe", opt_level: int = 2, target_cpu: str | None = None,
            jobs: int | None = None, grants: Sequence[str] = ()) -> Path | bytes | str:
    """Compile a module (a path to .wasm/.wat, or the bytes).

    emit="exe" links an executable at `output` and returns its path; "obj" returns object bytes
    (also written to `output` if given); "llvm"/"asm" return text.  `grants` are `--dir=H::G` /
    `--env=N=V` strings baked into an executable.  Raises `wasmc.errors.WasmcError` subclasses for
    malformed or invalid modules."""
    wasm = _module_bytes(module)
    opts = driver.Options(opt_level=opt_level, target_cpu=target_cpu, jobs=jobs)
    if emit == "exe":
        if output is None:
            raise ValueError("emit='exe' needs an output path")
        driver.build_executable(wasm, Path(output), opts, grants=grants)
        return Path(output)
    result, _ = driver.compile_module(wasm, opts, emit)
    if output is not None:
        mode = "wb" if isinstance(result, bytes) else "w"
        with open(output, mode) as f:
            f.write(result)
    return result


def _resolve_imports(module: Module, imports) -> dict[tuple[str, str], Extern]:
    """Accept {module: {name: extern}} or {(module, name): extern}; wrap plain callables."""
    flat: dict[tuple[str, str], object] = {}
    for key, value in (imports or {}).items():
        if isinstance(key, tuple):
            flat[key] = value
        elif isinstance(value, Mapping):
            for name, ext in value.items():
                flat[(key, name)] = ext
        else:
            raise TypeError(f"imports: expected {{module: {{name: value}}}}, got key {key!r}")
    resolved: dict[tuple[str, str], Extern] = {}
    for imp in module.imports:
        key = (imp.module, imp.name)
        if key not in flat:
            continue
        ext = flat[key]
        if imp.kind is ExternKind.FUNC and callable(ext) and not isinstance(ext, (Func, HostFunc)):
            ft = module.types[imp.desc]  # type: ignore[index]
            ext = HostFunc(ft.params, ft.results, ext)
        resolved[key] = ext  # type: ignore[assignment]
    return resolved


def load(module: str | os.PathLike | bytes,
         imports: Mapping[object, object] | None = None, *, opt_level: int = 2,
         bounds_checks: bool = False) -> Instance:
    """Compile (cached) and instantiate a module in this process.

    `imports` maps module name -> field name -> a Python callable, `HostFunc`, or an export of
    another instance (`Func`, `Memory`, `Table`, `Global`).  `bounds_checks=True` checks every
    memory access explicitly (exact traps even for loads whose value is unused).  Raises `wasmc.errors.LinkError` for a
    missing or mismatched import and `wasmc.Trap` if the start function traps."""
    wasm = _module_bytes(module)
    so, ir_module = driver.build_shared(wasm, opt_level=opt_level, bounds_checks=bounds_checks)
    return Instance(so, ir_module, _resolve_imports(ir_module, imports))


HostCallable = Callable[..., object]
