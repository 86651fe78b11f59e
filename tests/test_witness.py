"""Dead loads still trap: the two ways a load is kept alive (compiler/lower/witness.py).

A load whose value LLVM finds unused would be deleted, or sunk into the one branch that uses it,
and its out-of-bounds trap lost.  Outside the loops LLVM may vectorise, an empty `asm` keeps the
value; inside them, a sum does.  Each case below reads a value it then throws away (dropped,
narrowed, chosen away by a constant `select`, used on one path only), in straight-line code, in a
callee whose result is dropped (so inlining is in play), in loops of both kinds, and at -O0 and
-O2; each call must trap, or not, exactly as under wasmtime.  The IR test checks which loops take
which form, since speed depends on it (an asm call stops the vectoriser; a sum costs an add per
block in loops that cannot vectorise), and that -O0 makes the loads volatile instead.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import wasmc
import wasmtime
from test_sandbox import differential

SCALAR_LOADS = [("i32.load", "i32"), ("i32.load8_s", "i32"), ("i32.load16_u", "i32"),
                ("i64.load", "i64"), ("i64.load32_s", "i64"), ("i64.load8_u", "i64"),
                ("f32.load", "f32"), ("f64.load", "f64")]
V128_LOADS = ["v128.load", "v128.load8x8_s", "v128.load32_zero", "v128.load64_splat",
              "v128.load16_splat"]

DEAD_LOADS = "\n".join(
    [f"""(func (export "drop_{op}") (param $p i32) (drop ({op} (local.get $p))))"""
     for op, _ in SCALAR_LOADS + [(v, "v128") for v in V128_LOADS]] + [
        """
  (func $callee (param $p i32) (result i32) (drop (i64.load (local.get $p))) (i32.const 1))
  (func (export "inlined") (param $p i32) (drop (call $callee (local.get $p))))
  (func (export "narrowed") (param $p i32) (result i32) (i32.wrap_i64 (i64.load (local.get $p))))
  (func (export "chosen_away") (param $p i32) (result i32)
    (select (i32.const 5) (i32.load (local.get $p)) (i32.const 1)))
  (func (export "one_path") (param $p i32) (param $c i32) (result i32) (local $x i32)
    (local.set $x (i32.load offset=4 (local.get $p)))
    (if (local.get $c) (then (return (local.get $x))))
    (i32.const 0))
  (func (export "summed_loop") (param $p i32) (param $n i32) (local $i i32)
    ;; one exit, no calls: a loop the vectoriser may take, so its loads are summed
    (loop $l
      (drop (f64.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $nop)
  (func (export "loop_with_call") (param $p i32) (param $n i32) (local $i i32)
    (loop $l
      (drop (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (call $nop)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "dispatch") (param $p i32) (param $n i32) (result i32) (local $i i32) (local $acc i32)
    ;; an interpreter's loop: br_table dispatch, a dead operand load in one arm
    (loop $l
      (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 (i32.and (local.get $i) (i32.const 3))))
        (drop (i64.load (i32.add (local.get $p) (local.get $i))))
        (br $b2))
        (local.set $acc (i32.add (local.get $acc) (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func (export "two_exits") (param $p i32) (param $n i32) (result i32) (local $i i32)
    (block $out
      (loop $l
        (br_if $out (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $i)))))
        (drop (i32.load offset=16 (i32.add (local.get $p) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $i))
  (func (export "walk") (param $p i32) (param $n i32) (result i32) (local $len i32)
    ;; one exit, but its condition is loaded (`while ((p = p->next))`): cannot vectorise
    (loop $l
      (drop (i64.load offset=8 (local.get $p)))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (br_if $l (local.tee $p (i32.load (local.get $p)))))
    (local.get $len))
  (func (export "sift") (param $p i32) (param $n i32) (result i32) (local $i i32)
    ;; a heap's sift-down: the back edge sits inside an `if` on two loaded values
    (loop $l
      (drop (i32.load offset=32 (local.get $p)))
      (if (i32.lt_u (i32.load (i32.add (local.get $p) (local.get $i)))
                    (i32.load offset=4 (i32.add (local.get $p) (local.get $i))))
        (then
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))
    (local.get $i))
  (func (export "scan") (param $p i32) (param $n i32) (result i32) (local $c i32)
    ;; `while ((c = *p++) == ' ')`: the exit tests a local the loop loads
    (loop $l
      (drop (i64.load offset=8 (local.get $p)))
      (local.set $c (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $l (i32.eq (local.get $c) (i32.const 0))))
    (local.get $p))
  (func (export "loaded_bound") (param $p i32) (param $n i32) (local $i i32) (local $end i32)
    ;; the bound is loaded once, before the loop: the trip count is still known on entry
    (local.set $end (i32.and (i32.load (local.get $p)) (i32.const 7)))
    (loop $l
      (drop (f64.load offset=8 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $end)))))
  (func (export "forever") (param $p i32) (param $n i32)
    ;; no exit at all: never summed, so its dead load traps (the sum would never leave the loop)
    (loop $l
      (drop (i32.load (local.get $p)))
      (br $l)))
  (func (export "nested") (param $p i32) (param $n i32) (local $i i32) (local $j i32)
    (loop $outer
      (drop (i32.load (local.get $p)))
      (local.set $j (i32.const 0))
      (loop $inner
        (drop (i64.load offset=8 (i32.add (local.get $p) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (local.get $n)))))"""])

MODULE = f"(module (memory 1)\n  (func (export \"poke\") (param i32) (i32.store8 (local.get 0) (i32.const 1)))\n  {DEAD_LOADS})"

# Name every exported function after its export, so the IR test can find it (name section).
MODULE = re.sub(r'\(func \(export "([^"]+)"\)', r'(func $\1 (export "\1")', MODULE)

ADDRESSES = [0, 65520, 65529, 65532, 65535, 65536, 0xFFFFFFF0]


def plan() -> list[tuple[str, list[int]]]:
    calls = [("poke", [5]), ("poke", [65534])]
    for p in ADDRESSES:
        calls += [(f"drop_{op}", [p]) for op, _ in SCALAR_LOADS]
        calls += [(f"drop_{op}", [p]) for op in V128_LOADS]
        calls += [("inlined", [p]), ("narrowed", [p]), ("chosen_away", [p]),
                  ("one_path", [p, 0]), ("one_path", [p, 1])]
        for f in ("summed_loop", "loop_with_call", "dispatch", "two_exits", "nested", "walk",
                  "sift", "scan", "loaded_bound"):
            calls += [(f, [p, 1]), (f, [p, 3])]
        if p >= 65533:  # in bounds it would spin
            calls.append(("forever", [p, 0]))
    return calls


@pytest.mark.parametrize("level", ["0", "1"])
def test_dead_loads_trap_like_wasmtime(level, monkeypatch):
    """At -O0 loads are kept as volatile loads, above it by an asm use or a sum."""
    monkeypatch.setenv("WASMC_OPT_LEVEL", level)
    differential(MODULE, plan())


def lowered_ir(wasm: bytes, fast_isel: bool = False) -> str:
    """A module's IR as lowered, before any LLVM pass: for -O1 and up, or (`fast_isel`) for -O0
    (`--emit llvm -O0` shows the latter)."""
    from wasmc.driver import front_end
    from wasmc.lower.module_lowering import lower_partitions, partition_ir_text

    return partition_ir_text(lower_partitions(front_end(wasm), 1, 1 << 62, fast_isel=fast_isel)[0])


def functions(text: str) -> dict[str, str]:
    """Function bodies of IR text by name."""
    return dict(re.findall(r'define [^@]*@"wasm:\d+:([^"]+)"[^{]*\{(.*?)\n\}', text, re.DOTALL))


def lowered_functions(fast_isel: bool) -> dict[str, str]:
    return functions(lowered_ir(wasmtime.wat2wasm(MODULE), fast_isel))


def test_which_loops_sum_their_loads():
    """Straight-line code and loops that cannot vectorise keep loads with an asm use; the one
    loop shape the vectoriser takes (innermost, one exit, no calls) sums them."""
    funcs = lowered_functions(fast_isel=False)

    def asm_uses(name: str) -> int:
        return funcs[name].count("asm sideeffect")

    def summed(name: str) -> bool:
        return re.search(r"%witness[.\d]* = add ", funcs[name]) is not None

    assert asm_uses("drop_i32.load") == 1 and asm_uses("drop_v128.load8x8_s") == 1
    assert asm_uses("callee") == 1 and asm_uses("one_path") == 1
    assert asm_uses("summed_loop") == 0 and summed("summed_loop")
    for name in ("loop_with_call", "dispatch", "two_exits", "forever", "walk", "sift", "scan"):
        assert asm_uses(name) >= 1 and not summed(name), name
    assert asm_uses("loaded_bound") == 1 and summed("loaded_bound")  # (the bound's load: asm)
    # The outer loop holds a loop, so its load gets an asm use; the inner one is summed.
    assert asm_uses("nested") == 1 and summed("nested")


def test_at_O0_loads_are_volatile_and_nothing_is_summed():
    """At -O0 (FastISel, which sends each asm with operands to SelectionDAG on its own) every
    witnessed load is volatile: no asm uses, no sums, no witness flushes."""
    funcs = lowered_functions(fast_isel=True)
    for name, body in funcs.items():
        assert 'asm sideeffect "", "r' not in body and 'asm sideeffect "", "x' not in body, name
        assert "%witness" not in body and "load_witness" not in body, name
    for name in ("drop_i32.load", "drop_v128.load8x8_s", "callee", "one_path", "summed_loop",
                 "dispatch", "nested"):
        assert " = load volatile " in funcs[name], name


@pytest.mark.parametrize("level", [0, 1, 3])
def test_a_dead_load_in_an_inlined_callee_traps_at_every_level(level, tmp_path):
    """As a command through the CLI's path (`differential` compiles at -O2): `_start` drops the
    result of a callee whose only load is dead and out of bounds."""
    wat = MODULE.replace("(memory 1)", '(memory 1)\n  (func (export "_start") '
                         "(drop (call $callee (i32.const 65532))))")
    exe = tmp_path / "dead"
    wasmc.compile(wasmtime.wat2wasm(wat), exe, opt_level=level)
    proc = subprocess.run([str(exe)], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 134, (proc.returncode, proc.stderr)
    assert "wasm trap: out of bounds memory access" in proc.stderr
