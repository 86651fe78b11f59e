"""The harness behind `make bench`: wasmc against native C, wasmtime, wasm2c and wasm-interp.

Strategy.  Every program in `programs/` is built once per engine, compile times recorded on the
way (wasmc per phase from its `-v` table, wasmtime's `Module(engine, wasm)`, wasm2c + clang).
Then all runs are interleaved in one loop (round-major, engine order rotated each round) so the
noise of a shared machine lands on every engine alike; we quote medians and ratios to native from
the same run.  wasmtime runs in a fresh Python process from a precompiled module; the start-up of
that process, measured on an empty module in the same loop, is subtracted.  wasm-interp (no WASI in
Debian's build) runs a reactor build that exports `bench_interp()` at a reduced size, compared
with native at that same size.  Every engine must print native's checksum: a mismatch fails loudly.

Each program's first comment holds `bench: test=N interp=N [wasm-flags=...]`; the full size is its
BENCH_DEFAULT_N.  `tests/test_benchmarks.py` imports this file for the program list and build steps.

    python benchmarks/bench.py [--rounds N] [--only NAME[,NAME]] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROGRAMS = HERE / "programs"
SHIM = HERE / "wasm2c_shim" / "wasi_shim.c"
WASMTIME_RUNNER = HERE / "wasmtime_run.py"
BUILD = HERE / "build"
WABT_RT = Path("/usr/share/wabt/wasm2c")

CLANG = "clang-16"
NATIVE_FLAGS = ["-O2"]
NATIVE_HOST_FLAGS = ["-O2", "-march=native", "-ffp-contract=off"]  # wasmc's default CPU; no FMA
# contraction (Wasm forbids fusing a*b+c, and it changes the float checksums)
WASM_FLAGS = ["--target=wasm32-wasi", "--sysroot=/usr", "-O2"]   # Debian's wasi-libc lives in /usr
ENGINES = ("native", "native-host", "wasmc", "wasmtime", "wasm2c")  # interleaved at full size
RUN_TIMEOUT = 300


# ---------------------------------------------------------------------------------------------
# Programs


@dataclass(frozen=True)
class Program:
    name: str
    source: Path
    full: int           # BENCH_DEFAULT_N: ~0.5-2 s natively
    test: int           # for tests/test_benchmarks.py and --quick
    interp: int         # for wasm-interp
    wasm_flags: tuple[str, ...]

    @property
    def simd(self) -> bool:
        return "-msimd128" in self.wasm_flags


def discover(only: list[str] | None = None) -> list[Program]:
    progs = []
    for src in sorted(PROGRAMS.glob("*.c")):
        text = src.read_text()
        spec = re.search(r"bench:\s*(.*)", text)
        full = re.search(r"#define BENCH_DEFAULT_N (\d+)", text)
        if not spec or not full:
            raise SystemExit(f"{src}: needs a `bench: test=N interp=N` line and BENCH_DEFAULT_N")
        fields = dict(kv.split("=", 1) for kv in spec.group(1).split())
        progs.append(Program(src.stem, src, int(full.group(1)), int(fields["test"]),
                             int(fields["interp"]),
                             tuple(f for f in fields.get("wasm-flags", "").split(",") if f)))
    if only:
        unknown = set(only) - {p.name for p in progs}
        if unknown:
            raise SystemExit(f"unknown program(s): {', '.join(sorted(unknown))}")
        progs = [p for p in progs if p.name in only]
    return progs


# ---------------------------------------------------------------------------------------------
# Building


class ToolError(Exception):
    """A build step failed; the message holds the command's stderr."""


