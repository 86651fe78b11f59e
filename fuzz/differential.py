"""Differential fuzzing: every export of random valid modules under wasmc and under wasmtime.

    python -m fuzz.differential --seed 1 --count 100 [--gen binaryen|lowering|both] [--out DIR]

Module `i` of a campaign comes from seed `seed * 1_000_003 + i`, alternating generators, so any
single module can be regenerated (`--only N`).  Each module gets a plan: every exported function
(in export order) with arguments from `values.random_arg`, twice; for binaryen modules the
`hangLimitInitializer` export runs before each call.  The outcome of both engines (results, trap
classes, host-call log, exported memories and globals) is compared by `compare`.

Two semantics, one per wasmc mode.  With explicit bounds checks (`WASMC_BOUNDS_CHECKS=1`, the
exact embedding mode) everything is compared, including memory and globals after a trap and the
calls that follow it.  In the default guard-page mode -- what executables use -- a trap ends the
plan, as it ends a command (`wasmc run`, `./app`), and the state it leaves is not compared: LLVM
may move a store across a load it cannot know will fault, so after a trap memory can hold a store
that comes later in Wasm order (or lack one that came earlier), which no command can observe.
The trap itself, its kind, every result and host call before it are compared in both modes.

Not counted as mismatches (reported as skips): modules wasmtime rejects (a generator bug), modules
that hang in wasmtime (fuel) -- the plan is cut before the hanging call and the rest compared --
wasmc wall-clock timeouts that a second run with HANG_FACTOR times the limit clears (a loaded
machine), and differences that follow a stack overflow in either engine (the two have different
stack limits).  A module wasmc still has not finished after that, where wasmtime finished every
call within its fuel, is a mismatch: a hang (tests/regressions/store_before_endless_loop.wat was
one, found only by reading the skips).

Every mismatching module is written to `--out` (default build/fuzz/) as NAME.wasm plus NAME.txt
(the differences); `python -m fuzz.minimise NAME.wasm` shrinks it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import engines, gen_binaryen, gen_lowering
from .engines import Call, CallResult, Outcome, export_types, run_wasmc_isolated, run_wasmtime
from .values import memory_diff, random_arg, same_value, show

GENERATORS = {"binaryen": gen_binaryen.generate, "lowering": gen_lowering.generate}
HANG_RESET = "hangLimitInitializer"


def make_plan(wasm: bytes, rng: random.Random, rounds: int = 2) -> list[Call]:
    types = export_types(wasm)
    plan = []
    for _ in range(rounds):
        for name, (params, _results) in types.items():
            if name == HANG_RESET:
                continue
            if HANG_RESET in types:
                plan.append(Call(HANG_RESET, []))
            plan.append(Call(name, [random_arg(t, rng) for t in params]))
    return plan


def _call_diff(k: int, exp: CallResult, got: CallResult) -> str | None:
    where = f"call #{k} {exp.export}"
    if exp.status != got.status or exp.trap != got.trap:
        e = exp.trap and f"trap {exp.trap}" or exp.status
        g = got.trap and f"trap {got.trap}" or got.status
        return f"{where}: expected {e} ({exp.detail or show_values(exp.values)}), " \
               f"got {g} ({got.detail or show_values(got.values)})"
    if len(exp.values) != len(got.values) or not all(
            te == tg and same_value(te, be, bg) for (te, be), (tg, bg) in zip(exp.values, got.values)):
        return f"{where}: expected {show_values(exp.values)}, got {show_values(got.values)}"
    return None


def show_values(values) -> str:
    return "[" + ", ".join(show(t, b) for t, b in values) + "]"


def command_semantics() -> bool:
    """The default guard-page mode: a trap ends the run and its final state is not compared."""
    return os.environ.get("WASMC_BOUNDS_CHECKS") != "1"


def first_trap(out: Outcome) -> int | None:
    return next((k for k, c in enumerate(out.calls) if c.status == "trap"), None)


def compare(exp: Outcome, got: Outcome, state_after_trap: bool = True) -> tuple[list[str], str | None]:
    """(differences, skip reason).  `exp` is wasmtime's outcome and must have status "ok".
    `state_after_trap=False`: memories and globals are not compared when a call trapped."""
    if got.status == "timeout":
        return [], "wasmc timeout"
    if got.status != "ok":
        return [f"wasmc {got.status}: {got.detail}"], None
    diffs: list[str] = []
    if (exp.start is None) != (got.start is None) or (exp.start and (
            exp.start.trap, exp.start.status) != (got.start.trap, got.start.status)):
        return [f"instantiation: expected {exp.start}, got {got.start}"], None
    for k, (e, g) in enumerate(zip(exp.calls, got.calls)):
        d = _call_diff(k, e, g)
        if d and "stack" in (e.trap, g.trap):
            return diffs, "stack limits differ"
        if d:
            diffs.append(d)
            break  # later calls see a different state; the first difference is the finding
    if len(exp.calls) != len(got.calls) and not diffs:
        diffs.append(f"expected {len(exp.calls)} calls, got {len(got.calls)}")
    diffs += _log_diff(exp.log, got.log)
    trapped = exp.start is not None and exp.start.status == "trap" or first_trap(exp) is not None
    if not diffs and (state_after_trap or not trapped):
        for name, mem in exp.memories.items():
            diffs += [f"memory {name!r}: {d}" for d in memory_diff(mem, got.memories.get(name, b""))]
        for name, (t, bits) in exp.globals.items():
            gt, gbits = got.globals.get(name, (t, None))
            if gbits is None or not same_value(t, bits, gbits):
                diffs.append(f"global {name!r}: expected {show(t, bits)}, got {gbits and show(gt, gbits)}")
    return diffs, None


def _log_diff(exp: list, got: list) -> list[str]:
    for i, (e, g) in enumerate(zip(exp, got)):
        if e[0] != g[0] or e[1] != g[1] or not all(
                te == tg and same_value(te, be, bg) for (te, be), (tg, bg) in zip(e[2], g[2])):
            return [(f"host call #{i}: expected {e[1]}{show_values(e[2])} in call #{e[0]}, "
                     f"got {g[1]}{show_values(g[2])} in call #{g[0]}")]
    if len(exp) != len(got):
        return [f"host calls: expected {len(exp)}, got {len(got)}"]
    return []


@dataclass
class ModuleResult:
    name: str
    status: str  # "match", "mismatch", "skip"
    reason: str = ""
    diffs: list[str] = field(default_factory=list)
    calls: int = 0
    seconds: float = 0.0


CAPPED_PAGES = 65535


def cut_at_trap(wasm: bytes, plan: list[Call], exp: Outcome, command: bool,
                memory_pages: int | None = None) -> tuple[list[Call], Outcome]:
    """With command semantics a trap ends the run: the plan up to wasmtime's first trap, and
    wasmtime's outcome for it."""
    k = first_trap(exp)
    if command and k is not None and k + 1 < len(plan):
        plan = plan[:k + 1]
        exp = run_wasmtime(wasm, plan, memory_pages=memory_pages)
    return plan, exp


