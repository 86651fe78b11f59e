"""Optimise and emit: LLVM IR text -> optimised module -> object code / assembly.

Uses llvmlite's new-pass-manager pipeline (`default<O1..3>`); `-O0` skips optimisation but still
runs code generation.  The target machine is the host CPU by default (`--target-cpu`), with a PIC
relocation model so the same object links into executables and shared objects.
"""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import time

import llvmlite.binding as llvm


@functools.cache
def _init() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()


def target_machine(opt_level: int, cpu: str | None = None):
    _init()
    target = llvm.Target.from_triple("x86_64-pc-linux-gnu")
    if cpu in (None, "native", "host"):
        cpu_name = llvm.get_host_cpu_name()
        features = llvm.get_host_cpu_features().flatten()
    else:
        cpu_name, features = cpu, ""
    return target.create_target_machine(cpu=cpu_name, features=features, opt=min(opt_level, 3),
                                        reloc="pic", codemodel="default")


def parse(ir_text: str):
    _init()
    mod = llvm.parse_assembly(ir_text)
    mod.verify()
    return mod


def optimise(mod, tm, opt_level: int) -> None:
    if opt_level <= 0:
        return
    pto = llvm.create_pipeline_tuning_options(speed_level=min(opt_level, 3))
    pto.loop_vectorization = opt_level >= 2
    pto.slp_vectorization = opt_level >= 2
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModuleManager() if hasattr(pb, "getModuleManager") else pb.getModulePassManager()
    mpm.run(mod, pb)


def emit_object(mod, tm) -> bytes:
    return tm.emit_object(mod)


def emit_assembly(mod, tm) -> str:
    return tm.emit_assembly(mod)


def llvm_version() -> tuple[int, ...]:
    return tuple(llvm.llvm_version_info)


def compile_one(job: tuple[str, int, str | None]) -> tuple[bytes, float, float]:
    """Optimise and code-generate one partition: (object, optimise seconds, codegen seconds)."""
    text, level, cpu = job
    tm = target_machine(level, cpu)
    t0 = time.perf_counter()
    mod = parse(text)
    optimise(mod, tm, level)
    t1 = time.perf_counter()
    obj = emit_object(mod, tm)
    return obj, t1 - t0, time.perf_counter() - t1


def run_parallel(fn, args: list, workers: int, progress=None) -> list:
    """fn(*a) for each a, in forked processes when there are several (llvmlite holds the GIL and
    LLVM contexts are per process here, so processes, not threads).  Order is kept; `progress`
    is called with (done, total) as each finishes."""
    total = len(args)
    if total == 1 or workers <= 1:
        out = []
        for a in args:
            out.append(fn(*a))
            if progress:
                progress(len(out), total)
        return out
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(min(workers, total), mp_context=ctx) as pool:
        futures = [pool.submit(fn, *a) for a in args]
        for done, _ in enumerate(concurrent.futures.as_completed(futures), 1):
            if progress:
                progress(done, total)
        return [f.result() for f in futures]
