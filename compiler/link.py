"""Build the C runtime and link compiled modules against it.

Strategy: the runtime's C sources ship with the package (`wasmc.runtime_c`, or `<repo>/runtime_c` in an
editable checkout).  They are compiled once per content: the cache directory is named after a hash of
every runtime source, the compiler and the flags, so an edited runtime rebuilds and an unchanged one is
reused across processes.  Every artefact is written to a temporary name and moved into place with
`os.replace`, so concurrent builds (pytest-xdist) never see a half-written file.

Executables get every runtime object including `main.c`; the in-process shared library
(`libwasmc_rt.so`, loaded by runtime.py with RTLD_GLOBAL) gets all but `main.c`, and compiled-module
`.so` files leave the runtime symbols undefined so they resolve against it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from .errors import ToolError

CC = os.environ.get("CC", "cc")
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-D_GNU_SOURCE"]
LIBS = ["-lm"]
MAIN_SOURCE = "main.c"


def runtime_source_dir() -> Path:
    """The directory holding wasmc_rt.h and the runtime's .c files."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "runtime_c", here.parent / "runtime_c"):
        if (candidate / "wasmc_rt.h").is_file():
            return candidate
    raise ToolError(f"wasmc runtime sources not found (looked in {here / 'runtime_c'} and "
                    f"{here.parent / 'runtime_c'})")


def cache_root() -> Path:
    env = os.environ.get("WASMC_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "wasmc"


def _sources() -> list[Path]:
    return sorted(runtime_source_dir().glob("*.c"))


def _build_key() -> str:
    h = hashlib.sha256()
    h.update(" ".join([CC, *CFLAGS, *LIBS]).encode())
    src = runtime_source_dir()
    for p in sorted(src.glob("*.c")) + sorted(src.glob("*.h")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def _run(cmd: list[str]) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as e:
        raise ToolError(f"cannot run {cmd[0]}: {e}") from None
    if proc.returncode != 0:
        raise ToolError(f"{' '.join(cmd)} failed:\n{proc.stderr or proc.stdout}")


def _atomic_build(out: Path, build) -> Path:
    """Run `build(tmp_path)` and move the result to `out`, unless `out` already exists."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".", suffix=out.suffix)
    os.close(fd)
    try:
        build(Path(tmp))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _cache_dir() -> Path:
    return cache_root() / f"rt-{_build_key()}"


@cache
def _runtime_objects_for(key: str) -> tuple[Path, ...]:
    src_dir = runtime_source_dir()
    out_dir = cache_root() / f"rt-{key}"
    objs = []
    for src in _sources():
        obj = out_dir / (src.stem + ".o")
        _atomic_build(obj, lambda tmp, src=src: _run(
            [CC, *CFLAGS, "-I", str(src_dir), "-c", str(src), "-o", str(tmp)]))
        objs.append(obj)
    return tuple(objs)


def runtime_objects() -> list[Path]:
    """Every runtime object file (main.c's included), compiled into the cache."""
    return list(_runtime_objects_for(_build_key()))


def runtime_shared_lib() -> Path:
    """libwasmc_rt.so: the runtime without main.c, for loading into this process."""
    objs = [o for o in runtime_objects() if o.name != Path(MAIN_SOURCE).stem + ".o"]
    out = _cache_dir() / "libwasmc_rt.so"
    return _atomic_build(out, lambda tmp: _run(
        [CC, "-shared", "-o", str(tmp), *map(str, objs), *LIBS]))


def link_executable(obj: Path, out: Path, grants: Sequence[str] = ()) -> Path:
    """Link a compiled module object with the whole runtime (including main) into an executable.

    `grants` (`--dir=HOST[::GUEST]`, `--env=NAME[=VALUE]`) are baked in as `wasmc_default_grants`,
    which main.c reads before the run-time WASMC_GRANTS.
    """
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="wasmc-grants-") as tmp:
        extra = [str(grants_object(grants, Path(tmp) / "grants.o"))] if grants else []
        _run([CC, "-o", str(out), str(obj), *extra, *map(str, runtime_objects()), *LIBS])
    return out


def grants_object(grants: Sequence[str], out: Path) -> Path:
    """An object defining `const char *const wasmc_default_grants[]` (NULL-terminated).

    Each string is written as a byte array, so no path or value needs C escaping.
    """
    lines = ['#include <stddef.h>']
    for i, g in enumerate(grants):
        data = g.encode()
        if b"\0" in data:
            raise ToolError(f"grant {g!r} contains a NUL byte")
        lines.append(f"static const char grant{i}[] = {{{', '.join(map(str, data))}, 0}};")
    names = ", ".join(f"grant{i}" for i in range(len(grants)))
    lines.append(f"const char *const wasmc_default_grants[] = {{{names}{', ' if names else ''}NULL}};")
    src = out.with_suffix(".c")
    src.write_text("\n".join(lines) + "\n")
    _run([CC, *CFLAGS, "-c", str(src), "-o", str(out)])
    return out


def link_shared(obj: Path, out: Path) -> Path:
    """Link a compiled module object into a .so whose runtime symbols stay undefined."""
    out = Path(out)
    _run([CC, "-shared", "-o", str(out), str(obj)])
    return out


def have_cc() -> bool:
    return shutil.which(CC) is not None


def merge_objects(objs: list[bytes]) -> bytes:
    """Merge the objects of a partitioned module into one relocatable object (`ld -r`), so the
    rest of the toolchain sees a single module object."""
    with tempfile.TemporaryDirectory(prefix="wasmc-merge-") as tmp:
        paths = []
        for i, data in enumerate(objs):
            p = Path(tmp) / f"part{i}.o"
            p.write_bytes(data)
            paths.append(str(p))
        out = Path(tmp) / "merged.o"
        _run([os.environ.get("LD", "ld"), "-r", "-o", str(out), *paths])
        return out.read_bytes()
