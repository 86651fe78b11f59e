"""Run one module and one call plan on two engines and record what is observable.

A *plan* is a list of `Call(export, args)` with arguments as bit patterns.  An *outcome* records, per
call, the results (bits) or the trap class; every host-function call (name, arguments); and at the
end the bytes of every exported memory and the values of exported globals.  Both engines get the
same host functions (`host_behaviour`): imports named `trap*` raise a host trap, every other
function import is logged and returns zeros.

wasmtime (the oracle) runs in-process with fuel, so an infinite loop ends as a `hang`.  wasmc runs in
a forked child under a wall-clock timeout: a module may loop forever, and a wasmc bug
may crash the process (a fault outside the guard region kills it instead of trapping).

Trap kinds differ in naming between the engines; both map onto the classes in `TRAP_CLASSES`.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import wasmtime

from .values import from_py, to_py

FUEL_PER_CALL = 50_000_000
REPO = Path(__file__).resolve().parent.parent

# wasmc.runtime trap numbers -> class
WASMC_TRAPS = {1: "unreachable", 2: "memory", 3: "table", 4: "table", 5: "null-call", 6: "bad-sig",
               7: "div-zero", 8: "int-overflow", 9: "bad-conversion", 10: "stack", 11: "null-ref",
               12: "host", 13: "exit", 14: "exception", 15: "cast", 16: "array",
               17: "alloc-too-large", 18: "gc-oom", 19: "unaligned", 20: "wait-unshared"}
WASMTIME_TRAPS = {
    wasmtime.TrapCode.STACK_OVERFLOW: "stack", wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "memory",
    wasmtime.TrapCode.HEAP_MISALIGNED: "unaligned", wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "table",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "null-call", wasmtime.TrapCode.BAD_SIGNATURE: "bad-sig",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "int-overflow",
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "div-zero",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "bad-conversion",
    wasmtime.TrapCode.UNREACHABLE: "unreachable", wasmtime.TrapCode.NULL_REFERENCE: "null-ref",
    wasmtime.TrapCode.CAST_FAILURE: "cast", wasmtime.TrapCode.ARRAY_OUT_OF_BOUNDS: "array",
    wasmtime.TrapCode.ALLOCATION_TOO_LARGE: "alloc-too-large",
    wasmtime.TrapCode.ATOMIC_WAIT_NON_SHARED_MEMORY: "wait-unshared",
    wasmtime.TrapCode.OUT_OF_FUEL: "hang", wasmtime.TrapCode.INTERRUPT: "hang",
}
TRAP_CLASSES = sorted(set(WASMC_TRAPS.values()) | set(WASMTIME_TRAPS.values()))


@dataclass(frozen=True)
class Call:
    export: str
    args: list  # bit patterns (None for a null reference)


@dataclass
class CallResult:
    export: str
    status: str  # "ok", "trap", "hang"
    values: list = field(default_factory=list)  # [type letter, bits]
    trap: str = ""
    detail: str = ""


BIG_MEMORY = 64 << 20  # above this, a final memory is compared by per-MiB digests, not bytes
DIGEST_CHUNK = 1 << 20


@dataclass(frozen=True)
class BigMemory:
    """A final memory too big to ship between processes (a module that grew to gigabytes would
    need a multi-gigabyte JSON message): its size and a SHA-256 per MiB.  NaN payloads, which
    `values.memory_diff` excuses byte by byte, are not excused here."""

    size: int
    digests: tuple[str, ...]


def memory_snapshot(view) -> bytes | BigMemory:
    """The bytes of a final memory (any buffer), or their digests when it is big."""
    mv = memoryview(view).cast("B")
    if len(mv) <= BIG_MEMORY:
        return bytes(mv)
    return BigMemory(len(mv), tuple(hashlib.sha256(mv[i:i + DIGEST_CHUNK]).hexdigest()
                                    for i in range(0, len(mv), DIGEST_CHUNK)))


@dataclass
class Outcome:
    """What one engine did with one module and plan.  `status` is "ok" unless the whole run failed:
    "invalid" (the engine rejected the module), "unlinkable", "timeout", "crash", "error"."""

    status: str = "ok"
    detail: str = ""
    start: CallResult | None = None  # instantiation (segments, start function)
    calls: list[CallResult] = field(default_factory=list)
    log: list = field(default_factory=list)  # [call index, import name, [[t, bits], ...]]
    memories: dict = field(default_factory=dict)  # export name -> bytes (hex in JSON) | BigMemory
    globals: dict = field(default_factory=dict)  # export name -> [t, bits]
    # wasmc only: memory 0's page limit after instantiation, 65535 when wasmc capped it (address
    # folds and range witnesses need memory 0 below 4 GiB - 64 KiB; see compiler/lower/addressing.py)
    mem0_max_pages: int | None = None

    def to_json(self) -> str:
        d = asdict(self)
        d["memories"] = {k: v.hex() if isinstance(v, bytes) else {"size": v.size, "digests": v.digests}
                         for k, v in self.memories.items()}
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        d = json.loads(text)
        d["memories"] = {k: bytes.fromhex(v) if isinstance(v, str)
                         else BigMemory(v["size"], tuple(v["digests"]))
                         for k, v in d["memories"].items()}
        d["start"] = CallResult(**d["start"]) if d["start"] else None
        d["calls"] = [CallResult(**c) for c in d["calls"]]
        return cls(**d)


class HostTrap(Exception):
    """Raised by the `trap*` host functions in both engines."""


def host_behaviour(name: str) -> str:
    return "trap" if name.startswith("trap") else "log"


# --- wasmtime ---------------------------------------------------------------------------------------
_VT = {"i32": "i", "i64": "l", "f32": "f", "f64": "d", "funcref": "F", "externref": "E"}


def letter(vt: wasmtime.ValType) -> str:
    return _VT.get(str(vt), "?")


def wasm2_config(fuel: bool = True) -> wasmtime.Config:
    """wasmtime restricted to the Wasm 2.0 feature set wasmc implements (SIMD left on: harmless)."""
    cfg = wasmtime.Config()
    cfg.consume_fuel = fuel
    for feature in ("wasm_tail_call", "wasm_gc", "wasm_function_references", "wasm_multi_memory",
                    "wasm_memory64", "wasm_threads", "wasm_exceptions", "wasm_relaxed_simd",
                    "wasm_wide_arithmetic", "wasm_custom_page_sizes", "wasm_stack_switching"):
        try:
            setattr(cfg, feature, False)
        except (AttributeError, wasmtime.WasmtimeError):
            pass
    return cfg


_ENGINE: wasmtime.Engine | None = None


def use_tail_calls() -> None:
    """Let wasmtime run tail calls (Wasm 3.0), for a campaign whose modules use them."""
    use_features(wasm_tail_call=True)


def use_features(**flags: bool) -> None:
    """Let wasmtime run the Wasm 3.0 features a campaign's modules use (`wasm_exceptions`...),
    besides those asked for before (a wasmtime Config is used up by its engine: rebuilt)."""
    global _ENGINE
    if _ENGINE is None:
        _FEATURES.clear()
    _FEATURES.update(flags)
    cfg = wasm2_config()
    for name, on in _FEATURES.items():
        setattr(cfg, name, on)
    _ENGINE = wasmtime.Engine(cfg)


_FEATURES: dict[str, bool] = {}  # what use_features turned on for the current engine


def engine() -> wasmtime.Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = wasmtime.Engine(wasm2_config())
    return _ENGINE


def export_types(wasm: bytes) -> dict[str, tuple[str, str]]:
    """Exported functions of a module as name -> (param letters, result letters), per wasmtime."""
    module = wasmtime.Module(engine(), wasm)
    out = {}
    for e in module.exports:
        if isinstance(e.type, wasmtime.FuncType):
            out[e.name] = ("".join(letter(p) for p in e.type.params),
                           "".join(letter(r) for r in e.type.results))
    return out


def _trap_words(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return next((ln for ln in reversed(lines) if "wasm trap:" in ln), lines[-1] if lines else "")


def _wasmtime_trap(e: BaseException) -> tuple[str, str]:
    if isinstance(e, wasmtime.Trap):
        code = e.trap_code
        if code is None:  # an uncaught exception is a trap without a code
            return "exception" if "thrown Wasm exception" in str(e) else "host", _trap_words(e)
        return WASMTIME_TRAPS.get(code, f"other:{code}"), _trap_words(e)
    if isinstance(e, (HostTrap, wasmtime.WasmtimeError)):
        return "host", str(e).splitlines()[0] if str(e) else type(e).__name__
    raise e


def run_wasmtime(wasm: bytes, plan: list[Call], fuel: int = FUEL_PER_CALL,
                 memory_pages: int | None = None) -> Outcome:
    """`memory_pages`: a limit on each memory's size (a `memory.grow` past it returns -1, which
    the spec allows an implementation to do for any reason)."""
    out = Outcome()
    store = wasmtime.Store(engine())
    if memory_pages is not None:
        store.set_limits(memory_size=memory_pages * 65536)
    try:
        module = wasmtime.Module(engine(), wasm)
    except wasmtime.WasmtimeError as e:
        return Outcome("invalid", str(e).splitlines()[-1])
    current = [-1]  # index of the call being made, for the log

    def host(name: str, ft: wasmtime.FuncType):
        params = [letter(p) for p in ft.params]
        results = [letter(r) for r in ft.results]

        def fn(*args):
            out.log.append([current[0], name, [[t, from_py(t, a)] for t, a in zip(params, args)]])
            if host_behaviour(name) == "trap":
                raise HostTrap(name)
            zeros = [0 if t in "il" else 0.0 if t in "fd" else None for t in results]
            return None if not zeros else zeros[0] if len(zeros) == 1 else zeros
        return wasmtime.Func(store, ft, fn)

    imports = []
    for imp in module.imports:
        if not isinstance(imp.type, wasmtime.FuncType):
            return Outcome("unlinkable", f"cannot provide import {imp.module}.{imp.name}")
        imports.append(host(imp.name, imp.type))
    store.set_fuel(fuel)
    try:
        instance = wasmtime.Instance(store, module, imports)
    except (wasmtime.Trap, HostTrap) as e:
        kind, detail = _wasmtime_trap(e)
        out.start = CallResult("<start>", "hang" if kind == "hang" else "trap", trap=kind, detail=detail)
        return out
    except wasmtime.WasmtimeError as e:
        return Outcome("unlinkable", str(e).splitlines()[0])
    exports = instance.exports(store)
    for k, call in enumerate(plan):
        current[0] = k
        f = exports[call.export]
        ft = f.type(store)
        params = [letter(p) for p in ft.params]
        results = [letter(r) for r in ft.results]
        store.set_fuel(fuel)
        try:
            res = f(store, *[to_py(t, a) for t, a in zip(params, call.args)])
        except (wasmtime.Trap, HostTrap, wasmtime.WasmtimeError) as e:
            kind, detail = _wasmtime_trap(e)
            out.calls.append(CallResult(call.export, "hang" if kind == "hang" else "trap", trap=kind,
                                        detail=detail))
            if kind == "hang":
                break
            continue
        res = [] if not results else [res] if len(results) == 1 else list(res)
        out.calls.append(CallResult(call.export, "ok", [[t, from_py(t, v)] for t, v in zip(results, res)]))
    for e in module.exports:
        ext = exports[e.name]
        if isinstance(ext, wasmtime.Memory):
            n = ext.data_len(store)
            raw = (ctypes.c_ubyte * n).from_address(ctypes.addressof(ext.data_ptr(store).contents))
            out.memories[e.name] = memory_snapshot(raw)
        elif isinstance(ext, wasmtime.Global):
            t = letter(ext.type(store).content)
            if t in "ilfd":
                out.globals[e.name] = [t, from_py(t, ext.value(store))]
    return out


# --- wasmc ------------------------------------------------------------------------------------------
def run_wasmc(wasm: bytes, plan: list[Call]) -> Outcome:
    """In this process: compile with wasmc and run the plan (the forked child of run_wasmc_isolated)."""
    from wasmc.driver import build_shared
    from wasmc.errors import LinkError, WasmcError
    from wasmc.module import ExternKind
    from wasmc.runtime import Func, Global, HostFunc, Instance, Memory, Trap

    out = Outcome()
    try:
        # WASMC_BOUNDS_CHECKS=1: explicit bounds checks, where even a load whose value is unused
        # traps exactly (the default guard-page mode lets LLVM delete such loads).
        # WASMC_OPT_LEVEL: the optimisation level (default 1, as the spec runner).
        so, module = build_shared(wasm, opt_level=int(os.environ.get("WASMC_OPT_LEVEL", "1")),
                                  bounds_checks=os.environ.get("WASMC_BOUNDS_CHECKS") == "1")
    except WasmcError as e:
        return Outcome("invalid", f"{type(e).__name__}: {e}")
    current = [-1]
    imports = {}
    for imp in module.imports:
        if imp.kind != ExternKind.FUNC:
            return Outcome("unlinkable", f"cannot provide import {imp.module}.{imp.name}")
        ft = module.types[imp.desc]

        def fn(*args, name=imp.name, ft=ft):
            out.log.append([current[0], name, [[t, from_py(t, a)] for t, a in zip(ft.params, args)]])
            if host_behaviour(name) == "trap":
                raise HostTrap(name)
            zeros = [0 if t in "il" else 0.0 if t in "fd" else None for t in ft.results]
            return None if not zeros else zeros[0] if len(zeros) == 1 else zeros
        imports[(imp.module, imp.name)] = HostFunc(ft.params, ft.results, fn)
    try:
        inst = Instance(so, module, imports)
    except Trap as e:
        out.start = CallResult("<start>", "trap", trap=WASMC_TRAPS.get(e.kind, str(e.kind)),
                               detail=e.message)
        return out
    except LinkError as e:
        return Outcome("unlinkable", str(e))
    if inst.memories:
        out.mem0_max_pages = inst.memories[0]._c.max_pages
    for k, call in enumerate(plan):
        current[0] = k
        f = inst.exports[call.export]
        assert isinstance(f, Func)
        try:
            res = f.call_raw([0 if a is None else a for a in call.args])
        except Trap as e:
            out.calls.append(CallResult(call.export, "trap", trap=WASMC_TRAPS.get(e.kind, str(e.kind)),
                                        detail=e.message))
            continue
        out.calls.append(CallResult(call.export, "ok",
                                    [[t, (b or None) if t in "FE" else b]
                                     for t, b in zip(f.type.results, res)]))
    for e in module.exports:
        ext = inst.exports[e.name]
        if isinstance(ext, Memory):
            out.memories[e.name] = memory_snapshot(ext.view())
        elif isinstance(ext, Global) and ext.valtype in "ilfd":
            out.globals[e.name] = [ext.valtype, ext.raw]
    return out


def _limit_child() -> None:
    # No RLIMIT_AS here: the child reserves 8 GiB of address space per linear memory by design.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_wasmc_subprocess(wasm: bytes, plan: list[Call], timeout: float) -> Outcome:
    """`run_wasmc` in a fresh interpreter (`fuzz.worker`): slower to start than a fork, but safe
    from any process."""
    import subprocess

    payload = json.dumps({"wasm": wasm.hex(), "plan": [[c.export, c.args] for c in plan]})
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    try:
        proc = subprocess.run([sys.executable, "-m", "fuzz.worker"], input=payload, capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=REPO, preexec_fn=_limit_child,
                              check=False)
    except subprocess.TimeoutExpired:
        return Outcome("timeout", f"wasmc did not finish in {timeout:.0f} s")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        return Outcome("crash", f"worker exit status {proc.returncode}\n{tail}")
    return Outcome.from_json(lines[-1])


def run_wasmc_isolated(wasm: bytes, plan: list[Call], timeout: float = 60.0) -> Outcome:
    """`run_wasmc` in a forked child; a timeout or a dead child becomes the outcome's status.

    A fork of this (already importing) process rather than a fresh interpreter: the child starts in
    milliseconds instead of the ~0.8 s that importing llvmlite and wasmc again would cost, which
    was half of the fuzzer's time per module.  The child touches nothing of wasmtime's."""
    import select
    import signal
    import tempfile
    import threading
    import traceback

    if threading.active_count() > 1:
        # Forked from a threaded process (a pytest-xdist worker) the child could inherit a lock
        # another thread holds and hang: use a fresh interpreter there.
        return _run_wasmc_subprocess(wasm, plan, timeout)

    from wasmc import runtime as _preload  # noqa: F401 - import before fork, once per process

    r, w = os.pipe()
    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed on each parent path; the child _exits
    pid = os.fork()
    if pid == 0:  # the child: run, write one JSON line, leave without Python's cleanup
        try:
            os.close(r)
            os.dup2(err.fileno(), 2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            _limit_child()
            try:
                outcome = run_wasmc(wasm, plan)
            except Exception:  # noqa: BLE001 - any escape is a finding, reported not raised
                tb = traceback.format_exc().strip().splitlines()
                outcome = Outcome("error", "\n".join(tb[-8:]))
            data = outcome.to_json().encode()
            while data:
                data = data[os.write(w, data):]
        finally:
            os._exit(0)
    os.close(w)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        err.close()
        return Outcome("timeout", f"wasmc did not finish in {timeout:.0f} s")
    out = b"".join(chunks).decode(errors="replace").strip()
    if status != 0 or not out:
        err.seek(0)
        tail = "\n".join(err.read().decode(errors="replace").strip().splitlines()[-6:])
        err.close()
        return Outcome("crash", f"worker exit status {os.waitstatus_to_exitcode(status)}\n{tail}")
    err.close()
    return Outcome.from_json(out)
