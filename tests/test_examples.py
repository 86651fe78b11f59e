"""The README's examples: hello world through WASI, and `add` called through the Python API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parent.parent


def run_under_wasmtime(wasm: bytes) -> tuple[int, str]:
    """Run a WASI command under the wasmtime package; returns (exit code, stdout)."""
    import tempfile

    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    with tempfile.NamedTemporaryFile() as out:
        cfg = wasmtime.WasiConfig()
        cfg.stdout_file = out.name
        store.set_wasi(cfg)
        inst = linker.instantiate(store, wasmtime.Module(engine, wasm))
        code = 0
        try:
            inst.exports(store)["_start"](store)
        except wasmtime.ExitTrap as e:
            code = e.code
        return code, open(out.name).read()


def test_hello_world_matches_wasmtime(build_exe):
    src = ROOT / "examples" / "hello.wat"
    exe = build_exe(src)
    proc = subprocess.run([str(exe)], capture_output=True, text=True)
    code, out = run_under_wasmtime(wasmtime.wat2wasm(src.read_text()))
    assert (proc.returncode, proc.stdout) == (code, out)
    assert proc.stdout == "Hello, world!\n"


def test_add_example_via_python_api():
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "call_add.py")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "add(2, 40) = 42" in proc.stdout
    assert "= -9223372036854775808" in proc.stdout


def test_trap_exit_status_and_message(build_exe, tmp_path):
    wat = tmp_path / "trap.wat"
    wat.write_text('(module (func (export "_start") (drop (i32.div_u (i32.const 1) '
                   '(i32.const 0)))))')
    exe = build_exe(wat)
    proc = subprocess.run([str(exe)], capture_output=True, text=True)
    assert proc.returncode == 134
    assert "wasm trap: integer divide by zero" in proc.stderr


def test_malformed_module_is_a_clean_error(tmp_path):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\x01\x05\x01\x60\x00")
    proc = subprocess.run(["wasmc", str(bad), "-o", str(tmp_path / "x")], capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{bad}:0x")
