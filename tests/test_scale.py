"""Compile scale: partitioned, parallel back end and the giant-function pipeline give the same
program; a giant `br_table` becomes two levels of switches and still picks every arm; the cache
is content-addressed, bounded and cleanable; the lowering emits no needless IR."""

from __future__ import annotations

import os
import subprocess

import pytest
import wasmtime
from test_sandbox import differential
from wasmc import cache, driver, link
from wasmc.decode import decode_module
from wasmc.errors import DecodeError, ValidationError
from wasmc.lower import control, module_lowering


def module_text(n: int) -> str:
    funcs = [f"(func $f{i} (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const {i + 3}))"
             f" (if (result i32) (i32.lt_u (local.get 0) (i32.const 40)) (then (call $f{(i + 1) % n}"
             f" (i32.add (local.get 0) (i32.const 1)))) (else (i32.const {i})))))" for i in range(n)]
    return ("(module (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32))) (memory (export \"memory\") 1)"
            + "".join(funcs)
            + "(func $big (param i32) (result i32) " + "(local.set 0 (i32.add (local.get 0)"
              " (i32.const 3)))" * 30 + " (local.get 0))" +
            ' (func (export "_start") (call $exit (i32.and (i32.add (call $big (i32.const 1)) (call $f1 (i32.const 0)))'
            ' (i32.const 127)))))')


def test_partitions_and_giant_functions_match_wasmtime(tmp_path, monkeypatch):
    wasm = wasmtime.wat2wasm(module_text(60))
    expected = run_wasmtime(wasm)
    monkeypatch.setattr(module_lowering, "MIN_PARTITION_BYTES", 200)
    times = driver.PhaseTimes()
    exe = tmp_path / "p"
    opts = driver.Options(jobs=2, giant_threshold=150)  # bytes: $big only
    driver.build_executable(wasm, exe, opts, times)
    assert "2 partition" in times.table() or "partition(s)" in times.table()
    assert "giant function" in times.table()
    assert subprocess.run([str(exe)], check=False).returncode == expected


def run_wasmtime(wasm: bytes) -> int:
    store = wasmtime.Store()
    linker = wasmtime.Linker(store.engine)
    linker.define_wasi()
    store.set_wasi(wasmtime.WasiConfig())
    try:
        linker.instantiate(store, wasmtime.Module(store.engine, wasm)).exports(store)["_start"](store)
        return 0
    except wasmtime.ExitTrap as e:
        return e.code


def test_lazy_front_end_leaves_bodies_to_the_partitions(tmp_path, monkeypatch):
    """compile_module decodes only the sections; each partition process decodes and validates
    its own bodies (the parent never holds them), and the program still matches wasmtime."""
    wasm = wasmtime.wat2wasm(module_text(80))
    monkeypatch.setattr(module_lowering, "MIN_PARTITION_BYTES", 300)
    times = driver.PhaseTimes()
    _, module = driver.compile_module(wasm, driver.Options(jobs=2), "obj", times)
    assert all(c.body is None for c in module.codes)  # decoded in the workers only
    table = times.table()
    assert "instructions in 2 partition(s), 2 process(es)" in table
    assert [name for name, _, _ in times.phases] == ["decode", "validate", "lower", "optimise",
                                                     "codegen", "link"]  # link: the merge
    exe = tmp_path / "p"
    driver.build_executable(wasm, exe, driver.Options(jobs=2))
    assert subprocess.run([str(exe)], check=False).returncode == run_wasmtime(wasm)


def test_emit_llvm_holds_every_partition(monkeypatch):
    """--emit=llvm prints the whole module even when it is bigger than one partition."""
    wasm = wasmtime.wat2wasm(module_text(60))
    whole, _ = driver.compile_module(wasm, driver.Options(opt_level=0), "llvm")
    monkeypatch.setattr(module_lowering, "MAX_PARTITION_BYTES", 300)
    assert module_lowering.plan_partitions(decode_module(wasm), 1, 1 << 62).count > 1
    text, _ = driver.compile_module(wasm, driver.Options(opt_level=0), "llvm")
    assert text == whole
    assert all(f":f{i}\"(" in text for i in range(60))


