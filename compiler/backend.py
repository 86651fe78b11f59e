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


def compile_partitions(jobs: list[tuple[str, int, str | None]], workers: int):
    """Compile partitions, in parallel processes when there are several (LLVM holds the GIL and
    is not thread-safe across contexts here, so processes, not threads)."""
    if len(jobs) == 1 or workers <= 1:
        return [compile_one(j) for j in jobs]
    ctx = multiprocessing.get_context("fork")
    # Largest partitions first so the slowest one starts at once.
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))
    with concurrent.futures.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx) as pool:
        futures = {i: pool.submit(compile_one, jobs[i]) for i in order}
        return [futures[i].result() for i in range(len(jobs))]
