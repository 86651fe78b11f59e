"""Compile-scale measurement (issue 7): time per phase and peak memory of `wasmc` at several
optimisation levels, beside wasmtime's compile time of the same module, as a Markdown table.

    python benchmarks/scale/gen_stress.py --functions 100000 --huge 4 --cases 20000 -o build/s.wasm
    python benchmarks/scale/measure.py build/s.wasm --levels 0,1,2

Each wasmc run is a fresh `wasmc -v -O<n> MODULE -o OUT` process (cache bypassed: `compile` never
consults it); phases come from its `-v` table (CPU seconds summed over the parallel back-end
processes), wall time and peak RSS from the kernel (`ru_maxrss` of the largest process in the
tree: the back-end processes run side by side, so the whole tree can hold up to `-j` times that).
wasmtime compiles with `wasmtime.Module(engine, bytes)` (Cranelift, its default parallelism) in a
fresh process, measured the same way.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PHASES = ("decode", "validate", "lower", "optimise", "codegen", "link")

WASMTIME_COMPILE = """
import sys, time, wasmtime
data = open(sys.argv[1], "rb").read()
t = time.perf_counter()
wasmtime.Module(wasmtime.Engine(), data)
print(time.perf_counter() - t)
"""


def measure_wasmc(wasm: Path, level: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="wasmc-scale-") as tmp:
        out = Path(tmp) / "a.out"
        # A fresh interpreter per level, so ru_maxrss (a high-water mark) is this run's own.
        code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                "print(time.perf_counter() - t, "
                "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); "
                "sys.stderr.write(p.stderr); sys.exit(p.returncode)")
        proc = subprocess.run([sys.executable, "-c", code, "wasmc", "-v", f"-O{level}", str(wasm),
                               "-o", str(out)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"wasmc -O{level} failed:\n{proc.stderr[-2000:]}")
        wall, peak = proc.stdout.split()
        row = {"level": f"wasmc -O{level}", "wall": float(wall), "peak": int(peak)}
        for name in PHASES:
            m = re.search(rf"^{name}\s+([0-9.]+)", proc.stderr, re.MULTILINE)
            row[name] = float(m.group(1)) if m else None
        row["exe MB"] = out.stat().st_size / 1e6 if out.exists() else None
        return row


def measure_wasmtime(wasm: Path) -> dict:
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(time.perf_counter() - t, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-c", WASMTIME_COMPILE,
                           str(wasm)], capture_output=True, text=True, check=False)
    wall, peak = proc.stdout.split()
    return {"level": "wasmtime (Cranelift)", "wall": float(wall), "peak": int(peak)}


def code_section_bytes(wasm: bytes) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench import code_section_size
    return code_section_size(wasm)


def table(wasm: Path, rows: list[dict]) -> str:
    data = wasm.read_bytes()
    code = code_section_bytes(data)
    title = (f"`{wasm.name}`: {len(data) / 1e6:.1f} MB ({code / 1e6:.1f} MB of code), "
             f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    lines = [title, "",
             "| | " + " | ".join(PHASES) + " | wall | front end MB/s | peak RSS |",
             "|---|" + "---|" * (len(PHASES) + 3)]
    for r in rows:
        cells = [r["level"]]
        cells += [f"{r[p]:.1f} s" if r.get(p) is not None else "" for p in PHASES]
        cells.append(f"{r['wall']:.1f} s")
        front = sum(r.get(p) or 0 for p in ("decode", "validate", "lower"))
        # lower's CPU time is summed over processes; the MB/s figure is per CPU second
        cells.append(f"{code / 1e6 / front:.2f}" if front else "")
        cells.append(f"{r['peak']} MB")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wasm", type=Path)
    ap.add_argument("--levels", default="0,1,2")
    ap.add_argument("--no-wasmtime", action="store_true")
    args = ap.parse_args()
    rows = []
    for lvl in (int(x) for x in args.levels.split(",")):
        rows.append(measure_wasmc(args.wasm, lvl))
        print(f"-O{lvl}: {rows[-1]}", file=sys.stderr, flush=True)
    if not args.no_wasmtime:
        rows.append(measure_wasmtime(args.wasm))
    print(table(args.wasm, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
