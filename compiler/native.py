"""The compiled front end: the hot front-end modules built into C extensions by mypyc.

Why: the front end (decode, validate, lower) is plain Python, and its speed is bounded by the
interpreter's cost per Wasm instruction.  mypyc compiles type-annotated Python into C extensions
that run the same code with native integers, direct calls and typed attribute slots.

Strategy:
  - `COMPILED` lists the modules compiled.  They are type-clean under mypy, because mypyc checks
    every annotation at run time (a wrong one raises TypeError, not silently passes).
  - The build never lands beside the sources, where an extension would shadow its `.py` file even
    after the `.py` was edited.  It goes to `native_dir()/<key>`, where the key is a hash of every
    source file of the package and of the interpreter's ABI: compiled code bakes in the layout of
    the types it imports (a NamedTuple's field index, a class's attributes), so an edit anywhere in
    the package makes the build stale.
  - `install()` (run when `wasmc` is imported) adds an import finder for the compiled modules only
    when a build with the current key exists; otherwise, or with WASMC_PURE_PYTHON=1, the `.py`
    files are imported as usual.  Both run the same source, and tests/test_native.py checks they
    give the same results.
  - `wasmc native build` builds (scripts/install-deps.sh runs it); `wasmc native status` reports.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
from pathlib import Path

# The modules mypyc compiles, in one group (calls between them are native).
COMPILED = ("wasmc.decode", "wasmc.validate", "wasmc.lower.irbuild", "wasmc.lower.types",
            "wasmc.lower.function", "wasmc.lower.variable", "wasmc.lower.numeric",
            "wasmc.lower.control", "wasmc.lower.memory", "wasmc.lower.addressing",
            "wasmc.lower.witness", "wasmc.lower.simd", "wasmc.lower.atomics",
            "wasmc.lower.exceptions", "wasmc.lower.gcrefs", "wasmc.lower.gcobjects")
# module_lowering.py (module-level glue) is type-clean too, but compiled it bought nothing
# measurable on QuickJS's lowering (0.45-0.46 s either way) for 20 s more of build.

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = "manifest.json"


def native_dir() -> Path:
    """Where builds live: WASMC_NATIVE_DIR, else ~/.cache/wasmc-native.  Not in the compile cache
    (WASMC_CACHE_DIR), which `wasmc cache clean` empties and tests point at throwaway places."""
    env = os.environ.get("WASMC_NATIVE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "wasmc-native"


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def source_key(root: Path = PACKAGE_DIR) -> str:
    """A hash of every source file of the package, the interpreter's ABI and the list of compiled
    modules: equal keys mean a build was made from exactly these sources."""
    h = hashlib.sha256()
    h.update(f"{sys.implementation.cache_tag}|{sysconfig.get_config_var('EXT_SUFFIX')}|"
             f"{','.join(COMPILED)}\0".encode())
    for p in _sources(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def current_build(root: Path = PACKAGE_DIR) -> dict | None:
    """The manifest of a build of these sources, or None."""
    manifest = native_dir() / source_key(root) / MANIFEST
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("modules") else None


class _NativeFinder:
    """Finds the compiled modules (and mypyc's shared library for them) in one build directory."""

    def __init__(self, build: Path, paths: dict[str, str]):
        self.build = build
        self.paths = paths

    def find_spec(self, fullname, path=None, target=None):
        rel = self.paths.get(fullname)
        if rel is None:
            return None
        origin = str(self.build / rel)
        loader = importlib.machinery.ExtensionFileLoader(fullname, origin)
        return importlib.util.spec_from_file_location(fullname, origin, loader=loader)


_installed: _NativeFinder | None = None


def install() -> bool:
    """Use the compiled modules if a current build exists (and WASMC_PURE_PYTHON is not set).
    Must run before any of them is imported; True when they will be used."""
    global _installed
    if _installed is not None:
        return True
    if os.environ.get("WASMC_PURE_PYTHON") or any(m in sys.modules for m in COMPILED):
        return False
    try:
        manifest = current_build()
    except OSError:
        return False
    if manifest is None:
        return False
    build = native_dir() / manifest["key"]
    paths = {**manifest["modules"], **manifest["shared"]}
    if not all((build / rel).is_file() for rel in paths.values()):
        return False
    _installed = _NativeFinder(build, paths)
    sys.meta_path.insert(0, _installed)
    return True


def active() -> bool:
    """Whether the front end runs compiled in this process."""
    mod = importlib.import_module(COMPILED[0])
    return not str(getattr(mod, "__file__", "")).endswith(".py")


def describe() -> str:
    return "compiled (mypyc)" if active() else "pure Python"


def status() -> str:
    manifest = current_build()
    if manifest is None:
        return f"not built for these sources (pure Python); builds live in {native_dir()}"
    return (f"built in {native_dir() / manifest['key']} (mypy {manifest['mypy']}); "
            f"this process: {describe()}")


# --- building -----------------------------------------------------------------------------------

class NativeBuildError(Exception):
    """The compiled front end could not be built (the pure-Python one still works)."""


# mypy checks every module a compiled one imports; only the compiled ones must be type-clean.
_MYPY_CONFIG = """\
[mypy]
follow_imports = normal
ignore_missing_imports = True
warn_unused_ignores = False

[mypy-wasmc.*]
ignore_errors = True
{strict}
"""


def build(force: bool = False, verbose: bool = False) -> Path:
    """Compile COMPILED with mypyc into native_dir()/<key>; nothing to do if that build exists.
    The build is made in a temporary directory and moved into place, so concurrent builds and
    interrupted ones never leave a half-made build behind."""
    import shutil
    import subprocess
    import tempfile

    key = source_key()
    dest = native_dir() / key
    if (dest / MANIFEST).is_file() and not force:
        return dest
    try:
        import mypy.version
    except ImportError:
        raise NativeBuildError("mypy (mypyc) is not installed: pip install mypy") from None
    native_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wasmc-native-") as tmp:
        work = Path(tmp) / "src"
        shutil.copytree(PACKAGE_DIR, work / "wasmc",
                        ignore=shutil.ignore_patterns("__pycache__", "*.so", "runtime_c"))
        strict = "\n".join(f"[mypy-{m}]\nignore_errors = False" for m in COMPILED)
        (work / "mypy.ini").write_text(_MYPY_CONFIG.format(strict=strict))
        files = [m.replace(".", "/") + ".py" for m in COMPILED]
        proc = subprocess.run([sys.executable, "-m", "mypyc", "--config-file", "mypy.ini", *files],
                              cwd=work, capture_output=True, text=True, check=False)
        if verbose or proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise NativeBuildError(f"mypyc failed (exit {proc.returncode})")
        out = Path(tmp) / key
        out.mkdir()
        modules: dict[str, str] = {}
        for m in COMPILED:
            so = _one(work, m.replace(".", "/"))
            rel = so.relative_to(work).as_posix()
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(so, out / rel)
            modules[m] = rel
        shared: dict[str, str] = {}
        for so in work.glob("*__mypyc*"):  # mypyc's library of the group, a top-level module
            shutil.copy2(so, out / so.name)
            shared[so.name.split(".", 1)[0]] = so.name
        manifest = {"key": key, "modules": modules, "shared": shared,
                    "mypy": mypy.version.__version__, "python": sys.version.split()[0]}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        try:
            os.replace(out, dest)
        except OSError:
            if not (dest / MANIFEST).is_file():  # another build got there first: keep it
                raise
    return dest


def _one(work: Path, stem: str) -> Path:
    found = [p for p in (work / stem).parent.glob(Path(stem).name + ".*")
             if p.name.endswith(sysconfig.get_config_var("EXT_SUFFIX"))]
    if len(found) != 1:
        raise NativeBuildError(f"mypyc built no extension for {stem}")
    return found[0]


KEEP_BUILDS = 4  # besides the current one: other checkouts (CI, fuzzing clones) share the dir


def prune(keep: str | None = None) -> int:
    """Remove all but the newest KEEP_BUILDS builds other than `keep` (the current one by
    default); returns how many went.  A build is about 5 MB."""
    import shutil

    keep = keep or source_key()
    root = native_dir()
    if not root.is_dir():
        return 0
    others = sorted((d for d in root.iterdir() if d.is_dir() and d.name != keep),
                    key=lambda d: d.stat().st_mtime, reverse=True)
    for d in others[KEEP_BUILDS:]:
        shutil.rmtree(d, ignore_errors=True)
    return max(0, len(others) - KEEP_BUILDS)