HANG_FACTOR = 4  # a wasmc timeout is run again with this many times the limit (check_module)


def check_module(wasm: bytes, rng: random.Random, timeout: float = 60.0) -> ModuleResult:
    """Run one module on both engines and compare (name left empty for the caller)."""
    try:
        plan = make_plan(wasm, rng)
    except Exception as e:  # noqa: BLE001 - wasmtime rejected the module: a generator problem
        return ModuleResult("", "skip", f"wasmtime rejects: {str(e).splitlines()[-1]}")
    exp = run_wasmtime(wasm, plan)
    if exp.status != "ok":
        return ModuleResult("", "skip", f"wasmtime {exp.status}: {exp.detail}")
    if exp.start and exp.start.status == "hang":
        return ModuleResult("", "skip", "start function hangs")
    if exp.calls and exp.calls[-1].status == "hang":  # cut the plan before the hanging call
        plan = plan[:len(exp.calls) - 1]
        exp = run_wasmtime(wasm, plan)
    full_plan = plan
    command = command_semantics()
    plan, exp = cut_at_trap(wasm, plan, exp, command)
    got = run_wasmc_isolated(wasm, plan, timeout)
    diffs, skip = compare(exp, got, state_after_trap=not command)
    if diffs and got.mem0_max_pages == CAPPED_PAGES:
        # wasmc capped memory 0 one page short of 4 GiB (a `memory.grow` to the last page returns
        # -1, as the spec allows), or it was declared so: compare with wasmtime under the same
        # limit, from the start.
        exp = run_wasmtime(wasm, full_plan, memory_pages=CAPPED_PAGES)
        plan, exp = cut_at_trap(wasm, full_plan, exp, command, CAPPED_PAGES)
        got = run_wasmc_isolated(wasm, plan, timeout)
        diffs, skip = compare(exp, got, state_after_trap=not command)
    if skip == "wasmc timeout":
        # wasmtime ran this plan within its fuel; native code that needs several times the limit
        # for it is not slow but stuck (a lost trap before an endless loop, say).
        longer = run_wasmc_isolated(wasm, plan, timeout * HANG_FACTOR)
        if longer.status == "timeout":
            hang = f"wasmc hang: {longer.detail}, where wasmtime finished the plan"
            return ModuleResult("", "mismatch", diffs=[hang], calls=len(plan))
        diffs, skip = compare(exp, longer, state_after_trap=not command)
    if skip:
        return ModuleResult("", "skip", skip, calls=len(plan))
    return ModuleResult("", "mismatch" if diffs else "match", diffs=diffs, calls=len(plan))


def module_seed(seed: int, i: int) -> int:
    return seed * 1_000_003 + i


