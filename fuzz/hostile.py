"""Hostile binaries: a mutation fuzzer over real modules; every input must give a clean answer.

    python -m fuzz.hostile --seed 1 --count 3000 [--out build/hostile]

Sandbox-critical: this is the check that a hostile module cannot crash, hang or exhaust the compiler.

Corpus: the binary modules of the spec suite (`wast2json` over core-2.0, SIMD files left out) and
modules of our own generator.  Mutations: truncation, bit flips, byte insertion/deletion/overwrite,
overlong and overflowing LEBs, a section's count or size set huge, plus synthesized extremes (deep
block nesting, a huge `br_table`, huge memory/table declarations, huge local counts, many functions,
long bodies).

Each case is compiled through the CLI in-process (`wasmc.cli.main([...], standalone_mode=False)`,
`--emit=obj`; a few accepted cases go on to a linked executable) inside a worker subprocess running
under `RLIMIT_AS`, with a wall-clock limit per case enforced by the parent.  A case passes when
the exit status is 0, or 1 with a one-line `FILE:0xOFFSET: error: message`.  Anything else is a
finding: another exit status, a message without an offset, a Python traceback (including
MemoryError), a dead worker (LLVM assertion, C-compiler failure, signal) or a timeout.

Also reported, not counted as failures: modules wasmtime (Wasm 2.0 features, no SIMD) accepts
and wasmc rejects, or the reverse ("validation disagreements").
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import resource
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASE_TIMEOUT = 20.0
ADDRESS_SPACE = 6 << 30
CLEAN = re.compile(r"^\S.*:0x[0-9a-f]+: error: \S.*$")


# --- LEB helpers ------------------------------------------------------------------------------------
def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while pos < len(data):
        b = data[pos]
        n |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if not b & 0x80 or shift > 35:
            break
    return n, pos


def sections(wasm: bytes) -> list[tuple[int, int, int, int]]:
    """(id, start of size LEB, start of contents, end) for each section that parses."""
    out, pos = [], 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, body = read_uleb(wasm, pos + 1)
        if body + size > len(wasm):
            break
        out.append((sid, pos + 1, body, body + size))
        pos = body + size
    return out


def section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + uleb(len(body)) + body


HEADER = b"\0asm\1\0\0\0"


# --- synthesized extremes ---------------------------------------------------------------------------
def func_module(body: bytes, locals_: bytes = b"\x00", results: bytes = b"\x00") -> bytes:
    """One function of type [] -> results with the given locals declaration and body (no `end`)."""
    code = locals_ + body + b"\x0b"
    return (HEADER + section(1, b"\x01\x60\x00" + results) + section(3, b"\x01\x00")
            + section(5, b"\x01\x00\x01") + section(10, b"\x01" + uleb(len(code)) + code))


def _synth_memory(n: int) -> bytes:
    lim = [b"\x00\x80\x80\x04", b"\x01\x80\x80\x04\x80\x80\x04", b"\x01\x00\x81\x80\x04",
           b"\x00\xff\xff\xff\xff\x0f", b"\x01\xff\xff\xff\xff\x0f\xff\xff\xff\xff\x0f"][n % 5]
    return HEADER + section(5, b"\x01" + lim)


def _synth_table(n: int) -> bytes:
    lim = [b"\x00\xff\xff\xff\xff\x0f", b"\x01\x00\xff\xff\xff\xff\x0f", b"\x00\x80\x80\x80\x01"][n % 3]
    return HEADER + section(4, b"\x01\x70" + lim)


# name -> builder(n): each an extreme a limit (compiler/limits.py) should refuse or bound
SYNTH = {
    "nest": lambda n: func_module(b"\x02\x40" * n + b"\x0b" * n),
    "nest_open": lambda n: func_module(b"\x02\x40" * n),  # never closed
    "br_table": lambda n: func_module(b"\x41\x00\x0e" + uleb(n) + b"\x00" * (n + 1)),
    "br_table_count": lambda n: func_module(b"\x41\x00\x0e\xff\xff\xff\xff\x0f\x00"),
    "memory": _synth_memory,
    "table": _synth_table,
    "locals": lambda n: func_module(b"", uleb(1) + uleb(50_001 + n) + b"\x7f"),
    "locals_huge": lambda n: func_module(b"", uleb(1) + b"\xff\xff\xff\xff\x0f\x7f"),
    "locals_sum": lambda n: func_module(b"", uleb(3) + (b"\xff\xff\xff\xff\x07\x7e") * 3),
    "funcs": lambda n: HEADER + section(1, b"\x01\x60\x00\x00") + section(3, uleb(n) + b"\x00" * n),
    "funcs_count": lambda n: HEADER + section(1, b"\x01\x60\x00\x00") + section(3, b"\xff\xff\xff\xff\x0f"),
    "params": lambda n: HEADER + section(1, b"\x01\x60" + uleb(n) + b"\x7f" * n + b"\x00"),
    "body": lambda n: func_module(b"\x41\x00\x1a" * n),  # long straight-line body
    "stack": lambda n: func_module(b"\x41\x00" * n + b"\x1a" * n),  # deep operand stack
    "data": lambda n: (HEADER + section(5, b"\x01\x00\x01")
                       + section(11, b"\x01\x00\x41\x00\x0b" + uleb(0xFFFFFFF) + b"x")),
    "elem": lambda n: (HEADER + section(4, b"\x01\x70\x00\x01")
                       + section(9, b"\x01\x00\x41\x00\x0b" + uleb(0xFFFFFFF) + b"\x00")),
}


def synthesized(rng: random.Random) -> tuple[str, bytes]:
    k = rng.choice(sorted(SYNTH))
    n = rng.choice([10_000, 100_000, 1_000_000])
    return f"synth:{k}:{n}", SYNTH[k](n)


# --- mutations --------------------------------------------------------------------------------------
def mutate(wasm: bytes, rng: random.Random) -> tuple[str, bytes]:
    data = bytearray(wasm)
    k = rng.choice(["truncate", "flip", "flip", "insert", "delete", "overwrite", "leb_overlong",
                    "leb_huge", "count_huge", "size_huge", "splice", "multi"])
    secs = sections(wasm)
    if k == "truncate":
        return k, bytes(data[:rng.randrange(len(data))])
    if k == "flip":
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        return k, bytes(data)
    if k == "insert":
        i = rng.randrange(len(data) + 1)
        return k, bytes(data[:i] + bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8))) + data[i:])
    if k == "delete":
        i = rng.randrange(len(data))
        return k, bytes(data[:i] + data[i + rng.randint(1, 8):])
    if k == "overwrite":
        i = rng.randrange(len(data))
        data[i] = rng.choice([0x00, 0x7F, 0x80, 0xFF, 0x0B, 0x02, 0x0E, 0x41, rng.getrandbits(8)])
        return k, bytes(data)
    if k == "splice":  # a random slice of the module repeated somewhere
        i, j = sorted(rng.randrange(len(data) + 1) for _ in range(2))
        at = rng.randrange(len(data) + 1)
        return k, bytes(data[:at] + data[i:j] * rng.randint(1, 50) + data[at:])
    if k == "multi":
        for _ in range(rng.randint(2, 6)):
            _, mutated = mutate(bytes(data), rng)
            data = bytearray(mutated) if mutated else data
        return k, bytes(data)
    if not secs:
        return "truncate", bytes(data[:rng.randrange(len(data))])
    _sid, size_at, body, end = rng.choice(secs)
    if k == "leb_overlong":  # re-encode a LEB in place with padding continuation bytes
        i = rng.randrange(size_at, end) if end > size_at else size_at
        v, j = read_uleb(wasm, i)
        pad = rng.choice([1, 2, 5, 10])
        enc = bytearray(uleb(v))
        enc = bytearray(b | 0x80 for b in enc) + b"\x80" * (pad - 1) + b"\x00"
        return k, bytes(data[:i] + enc + data[j:])
    if k == "leb_huge":
        i = rng.randrange(size_at, end) if end > size_at else size_at
        _, j = read_uleb(wasm, i)
        huge = rng.choice([b"\xff\xff\xff\xff\x0f", b"\xff\xff\xff\xff\x1f", b"\xff\xff\xff\xff\x7f",
                           b"\x80\x80\x80\x80\x10", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"])
        return k, bytes(data[:i] + huge + data[j:])
    if k == "count_huge" and end > body:  # the vector count at the start of the section
        _, j = read_uleb(wasm, body)
        return k, bytes(data[:body] + rng.choice([b"\xff\xff\xff\xff\x0f", b"\x80\x80\x80\x40"]) + data[j:])
    # size_huge: the section's size
    _, j = read_uleb(wasm, size_at)
    return "size_huge", bytes(data[:size_at] + rng.choice([b"\xff\xff\xff\xff\x0f", uleb(end - body + 1)])
                              + data[j:])


# --- corpus -----------------------------------------------------------------------------------------
def spec_dir() -> Path:
    return Path(os.environ.get("WASMC_SPEC_DIR", REPO.parent / "shared" / "spec"))


def corpus(cache: Path | None = None, max_files: int = 400) -> list[bytes]:
    """Binary modules from the spec suite (cached under build/) and from our generator."""
    from . import gen_lowering

    cache = cache or REPO / "build" / "hostile-corpus"
    if not (cache / ".done").exists():
        cache.mkdir(parents=True, exist_ok=True)
        for wast in sorted((spec_dir() / "core-2.0").glob("*.wast")):
            if wast.name.startswith("simd"):
                continue
            subprocess.run(["wast2json", "--enable-all", str(wast), "-o", str(cache / (wast.stem + ".json"))],
                           capture_output=True, cwd=cache, check=False)  # a failing file is skipped
        (cache / ".done").write_text("")
    mods = []
    for p in sorted(cache.glob("*.wasm")):
        data = p.read_bytes()
        if data[:4] == b"\0asm" and 8 < len(data) < 200_000:
            mods.append(data)
    rng = random.Random(0)
    rng.shuffle(mods)
    mods = mods[:max_files]
    mods += [gen_lowering.generate(s) for s in range(20)]
    return mods


def make_case(mods: list[bytes], rng: random.Random, synth_rate: float = 0.02) -> tuple[str, bytes]:
    if rng.random() < synth_rate:
        return synthesized(rng)
    return mutate(rng.choice(mods), rng)


# --- the worker -------------------------------------------------------------------------------------
def compile_case(wasm: bytes, exe: bool) -> dict:
    """In the worker: the CLI on one case; returns exit status, stderr, exception (if any)."""
    from wasmc.cli import main as cli

    with tempfile.TemporaryDirectory(prefix="wasmc-hostile-") as tmp:
        src = Path(tmp) / "case.wasm"
        src.write_bytes(wasm)
        out = Path(tmp) / ("case" if exe else "case.o")
        args = [str(src), "-o", str(out), "-O", "1"] + ([] if exe else ["--emit=obj"])
        err = io.StringIO()
        status, exc = 0, ""
        t0 = time.perf_counter()
        try:
            with redirect_stderr(err), redirect_stdout(io.StringIO()):
                cli.main(args, standalone_mode=False)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
        except BaseException as e:  # noqa: BLE001 - a finding, reported to the parent
            import traceback

            status, exc = -1, "".join(traceback.format_exception(e)[-4:])
        return {"status": status, "stderr": err.getvalue().replace(str(src), "case.wasm"),
                "exception": exc, "secs": time.perf_counter() - t0}


def worker_main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for line in sys.stdin:
        req = json.loads(line)
        res = compile_case(bytes.fromhex(req["wasm"]), req["exe"])
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


class Worker:
    """A persistent worker process; restarted after a crash or a timeout."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        self.proc = subprocess.Popen([sys.executable, "-m", "fuzz.hostile", "--worker"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, wasm: bytes, exe: bool, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"wasm": wasm.hex(), "exe": exe}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.stop()
            return {"status": "timeout"}
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            rc = self.proc.returncode
            self.proc = None
            return {"status": "crash", "stderr": f"worker died with status {rc}\n{err[-2000:]}"}
        return json.loads(line)


