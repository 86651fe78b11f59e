"""The benchmark programs build and agree on their checksums: native C, wasmc and wasmtime.

Strategy: for every program in benchmarks/programs (discovered by benchmarks/bench.py, whose build
steps we reuse), build it natively and to wasm32-wasi with clang-16, run both at the program's
small `test=` size, and require the wasmc executable and wasmtime (in-process, WASI stdout to a
file) to print exactly native's line.  No timings here: those belong to `make bench`.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_bench():
    spec = importlib.util.spec_from_file_location("wasmc_bench", ROOT / "benchmarks" / "bench.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["wasmc_bench"] = mod  # dataclasses look the module up by name
    spec.loader.exec_module(mod)
    return mod


bench = _load_bench()
PROGRAMS = bench.discover()

pytestmark = pytest.mark.skipif(
    shutil.which(bench.CLANG) is None or not Path("/usr/lib/wasm32-wasi/libc.a").exists(),
    reason="needs clang-16 and Debian's wasi-libc")


def run_wasmtime(wasm: Path, args: list[str], tmp_path: Path) -> str:
    import wasmtime

    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(wasm))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [wasm.name, *args]
    out = tmp_path / "wasmtime.stdout"
    wasi.stdout_file = str(out)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        assert e.code == 0, f"wasmtime: exit {e.code}"
    return out.read_text()


def test_every_workload_is_present():
    names = {p.name for p in PROGRAMS}
    assert len(names) >= 12
    assert {"matmul", "stencil", "sha256", "sort", "recursion", "interp", "pointer_chase",
            "containers", "strings", "compress", "memgrow", "indirect", "simd_intrin",
            "autovec"} <= names
    for p in PROGRAMS:
        assert 0 < p.test < p.full and 0 < p.interp < p.full, p.name


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_checksums_agree(prog, tmp_path):
    native, wasm, exe = tmp_path / "native", tmp_path / f"{prog.name}.wasm", tmp_path / "wasmc"
    bench.build_native(prog, native)
    bench.build_wasm(prog, wasm)
    args = [str(prog.test)]
    expected = subprocess.run([str(native), *args], capture_output=True, text=True, check=True)
    assert bench.native_checksum(expected.stdout), expected.stdout

    proc = subprocess.run(["wasmc", str(wasm), "-o", str(exe)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0 and prog.simd and any(
            w in proc.stderr.lower() for w in ("simd", "0xfd", "unsupported", "not supported")):
        pytest.skip(f"wasmc cannot compile SIMD yet: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    got = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120,
                         check=False)
    assert got.returncode == 0, got.stderr
    assert got.stdout == expected.stdout, "wasmc and native disagree"

    assert run_wasmtime(wasm, args, tmp_path) == expected.stdout, "wasmtime and native disagree"


def test_interpreter_build_returns_the_checksum(tmp_path):
    """The wasm-interp path of `make bench`: a reactor build whose export returns the checksum."""
    if shutil.which("wasm-interp") is None:
        pytest.skip("needs wabt's wasm-interp")
    prog = next(p for p in PROGRAMS if p.name == "recursion")
    native, reactor = tmp_path / "native", tmp_path / "reactor.wasm"
    bench.build_native(prog, native)
    bench.build_wasm_reactor(prog, reactor, 12)
    expected = subprocess.run([str(native), "12"], capture_output=True, text=True, check=True)
    got = subprocess.run(["wasm-interp", "--dummy-import-func", "--run-all-exports",
                          str(reactor)], capture_output=True, text=True, check=True)
    assert bench.interp_checksum(got.stdout) == bench.native_checksum(expected.stdout)


def test_code_section_size():
    import wasmtime

    wasm = wasmtime.wat2wasm("(module (func (result i32) i32.const 7))")
    # code section: count 1, body size 4, no locals, i32.const 7, end
    assert bench.code_section_size(wasm) == 6
