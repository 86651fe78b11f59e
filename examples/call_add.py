"""Compile examples/add.wat to native code, load it in this process and call `add`."""

from pathlib import Path

import wasmc

instance = wasmc.load(Path(__file__).with_name("add.wat"))
add = instance.exports["add"]
print(f"add(2, 40) = {add(2, 40)}")
print(f"add(2**63 - 1, 1) = {add(2**63 - 1, 1)}  (wraps like i64)")
