"""Compile scale: partitioned, parallel back end and the giant-function pipeline give the same
program; the cache is content-addressed, bounded and cleanable."""

from __future__ import annotations

import os
import subprocess

import wasmtime
from wasmc import cache, driver
from wasmc.lower import module_lowering


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
    store = wasmtime.Store()
    linker = wasmtime.Linker(store.engine)
    linker.define_wasi()
    store.set_wasi(wasmtime.WasiConfig())
    try:
        linker.instantiate(store, wasmtime.Module(store.engine, wasm)).exports(store)["_start"](store)
        expected = 0
    except wasmtime.ExitTrap as e:
        expected = e.code
    monkeypatch.setattr(module_lowering, "MIN_PARTITION_BYTES", 200)
    times = driver.PhaseTimes()
    exe = tmp_path / "p"
    opts = driver.Options(jobs=2, giant_threshold=150)  # bytes: $big only
    driver.build_executable(wasm, exe, opts, times)
    assert "2 partition" in times.table() or "partition(s)" in times.table()
    assert "giant function" in times.table()
    assert subprocess.run([str(exe)]).returncode == expected


def test_cache_prune_and_clean(tmp_path, monkeypatch):
    monkeypatch.setenv("WASMC_CACHE_DIR", str(tmp_path / "cache"))
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
