"""The pipeline: decode -> validate -> lower -> optimise -> emit -> link.

Each phase is a visible step with its own timing (for `-v`/`--time`).  `compile_module` stops after
emitting an object (or LLVM IR / assembly); `build_executable` and `build_shared` add the link step
against the C runtime (see link.py).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import backend, cache, link
from .decode import decode_module
from .errors import WasmcError
from .lower.module_lowering import count_partitions, lower_partitions, partition_ir_text
from .module import Module
from .validate import validate_module


@dataclass
class Options:
    opt_level: int = 2
    target_cpu: str | None = None
    jobs: int | None = None  # back-end processes; None = every core
    giant_threshold: int = 100_000  # instructions: above this a function gets a cheaper pipeline
    progress: Callable[[int, int], None] | None = None  # (partitions done, total)
    bounds_checks: bool = False  # explicit checks on every access instead of guard pages alone


@dataclass
class PhaseTimes:
    phases: list[tuple[str, float, str]] = field(default_factory=list)  # name, seconds, size note
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float, note: str = "") -> None:
        self.phases.append((name, seconds, note))

    def table(self) -> str:
        lines = [f"{'phase':<10} {'seconds':>9}  size"]
        for name, secs, note in self.phases:
            lines.append(f"{name:<10} {secs:>9.3f}  {note}")
        total = sum(s for _, s, _ in self.phases)
        lines.append(f"{'total':<10} {total:>9.3f}")
        return "\n".join(lines + self.notes)


class _Timer:
    def __init__(self, times: PhaseTimes, name: str):
        self.times, self.name, self.note = times, name, ""

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.times.add(self.name, time.perf_counter() - self.t0, self.note)
        return False


def read_input(path: str | os.PathLike) -> bytes:
    """Module bytes from a .wasm file, or from .wat/.wast text through wasmtime's parser."""
    data = Path(path).read_bytes()
    if data[:4] == b"\0asm":
        return data
    if str(path).endswith((".wat", ".wast")):
        try:
            import wasmtime
        except ImportError as e:  # pragma: no cover - wasmtime is a test dependency
            raise WasmcError("text input needs the `wasmtime` package (pip install wasmtime)") \
                from e
        try:
            return wasmtime.wat2wasm(data.decode("utf-8"))
        except Exception as e:  # wasmtime raises its own error type with a good message
            raise WasmcError(f"cannot parse text module: {e}") from None
    return data


def front_end(wasm: bytes, times: PhaseTimes | None = None) -> Module:
    times = times or PhaseTimes()
    with _Timer(times, "decode") as t:
        module = decode_module(wasm)
        t.note = f"{len(wasm)} bytes"
    with _Timer(times, "validate"):
        validate_module(module)
    return module


def compile_module(wasm: bytes, opts: Options, emit: str = "obj",
                   times: PhaseTimes | None = None) -> tuple[bytes | str, Module]:
    """Compile to an object file's bytes (emit="obj"), LLVM IR text ("llvm") or assembly ("asm")."""
    times = times or PhaseTimes()
    module = front_end(wasm, times)
    return compile_validated(module, opts, emit, times), module