# --- verdicts ---------------------------------------------------------------------------------------
@dataclass
class Verdict:
    ok: bool
    what: str  # "accepted", "rejected", or the kind of finding
    detail: str = ""


def judge(res: dict) -> Verdict:
    st = res["status"]
    if st == 0:
        return Verdict(True, "accepted")
    if st == 1:
        lines = [ln for ln in res.get("stderr", "").splitlines() if ln.strip()]
        if len(lines) == 1 and CLEAN.match(lines[0]):
            return Verdict(True, "rejected", lines[0])
        return Verdict(False, "unclean error", res.get("stderr", "")[-500:])
    if st == "timeout":
        return Verdict(False, "timeout")
    if st == "crash":
        return Verdict(False, "crash", res.get("stderr", "")[-1500:])
    return Verdict(False, "exception" if st == -1 else f"exit status {st}",
                   res.get("exception") or res.get("stderr", ""))


def wasmtime_accepts(wasm: bytes) -> bool:
    import wasmtime

    from .engines import wasm2_config

    cfg = wasm2_config(fuel=False)
    cfg.wasm_relaxed_simd = False
    cfg.wasm_simd = False
    try:
        wasmtime.Module.validate(wasmtime.Engine(cfg), wasm)
        return True
    except Exception:  # noqa: BLE001
        return False


