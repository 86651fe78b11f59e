"""The Python API: wasmc.compile to files, wasmc.load with Python host functions, memories as
memoryviews and traps as wasmc.Trap."""

from __future__ import annotations

import subprocess
import sys

import pytest
import wasmc
import wasmtime
from wasmc.errors import LinkError, ValidationError

WAT = """
(module
  (import "env" "log" (func $log (param i32 f64)))
  (import "env" "scale" (func $scale (param i32) (result i32)))
  (memory (export "mem") 1)
  (global $g (export "counter") (mut i32) (i32.const 7))
  (func (export "run") (param i32) (result i32)
    (call $log (local.get 0) (f64.const 1.5))
    (i32.store (i32.const 8) (call $scale (local.get 0)))
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.div_u (i32.const 100) (local.get 0))))
"""


def test_load_with_python_imports():
    logged = []
    inst = wasmc.load(wasmtime.wat2wasm(WAT),
                      {"env": {"log": lambda a, b: logged.append((a, b)), "scale": lambda x: x * 3}})
    assert inst.exports["run"](5) == 20
    assert logged == [(5, 1.5)]
    assert bytes(inst.exports["mem"].view()[8:12]) == (15).to_bytes(4, "little")
    assert inst.exports["counter"].value == 8
    with pytest.raises(wasmc.Trap) as info:
        inst.exports["run"](0)
    assert info.value.message == "integer divide by zero"


def test_python_exception_in_host_function_becomes_trap():
    def boom(x):
        raise ValueError("no")
    inst = wasmc.load(wasmtime.wat2wasm(WAT), {"env": {"log": lambda a, b: None, "scale": boom}})
    with pytest.raises(wasmc.Trap) as info:
        inst.exports["run"](1)
    assert "ValueError" in info.value.message


def test_missing_import_is_a_link_error():
    with pytest.raises(LinkError, match="unknown import"):
        wasmc.load(wasmtime.wat2wasm(WAT), {"env": {"log": lambda a, b: None}})


def test_invalid_module_is_reported():
    with pytest.raises(ValidationError, match="type mismatch"):
        wasmc.load(wasmtime.wat2wasm('(module (func (result i32) (i64.const 1)))'))


def test_compile_to_executable_and_text(tmp_path):
    src = tmp_path / "exit.wat"
    src.write_text('(module (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))'
                   ' (func (export "_start") (call $e (i32.const 3))))')
    exe = wasmc.compile(src, tmp_path / "exit")
    assert subprocess.run([str(exe)]).returncode == 3
    assert "define" in wasmc.compile(src, emit="llvm")
    assert isinstance(wasmc.compile(src, emit="obj"), bytes)


def test_bounds_checks_make_dead_loads_trap():
    wat = ('(module (memory 1) (func (export "f") (result i32)'
           ' (drop (i32.add (i32.load (i32.const 70000)) (i32.const 1))) (i32.const 0)))')
    inst = wasmc.load(wasmtime.wat2wasm(wat), bounds_checks=True)
    with pytest.raises(wasmc.Trap, match="out of bounds memory access"):
        inst.exports["f"]()
    assert wasmc.load(wasmtime.wat2wasm(wat.replace("70000", "65532")),
                      bounds_checks=True).exports["f"]() == 0


def test_coexists_with_wasmtime_signal_handler(tmp_path):
    """wasmtime installs its own SIGSEGV handler for its guard pages.  When it was installed first
    and one of its faults passed through our handler, we used to reinstate it and drop out of the
    chain, so wasmc's next out-of-bounds trap crashed the process.  Now faults chain."""
    script = tmp_path / "order.py"
    script.write_text('''
import wasmtime, wasmc
w = wasmtime.wat2wasm('(module (memory 1) (func (export "f") (param i32) (result i32)'
                      ' (i32.load (local.get 0))))')
s = wasmtime.Store()
i = wasmtime.Instance(s, wasmtime.Module(s.engine, w), [])
a = wasmc.load(w)
for _ in range(2):
    for call in (lambda: i.exports(s)["f"](s, 70000), lambda: a.exports["f"](70000)):
        try:
            call()
        except (wasmtime.Trap, wasmc.Trap) as t:
            print("trap")
''')
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["trap"] * 4
