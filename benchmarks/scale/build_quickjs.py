"""Build the largest real program of the compile-scale measurements (issue 7): the QuickJS
JavaScript engine (Fabrice Bellard's, version 2021-03-27 with BigNum, as vendored in the `quickjs`
PyPI sdist) as a WASI command that evaluates the script on its stdin.

    python benchmarks/scale/build_quickjs.py -o build/quickjs.wasm   # downloads the sources
    python benchmarks/scale/build_quickjs.py --check build/quickjs.wasm  # wasmc vs wasmtime
    python benchmarks/scale/build_quickjs.py --bench 9 build/quickjs.wasm  # run time vs native

The sources are downloaded at run time with `pip download` (never checked in) and compiled with
`clang-16 --target=wasm32-wasi --sysroot=/usr -O2`, the C files of the engine plus a small `main`
(below) that defines `print` and evaluates stdin.  `--check` compiles the module with wasmc and
runs it and the `wasmtime` Python package on WORKLOAD (a script exercising objects, closures,
strings, regular expressions, JSON, BigInt and floats); the outputs must be identical.

`--bench ROUNDS` measures the run time of a big real program, beside `make bench`'s small ones:
the same sources built natively (`clang-16 -O2`, the same configuration), the module under
wasmc, wasmtime (precompiled; start-up on an empty module subtracted) and wasm2c + clang-16 -O2,
all running BENCH_SCRIPT (sorting, maps, closures, JSON, regular expressions, recursion) on
stdin, interleaved for ROUNDS rounds in a rotating order.  Every engine must print what native
prints; the table gives CPU seconds (median and minimum) and the ratio of medians to native.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from measure import load_bench  # this directory's compile-scale harness

SDIST = "quickjs==1.19.4"
SOURCES = ("quickjs.c", "libregexp.c", "libunicode.c", "cutils.c", "libbf.c")

MAIN_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "quickjs.h"

static JSValue js_print(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    for (int i = 0; i < argc; i++) {
        const char *s = JS_ToCString(ctx, argv[i]);
        if (!s)
            return JS_EXCEPTION;
        fputs(s, stdout);
        fputc(i + 1 < argc ? ' ' : '\n', stdout);
        JS_FreeCString(ctx, s);
    }
    if (argc == 0)
        fputc('\n', stdout);
    return JS_UNDEFINED;
}

int main(void)
{
    size_t cap = 1 << 16, len = 0, n;
    char *src = malloc(cap);
    while ((n = fread(src + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (len + 1 == cap)
            src = realloc(src, cap *= 2);
    }
    src[len] = 0;
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = JS_NewContext(rt);
    JSValue global = JS_GetGlobalObject(ctx);
    JS_SetPropertyStr(ctx, global, "print", JS_NewCFunction(ctx, js_print, "print", 1));
    JS_FreeValue(ctx, global);
    JSValue r = JS_Eval(ctx, src, len, "<stdin>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(r)) {
        JSValue e = JS_GetException(ctx);
        const char *s = JS_ToCString(ctx, e);
        fprintf(stderr, "uncaught: %s\n", s ? s : "?");
        return 1;
    }
    JS_FreeValue(ctx, r);
    JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
    return 0;
}
"""