def run_campaign(seed: int, count: int, out: Path | None = None, timeout: float = CASE_TIMEOUT,
                 verbose: bool = True, synth_rate: float = 0.02) -> dict:
    rng = random.Random(seed)
    mods = corpus()
    worker = Worker()
    kinds: Counter = Counter()
    findings: list[dict] = []
    disagreements: list[dict] = []
    t0 = time.perf_counter()
    try:
        for i in range(count):
            mutation, wasm = make_case(mods, rng, synth_rate)
            exe = rng.random() < 0.05
            res = worker.run(wasm, exe, timeout)
            v = judge(res)
            kinds[v.what] += 1
            if not v.ok:
                f = {"case": i, "mutation": mutation, "finding": v.what, "detail": v.detail}
                findings.append(f)
                if out:
                    out.mkdir(parents=True, exist_ok=True)
                    (out / f"case-{seed}-{i}.wasm").write_bytes(wasm)
                if verbose:
                    print(f"case {i} ({mutation}): {v.what}\n  {v.detail[:800]}", flush=True)
            elif len(wasm) < 300_000 and (v.what == "accepted") != wasmtime_accepts(wasm):
                d = {"case": i, "mutation": mutation,
                     "wasmc": v.what, "detail": v.detail}
                disagreements.append(d)
                if out:
                    out.mkdir(parents=True, exist_ok=True)
                    (out / f"disagree-{seed}-{i}.wasm").write_bytes(wasm)
            if verbose and (i + 1) % 500 == 0:
                print(f"[{i + 1}/{count}] {dict(kinds)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        worker.stop()
    return {"cases": count, "outcomes": dict(kinds), "findings": findings,
            "disagreements": disagreements, "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.hostile", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=Path("build/hostile"))
    ap.add_argument("--timeout", type=float, default=CASE_TIMEOUT)
    ap.add_argument("--synth-rate", type=float, default=0.02, help="share of synthesized extremes")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker_main()
        return 0
    rep = run_campaign(args.seed, args.count, args.out, args.timeout, synth_rate=args.synth_rate)
    print(f"hostile: {rep['cases']} cases in {rep['seconds']:.0f} s: {rep['outcomes']}; "
          f"{len(rep['findings'])} findings, {len(rep['disagreements'])} validation disagreements "
          f"with wasmtime")
    for d in rep["disagreements"][:20]:
        print(f"  disagreement case {d['case']} ({d['mutation']}): wasmc {d['wasmc']} {d['detail'][:200]}")
    return 1 if rep["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
