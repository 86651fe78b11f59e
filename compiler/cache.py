"""Content-addressed cache of compiled executables, for `wasmc run`.

Strategy: an executable is named by a hash of everything it depends on — the module file's bytes,
the compile options, the compiler's sources, the llvmlite release (which fixes the LLVM version)
and the C runtime's build key — so a hit is one `stat` and a stale entry can never be found.  The
hit path imports neither llvmlite nor the compiler phases, so a second `wasmc run` of the same
module starts at once.  A miss compiles under an exclusive `flock` on a per-key lock file (so
concurrent runs of one module compile it once), into a temporary name in the cache directory, and
moves the result into place with `os.replace`: readers see no file or a whole one, never half.

The cache is bounded: after every insertion the least recently used entries (by mtime, which a
hit refreshes) are deleted until the total is under `WASMC_CACHE_MAX` (default 2 GiB).
`wasmc cache clean` empties it and `wasmc cache info` reports its size.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.util
import os
import random
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
        touch(exe)
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
    prune()
    return exe


DEFAULT_MAX_BYTES = 2 << 30
ENTRY_DIRS = ("exe", "modules")  # compiled outputs; the runtime builds (rt-*) are small and kept


def max_bytes() -> int:
    text = os.environ.get("WASMC_CACHE_MAX", "").strip().upper()
    if not text:
        return DEFAULT_MAX_BYTES
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1], 1)
    try:
        return int(float(text.rstrip("KMG")) * scale)
    except ValueError:
        return DEFAULT_MAX_BYTES


def touch(path: Path) -> None:
    """Mark an entry as recently used (pruning removes the least recently used first)."""
    try:
        os.utime(path)
    except OSError:
        pass


def entries() -> list[tuple[float, int, Path]]:
    """(mtime, size, path) of every cached output."""
    out = []
    for sub in ENTRY_DIRS:
        d = link.cache_root() / sub
        if not d.is_dir():
            continue
        for p in d.iterdir():
            if p.is_file() and not p.name.endswith(".lock"):
                try:
                    st = p.stat()
                except FileNotFoundError:  # removed by a concurrent prune
                    continue
                out.append((st.st_mtime, st.st_size, p))
    return out


PRUNE_EVERY = 64  # insertions per scan, on average: a scan stats every entry


def prune(limit: int | None = None, force: bool = False) -> int:
    """Delete least recently used entries until the cache is under `limit`; returns bytes freed.
    Called after each insertion, it scans on a random one in PRUNE_EVERY: random, not counted per
    process, because most processes (one `wasmc` run, one fuzzer child) insert once, and scanning
    on each first insertion made every compile stat the whole cache (0.3 s at 13k entries)."""
    if not force and limit is None and random.random() >= 1 / PRUNE_EVERY:
        return 0
    limit = max_bytes() if limit is None else limit
    items = sorted(entries())
    total = sum(size for _, size, _ in items)
    freed = 0
    for _, size, path in items:
        if total - freed <= limit:
            break
        try:
            path.unlink()
            freed += size
        except FileNotFoundError:
            pass
    return freed


def clean() -> int:
    """Empty the cache (outputs and runtime builds); returns bytes freed."""
    import shutil

    root = link.cache_root()
    freed = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0
    shutil.rmtree(root, ignore_errors=True)
    return freed