WORKLOAD = r"""
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
print("fib(22) =", fib(22));
let primes = [];
for (let i = 2; primes.length < 200; i++)
    if (primes.every(p => i % p != 0)) primes.push(i);
print("primes:", primes.length, primes[199], primes.reduce((a, b) => a + b, 0));
class Point { constructor(x, y) { this.x = x; this.y = y; }
              norm() { return Math.sqrt(this.x * this.x + this.y * this.y); } }
let pts = Array.from({length: 1000}, (_, i) => new Point(i % 37, i % 91));
print("norms:", pts.map(p => p.norm()).reduce((a, b) => a + b).toFixed(6));
let words = "the quick brown fox jumps over the lazy dog ".repeat(200).split(" ");
let counts = {};
for (const w of words) counts[w] = (counts[w] || 0) + 1;
print("words:", JSON.stringify(counts));
print("regexp:", "a1b22c333d4444".replace(/[0-9]+/g, m => "<" + m.length + ">"));
print("sorted:", [5, 3, 9, 1, 7, 2, 8].sort((a, b) => a - b).join(","));
print("bigint:", (2n ** 200n).toString(), (123456789n * 987654321n) % 1000003n);
print("floats:", Math.PI.toFixed(10), (0.1 + 0.2).toString(), (1e21).toString(), 1 / 3);
let m = new Map(); for (let i = 0; i < 5000; i++) m.set("k" + (i * 7919 % 5000), i);
let s = 0; for (const [k, v] of m) s = (s * 31 + v + k.length) % 1000000007;
print("map:", m.size, s);
print("json:", JSON.stringify(JSON.parse('{"a":[1,2,{"b":null}],"c":"x\\u00e9"}')));
try { null.x; } catch (e) { print("error:", e instanceof TypeError, e.message); }
print("date:", new Date(0).toISOString());
"""


BENCH_SCRIPT = r"""
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
let t = 0;
for (let r = 0; r < 3; r++) {
  const a = [];
  for (let i = 0; i < 200000; i++) a.push({k: i, s: "x" + (i % 977)});
  a.sort((x, y) => (x.s < y.s ? -1 : x.s > y.s ? 1 : x.k - y.k));
  const m = new Map();
  for (const o of a) m.set(o.s, (m.get(o.s) || 0) + o.k);
  let s = 0;
  for (const [k, v] of m) s = (s + v * k.length) % 1000003;
  t += s + fib(24) + JSON.stringify(a.slice(0, 2000)).length;
  t += "abc".repeat(20000).replace(/b/g, "xy").split("x").length;
}
print(t);
"""

# The wasm build's configuration, less what only WASI needs (its fenv stand-ins).
DEFINES = ["-DCONFIG_BIGNUM", "-DEMSCRIPTEN"]  # EMSCRIPTEN: no threads, no computed goto


def download(dest: Path) -> Path:
    """The sdist's upstream-quickjs directory, downloaded and unpacked under `dest`."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:",
                    "--no-deps", SDIST, "-d", str(dest)], check=True)
    (tgz,) = dest.glob("quickjs-*.tar.gz")
    with tarfile.open(tgz) as tar:
        tar.extractall(dest, filter="data")
    (src,) = dest.glob("quickjs-*/upstream-quickjs")
    return src


def sources(workdir: Path) -> list[str]:
    """Download the engine into `workdir` and add our `main`; return the compiler arguments every
    build shares: the version, DEFINES and the C files."""
    src = download(workdir)
    version = (src / "VERSION").read_text().strip()
    (src / "wasmc_main.c").write_text(MAIN_C)
    return [f'-DCONFIG_VERSION="{version}"', *DEFINES,
            *[str(src / f) for f in (*SOURCES, "wasmc_main.c")]]


def build(out: Path, workdir: Path) -> None:
    cmd = ["clang-16", "--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-w", *sources(workdir),
           # WASI has one rounding mode; fesetround() refuses these (toFixed's tie-breaking then
           # differs from a native build, but identically under every Wasm engine)
           "-DFE_UPWARD=0x800", "-DFE_DOWNWARD=0x400",
           "-lm", "-Wl,-z,stack-size=1048576", "-o", str(out)]
    subprocess.run(cmd, check=True)
    print(f"{out}: {out.stat().st_size} bytes")


def check(wasm: Path) -> None:
    """wasmc's executable and wasmtime print the same for WORKLOAD."""
    import wasmtime

    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "qjs"
        subprocess.run([sys.executable, "-m", "wasmc.cli", str(wasm), "-o", str(exe)], check=True)
        ours = subprocess.run([str(exe)], input=WORKLOAD, capture_output=True, text=True,
                              check=False)
        script = Path(tmp) / "w.js"
        script.write_text(WORKLOAD)
        engine = wasmtime.Engine()
        store = wasmtime.Store(engine)
        cfg = wasmtime.WasiConfig()
        cfg.stdin_file = str(script)
        cfg.stdout_file = str(Path(tmp) / "out")
        store.set_wasi(cfg)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        inst = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))
        try:
            inst.exports(store)["_start"](store)
        except wasmtime.ExitTrap as e:
            assert e.code == 0, e
        theirs = (Path(tmp) / "out").read_text()
    print(ours.stdout, end="")
    if ours.returncode != 0 or ours.stdout != theirs:
        sys.exit(f"MISMATCH (exit {ours.returncode}, stderr {ours.stderr!r}):\n{theirs}")
    print(f"same output as wasmtime ({len(theirs.splitlines())} lines)")


