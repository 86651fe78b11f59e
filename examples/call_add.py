"""Compile examples/add.wat to native code, load it in this process and call `add`."""

from pathlib import Path

from wasmc.driver import build_shared, read_input
from wasmc.runtime import Instance

wasm = read_input(Path(__file__).with_name("add.wat"))
so_path, module = build_shared(wasm)
instance = Instance(so_path, module, {})
add = instance.exports["add"]
print(f"add(2, 40) = {add(2, 40)}")
print(f"add(2**63 - 1, 1) = {add(2**63 - 1, 1)}  (wraps like i64)")
