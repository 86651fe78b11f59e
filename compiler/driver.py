"""The pipeline: decode -> validate -> lower -> optimise -> emit -> link.

Each phase is a visible step with its own timing (for `-v`/`--time`).  `compile_module` stops after
emitting an object (or LLVM IR / assembly); `build_executable` and `build_shared` add the link step
against the C runtime (see link.py).

Scale (modules of tens of MB): `compile_module` decodes only the sections and validates the
declarations here; the functions are split into partitions (module_lowering.plan_partitions) and
each partition's process runs the same phases on its own bodies -- decode, validate, lower,
optimise, codegen (`_compile_partition`) -- so the front end runs in parallel and no process
holds the decoded module.  The partition objects are merged into one (link.merge_objects).
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import hashlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import backend, cache, link
from .decode import decode_module, read_bodies
from .errors import DecodeError, InternalError, LimitError, ValidationError, WasmcError
from .features import DEFAULT as DEFAULT_FEATURES
from .features import Features, version_name
from .lower.module_lowering import (
    PartitionPlan,
    lower_partitions,
    partition_ir_text,
    plan_partitions,
)
from .module import Module
from .validate import check_bodies, check_declarations, check_start_and_exports, validate_module


@dataclass
class Options:
    opt_level: int = 2
    target_cpu: str | None = None
    jobs: int | None = None  # back-end processes; None = every core
    giant_threshold: int = 200_000  # body bytes: above this a function gets a cheaper pipeline
    progress: Callable[[int, int], None] | None = None  # (partitions done, total)
    bounds_checks: bool = False  # explicit checks on every access instead of guard pages alone
    features: Features = DEFAULT_FEATURES  # the WebAssembly version's rules (features.py)


@dataclass
class PhaseTimes:
    phases: list[tuple[str, float, str]] = field(default_factory=list)  # name, seconds, size note
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float, note: str = "") -> None:
        """Record a phase; a phase that runs in two steps (the module's sections in the driver,
        then the bodies in the partition processes) is one row, its times added up."""
        for k, (n, secs, old) in enumerate(self.phases):
            if n == name:
                self.phases[k] = (name, secs + seconds, "; ".join(x for x in (old, note) if x))
                return
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


def front_end(wasm: bytes, times: PhaseTimes | None = None, lazy_bodies: bool = False,
              features: Features = DEFAULT_FEATURES) -> Module:
    """Decode and validate.  With `lazy_bodies`, only the module's declarations: function bodies
    are left undecoded, to be decoded and validated a partition at a time by `compile_validated`
    in the processes that compile them (so no process holds a big module's decoded bodies)."""
    times = times or PhaseTimes()
    with _Timer(times, "decode") as t:
        module = decode_module(wasm, lazy_bodies, features)
        t.note = f"{len(wasm)} bytes" + (": sections" if lazy_bodies else "")
    with _Timer(times, "validate") as t:
        if lazy_bodies:
            check_start_and_exports(check_declarations(module), module)
            t.note = "declarations"
        else:
            validate_module(module)
    return module


def compile_module(wasm: bytes, opts: Options, emit: str = "obj",
                   times: PhaseTimes | None = None) -> tuple[bytes | str, Module]:
    """Compile to an object file's bytes (emit="obj"), LLVM IR text ("llvm") or assembly ("asm").

    Bodies are decoded and validated by partition, in parallel (see `front_end`).  That can find
    errors out of the spec's order (a body is checked after the sections that follow it, and
    partitions finish in any order), so on an error the module goes through the whole front end
    again, in order, which raises the first error as the spec defines it -- except when there is
    one partition: its bodies are decoded, then validated, in module order, so its first error
    is already the spec's."""
    times = times or PhaseTimes()
    try:
        module = front_end(wasm, times, lazy_bodies=True, features=opts.features)
    except (DecodeError, ValidationError, LimitError):
        front_end(wasm, features=opts.features)  # a body before the error may hold an earlier one
        raise
    return compile_validated(module, opts, emit, times), module


def compile_validated(module: Module, opts: Options, emit: str = "obj",
                      times: PhaseTimes | None = None) -> bytes | str:
    """The back half of the pipeline, for a module whose declarations have passed validation.

    Objects are built from partitions decoded (when `front_end` left their bodies undecoded),
    validated, lowered, optimised and code-generated in parallel processes (`-j`), then merged
    into one relocatable object; IR and assembly output come from one partition."""
    times = times or PhaseTimes()
    lazy = any(c.body is None for c in module.codes)
    if emit in ("llvm", "asm"):
        return _emit_text(module, opts, emit, times, lazy)
    jobs = opts.jobs or os.cpu_count() or 1
    plan = plan_partitions(module, jobs, opts.giant_threshold)
    # The module reaches the forked workers through this global, not as an argument: arguments
    # are pickled per task, and pickling millions of instructions cost more than lowering them.
    _FORK_SHARED.update(module=module, plan=plan,
                        ctx=check_declarations(module) if lazy else None)
    t0 = time.perf_counter()
    try:
        results = _run_partitions(replace(opts, progress=None), plan, jobs, opts.progress)
    except (DecodeError, ValidationError, LimitError):
        if plan.count > 1 and module.binary is not None:
            front_end(module.binary, features=module.features)  # the first error in module order
        raise
    finally:
        _FORK_SHARED.clear()
    wall = time.perf_counter() - t0
    objs = [r.obj for r in results]
    nproc = min(jobs, plan.count)
    where = f"in {plan.count} partition(s), {nproc} process(es)"
    if lazy:
        times.add("decode", sum(r.decode for r in results),
                  f"bodies: {sum(r.instrs for r in results)} instructions {where}")
        times.add("validate", sum(r.validate for r in results), "bodies")
    times.add("lower", sum(r.lower for r in results),
              f"{len(module.codes)} functions, {sum(r.ir_chars for r in results)} chars of IR")
    times.add("optimise", sum(r.optimise for r in results), f"{plan.count} partition(s), "
              f"{jobs} job(s)")
    times.add("codegen", sum(r.codegen for r in results),
              f"{sum(len(o) for o in objs)} bytes; partitions' wall time {wall:.3f} s")
    times.notes.append("(lower, optimise, codegen" + (" and the bodies' decode and validate"
                                                      if lazy else "") +
                       ": CPU seconds summed over the processes)")
    giants = [i for r in results for i in r.giant]
    if giants and opts.opt_level > 1:
        times.notes.append(f"{len(giants)} giant function(s) compiled at -O1: " +
                           ", ".join(module.func_name(i) for i in giants[:10]))
    for k, r in enumerate(results):
        if r.dispatch_crash is not None:
            times.notes.append(_dispatch_crash_note(k, r.dispatch_crash))
    if len(objs) == 1:
        return objs[0]
    with _Timer(times, "link") as t:
        t.note = f"{len(objs)} objects merged"
        return link.merge_objects(objs)


def _emit_text(module: Module, opts: Options, emit: str, times: PhaseTimes, lazy: bool) -> str:
    """LLVM IR (emit="llvm") or assembly ("asm") of the whole module as one partition."""
    plan = plan_partitions(module, 1, 1 << 62, 1 << 62)
    if lazy:
        with _Timer(times, "decode") as t:
            t.note = f"{read_bodies(module, plan.members[0])} instructions"
        with _Timer(times, "validate"):
            check_bodies(check_declarations(module), module, plan.members[0])

    def lower(dispatch: bool = True) -> tuple[str, bool]:
        with _Timer(times, "lower") as t, _no_gc():
            part = lower_partitions(module, 1, 1 << 62, bounds_checks=opts.bounds_checks,
                                    plan=plan, dispatch=dispatch,
                                    fast_isel=opts.opt_level == 0)[0]
            text = partition_ir_text(part)
            t.note = f"{len(module.codes)} functions, {len(text)} chars of IR"
            has_dispatch = part.dispatch
            _release(part)
        return text, has_dispatch

    def back_end(text: str, times: PhaseTimes) -> tuple[str, PhaseTimes]:
        tm = backend.target_machine(opts.opt_level, opts.target_cpu)
        with _Timer(times, "optimise"):
            mod = backend.parse(text)
            backend.optimise(mod, tm, opts.opt_level)
        if emit == "llvm":
            return str(mod), times
        with _Timer(times, "codegen") as t:
            out = backend.emit_assembly(mod, tm)
            t.note = f"{len(out)} chars"
        return out, times

    text, has_dispatch = lower()
    if has_dispatch and opts.opt_level > 0:
        done, crash = _guarded(lambda: back_end(text, PhaseTimes()))  # see _compile_partition
        if done is None:
            times.notes.append(_dispatch_crash_note(0, crash))
            text = lower(dispatch=False)[0]
        else:
            out, child = done  # type: ignore[misc]
            for row in child.phases:
                times.add(*row)
            return out
    return back_end(text, times)[0]


_FORK_SHARED: dict[str, object] = {}


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


def _release(part) -> None:
    """Free a printed partition's IR now, by reference counting: its objects form cycles, and
    the collector's walk over millions of them cost more than half as much as lowering them
    (measured on QuickJS: 0.84 s against 1.55 s; breaking the cycles, 0.17 s)."""
    release = getattr(part.ir, "release", None)  # llvmlite.ir (tests/test_irbuild.py) has none
    if release is not None:
        release()


@dataclass
class _PartitionResult:
    obj: bytes = b""
    error: bool = False  # a body was malformed or invalid (compile_validated finds which)
    instrs: int = 0
    decode: float = 0.0  # seconds of each phase
    validate: float = 0.0
    lower: float = 0.0
    optimise: float = 0.0
    codegen: float = 0.0
    ir_chars: int = 0
    giant: list[int] = field(default_factory=list)
    dispatch_crash: int | None = None  # exit status of LLVM's crash on the dispatch lowering


def _compile_partition(opts: Options, k: int, forked: bool = False) -> _PartitionResult:
    """One back-end task: decode and validate partition k's bodies (when the front end left
    them undecoded), lower, optimise and code-generate it.  Its bodies are dropped afterwards,
    so a process that compiles several partitions holds one partition's at a time.  Phases are
    timed in CPU seconds of this process, which other load on the machine does not inflate."""
    module: Module = _FORK_SHARED["module"]  # type: ignore[assignment]
    plan: PartitionPlan = _FORK_SHARED["plan"]  # type: ignore[assignment]
    ctx = _FORK_SHARED["ctx"]
    members = plan.members[k]
    r = _PartitionResult()
    clock = time.process_time

    def lower(dispatch: bool = True) -> tuple[str, int, bool]:
        t0 = clock()
        with _no_gc():
            part = lower_partitions(module, plan.count, opts.giant_threshold, only=k,
                                    bounds_checks=opts.bounds_checks, plan=plan,
                                    dispatch=dispatch, fast_isel=opts.opt_level == 0)[k]
            text = partition_ir_text(part)
            r.ir_chars, r.giant = len(text), part.giant
            level = opts.opt_level if part.opt_level is None else min(part.opt_level,
                                                                        opts.opt_level)
            has_dispatch = part.dispatch
            if not forked:  # freed before LLVM makes its copy, and before the collector is back
                _release(part)
            del part
        r.lower += clock() - t0
        return text, level, has_dispatch

    def back_end(text: str, level: int) -> tuple[bytes, float, float]:
        t0 = clock()
        tm = backend.target_machine(level, opts.target_cpu)
        mod = backend.parse(text)
        del text
        backend.optimise(mod, tm, level)
        t1 = clock()
        return backend.emit_object(mod, tm), t1 - t0, clock() - t1

    if forked:
        # The process exits after this partition, which frees everything at once: the collector
        # stays off, for it would walk the bodies as they are decoded and the IR when lowering
        # ended (measured on a 30 MB module: lowering 45.3 -> 40.5 CPU s).
        gc.disable()
    try:
        if ctx is not None:
            t0 = clock()
            try:
                r.instrs = read_bodies(module, members)
                t1 = clock()
                check_bodies(ctx, module, members)  # type: ignore[arg-type]
            except (DecodeError, ValidationError, LimitError):
                if not forked:
                    raise
                r.error = True  # an exception would lose its offset on the way back
                return r
            r.decode, r.validate = t1 - t0, clock() - t1
        text, level, has_dispatch = lower()
        if has_dispatch and level > 0:
            # The bodies are still here, for lowering again should LLVM crash (_guarded).
            done, r.dispatch_crash = _guarded(lambda: back_end(text, level))
            if done is not None:
                r.obj, r.optimise, r.codegen = done
                return r
            text, level, _ = lower(dispatch=False)
    finally:
        if ctx is not None:
            for i in members:
                module.codes[i].body = None
    r.obj, r.optimise, r.codegen = back_end(text, level)
    return r


def _dispatch_crash_note(k: int, status: int | None) -> str:
    return (f"partition {k}: LLVM died (exit status {status}) optimising a dispatch loop's "
            "indirect jump; lowered again with `switch` (an LLVM bug: dispatch_llvm_crash.wat)")


def _guarded(work: Callable[[], object]) -> tuple[object | None, int | None]:
    """`work()` in a forked process: (its result, None), or (None, exit status) when the process
    dies without one.  LLVM has crashed (segfaulted) optimising an interpreter's dispatch loop
    lowered as an `indirectbr` (regression dispatch_llvm_crash.wat), so a partition holding one
    is optimised apart, and lowered again without it if that process dies; the forking costs a
    few milliseconds and only such partitions pay it.  An exception in `work` is raised here."""
    # os.fork, not multiprocessing: this may run in a partition's process, and multiprocessing
    # forbids its (daemonic) processes children.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's stack
        try:
            os.close(read_end)
            faulthandler.disable()  # a crash here is expected and handled: no trace on stderr
            try:
                outcome: tuple[str, object] = ("ok", work())
            except BaseException as e:  # noqa: BLE001 - handed to the parent, which raises it
                outcome = ("raise", e)
            try:
                data = pickle.dumps(outcome)
            except Exception as e:  # noqa: BLE001 - an exception that does not pickle
                data = pickle.dumps(("raise", InternalError(f"{outcome[1]!r} ({e})")))
            with os.fdopen(write_end, "wb") as f:
                f.write(data)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        data = f.read()
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if not data:
        return None, status
    kind, value = pickle.loads(data)
    if kind == "raise":
        raise value  # type: ignore[misc]
    return value, None


def _run_partitions(opts: Options, plan: PartitionPlan, jobs: int,
                    progress: Callable[[int, int], None] | None) -> list[_PartitionResult]:
    """`_compile_partition` for every partition, in `jobs` forked processes (llvmlite holds the
    GIL and LLVM contexts are per process here, so processes, not threads), heaviest first;
    in this process when there is one partition or one job.  Results in partition order.
    The first malformed or invalid body stops everything (compile_validated reports it)."""
    total = plan.count
    order = sorted(range(total), key=lambda k: -plan.weight[k])
    results: dict[int, _PartitionResult] = {}

    def done(k: int, r: _PartitionResult) -> None:
        if r.error:
            raise ValidationError("malformed or invalid function body", None)
        results[k] = r
        if progress:
            progress(len(results), total)

    if total == 1 or jobs <= 1:
        for k in order:
            done(k, _compile_partition(opts, k))
    else:
        # Objects alive now are shared with the workers by fork; frozen, the collector never
        # writes to them, so their pages stay shared instead of being copied into each worker.
        gc.collect()
        gc.freeze()
        try:
            for k, r in _forked_partitions(opts, order, min(jobs, total)):
                done(k, r)  # an error stops here; _forked_partitions kills the other processes
        finally:
            gc.unfreeze()
    return [results[k] for k in range(total)]


def _forked_partitions(opts: Options, order: list[int], jobs: int):
    """Yield (k, result) of `_compile_partition` for each partition in `order`, each in a forked
    process of its own (see _compile_partition), at most `jobs` at a time, as they finish.  A
    process that dies without a result (LLVM crashing on it) raises InternalError; a pool would
    wait for it forever."""
    ctx = multiprocessing.get_context("fork")
    pending = list(order)
    running: dict = {}  # receiving end of its pipe -> (k, process)
    try:
        while pending or running:
            while pending and len(running) < jobs:
                k = pending.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_partition_process, args=(opts, k, send), daemon=True)
                proc.start()
                send.close()
                running[recv] = (k, proc)
            for conn in multiprocessing.connection.wait(list(running)):
                k, proc = running.pop(conn)
                try:
                    outcome = conn.recv()
                except EOFError:
                    proc.join()
                    raise InternalError(f"the back-end process for partition {k} died (exit "
                                        f"status {proc.exitcode}): a bug in wasmc or LLVM") from None
                finally:
                    conn.close()
                proc.join()
                if isinstance(outcome, BaseException):
                    raise outcome
                yield k, outcome
    finally:
        for conn, (_, proc) in running.items():
            proc.kill()
            proc.join()
            conn.close()