def compile_validated(module: Module, opts: Options, emit: str = "obj",
                      times: PhaseTimes | None = None) -> bytes | str:
    """The back half of the pipeline, for a module that has passed validation.

    Objects are built from partitions optimised and code-generated in parallel processes (`-j`),
    then merged into one relocatable object; IR and assembly output come from one partition."""
    times = times or PhaseTimes()
    if emit in ("llvm", "asm"):
        with _Timer(times, "lower") as t, _no_gc():
            part = lower_partitions(module, 1, 1 << 62, bounds_checks=opts.bounds_checks)[0]
            text = partition_ir_text(part)
            t.note = f"{len(module.codes)} functions, {len(text)} chars of IR"
        tm = backend.target_machine(opts.opt_level, opts.target_cpu)
        with _Timer(times, "optimise"):
            mod = backend.parse(text)
            backend.optimise(mod, tm, opts.opt_level)
        if emit == "llvm":
            return str(mod)
        with _Timer(times, "codegen") as t:
            out = backend.emit_assembly(mod, tm)
            t.note = f"{len(out)} chars"
        return out
    jobs = opts.jobs or os.cpu_count() or 1
    nparts = count_partitions(module, jobs, opts.giant_threshold)
    t0 = time.perf_counter()
    # The module reaches the forked workers through this global, not as an argument: arguments
    # are pickled per task, and pickling millions of instructions cost more than lowering them.
    _FORK_SHARED["module"] = module
    try:
        results = backend.run_parallel(_lower_and_compile,
                                       [(replace(opts, progress=None), jobs, k)
                                        for k in range(nparts)], jobs, opts.progress)
    finally:
        _FORK_SHARED.clear()
    wall = time.perf_counter() - t0
    objs = [r[0] for r in results]
    times.add("lower", sum(r[3] for r in results),
              f"{len(module.codes)} functions, {sum(r[4] for r in results)} chars of IR")
    times.add("optimise", sum(r[1] for r in results), f"{nparts} partition(s), {jobs} job(s)")
    times.add("codegen", sum(r[2] for r in results),
              f"{sum(len(o) for o in objs)} bytes; lower+back end wall time {wall:.3f} s")
    giants = [i for r in results for i in r[5]]
    if giants:
        times.notes.append(f"{len(giants)} giant function(s) compiled at -O1: " +
                           ", ".join(module.func_name(i) for i in giants[:10]))
    return objs[0] if len(objs) == 1 else link.merge_objects(objs)


_FORK_SHARED: dict[str, Module] = {}


@contextlib.contextmanager
def _no_gc():
    """Lowering allocates millions of objects and frees almost none until the partition is done,
    so each of Python's full collections rescans the decoded module and the growing IR for
    nothing (measured: 4.4 of 7.6 s on a 0.8M-instruction module).  Reference counting still
    frees what it can; the cyclic collector waits until the end."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _lower_and_compile(opts: Options, jobs: int, k: int):
    """One back-end process: lower partition k, optimise and code-generate it."""
    module = _FORK_SHARED["module"]
    t0 = time.perf_counter()
    with _no_gc():
        part = lower_partitions(module, jobs, opts.giant_threshold, only=k,
                                bounds_checks=opts.bounds_checks)[k]
        text = partition_ir_text(part)
    lower_secs = time.perf_counter() - t0
    level = opts.opt_level if part.opt_level is None else min(part.opt_level, opts.opt_level)
    obj, opt_secs, cg_secs = backend.compile_one((text, level, opts.target_cpu))
    return obj, opt_secs, cg_secs, lower_secs, len(text), part.giant


def build_executable(wasm: bytes, out: Path, opts: Options,
                     times: PhaseTimes | None = None, grants: Sequence[str] = ()) -> Module:
    """Compile and link an executable; `grants` (`--dir=...`, `--env=...`) are baked into it."""
    times = times or PhaseTimes()
    obj, module = compile_module(wasm, opts, "obj", times)
    with tempfile.TemporaryDirectory(prefix="wasmc-") as tmp:
        obj_path = Path(tmp) / "module.o"
        obj_path.write_bytes(obj)  # type: ignore[arg-type]
        with _Timer(times, "link"):
            link.link_executable(obj_path, out, grants)
    return module


def build_shared(wasm: bytes, opt_level: int = 1,
                 bounds_checks: bool = False) -> tuple[Path, Module]:
    """Compile to a shared object for in-process use (spec runner, Python API); cached by content."""
    fingerprint = (f"|O{opt_level}|bc={bounds_checks}|{cache.fingerprint()}|"
                   f"{link.runtime_shared_lib()}")
    key = hashlib.sha256(wasm + fingerprint.encode()).hexdigest()
    cache_dir = link.cache_root() / "modules"
    cache_dir.mkdir(parents=True, exist_ok=True)
    so = cache_dir / f"{key[:32]}.so"
    module = front_end(wasm)
    if so.exists():
        cache.touch(so)
        return so, module
    obj = compile_validated(module, Options(opt_level=opt_level, bounds_checks=bounds_checks))
    with tempfile.TemporaryDirectory(prefix="wasmc-", dir=cache_dir) as tmp:
        obj_path = Path(tmp) / "module.o"
        obj_path.write_bytes(obj)  # type: ignore[arg-type]
        tmp_so = Path(tmp) / "module.so"
        link.link_shared(obj_path, tmp_so)
        os.replace(tmp_so, so)
    cache.prune()
    return so, module