def run_tool(cmd: list[str], cwd: Path | None = None) -> tuple[float, str]:
    """Run a build command; return (seconds, stderr)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        why = proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}"
        raise ToolError(f"{' '.join(map(str, cmd))}\n{why}")
    return secs, proc.stderr


def build_native(p: Program, out: Path, flags: list[str] = NATIVE_FLAGS) -> float:
    return run_tool([CLANG, *flags, str(p.source), "-o", str(out), "-lm"])[0]


def build_wasm(p: Program, out: Path) -> float:
    return run_tool([CLANG, *WASM_FLAGS, *p.wasm_flags, str(p.source), "-o", str(out), "-lm"])[0]


def build_wasm_reactor(p: Program, out: Path, size: int) -> None:
    """The wasm-interp build: no WASI start-up, exports bench_interp() for `--run-all-exports`."""
    run_tool([CLANG, *WASM_FLAGS, *p.wasm_flags, "-DBENCH_REACTOR", f"-DBENCH_N={size}",
              "-nostartfiles", "-Wl,--no-entry", str(p.source), "-o", str(out), "-lm"])


PHASE_LINE = re.compile(r"^(\w+)\s+(\d+\.\d+)(?:\s|$)")


def build_wasmc(wasm: Path, out: Path, *flags: str) -> dict[str, float]:
    """Compile with `wasmc -v`; return {phase: seconds} plus `wall` (the whole process)."""
    secs, err = run_tool(["wasmc", str(wasm), "-o", str(out), "-v", *flags])
    phases = {}
    for line in err.splitlines():
        m = PHASE_LINE.match(line.strip())
        if m and m.group(1) not in ("total", "phase"):
            phases[m.group(1)] = float(m.group(2))
    phases["wall"] = secs
    return phases


def build_wasmtime(wasm: Path, out: Path) -> float:
    """Compile with Cranelift (default Engine); save the serialized module; return compile seconds."""
    import wasmtime

    engine = wasmtime.Engine()
    data = wasm.read_bytes()
    t0 = time.perf_counter()
    module = wasmtime.Module(engine, data)
    secs = time.perf_counter() - t0
    out.write_bytes(module.serialize())
    return secs


def build_wasm2c(wasm: Path, workdir: Path, out: Path) -> dict[str, float]:
    """wasm2c, then clang-16 -O2 on its output with the WASI shim; return both times."""
    workdir.mkdir(parents=True, exist_ok=True)
    w2c, _ = run_tool(["wasm2c", "-n", "bench", str(wasm), "-o", "prog.c"], cwd=workdir)
    inc = [f"-I{workdir}", f"-I{WABT_RT}"]
    cc, _ = run_tool([CLANG, "-O2", "-w", "-c", "prog.c", "-o", "prog.o", *inc], cwd=workdir)
    run_tool([CLANG, "-O2", "-Wall", "-Wextra", "-Werror", "-c", str(SHIM), "-o", "shim.o", *inc],
             cwd=workdir)
    run_tool([CLANG, "-O2", "-w", "-c", str(WABT_RT / "wasm-rt-impl.c"), "-o", "rt.o", *inc],
             cwd=workdir)
    link, _ = run_tool([CLANG, "prog.o", "shim.o", "rt.o", "-lm", "-o", str(out)], cwd=workdir)
    return {"wasm2c": w2c, "clang": cc + link}


def code_section_size(wasm: bytes) -> int:
    """Bytes of the code section (id 10): the front end's throughput is quoted against it."""
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        pos += 1
        size = shift = 0
        while True:
            b = wasm[pos]
            pos += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        if sid == 10:
            return size
        pos += size
    return 0


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class Run:
    seconds: float      # wall clock
    stdout: str
    ok: bool
    detail: str = ""
    cpu: float = 0.0    # user + system of the child: steadier than wall time on a loaded machine


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(cmd: list[str], stdin: Path | None = None) -> Run:
    c0 = _children_cpu()
    t0 = time.perf_counter()
    try:
        with open(stdin or os.devnull, "rb") as inp:
            proc = subprocess.run(cmd, stdin=inp, capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return Run(RUN_TIMEOUT, "", False, "timeout")
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        return Run(secs, proc.stdout, False, f"exit {proc.returncode}: {proc.stderr.strip()[:200]}")
    return Run(secs, proc.stdout, True, cpu=_children_cpu() - c0)


def interp_checksum(stdout: str) -> str | None:
    """`bench_interp() => i64:-123` -> the 16-hex-digit checksum native prints."""
    m = re.search(r"bench_interp\(\) => i64:(-?\d+)", stdout)
    return f"{int(m.group(1)) & (2**64 - 1):016x}" if m else None


def native_checksum(stdout: str) -> str | None:
    m = re.search(r"checksum=([0-9a-f]{16})", stdout)
    return m.group(1) if m else None


@dataclass
class Result:
    program: Program
    status: dict[str, str] = field(default_factory=dict)     # engine -> "" or why it has no time
    times: dict[str, list[float]] = field(default_factory=dict)
    compile: dict[str, dict[str, float]] = field(default_factory=dict)
    code_bytes: int = 0
    reference: str = ""                                        # native stdout at full size
    interp_reference: str = ""                                 # native checksum at interp size
    failures: list[str] = field(default_factory=list)

    def median(self, engine: str) -> float | None:
        t = self.times.get(engine)
        return statistics.median(t) if t else None


def build_all(progs: list[Program], log) -> list[Result]:
    import wasmtime

    results = []
    for p in progs:
        r = Result(p)
        d = BUILD / p.name
        d.mkdir(parents=True, exist_ok=True)
        wasm = d / f"{p.name}.wasm"
        log(f"build {p.name}")
        try:
            r.compile["native"] = {"clang": build_native(p, d / "native")}
            build_native(p, d / "native-host", NATIVE_HOST_FLAGS)
            r.compile["wasm"] = {"clang": build_wasm(p, wasm)}
            build_wasm_reactor(p, d / "reactor.wasm", p.interp)
        except ToolError as e:
            r.failures.append(f"C build failed: {e}")
            for eng in (*ENGINES, "interp"):
                r.status[eng] = "build failed"
            results.append(r)
            continue
        r.code_bytes = code_section_size(wasm.read_bytes())
        try:
            r.compile["wasmc"] = build_wasmc(wasm, d / "wasmc")
        except ToolError as e:
            _engine_build_failed(r, "wasmc", e)
        try:
            r.compile["wasmtime"] = {"compile": build_wasmtime(wasm, d / "wasmtime.cwasm")}
        except wasmtime.WasmtimeError as e:
            _engine_build_failed(r, "wasmtime", e)
        try:
            r.compile["wasm2c"] = build_wasm2c(wasm, d / "w2c", d / "wasm2c")
        except ToolError as e:
            _engine_build_failed(r, "wasm2c", e)
        results.append(r)
    return results


def _engine_build_failed(r: Result, engine: str, err: Exception) -> None:
    first = next((ln for ln in str(err).splitlines()[1:] if ln.strip()), str(err))[:160]
    if r.program.simd:
        r.status[engine] = "unsupported (SIMD)"   # expected while SIMD lowering is in progress
        r.failures.append(f"{engine}: cannot compile SIMD: {first}")
    else:
        r.status[engine] = "build failed"
        r.failures.append(f"{engine} build failed: {err}")


def commands(r: Result, size: int) -> dict[str, list[str]]:
    d = BUILD / r.program.name
    return {
        "native": [str(d / "native"), str(size)],
        "native-host": [str(d / "native-host"), str(size)],
        "wasmc": [str(d / "wasmc"), str(size)],
        "wasmtime": [sys.executable, str(WASMTIME_RUNNER), str(d / "wasmtime.cwasm"), str(size)],
        "wasm2c": [str(d / "wasm2c"), str(size)],
    }


def make_empty_module() -> Path:
    """The start-up probe for wasmtime: an empty `_start` with a memory, precompiled."""
    import wasmtime

    out = BUILD / "empty.cwasm"
    wasm = wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_start")))')
    out.write_bytes(wasmtime.Module(wasmtime.Engine(), wasm).serialize())
    return out


def check(r: Result, engine: str, run: Run, expected: str, got: str | None = None) -> bool:
    if not run.ok:
        r.failures.append(f"{engine}: {run.detail}")
        r.status[engine] = "FAILED"
        return False
    if (got if got is not None else run.stdout) != expected:
        r.failures.append(f"{engine}: CHECKSUM MISMATCH: got {got or run.stdout.strip()!r}, "
                          f"native printed {expected.strip()!r}")
        r.status[engine] = "MISMATCH"
        return False
    return True


def run_all(results: list[Result], rounds: int, quick: bool,
            log) -> tuple[list[float], list[float]]:
    empty = make_empty_module()
    startup: list[float] = []
    startup_cpu: list[float] = []
    live = [r for r in results if r.status.get("native", "") == ""]
    for r in live:
        size = r.program.test if quick else r.program.full
        ref = run_once(commands(r, size)["native"])
        if not ref.ok or native_checksum(ref.stdout) is None:
            r.failures.append(f"native reference run failed: {ref.detail or ref.stdout!r}")
            r.status = {e: "native failed" for e in (*ENGINES, "interp")}
            continue
        r.reference = ref.stdout
        iref = run_once([str(BUILD / r.program.name / "native"), str(r.program.interp)])
        r.interp_reference = native_checksum(iref.stdout) or ""
    live = [r for r in live if r.reference]
    interp_rounds = 1 if quick else min(rounds, 3)
    for rnd in range(rounds):
        log(f"round {rnd + 1}/{rounds}")
        for r in live:
            size = r.program.test if quick else r.program.full
            cmds = commands(r, size)
            order = list(ENGINES[rnd % len(ENGINES):] + ENGINES[:rnd % len(ENGINES)])
            for engine in order:
                if r.status.get(engine, "") != "":
                    continue
                run = run_once(cmds[engine])
                if check(r, engine, run, r.reference):
                    r.times.setdefault(engine, []).append(run.seconds)
                    r.times.setdefault(f"{engine} cpu", []).append(run.cpu)
                if engine == "wasmtime":
                    probe = run_once([sys.executable, str(WASMTIME_RUNNER), str(empty)])
                    startup.append(probe.seconds)
                    startup_cpu.append(probe.cpu)
            if rnd < interp_rounds and r.status.get("interp", "") == "":
                run_interp(r)
    return startup, startup_cpu


def run_interp(r: Result) -> None:
    d = BUILD / r.program.name
    nat = run_once([str(d / "native"), str(r.program.interp)])
    if check(r, "native@interp", nat, r.interp_reference, native_checksum(nat.stdout)):
        r.times.setdefault("native@interp", []).append(nat.seconds)
    run = run_once(["wasm-interp", "--dummy-import-func", "--run-all-exports",
                    str(d / "reactor.wasm")])
    if check(r, "interp", run, r.interp_reference, interp_checksum(run.stdout)):
        r.times.setdefault("interp", []).append(run.seconds)


# ---------------------------------------------------------------------------------------------
# Reporting


def geomean(xs: list[float]) -> float | None:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fmt_ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}×"


