"""Compile-scale measurement (issue 7): time per phase and peak memory of `wasmc` at several
optimisation levels, beside wasmtime's compile time of the same module, as a Markdown table.

    python benchmarks/scale/gen_stress.py --functions 100000 --huge 4 --cases 5000 --data-kib 8192 \
        -o build/s.wasm
    python benchmarks/scale/measure.py build/s.wasm --levels 0,1,2

Each wasmc run is a fresh `python -m wasmc.cli -v -O<n> MODULE -o OUT` process (cache bypassed:
`compile` never consults it); phases come from its `-v` table (CPU seconds summed over the parallel back-end
processes, so on a busy machine they grow with the load), wall time from the clock.  Memory is
given two ways: the largest single process (`ru_maxrss` from `wait4`, covering every descendant),
and the peak of the whole process tree's total proportional set size (PSS, sampled every second:
pages shared between the forked back-end processes counted once), which is what the machine must
hold.  wasmtime compiles with `wasmtime.Module(engine, bytes)` (Cranelift, its default
parallelism) in a fresh process, measured the same way; its row's wall time includes Python's
start-up and reading the file, the compile alone is given beside it.  With `--wasm2c`, wabt's
wasm2c and `clang-16 -O2 -c` on its output are timed too: the other way to reach native code
through LLVM (one C file, so one core).  The load average before each run is recorded, since the
machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PHASES = ("decode", "validate", "lower", "optimise", "codegen", "link")

WASMTIME_COMPILE = """
import sys, time, wasmtime
data = open(sys.argv[1], "rb").read()
t = time.perf_counter()
wasmtime.Module(wasmtime.Engine(), data)
print("compile", time.perf_counter() - t, file=sys.stderr)
"""


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/PID/task/TID/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _pss_kib(pid: int) -> int:
    """Proportional set size: pages shared between forked processes are counted once overall."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(cmd: list[str]) -> tuple[float, int, int, str]:
    """Run `cmd`; return (wall seconds, peak RSS of its largest process in MB, peak total PSS of
    the whole process tree in MB (sampled every second, more often at first), stderr)."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
        # A thread reaps the child, so the wall time ends when it exits, not at the next sample.
        reaped: dict = {}
        done = threading.Event()

        def reap() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            reaped.update(end=time.perf_counter(), status=status, usage=usage)
            done.set()

        threading.Thread(target=reap, daemon=True).start()
        tree_peak, pause = 0, 0.02
        while not done.is_set():
            tree_peak = max(tree_peak, sum(_pss_kib(p) for p in _tree(proc.pid)))
            done.wait(pause)
            pause = min(1.0, pause * 2)
        wall = reaped["end"] - t0
        proc.returncode = os.waitstatus_to_exitcode(reaped["status"])
        # wait4's ru_maxrss: the largest of the child and the descendants it waited for
        peak = reaped["usage"].ru_maxrss
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read()[-2000:]}")
        return wall, peak // 1024, tree_peak // 1024, err.read()


def measure_wasmc(wasm: Path, level: int, jobs: int | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="wasmc-scale-") as tmp:
        out = Path(tmp) / "a.out"
        load = os.getloadavg()[0]
        # the wasmc on sys.path (PYTHONPATH may point at a work tree), not an installed script
        cmd = [sys.executable, "-m", "wasmc.cli", "-v", f"-O{level}", str(wasm), "-o", str(out)]
        if jobs:
            cmd += ["-j", str(jobs)]
        wall, peak, tree, stderr = run_measured(cmd)
        row = {"level": f"wasmc -O{level}", "wall": wall, "peak": peak, "tree": tree,
               "load": load}
        for name in PHASES:
            m = re.search(rf"^{name}\s+([0-9.]+)", stderr, re.MULTILINE)
            row[name] = float(m.group(1)) if m else None
        row["exe MB"] = out.stat().st_size / 1e6 if out.exists() else None
        row["stderr"] = stderr
        return row


def measure_wasmtime(wasm: Path) -> dict:
    load = os.getloadavg()[0]
    with tempfile.NamedTemporaryFile("w", suffix=".py") as script:
        script.write(WASMTIME_COMPILE)
        script.flush()
        wall, peak, tree, stderr = run_measured([sys.executable, script.name, str(wasm)])
    m = re.search(r"^compile ([0-9.]+)", stderr, re.MULTILINE)
    return {"level": "wasmtime (Cranelift)", "wall": wall, "peak": peak, "tree": tree,
            "load": load, "compile": float(m.group(1)) if m else None}


def measure_wasm2c(wasm: Path, level: int = 2) -> dict:
    """wabt's wasm2c, then `clang-16 -O<level> -c` on its one C file: the LLVM-based peer.
    wabt 1.0.32's wasm2c writes a single file, so its clang runs on one core."""
    bench = load_bench()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wasm2c-scale-") as tmp:
        c_file, obj = Path(tmp) / "m.c", Path(tmp) / "m.o"
        w_wall, w_peak, w_tree, _ = run_measured(["wasm2c", "-n", "m", str(wasm), "-o", str(c_file)])
        c_wall, c_peak, c_tree, _ = run_measured(
            [bench.CLANG, f"-O{level}", "-w", "-c", str(c_file), "-I", str(bench.WABT_RT),
             "-o", str(obj)])
    return {"level": f"wasm2c + {bench.CLANG} -O{level}", "wall": w_wall + c_wall,
            "peak": max(w_peak, c_peak), "tree": max(w_tree, c_tree), "load": load,
            "split": f"wasm2c {w_wall:.1f} s + clang {c_wall:.1f} s"}


