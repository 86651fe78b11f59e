"""Run a precompiled (serialized) module under the wasmtime Python package with WASI.

    python wasmtime_run.py MODULE.cwasm [ARGS...]

The module was produced by `wasmtime.Module(engine, wasm).serialize()` with a default Engine;
deserialising it needs no compilation, so this process's time is Python + wasmtime start-up plus
the program.  bench.py measures the start-up on an empty module and subtracts it.  stdin, stdout
and stderr are inherited; the exit status is the program's proc_exit code (134 on a trap).
"""

from __future__ import annotations

import sys

import wasmtime


def main(argv: list[str]) -> int:
    path, args = argv[1], argv[2:]
    engine = wasmtime.Engine()
    module = wasmtime.Module.deserialize_file(engine, path)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [path, *args]
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    try:
        start(store)  # type: ignore[operator]
    except wasmtime.ExitTrap as e:
        return e.code
    except wasmtime.Trap as e:
        print(f"wasm trap: {e.message}", file=sys.stderr)
        return 134
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