def partitioned_error_module(bad_export: bool = False, bad_body: bytes = b"") -> bytes:
    """module_text(60) with function 45 replaced by `bad_body` (raw instructions) and, if asked,
    an export of a function that does not exist."""
    text = module_text(60)
    if bad_export:
        text = text[:-1] + ' (export "nope" (func 9999)))'
    wasm = bytearray(wasmtime.wat2wasm(text))
    m = decode_module(bytes(wasm))
    code = m.codes[45]
    if bad_body:  # same length, so every other offset stays put
        pad = code.size - (code.body_at - code.offset - 1) - len(bad_body)
        assert pad >= 0
        wasm[code.body_at:code.body_at + len(bad_body) + pad] = bad_body + b"\x01" * (pad - 1) + b"\x0b"
    return bytes(wasm)


@pytest.mark.parametrize("jobs", [1, 2])
def test_invalid_body_in_one_partition_is_reported(monkeypatch, jobs):
    monkeypatch.setattr(module_lowering, "MIN_PARTITION_BYTES", 300)
    # (i32.add) on an empty stack, then padding `nop`s: valid bytes, invalid typing
    wasm = partitioned_error_module(bad_body=b"\x6a")
    with pytest.raises(ValidationError) as eager:
        driver.front_end(wasm)
    with pytest.raises(ValidationError) as lazy:
        driver.compile_module(wasm, driver.Options(jobs=jobs))
    assert (lazy.value.message, lazy.value.offset, lazy.value.func) == \
        (eager.value.message, eager.value.offset, eager.value.func) == ("type mismatch",
                                                                        eager.value.offset, 46)


