"""Interpreter dispatch: a wide `br_table` in a loop becomes a jump through a block-address table.

`control.lower_dispatch` clamps the index (out-of-range and negative indices take the default
slot) and ends the block in `indirectbr`.  The modules below are small bytecode interpreters with
every kind of target a dispatch `br_table` can have: plain blocks, the loop header itself, blocks
receiving a value, the default, handlers that trap (`unreachable`, an out-of-bounds load) and
handlers that return.  Every program must behave as under wasmtime, at -O0 and -O2; the IR tests
check which `br_table`s take the new form.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest
import wasmc
import wasmtime
from test_sandbox import differential
from wasmc import backend, driver
from wasmc.lower import module_lowering

# Opcodes (one signed byte each, some followed by an immediate byte):
#   0 halt   1 imm: acc = acc*31 + imm   2 acc += 7   3 imm: jump to imm
#   4 imm: jump to imm if acc is even   5 imm: acc += load32(imm << 16)  (traps for imm > 0)
#   6 unreachable   7 acc *= 3   8 skip the next byte (branches to the loop header itself)
#   9 acc -= 1   anything else (10..127, negative): acc ^= opcode
VM = """
  (func $vm (export "vm") (param $pc i32) (param $fuel i32) (result i64)
    (local $op i32) (local $acc i64)
    (loop $next
      (if (i32.eqz (local.get $fuel)) (then (return (i64.const -1))))
      (local.set $fuel (i32.sub (local.get $fuel) (i32.const 1)))
      (local.set $op (i32.load8_s (local.get $pc)))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (block $default (block $dec (block $skip (block $mul (block $trap (block $load (block $jz
      (block $jmp (block $add (block $imm (block $halt
        (br_table $halt $imm $add $jmp $jz $load $trap $mul $skip $dec $default (local.get $op)))
        (return (local.get $acc)))
        (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31))
                                 (i64.load8_u (local.get $pc))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $next))
        (local.set $acc (i64.add (local.get $acc) (i64.const 7)))
        (br $next))
        (local.set $pc (i32.load8_u (local.get $pc)))
        (br $next))
        (if (i64.eqz (i64.and (local.get $acc) (i64.const 1)))
          (then (local.set $pc (i32.load8_u (local.get $pc))) (br $next)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $next))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u
          (i32.load (i32.shl (i32.load8_u (local.get $pc)) (i32.const 16))))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $next))
        unreachable)
        (local.set $acc (i64.mul (local.get $acc) (i64.const 3)))
        (br $next))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $next))
        (local.set $acc (i64.sub (local.get $acc) (i64.const 1)))
        (br $next))
      (local.set $acc (i64.xor (local.get $acc) (i64.extend_i32_s (local.get $op))))
      (br $next))
    (unreachable))

  ;; The same shape with a value carried to every target, and the loop header among the targets.
  (func $vm_values (export "vm_values") (param $pc i32) (param $fuel i32) (result i32)
    (local $op i32) (local $acc i32)
    (loop $next
      (if (i32.eqz (local.get $fuel)) (then (return (i32.const -1))))
      (local.set $fuel (i32.sub (local.get $fuel) (i32.const 1)))
      (local.set $op (i32.load8_s (local.get $pc)))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (local.set $acc
        (block $d (result i32) (block $c7 (result i32) (block $c6 (result i32)
        (block $c5 (result i32) (block $c4 (result i32) (block $c3 (result i32)
        (block $c2 (result i32) (block $c1 (result i32) (block $c0 (result i32)
          (i32.add (local.get $acc) (local.get $op))
          (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $d (local.get $op)))
          (return))                                             ;; 0: halt with the value
          (i32.mul (i32.const 5)) (br $d))
          (i32.xor (i32.const 0x55)) (br $d))
          (i32.rotl (i32.const 3)) (br $d))
          (i32.div_u (i32.const 0)))                           ;; 4: traps (divide by zero)
          (i32.sub (i32.const 1)) (br $d))
          (i32.shr_u (i32.const 1)) (br $d))
          (i32.add (i32.const 1000)) (br $d)))
      (br $next))
    (unreachable))
