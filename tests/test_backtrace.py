"""Trap backtraces: the chain of Wasm functions, named from the name section, in executables and
through the Python embedding, at every optimisation level."""

from __future__ import annotations

import subprocess

import pytest
import wasmtime
from wasmc.driver import build_shared
from wasmc.runtime import Instance, Trap

WAT = """
(module $demo
  (memory 1)
  (func $inner (param i32) (result i32) (i32.load (local.get 0)))
  (func $middle (param i32) (result i32) (i32.add (call $inner (local.get 0)) (i32.const 1)))
  (func $divide (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func $start (export "_start") (if (call $middle (i32.const 70000)) (then (unreachable))))
  (func $div (export "div") (param i32) (result i32) (call $divide (local.get 0))))
"""


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_executable_prints_backtrace(build_exe, tmp_path, opt):
    src = tmp_path / "demo.wat"
    src.write_text(WAT)
    proc = subprocess.run([str(build_exe(src, opt))], capture_output=True, text=True)
    assert proc.returncode == 134
    lines = proc.stderr.splitlines()
    assert lines[0] == "wasm backtrace:"
    assert lines[-1] == "wasm trap: out of bounds memory access"
    frames = [ln.split(" - ")[1] for ln in lines[1:-1]]
    # At -O0 every frame is there; at -O2 inlined frames merge into their caller, but the
    # outermost Wasm function is always named.
    assert frames[-1] == "demo!start"
    if opt == "-O0":
        assert frames == ["demo!inner", "demo!middle", "demo!start"]


def test_python_trap_carries_backtrace():
    so, module = build_shared(wasmtime.wat2wasm(WAT), opt_level=0)
    inst = Instance(so, module, {})
    with pytest.raises(Trap) as info:
        inst.exports["div"](0)
    assert info.value.message == "integer divide by zero"
    assert "demo!divide" in info.value.backtrace and "demo!div" in info.value.backtrace