def test_first_error_wins_across_phases(monkeypatch):
    """A malformed body and an invalid export: malformed comes first (the spec decodes the whole
    module before validating), although the lazy front end sees the export first."""
    monkeypatch.setattr(module_lowering, "MIN_PARTITION_BYTES", 300)
    wasm = partitioned_error_module(bad_export=True, bad_body=b"\xff")
    with pytest.raises(DecodeError, match="illegal opcode"):
        driver.compile_module(wasm, driver.Options(jobs=2))
    with pytest.raises(ValidationError, match="unknown function 9999"):
        driver.compile_module(partitioned_error_module(bad_export=True), driver.Options(jobs=2))


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A cache directory of this test's own.  The runtime's objects are memoised by path, so
    the memo is dropped before and after: later tests in this process must not link against
    objects `cache.clean()` deleted here."""
    monkeypatch.setenv("WASMC_CACHE_DIR", str(tmp_path / "cache"))
    link._runtime_objects_for.cache_clear()
    yield
    link._runtime_objects_for.cache_clear()


def test_cache_prune_and_clean(private_cache):
    for i in range(3):
        so, _ = driver.build_shared(wasmtime.wat2wasm(f'(module (func (export "f") (result i32)'
                                                      f' (i32.const {i})))'), opt_level=0)
        os.utime(so, (1000 + i, 1000 + i))  # oldest first
    entries = sorted(cache.entries())
    assert len(entries) == 3
    keep = entries[-1][1]
    cache.prune(limit=keep, force=True)
    assert [p for _, _, p in cache.entries()] == [entries[-1][2]]  # least recently used went
    assert cache.clean() > 0
    assert cache.entries() == []


def lowered_text(wat: str) -> str:
    return str(module_lowering.lower_module(decode_module(wasmtime.wat2wasm(wat))))


def test_local_get_reuses_the_value_within_a_block():
    """The front end does mem2reg's work inside a block: a local read after a write or a read in
    the same LLVM block is the value itself, not a new load (fewer instructions to build and for
    LLVM to parse); a constant is still read back by a load (handlers treat constant operands
    specially), and a new block loads again."""
    text = lowered_text("""(module (func (export "f") (param i32) (result i32) (local i32)
        (local.set 1 (i32.add (local.get 0) (local.get 0)))
        (i32.mul (local.get 1) (local.get 1))))""")
    assert "load i32, ptr %local" not in text
    text = lowered_text("""(module (func (export "f") (param i32) (result i32) (local i32)
        (local.set 1 (i32.const 5))
        (drop (i32.add (local.get 1) (local.get 1)))
        (if (local.get 0) (then (local.set 0 (local.get 1))))
        (local.get 1)))""")
    assert text.count("load i32, ptr %local1") == 3  # after the constant, in `then`, after `if`


def test_constant_shift_count_is_masked_by_the_front_end():
    text = lowered_text("""(module (func (export "f") (param i64) (result i64)
        (i64.shl (local.get 0) (i64.const 65))))""")
    assert "shl i64 %param0" in text and ", 1\n" in text and " and i64" not in text


def giant_br_table_module(n: int) -> str:
    """An `n`-way br_table (not in a loop) over 7 blocks that carry a value, with a default;
    the block a case reaches and the value it adds depend on the case, so a wrong arm shows."""
    depths = [(i * 5 + i // 256) % 7 for i in range(n)]
    inner = f"(br_table {' '.join(map(str, depths))} 3 (i32.const 1000) (local.get 0))"
    body = inner
    for d in range(7):
        body = f"(i32.add (i32.const {d * 11}) (block (result i32) {body}))"
    return f'(module (func (export "pick") (param i32) (result i32) {body}))'


def test_giant_br_table_is_two_switches_and_matches_wasmtime():
    n = control.SWITCH_SPLIT + 500
    wat = giant_br_table_module(n)
    probes = [0, 1, 255, 256, 257, 511, 512, 1023, 1024, n - 257, n - 256, n - 1, n, n + 1,
              1 << 20, (1 << 31) - 1, -1, -(1 << 31)] + list(range(0, n, 97))
    differential(wat, [("pick", [i]) for i in probes])
    text = driver.compile_module(wasmtime.wat2wasm(wat), driver.Options(opt_level=0), "llvm")[0]
    assert text.count("br_table.chunk") >= n // 256  # the inner switches' blocks
    small = driver.compile_module(wasmtime.wat2wasm(giant_br_table_module(control.SWITCH_SPLIT)),
                                  driver.Options(opt_level=0), "llvm")[0]
    assert "br_table.chunk" not in small


LEAN_WAT = """(module (memory 1)
  (func $f (export "f") (param i32 i32) (result i32)
    (if (i32.lt_u (local.get 0) (i32.const 10)) (then (i32.store (i32.const 16) (local.get 1))))
    (block (br_if 0 (i32.eqz (local.get 1))) (local.set 1 (i32.load (i32.const 32))))
    (select (local.get 0) (local.get 1) (i32.gt_s (local.get 0) (local.get 1)))))"""


@pytest.mark.parametrize("fast_isel", [False, True], ids=["O1", "O0"])
def test_lowering_emits_no_needless_ir(fast_isel):
    """What LLVM parses and (at -O0) compiles is in proportion to the IR, so the lowering keeps it
    lean: `if`, `br_if` and `select` test a comparison's i1 (no `zext` then `icmp ne`), an `if`
    without `else` branches straight to its end (no empty false-arm block), a static address is
    one constant index, and a function without summed loops has no witness sums.  Each was
    measured as a share of LLVM's -O0 time (README, session 14)."""
    from test_witness import functions, lowered_ir

    body = functions(lowered_ir(wasmtime.wat2wasm(LEAN_WAT), fast_isel))["f"]
    assert "zext i1" not in body and "icmp ne i32" not in body, body
    assert "if.else" not in body, body
    assert "i64 16" in body and "i64 32" in body and "zext i32 16" not in body, body
    assert "%witness" not in body, body
