"""Shrink a mismatching module, keeping the *signature* of its first difference.

    python -m fuzz.minimise build/fuzz/lowering-1-5.wat  [--plan-seed N] [-o out.wat]
    python -m fuzz.minimise build/fuzz/binaryen-1-4.wasm [--plan-seed N] [-o out.wat]

The signature is the difference with numbers, names, values and details blanked ("call: expected
trap memory, got ok"), so a reduction may change values but not the kind of failure.

Text modules (our generator's flat WAT, one instruction a line) are reduced here: first each
function body is replaced by `unreachable` (valid for any signature), then chunks of lines are
deleted, largest first (ddmin); a candidate that wasmtime rejects is dropped without running wasmc.
Binary modules go through binaryen's `wasm-reduce` with a probe command (`--probe FILE`) printing
the signature; binaryen cannot parse block parameters, so our own modules never take that path.
"""

from __future__ import annotations

import argparse
import random
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from .differential import check_module

REDUCE_FEATURES = ("--mvp-features --enable-sign-ext --enable-mutable-globals "
                   "--enable-nontrapping-float-to-int --enable-bulk-memory --enable-multivalue "
                   "--enable-reference-types")


def signature(diff: str) -> str:
    s = diff
    while re.search(r"\([^()]*\)|\[[^\[\]]*\]", s):  # details and values, innermost first
        s = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", s)
    s = re.sub(r"call #\d+", "call", s)
    s = re.sub(r"host call #\d+", "host call", s)
    s = re.sub(r"0x[0-9a-f]+|\b\d+\b", "N", s)
    return " ".join(s.split())


def probe(path: Path, plan_seed: int) -> str:
    if path.suffix == ".wat":
        return probe_text(path.read_text(), plan_seed)
    return probe_bytes(path.read_bytes(), plan_seed)


def is_valid(text: str) -> bytes | None:
    import wasmtime

    from .engines import engine

    try:
        wasm = wasmtime.wat2wasm(text)
        wasmtime.Module.validate(engine(), wasm)
        return wasm
    except Exception:  # noqa: BLE001 - wasmtime's parse and validation errors alike
        return None


def reduce_text(text: str, plan_seed: int, budget_s: float = 600.0) -> str:
    """ddmin over the lines of a flat WAT module (see the module docstring)."""
    import time

    want = probe_text(text, plan_seed)
    deadline = time.monotonic() + budget_s

    def keeps(lines: list[str]) -> bool:
        cand = "\n".join(lines)
        wasm = is_valid(cand)
        return wasm is not None and probe_bytes(wasm, plan_seed) == want

    lines = text.splitlines()
    # 1. whole function bodies -> unreachable
    starts = [i for i, ln in enumerate(lines) if ln.strip().startswith("(func")]
    for start in reversed(starts):
        end = next(j for j in range(start + 1, len(lines)) if lines[j] == "  )")
        cand = lines[:start + 1] + ["    unreachable"] + lines[end:]
        if end > start + 2 and keeps(cand):
            lines = cand
    # 2. cut each remaining body short: the shortest prefix (binary search) + unreachable
    for start in reversed([i for i, ln in enumerate(lines) if ln.strip().startswith("(func")]):
        end = next(j for j in range(start + 1, len(lines)) if lines[j] == "  )")
        body = lines[start + 1:end]
        lo, hi = 0, len(body)  # body[:hi] + closers keeps the failure (hi = len: the body as is)
        while lo < hi and time.monotonic() < deadline:
            mid = (lo + hi) // 2
            if keeps(lines[:start + 1] + truncated(body, mid) + lines[end:]):
                hi = mid
            else:
                lo = mid + 1
        if hi < len(body):
            lines = lines[:start + 1] + truncated(body, hi) + lines[end:]
    # 3. delete runs of instruction lines, longest first, at every position
    for run in (16, 8, 4, 3, 2, 1):
        i = 0
        while i < len(lines) and time.monotonic() < deadline:
            cand = lines[:i] + lines[i + run:]
            if all(ln.startswith("    ") for ln in lines[i:i + run]) and keeps(cand):
                lines = cand
            else:
                i += 1
    return "\n".join(lines) + "\n"


def truncated(body: list[str], k: int) -> list[str]:
    """The first k instructions of a flat body, then `unreachable` and whatever closes it."""
    open_: list[str] = []
    for ln in body[:k]:
        op = ln.split()[0] if ln.split() else ""
        if op in ("block", "loop", "if"):
            open_.append(op)
        elif op == "else":
            open_[-1] = "else"
        elif op == "end":
            open_.pop()
    closers = []
    for op in reversed(open_):
        closers += ["    else", "    unreachable", "    end"] if op == "if" else ["    end"]
    return body[:k] + ["    unreachable"] + closers


def probe_bytes(wasm: bytes, plan_seed: int) -> str:
    r = check_module(wasm, random.Random(plan_seed), timeout=20)
    if r.status == "mismatch":
        return "mismatch " + signature(r.diffs[0])
    return r.status + (" " + r.reason if r.reason else "")


def probe_text(text: str, plan_seed: int) -> str:
    wasm = is_valid(text)
    return "invalid" if wasm is None else probe_bytes(wasm, plan_seed)


def reduce(wasm: Path, plan_seed: int, out: Path | None = None, timeout: int = 600) -> str:
    """The reduced module as WAT text (also written to `out` if given)."""
    with tempfile.TemporaryDirectory(prefix="wasmc-reduce-") as tmp:
        test, work = Path(tmp) / "test.wasm", Path(tmp) / "work.wasm"
        cmd = f"{shlex.quote(sys.executable)} -m fuzz.minimise --probe {test} --plan-seed {plan_seed}"
        try:  # on timeout the working file holds the best reduction so far
            subprocess.run(["wasm-reduce", str(wasm), "--command", cmd, "-t", str(test), "-w", str(work),
                            "--timeout", "30", "-ef", REDUCE_FEATURES, "-f"],
                           cwd=Path(__file__).resolve().parent.parent, capture_output=True, timeout=timeout,
                           check=False)
        except subprocess.TimeoutExpired:
            pass
        text = subprocess.run(["wasm2wat", "--enable-all", str(work)], capture_output=True, text=True,
                              check=True).stdout
    if out:
        out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.minimise")
    ap.add_argument("wasm", type=Path, nargs="?")
    ap.add_argument("--probe", type=Path, help="(internal) print the signature of FILE")
    ap.add_argument("--plan-seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path)
    ap.add_argument("--budget", type=float, default=600.0, help="seconds for the text reducer")
    args = ap.parse_args(argv)
    if args.probe:
        print(probe(args.probe, args.plan_seed))
        return 0
    if args.wasm.suffix == ".wat":
        text = args.wasm.read_text()
        print("original:", probe_text(text, args.plan_seed), flush=True)
        text = reduce_text(text, args.plan_seed, args.budget)
        if args.output:
            args.output.write_text(text)
    else:
        print("original:", probe(args.wasm, args.plan_seed), flush=True)
        text = reduce(args.wasm, args.plan_seed, args.output)
    print(text)
    print("reduced:", probe_text(text, args.plan_seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