def cpu_ratio(r: Result, engine: str, startup_cpu: float) -> float | None:
    t, nat = r.median(f"{engine} cpu"), r.median("native cpu")
    if t is None or not nat:
        return None
    if engine == "wasmtime":
        t = max(t - startup_cpu, 1e-6)
    return t / nat


def timing_table(results: list[Result], startup: float) -> str:
    head = ("| program | native s | native -march=native s | ×native | wasmc s | wasmc ×native | "
            "wasmtime s | wasmtime ×native | wasm2c s | wasm2c ×native | wasm-interp ×native (size) |")
    lines = [head, "|" + "---|" * 11]
    ratios: dict[str, list[float]] = {e: [] for e in (*ENGINES[1:], "interp")}
    for r in results:
        nat = r.median("native")
        cells = [r.program.name, f"{nat:.3f}" if nat else r.status.get("native", "–")]
        for engine in ENGINES[1:]:
            t = r.median(engine)
            if t is not None and engine == "wasmtime":
                t = max(t - startup, 1e-6)
            if t is None or not nat:
                cells += [r.status.get(engine, "–") or "–", "–"]
                continue
            ratios[engine].append(t / nat)
            cells += [f"{t:.3f}", fmt_ratio(t / nat)]
        ti, tn = r.median("interp"), r.median("native@interp")
        if ti and tn:
            ratios["interp"].append(ti / tn)
            cells.append(f"{ti / tn:.0f}× (n={r.program.interp}, {ti:.2f} s)")
        else:
            cells.append(r.status.get("interp", "–") or "–")
        lines.append("| " + " | ".join(cells) + " |")
    geo = ["**geomean**", ""]
    for engine in ENGINES[1:]:
        g = geomean(ratios[engine])
        geo += ["", f"**{fmt_ratio(g)}** ({len(ratios[engine])})" if g else "–"]
    gi = geomean(ratios["interp"])
    geo.append(f"**{gi:.0f}×** ({len(ratios['interp'])})" if gi else "–")
    lines.append("| " + " | ".join(geo) + " |")
    return "\n".join(lines)


