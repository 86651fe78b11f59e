"""Content-addressed cache of compiled executables, for `wasmc run`.

Strategy: an executable is named by a hash of everything it depends on — the module file's bytes,
the compile options, the compiler's sources, the llvmlite release (which fixes the LLVM version)
and the C runtime's build key — so a hit is one `stat` and a stale entry can never be found.  The
hit path imports neither llvmlite nor the compiler phases, so a second `wasmc run` of the same
module starts at once.  A miss compiles under an exclusive `flock` on a per-key lock file (so
concurrent runs of one module compile it once), into a temporary name in the cache directory, and
moves the result into place with `os.replace`: readers see no file or a whole one, never half.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

from . import link

SOURCE_DIR = Path(__file__).resolve().parent


@functools.cache
def fingerprint() -> str:
    """Hash of the compiler's sources, the llvmlite release and the runtime's build key."""
    h = hashlib.sha256()
    for p in sorted(SOURCE_DIR.rglob("*.py")):
        h.update(str(p.relative_to(SOURCE_DIR)).encode() + b"\0" + p.read_bytes() + b"\0")
    spec = importlib.util.find_spec("llvmlite")  # locates the package without importing it
    if spec and spec.submodule_search_locations:
        version = Path(next(iter(spec.submodule_search_locations))) / "_version.py"
        if version.is_file():
            h.update(version.read_bytes())
    h.update(link._build_key().encode())
    return h.hexdigest()


def executable_key(module_bytes: bytes, options: str) -> str:
    h = hashlib.sha256()
    for part in (module_bytes, options.encode(), fingerprint().encode()):
        h.update(len(part).to_bytes(8, "little") + part)
    return h.hexdigest()[:40]


def cached_executable(module_path: str | os.PathLike, opt_level: int = 2,
                      target_cpu: str | None = None) -> Path:
    """The executable for the module at `module_path` (.wasm or .wat), compiling it on a miss."""
    data = Path(module_path).read_bytes()
    key = executable_key(data, f"exe|O{opt_level}|cpu={target_cpu or ''}")
    exe = link.cache_root() / "exe" / key
    if exe.exists():
        return exe
    exe.parent.mkdir(parents=True, exist_ok=True)
    with open(exe.parent / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes (or the process dies)
        if exe.exists():  # another process built it while we waited
            return exe
        from . import driver  # the slow imports (llvmlite, lowering) only on a miss

        wasm = data if data[:4] == b"\0asm" else driver.read_input(module_path)
        opts = driver.Options(opt_level=opt_level, target_cpu=target_cpu)
        with tempfile.TemporaryDirectory(prefix=f"{key}.", dir=exe.parent) as tmp:
            out = Path(tmp) / "exe"
            driver.build_executable(wasm, out, opts)
            os.replace(out, exe)
    return exe
