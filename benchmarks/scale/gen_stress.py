"""Generate the compile-scale stress module (issue 7): tens of thousands of small functions, a few
huge ones, big `br_table`s and big data segments, deterministic for a given seed.

    python benchmarks/scale/gen_stress.py --functions 20000 -o build/stress.wasm
"""

from __future__ import annotations

import argparse
import random

import wasmtime


def small_function(i: int, n: int, rng: random.Random) -> str:
    callee = rng.randrange(n)
    ops = []
    for _ in range(rng.randint(4, 16)):
        k = rng.randint(1, 1000)
        ops.append(rng.choice([
            f"(local.set 1 (i32.add (local.get 1) (i32.mul (local.get 0) (i32.const {k}))))",
            f"(local.set 1 (i32.xor (local.get 1) (i32.load offset={k * 4} (i32.const 0))))",
            f"(i32.store offset={k * 4} (i32.const 0) (local.get 1))",
            f"(if (i32.gt_u (local.get 1) (i32.const {k})) (then (local.set 1 (i32.shr_u"
            f" (local.get 1) (i32.const 1)))))",
        ]))
    ops.append(f"(if (i32.lt_u (local.get 0) (i32.const 2)) (then (local.set 1 (i32.add"
               f" (local.get 1) (call $f{callee} (i32.add (local.get 0) (i32.const 1)))))))")
    return (f"(func $f{i} (param i32) (result i32) (local i32) {' '.join(ops)}"
            f" (local.get 1))")


def huge_function(i: int, blocks: int) -> str:
    """A switch over `blocks` cases (one big br_table), each case a little arithmetic."""
    labels = " ".join(f"$c{k}" for k in range(blocks))
    # case k: (block $ck <cases below k>) <case k's code> (br $done), built inside out; joined
    # once, since growing one string case by case is quadratic
    opens = [f"(block $c{k} " for k in reversed(range(blocks))]
    core = f"(br_table {labels} $c0 (i32.rem_u (local.get 0) (i32.const {blocks})))"
    closes = [f") (local.set 1 (i32.add (i32.mul (local.get 1) (i32.const {k * 7 + 3}))"
              f" (i32.const {k}))) (br $done)" for k in range(blocks)]
    body = "".join(opens) + core + "".join(closes)
    return (f"(func $huge{i} (export \"huge{i}\") (param i32) (result i32) (local i32)"
            f" (block $done {body}) (local.get 1))")


def generate(functions: int, huge: int, cases: int, data_kib: int, seed: int) -> str:
    rng = random.Random(seed)
    parts = ["(module", "(memory (export \"memory\") 64)"]
    parts += [small_function(i, functions, rng) for i in range(functions)]
    parts += [huge_function(i, cases) for i in range(huge)]
    parts.append(f"(table {functions} funcref)")
    parts.append("(elem (i32.const 0) func " + " ".join(f"$f{i}" for i in range(functions)) + ")")
    blob = "".join(f"\\{rng.randrange(256):02x}" for _ in range(data_kib * 1024))
    parts.append(f'(data (i32.const 65536) "{blob}")')
    parts.append('(func (export "_start") (drop (call $f0 (i32.const 0))))')
    parts.append(")")
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--functions", type=int, default=20000)
    ap.add_argument("--huge", type=int, default=3, help="functions with one giant br_table each")
    ap.add_argument("--cases", type=int, default=3000, help="br_table targets per huge function")
    ap.add_argument("--data-kib", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    wasm = wasmtime.wat2wasm(generate(a.functions, a.huge, a.cases, a.data_kib, a.seed))
    with open(a.output, "wb") as f:
        f.write(wasm)
    print(f"{a.output}: {len(wasm)} bytes")


if __name__ == "__main__":
    main()
