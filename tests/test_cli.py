"""Command-line conventions: exit statuses 0/1/2, diagnostics as FILE:0xOFFSET or JSON,
`inspect`, `--version`, `--help` with examples on every subcommand, and `--emit`."""

from __future__ import annotations

import json
import subprocess

import pytest

BAD = b"\0asm\x01\0\0\0\x01\x05\x01\x60\0"  # type section shorter than it says


def wasmc(*args, **kw):
    return subprocess.run(["wasmc", *map(str, args)], check=False, capture_output=True, text=True, **kw)


def test_malformed_module_diagnostic_and_json(tmp_path):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(BAD)
    p = wasmc(bad, "-o", tmp_path / "x")
    assert p.returncode == 1 and p.stderr == f"{bad}:0x9: error: length out of bounds\n"
    p = wasmc(bad, "-o", tmp_path / "x", "--json")
    d = json.loads(p.stderr)
    assert p.returncode == 1
    assert d == {"file": str(bad), "offset": 9, "severity": "error", "kind": "malformed",
                 "message": "length out of bounds", "func": None, "instr": None}


def test_invalid_module_names_function_and_instruction(tmp_path):
    src = tmp_path / "bad.wat"
    src.write_text("(module (func (result i32) (i64.const 1)))")
    p = wasmc(src, "-o", tmp_path / "x")
    assert p.returncode == 1
    assert "error: type mismatch (in func 0 at end)" in p.stderr


def test_usage_error_exit_2_and_version():
    assert wasmc("--no-such-flag").returncode == 2
    p = wasmc("--version")
    assert p.returncode == 0 and p.stdout.startswith("wasmc, version")


@pytest.mark.parametrize("sub", ["compile", "run", "wast", "inspect"])
def test_every_subcommand_has_help_with_examples(sub):
    p = wasmc(sub, "--help")
    assert p.returncode == 0 and "Examples:" in p.stdout


def test_inspect_reports_features(tmp_path):
    src = tmp_path / "m.wat"
    src.write_text('(module (memory 1) (func (export "f") (param i32) (result i32 i32)'
                   ' (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))'
                   ' (i32.extend8_s (local.get 0)) (local.get 0)))')
    p = wasmc("inspect", "--json", src)
    d = json.loads(p.stdout)
    assert {"bulk memory", "multi-value", "sign extension"} <= set(d["features"])
    assert d["exports"] == ["f: func [i32] -> [i32 i32]"]


def test_quiet_on_success_and_emit_forms(tmp_path):
    src = tmp_path / "m.wat"
    src.write_text('(module (func (export "f") (result i32) (i32.const 7)))')
    p = wasmc(src, "-o", tmp_path / "m")
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""
    assert "define" in wasmc(src, "--emit=llvm").stdout
    assert wasmc(src, "--emit=obj", "-o", tmp_path / "m.o").returncode == 0
    assert (tmp_path / "m.o").read_bytes()[:4] == b"\x7fELF"
    p = wasmc(src, "-o", tmp_path / "m2", "-v")
    assert all(ph in p.stderr for ph in ("decode", "validate", "lower", "optimise", "codegen",
                                         "link"))


EXTENDED_CONST = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (global $g i32 (i32.const 40))
  (global $h i32 (i32.add (global.get $g) (i32.mul (i32.const 1) (i32.const 2))))
  (func (export "_start") (call $exit (global.get $h))))"""


def test_wasm_version_selects_the_rules(tmp_path):
    """3.0 (the default) accepts extended constant expressions and runs them as wasmtime does;
    `--wasm 2.0` rejects the same module with 2.0's message and the instruction's offset."""
    import wasmtime

    src = tmp_path / "m.wat"
    src.write_text(EXTENDED_CONST)
    assert wasmc(src, "-o", tmp_path / "m").returncode == 0
    ours = subprocess.run([tmp_path / "m"], capture_output=True, check=False)
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(EXTENDED_CONST))
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    start = linker.instantiate(store, wasmtime.Module(engine, wasm.read_bytes())).exports(store)["_start"]
    with pytest.raises(wasmtime.ExitTrap) as oracle:
        start(store)
    assert ours.returncode == oracle.value.code == 42
    p = wasmc(wasm, "--wasm", "2.0", "-o", tmp_path / "m2")
    assert p.returncode == 1
    assert "error: unknown global 0" in p.stderr and f"{wasm}:0x" in p.stderr


def test_inspect_reports_wasm_3_0_features(tmp_path):
    src = tmp_path / "m.wat"
    src.write_text("(module (memory 1) (memory 1) (table i64 1 funcref)"
                   " (global i32 (i32.add (i32.const 1) (i32.const 2)))"
                   " (func $f (result i32) (return_call $f))"
                   " (func (param (ref 0)) (drop (call_ref 0 (local.get 0))))"
                   " (tag (export \"t\") (param i32))"
                   " (func (param v128 v128) (result v128)"
                   " (i8x16.relaxed_swizzle (local.get 0) (local.get 1))))")
    d = json.loads(wasmc("inspect", "--json", src).stdout)
    assert {"multi-memory (3.0)", "tail calls (3.0)", "relaxed SIMD (3.0)", "memory64 (3.0)",
            "typed function references (3.0)", "extended constant expressions (3.0)",
            "exception handling (3.0)"} \
        <= set(d["features"])
    plain = tmp_path / "p.wat"
    plain.write_text("(module (memory 1) (global i32 (i32.const 3)) (func (result i32) (i32.const 1)))")
    assert not [f for f in json.loads(wasmc("inspect", "--json", plain).stdout)["features"]
                if "3.0" in f]