def _partition_process(opts: Options, k: int, conn) -> None:
    try:
        outcome = _compile_partition(opts, k, forked=True)
    except BaseException as e:  # noqa: BLE001 - handed to the parent, which raises it
        outcome = e
    try:
        conn.send(outcome)
    except Exception as e:  # noqa: BLE001 - an exception that does not pickle
        conn.send(InternalError(f"partition {k}: {type(outcome).__name__}: {outcome} ({e})"))
    conn.close()


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


def build_shared(wasm: bytes, opt_level: int = 1, bounds_checks: bool = False,
                 features: Features = DEFAULT_FEATURES) -> tuple[Path, Module]:
    """Compile to a shared object for in-process use (spec runner, Python API); cached by content."""
    fingerprint = (f"|O{opt_level}|bc={bounds_checks}|wasm={version_name(features)}|"
                   f"{cache.fingerprint()}|{link.runtime_shared_lib()}")
    key = hashlib.sha256(wasm + fingerprint.encode()).hexdigest()
    cache_dir = link.cache_root() / "modules"
    cache_dir.mkdir(parents=True, exist_ok=True)
    so = cache_dir / f"{key[:32]}.so"
    module = front_end(wasm, features=features)
    if so.exists():
        cache.touch(so)
        return so, module
    obj = compile_validated(module, Options(opt_level=opt_level, bounds_checks=bounds_checks,
                                            features=features))
    with tempfile.TemporaryDirectory(prefix="wasmc-", dir=cache_dir) as tmp:
        obj_path = Path(tmp) / "module.o"
        obj_path.write_bytes(obj)  # type: ignore[arg-type]
        tmp_so = Path(tmp) / "module.so"
        link.link_shared(obj_path, tmp_so)
        os.replace(tmp_so, so)
    cache.prune()
    return so, module