def generator_for(i: int, which: str) -> str:
    if which != "both":
        return which
    return "binaryen" if i % 2 == 0 else "lowering"


def run_one(seed: int, i: int, which: str, out: Path | None, timeout: float) -> ModuleResult:
    """Generate module `i` of campaign `seed` and check it (everything derives from the seeds, so a
    module's result does not depend on which process runs it or in what order)."""
    gen = generator_for(i, which)
    ms = module_seed(seed, i)
    name = f"{gen}-{seed}-{i}"
    t0 = time.perf_counter()
    try:
        wasm = GENERATORS[gen](ms)
    except Exception as e:  # noqa: BLE001 - a generator failure is a skip, not a finding
        r = ModuleResult(name, "skip", f"generator failed: {e}")
    else:
        r = check_module(wasm, random.Random(ms), timeout)
        r.name = name
        if r.status == "mismatch" and out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.wasm").write_bytes(wasm)
            if gen == "lowering":
                (out / f"{name}.wat").write_text(gen_lowering.generate_wat(ms))
            (out / f"{name}.txt").write_text("\n".join(r.diffs) + "\n")
    r.seconds = time.perf_counter() - t0
    return r


def _run_one_star(args) -> ModuleResult:
    return run_one(*args)


def run_campaign(seed: int, count: int, which: str = "both", out: Path | None = None,
                 timeout: float = 60.0, only: int | None = None, verbose: bool = True,
                 jobs: int = 1) -> list[ModuleResult]:
    indices = [only] if only is not None else list(range(count))
    work = [(seed, i, which, out, timeout) for i in indices]
    results = []
    if jobs > 1 and len(work) > 1:
        # fork: the children inherit the imported generators; wasmtime is only set up inside them.
        # Only from a single-threaded process (the command line): forked from a threaded one (a
        # pytest-xdist worker) the pool's children can inherit a held lock and hang.
        pool = multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=200)
        stream = pool.imap(_run_one_star, work, chunksize=1)
    else:
        pool, stream = None, map(_run_one_star, work)
    try:
        for n, r in enumerate(stream):
            results.append(r)
            if verbose:
                extra = f": {r.reason}" if r.reason else f": {r.diffs[0][:300]}" if r.diffs else ""
                print(f"[{n + 1}/{len(work)}] {r.name} {r.status} ({r.calls} calls, "
                      f"{r.seconds:.1f} s){extra}", flush=True)
    finally:
        if pool is not None:
            pool.terminate()
    return results


def summary(results: list[ModuleResult]) -> str:
    c = Counter(r.status for r in results)
    skips = Counter(r.reason.split(":")[0] for r in results if r.status == "skip")
    calls = sum(r.calls for r in results if r.status != "skip")
    s = (f"modules: {len(results)} run, {c['match']} matched, {c['mismatch']} mismatched, "
         f"{c['skip']} skipped; {calls} export calls compared")
    if skips:
        s += "\nskips: " + ", ".join(f"{k} x{v}" for k, v in skips.most_common())
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.differential", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--gen", choices=["both", *GENERATORS], default="both")
    ap.add_argument("--out", type=Path, default=Path("build/fuzz"))
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per module for wasmc")
    ap.add_argument("--only", type=int, help="run just module number N of the campaign")
    ap.add_argument("--json", type=Path, help="write the per-module results here")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="modules checked in parallel")
    ap.add_argument("--tail-calls", action="store_true",
                    help="binaryen's modules may use tail calls (Wasm 3.0), and wasmtime runs them")
    ap.add_argument("--exceptions", action="store_true",
                    help="our generator's modules throw and catch and call typed references (Wasm 3.0); "
                    "wasmtime runs them")
    ap.add_argument("--threads", action="store_true",
                    help="binaryen's modules may use shared memories and atomics (the threads "
                    "proposal), and wasmtime runs them")
    ap.add_argument("--gc", action="store_true",
                    help="our generator's modules allocate and read GC objects (Wasm 3.0); "
                    "wasmtime runs them (set WASMC_GC_STRESS to collect often)")
    args = ap.parse_args(argv)
    if args.tail_calls:  # before the campaign forks its workers, which inherit both
        engines.use_tail_calls()
        gen_binaryen.enable_tail_calls()
    if args.exceptions:
        engines.use_features(wasm_exceptions=True, wasm_function_references=True)
        gen_lowering.enable_exceptions()
    if args.threads:
        engines.use_features(wasm_threads=True, shared_memory=True)
        gen_binaryen.enable_threads()
    if args.gc:
        engines.use_features(wasm_gc=True, wasm_function_references=True)
        gen_lowering.enable_gc()
    results = run_campaign(args.seed, args.count, args.gen, args.out, args.timeout, args.only,
                           jobs=args.jobs)
    print(summary(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return 1 if any(r.status == "mismatch" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