"""

PROGRAMS = {
    # address: bytes
    0: [1, 5, 2, 7, 9, 7, 0],                          # straight line, halts
    32: [1, 4, 4, 38, 2, 0, 7, 8, 99, 12, -3, 0],      # jz taken, skip, default arms, negative op
    64: [1, 1, 2, 3, 64],                              # a loop that runs out of fuel
    96: [1, 2, 5, 0, 5, 1, 0],                         # an in-bounds load, then one past the page
    128: [2, 7, 6, 0],                                 # unreachable
    160: [50, 51, 127, -128, -1, 9, 0],                # only default-slot and edge indices
    192: [1, 2, 4, 200, 9, 3, 192, 0, 2, 0],           # jz not taken once, then a backwards jump
}
VALUE_PROGRAMS = {
    256: [3, 1, 2, 7, 6, 5, 9, 0],                     # every value arm, then halt
    288: [1, 2, 4],                                    # divide by zero
    320: [8, 100, -1, -128, 3, 0],                     # default and out-of-range indices
    352: [1, 3, 1, 3, 1, 3, 1],                        # runs out of fuel
}


def module() -> str:
    data = []
    for addr, prog in {**PROGRAMS, **VALUE_PROGRAMS}.items():
        text = "".join(f"\\{b & 0xFF:02x}" for b in prog)
        data.append(f'(data (i32.const {addr}) "{text}")')
    return "(module (memory 1)\n" + VM + "\n".join(data) + ")"


def plan() -> list[tuple[str, list[int]]]:
    calls = []
    for addr in PROGRAMS:
        calls += [("vm", [addr, 50]), ("vm", [addr, 3])]
    for addr in VALUE_PROGRAMS:
        calls += [("vm_values", [addr, 50]), ("vm_values", [addr, 2])]
    return calls


def test_dispatch_runs_like_wasmtime():
    differential(module(), plan())


@pytest.mark.parametrize("level", [0, 2])
def test_dispatch_at_each_level(level, tmp_path):
    """The -O0 pipeline takes the same lowering; run a trapping and a returning program."""
    wasm = tmp_path / "vm.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(module().replace(
        '(func $vm (export "vm")', '(func $start (export "_start") (drop (call $vm (i32.const 32) '
        '(i32.const 50))) (drop (call $vm (i32.const 128) (i32.const 50))))\n  (func $vm')))
    exe = tmp_path / "vm"
    wasmc.compile(wasm, exe, opt_level=level)
    got = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert got.returncode == 134, got
    assert "unreachable" in got.stderr


def functions_ir(wat: str, opt_level: int) -> dict[str, str]:
    text = wasmc.compile(wasmtime.wat2wasm(wat), emit="llvm", opt_level=opt_level)
    return dict(re.findall(r'define [^@]*@"wasm:\d+:([^"]+)"[^{]*\{(.*?)\n\}', text, re.DOTALL))


@pytest.mark.parametrize("level", [0, 2])
def test_which_br_tables_dispatch(level):
    """Wide tables in loops dispatch through `indirectbr`; narrow ones and ones outside any loop
    stay a `switch` (which LLVM may turn into a lookup table or a branch tree)."""
    narrow = """
  (func $narrow (export "narrow") (param $i i32) (result i32)
    (loop $l (block $b (block $a (br_table $a $b $l (local.get $i))) (return (i32.const 1)))
      (return (i32.const 2)))
    (i32.const 0))
  (func $straight (export "straight") (param $i i32) (result i32)
    (block $7 (block $6 (block $5 (block $4 (block $3 (block $2 (block $1 (block $0
      (br_table $0 $1 $2 $3 $4 $5 $6 $7 (local.get $i)))
      (return (i32.const 0))) (return (i32.const 1))) (return (i32.const 2)))
      (return (i32.const 3))) (return (i32.const 4))) (return (i32.const 5)))
      (return (i32.const 6))) (return (i32.const 7)))"""
    funcs = functions_ir(module().replace("(memory 1)", "(memory 1)" + narrow), level)
    for name in ("vm", "vm_values"):
        assert "indirectbr" in funcs[name] and "switch" not in funcs[name], name
    for name in ("narrow", "straight"):
        assert "indirectbr" not in funcs[name], name


def crash_on_indirectbr(monkeypatch) -> None:
    """Make LLVM 'crash' (SIGSEGV) on any module holding an `indirectbr`, as it did on
    tests/regressions/dispatch_llvm_crash.wat, so the fallback is tested whatever LLVM does."""
    optimise = backend.optimise

    def crashing(mod, tm, level):
        if "indirectbr" in str(mod):
            os.kill(os.getpid(), signal.SIGSEGV)
        optimise(mod, tm, level)

    monkeypatch.setattr(backend, "optimise", crashing)


@pytest.mark.parametrize("jobs", [1, 2])
def test_llvm_crash_on_dispatch_falls_back_to_switch(jobs, tmp_path, monkeypatch):
    """A partition with a dispatch loop is optimised in a process of its own; when that dies,
    it is lowered again with `switch` and the program still behaves as under wasmtime."""
    crash_on_indirectbr(monkeypatch)
    monkeypatch.setattr(module_lowering, "MIN_PARTITION_BYTES", 100)  # jobs=2: two partitions
    wat = module().replace('(func $vm (export "vm")', '(func $start (export "_start") (drop (call '
                           '$vm (i32.const 128) (i32.const 50))))\n  (func $vm')
    wat = wat.replace("(memory 1)", "(memory 1) (func $pad (result i32) (i32.const 1) "
                      + "(i32.add (i32.const 2))" * 60 + ")")
    wasm = wasmtime.wat2wasm(wat)
    times = driver.PhaseTimes()
    exe = tmp_path / "vm"
    driver.build_executable(wasm, exe, driver.Options(opt_level=2, jobs=jobs), times)
    table = times.table()
    assert "LLVM died (exit status -11) optimising a dispatch loop" in table, table
    assert jobs == 1 or "2 partition(s)" in table, table
    got = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, check=False)
    assert got.returncode == 134 and "unreachable" in got.stderr, got
    ir = wasmc.compile(wasm, emit="llvm", opt_level=2)  # --emit takes the same fallback
    assert "indirectbr" not in ir and "switch" in ir


def test_dispatch_partition_unaffected_without_crash(monkeypatch):
    """Optimised in a forked process, the dispatch IR comes back intact (no fallback taken)."""
    times = driver.PhaseTimes()
    ir = driver.compile_module(wasmtime.wat2wasm(module()), driver.Options(opt_level=2),
                               "llvm", times)[0]
    assert "indirectbr" in ir and "LLVM died" not in times.table()


def test_guarded_reports_results_exceptions_and_deaths():
    """driver._guarded: the child's result comes back, its exception is raised here (a real
    error, not a crash to work around), and a child that dies gives its exit status."""
    assert driver._guarded(lambda: ("obj", 1.5)) == (("obj", 1.5), None)
    with pytest.raises(ZeroDivisionError):
        driver._guarded(lambda: 1 // 0)
    assert driver._guarded(lambda: os._exit(3)) == (None, 3)
    assert driver._guarded(lambda: os.kill(os.getpid(), signal.SIGSEGV)) == (None, -11)