def interleave(cmds: dict[str, list[str]], rounds: int, stdin: Path,
               probe: list[str] | None = None) -> tuple[dict[str, list[float]], list[float]]:
    """CPU seconds of each command per round (the order rotates each round), and of `probe` (a
    start-up measurement) once per round.  Every command must print what the first one printed
    in the first round."""
    bench = load_bench()
    names = list(cmds)
    times: dict[str, list[float]] = {n: [] for n in names}
    startup: list[float] = []
    expected = None
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            run = bench.run_once(cmds[name], stdin=stdin)
            if not run.ok:
                sys.exit(f"{name}: {run.detail}")
            if expected is None:
                expected = run.stdout
            elif run.stdout != expected:
                sys.exit(f"{name} printed {run.stdout.strip()[:200]!r}, not {expected.strip()!r}")
            times[name].append(run.cpu)
        if probe:
            startup.append(bench.run_once(probe).cpu)
    return times, startup


def summary(times: dict[str, list[float]], startup: list[float], subtract: str) -> str:
    """A Markdown table: median and minimum CPU seconds, and medians over the first engine's;
    `subtract` names the engine whose start-up (the median of `startup`) is taken off."""
    base = statistics.median(next(iter(times.values())))
    lines = ["| engine | median CPU s | min CPU s | ×native (medians) |", "|---|---|---|---|"]
    for name, ts in times.items():
        off = statistics.median(startup) if name == subtract and startup else 0.0
        med, low = statistics.median(ts) - off, min(ts) - off
        lines.append(f"| {name} | {med:.3f} | {low:.3f} | {med / base:.2f}× |")
    return "\n".join(lines)


def bench_run(wasm: Path, rounds: int, workdir: Path) -> str:
    bench = load_bench()
    native = workdir / "native"
    bench.run_tool([bench.CLANG, "-O2", "-w", *sources(workdir), "-lm", "-o", str(native)])
    bench.build_wasmc(wasm, workdir / "wasmc")
    bench.build_wasmtime(wasm, workdir / "quickjs.cwasm")
    bench.build_wasm2c(wasm, workdir / "w2c", workdir / "wasm2c")
    bench.BUILD.mkdir(parents=True, exist_ok=True)
    empty = bench.make_empty_module()
    script = workdir / "bench.js"
    script.write_text(BENCH_SCRIPT)
    runner = [sys.executable, str(bench.WASMTIME_RUNNER)]
    cmds = {"native": [str(native)], "wasmc": [str(workdir / "wasmc")],
            "wasmtime": [*runner, str(workdir / "quickjs.cwasm")],
            "wasm2c": [str(workdir / "wasm2c")]}
    times, startup = interleave(cmds, rounds, script, [*runner, str(empty)])
    return summary(times, startup, "wasmtime")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, help="build the module here")
    ap.add_argument("--check", type=Path, help="compare wasmc with wasmtime on this module")
    ap.add_argument("--bench", type=int, metavar="ROUNDS",
                    help="time the module under every engine against a native build")
    ap.add_argument("module", nargs="?", type=Path, help="the module, for --bench")
    a = ap.parse_args()
    if a.output:
        with tempfile.TemporaryDirectory() as tmp:
            build(a.output, Path(tmp))
    if a.check:
        check(a.check)
    if a.bench:
        module = a.module or a.output
        if module is None:
            ap.error("--bench needs the module (or -o to build it)")
        with tempfile.TemporaryDirectory() as tmp:
            print(bench_run(module.resolve(), a.bench, Path(tmp)))


if __name__ == "__main__":
    main()