def load_bench():
    """benchmarks/bench.py (`make bench`), for its tool names, builders, runner and code-section
    reader (build_quickjs.py uses it too)."""
    bench_dir = str(Path(__file__).resolve().parents[1])
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    import bench
    return bench


def code_section_bytes(wasm: bytes) -> int:
    return load_bench().code_section_size(wasm)


def table(wasm: Path, rows: list[dict]) -> str:
    data = wasm.read_bytes()
    code = code_section_bytes(data)
    title = (f"`{wasm.name}`: {len(data) / 1e6:.1f} MB ({code / 1e6:.1f} MB of code), "
             f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    lines = [title, "",
             "| | " + " | ".join(PHASES) + " | wall | front end MB/s | largest process |"
             " all processes (PSS) | load before |",
             "|---|" + "---|" * (len(PHASES) + 5)]
    for r in rows:
        cells = [r["level"]]
        cells += [f"{r[p]:.1f} s" if r.get(p) is not None else "" for p in PHASES]
        wall = f"{r['wall']:.1f} s"
        if r.get("compile") is not None:
            wall += f" (compile {r['compile']:.1f} s)"
        if r.get("split"):
            wall += f" ({r['split']})"
        cells.append(wall)
        front = sum(r.get(p) or 0 for p in ("decode", "validate", "lower"))
        # CPU seconds summed over the processes: MB of code section per CPU second
        cells.append(f"{code / 1e6 / front:.2f}" if front else "")
        cells += [f"{r['peak']} MB", f"{r['tree']} MB", f"{r['load']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wasm", type=Path)
    ap.add_argument("--levels", default="0,1,2")
    ap.add_argument("--no-wasmtime", action="store_true")
    ap.add_argument("--wasm2c", action="store_true",
                    help="also time wasm2c + clang-16 -O2 (one core; hours on a 30 MB module)")
    ap.add_argument("-j", "--jobs", type=int, default=None, help="wasmc -j (default: every core)")
    args = ap.parse_args()
    rows = []
    for lvl in (int(x) for x in args.levels.split(",")):
        rows.append(measure_wasmc(args.wasm, lvl, args.jobs))
        row = rows[-1]
        print(f"-O{lvl}: wall {row['wall']:.1f} s, peak {row['peak']} MB, all {row['tree']} MB, "
              f"load {row['load']:.1f}\n{row.pop('stderr')}", file=sys.stderr, flush=True)
    if not args.no_wasmtime:
        rows.append(measure_wasmtime(args.wasm))
    if args.wasm2c:
        rows.append(measure_wasm2c(args.wasm))
    print(table(args.wasm, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