def cpu_table(results: list[Result], startup_cpu: float) -> str:
    """Ratios of median user+system CPU time: less sensitive to other load than wall time."""
    lines = ["| program | native -march=native | wasmc | wasmtime | wasm2c |", "|---|---|---|---|---|"]
    ratios: dict[str, list[float]] = {e: [] for e in ENGINES[1:]}
    for r in results:
        cells = [r.program.name]
        for engine in ENGINES[1:]:
            x = cpu_ratio(r, engine, startup_cpu)
            if x is not None:
                ratios[engine].append(x)
            cells.append(fmt_ratio(x) if x is not None else (r.status.get(engine) or "–"))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| **geomean** | " + " | ".join(
        f"**{fmt_ratio(geomean(ratios[e]))}**" if ratios[e] else "–" for e in ENGINES[1:]) + " |")
    return "\n".join(lines)


def compile_table(results: list[Result]) -> str:
    phases: list[str] = []
    for r in results:
        for ph in r.compile.get("wasmc", {}):
            if ph != "wall" and ph not in phases:
                phases.append(ph)
    front = [ph for ph in ("decode", "validate", "lower") if ph in phases]
    head = (["program", "code KB"] + [f"{ph} s" for ph in phases] +
            ["wasmc wall s", "front end MB/s", "wasmtime s", "wasm2c s", "wasm2c clang s",
             "native clang s"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    tot_bytes, tot_front = 0, 0.0
    for r in results:
        wc = r.compile.get("wasmc", {})
        cells = [r.program.name, f"{r.code_bytes / 1024:.0f}"]
        cells += [f"{wc[ph]:.3f}" if ph in wc else "–" for ph in phases]
        fe = sum(wc.get(ph, 0.0) for ph in front)
        if wc and fe > 0:
            tot_bytes += r.code_bytes
            tot_front += fe
        cells += [f"{wc['wall']:.2f}" if wc else r.status.get("wasmc", "–"),
                  f"{r.code_bytes / fe / 1e6:.2f}" if wc and fe > 0 else "–"]
        wt = r.compile.get("wasmtime", {}).get("compile")
        cells.append(f"{wt:.3f}" if wt is not None else r.status.get("wasmtime", "–"))
        w2 = r.compile.get("wasm2c")
        cells += ([f"{w2['wasm2c']:.3f}", f"{w2['clang']:.2f}"] if w2
                  else [r.status.get("wasm2c", "–"), "–"])
        cells.append(f"{r.compile.get('native', {}).get('clang', 0):.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    if tot_front:
        lines.append(f"\nFront end ({' + '.join(front)}) over all programs: "
                     f"{tot_bytes / 1e6:.2f} MB of code section in {tot_front:.2f} s = "
                     f"**{tot_bytes / tot_front / 1e6:.2f} MB/s**.")
    return "\n".join(lines)


def machine() -> str:
    model = "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        model = m.group(1).strip() if m else model
    except OSError:
        pass
    clang = subprocess.run([CLANG, "--version"], capture_output=True, text=True, check=False).stdout
    wabt = subprocess.run(["wasm2c", "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()
    try:
        wt = importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:
        wt = "?"
    rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                         capture_output=True, text=True, check=False).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"- CPU: {model}, {os.cpu_count()} logical CPUs; {platform.system()} "
            f"{platform.release()}; load average at the end of the run {load} (shared machine)\n"
            f"- Date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}\n"
            f"- wasmc: git {rev or '?'}; {clang.splitlines()[0] if clang else CLANG}; "
            f"wasmtime (PyPI) {wt}; wabt {wabt}")


def report(results: list[Result], startup: tuple[list[float], list[float]], args) -> str:
    st = statistics.median(startup[0]) if startup[0] else 0.0
    st_cpu = statistics.median(startup[1]) if startup[1] else 0.0
    mode = "quick (test sizes, timings meaningless)" if args.quick else "full sizes"
    return f"""# wasmc benchmark results

{machine()}
- Run: `make bench` (= `python benchmarks/bench.py`), {args.rounds} interleaved rounds, {mode};
  medians of wall-clock process times; each ratio is to native `{CLANG} -O2` from the same run.

## Run time

{timing_table(results, st)}

- **wasmc**: `wasmc prog.wasm -o prog` (default `-O2`, host CPU). **native**: `{CLANG} -O2` for the
  x86-64 baseline (SSE2; no `-march=native`). **wasm**: `{CLANG} {' '.join(WASM_FLAGS)}`
  (+ `-msimd128` for the SIMD programs), Debian's wasi-libc.
- **wasmtime**: Python package, Cranelift, module precompiled (`Module.serialize`), run in a fresh
  `python benchmarks/wasmtime_run.py` process; its start-up on an empty module (median
  {st * 1000:.0f} ms, measured in the same loop) is subtracted.
- **wasm2c**: `wasm2c` + `{CLANG} -O2` with wabt's runtime (guard-page bounds checks) and the WASI
  shim in `benchmarks/wasm2c_shim/`; wabt 1.0.32's wasm2c has no SIMD, hence "unsupported".
- **wasm-interp**: wabt's interpreter (Debian builds it without WASI, so a reactor build exporting
  `bench_interp()` runs with `--run-all-exports`) at the reduced size shown, as a ratio to native
  at that same size ({min(args.rounds, 3) if not args.quick else 1} rounds); not comparable with
  the other columns' sizes. A geomean's (n) counts the programs it covers.

CPU time (user + system, median) as a ratio to native's, same runs (wasmtime's start-up CPU,
{st_cpu * 1000:.0f} ms, subtracted); steadier than wall time when the machine is loaded:

{cpu_table(results, st_cpu)}

## Compile time (per module, one compile each, seconds)

{compile_table(results)}

- wasmc phases are from `wasmc -v`; "wasmc wall" is the whole `wasmc` process (Python start-up,
  imports, all phases). "front end MB/s" is MB of code section per second of decode + validate +
  lower (CPU seconds summed over the back-end processes when a module is split into partitions). wasmtime is `wasmtime.Module(engine, wasm)` in-process (Cranelift,
  parallel). wasm2c is the translation; "wasm2c clang" compiles and links its C output.
- Code sizes are the code section only; the modules also carry ~90 KB of DWARF custom sections
  (from Debian's wasi-libc, built with `-g`), which every compiler here ignores.

## Reproduce

```sh
make bench                                   # all programs, default rounds
python benchmarks/bench.py --rounds 7        # more rounds
python benchmarks/bench.py --only sort,matmul --rounds 3
python benchmarks/bench.py --quick           # smoke test at the test sizes
```
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--only", help="comma-separated program names")
    ap.add_argument("--quick", action="store_true",
                    help="one round at the test sizes (checks the harness; timings meaningless)")
    ap.add_argument("--out", help="write the Markdown report here (default: benchmarks/results.md "
                                  "for a full run of every program, else only stdout)")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds = 1
    for tool in (CLANG, "wasmc", "wasm2c", "wasm-interp"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: `{tool}` not found (run `make deps`)")
    progs = discover(args.only.split(",") if args.only else None)
    BUILD.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    results = build_all(progs, log)
    startup = run_all(results, args.rounds, args.quick, log)
    text = report(results, startup, args)
    print(text)
    out = args.out or (HERE / "results.md" if not args.quick and not args.only else None)
    if out:
        Path(out).write_text(text)
        log(f"wrote {out}")
    (BUILD / "results.json").write_text(json.dumps(
        {r.program.name: {"times": r.times, "compile": r.compile, "status": r.status,
                          "failures": r.failures, "code_bytes": r.code_bytes}
         for r in results}, indent=1))
    failures = [(r.program.name, f) for r in results for f in r.failures]
    hard = [(n, f) for n, f in failures if "cannot compile SIMD" not in f]
    for name, f in failures:
        log(f"{'FAIL' if (name, f) in hard else 'note'} {name}: {f}")
    if hard:
        log(f"{len(hard)} failure(s): see above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
