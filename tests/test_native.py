"""The compiled front end (wasmc/native.py): it is what runs, it gives what the Python source gives,
and a stale build is never used.

The rest of the suite runs through whichever front end this process imported: the compiled one
after `make test`'s set-up (the first test here fails otherwise).  So the spec suites check the
compiled modules, and this file holds the Python source to the same results: every module of a
corpus (the spec suite's binaries, generated modules, and mutations of both, most of them
malformed or invalid) goes through decode, validate and lower in both, and the error or the IR
must be the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from wasmc import native

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def test_the_front_end_runs_compiled():
    assert native.current_build() is not None, (
        "no compiled front end for these sources: run `make deps` (scripts/install-deps.sh)")
    import importlib

    assert native.active()
    for name in native.COMPILED:
        mod = importlib.import_module(name)
        assert not mod.__file__.endswith(".py"), mod.__file__


def test_pure_python_is_used_when_asked(tmp_path):
    code = "import wasmc.native as n, wasmc.decode as d; print(n.describe(), d.__file__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "WASMC_PURE_PYTHON": "1"}).stdout
    assert out.startswith("pure Python") and out.rstrip().endswith("decode.py"), out


def test_the_python_front_end_needs_no_mypy():
    """Installed without the `native` extra (no mypy, so no mypy_extensions), wasmc still
    compiles, as Python."""
    code = ("import sys; sys.modules['mypy_extensions'] = None\n"
            "import wasmtime, wasmc.native as n\n"
            "from wasmc.driver import compile_module, Options\n"
            "w = wasmtime.wat2wasm('(module (func (export \"f\") (result i32) i32.const 42))')\n"
            "text, _ = compile_module(w, Options(opt_level=0), 'llvm')\n"
            "print(n.describe(), 'ret i32 42' in text)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "WASMC_PURE_PYTHON": "1"}).stdout
    assert out.split() == ["pure", "Python", "True"], out


def test_a_stale_build_is_not_used(tmp_path):
    """An edited source (here: a copy of the package with one more line) has another key, so no
    build is found for it."""
    import shutil

    copy = tmp_path / "wasmc"
    shutil.copytree(native.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert native.source_key(copy) == native.source_key()
    with open(copy / "validate.py", "a") as f:
        f.write("\n# edited\n")
    assert native.source_key(copy) != native.source_key()
    assert native.current_build(copy) is None


def test_prune_keeps_the_current_build_and_the_newest_others(tmp_path, monkeypatch):
    monkeypatch.setenv("WASMC_NATIVE_DIR", str(tmp_path))
    for k in range(native.KEEP_BUILDS + 3):
        d = tmp_path / f"old{k}"
        d.mkdir()
        os.utime(d, (1000 + k, 1000 + k))
    (tmp_path / "current").mkdir()
    os.utime(tmp_path / "current", (1, 1))  # the oldest, and kept
    assert native.prune(keep="current") == 3
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["current"] + [f"old{k}" for k in range(3, native.KEEP_BUILDS + 3)])


# --- the same results from both -----------------------------------------------------------------

def digest(wasm: bytes) -> str:
    """What the front end makes of a module: its first error, or a hash of its IR (decoded with
    bodies left for later, as the driver does, then validated and lowered)."""
    from wasmc.decode import read_bodies
    from wasmc.driver import front_end
    from wasmc.errors import DecodeError, LimitError, ValidationError
    from wasmc.lower.module_lowering import lower_module
    from wasmc.validate import check_bodies, check_declarations

    try:
        m = front_end(wasm, lazy_bodies=True)
        every = range(len(m.codes))
        read_bodies(m, every)
        check_bodies(check_declarations(m), m, every)
        text = str(lower_module(m))
    except (DecodeError, ValidationError, LimitError) as e:
        return f"{type(e).__name__}: {e}"
    return hashlib.sha256(text.encode()).hexdigest()


def _digests_main() -> None:
    """In the pure-Python process: digests of the modules in the directory argv[1]."""
    paths = sorted(Path(sys.argv[1]).glob("*.wasm"))
    print(json.dumps({p.name: digest(p.read_bytes()) for p in paths}))


def test_compiled_and_python_front_ends_agree(tmp_path):
    from fuzz.hostile import corpus, make_case

    mods = corpus(max_files=400)
    rng = random.Random(41)
    cases = mods + [make_case(mods, rng, synth_rate=0.05)[1] for _ in range(400)]
    for i, wasm in enumerate(cases):
        (tmp_path / f"{i:04}.wasm").write_bytes(wasm)
    code = ("import sys; sys.path.insert(0, sys.argv[2]); import test_native; "
            "test_native._digests_main()")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(Path(__file__).parent)],
                          capture_output=True, text=True, check=False, cwd=REPO,
                          env={**os.environ, "WASMC_PURE_PYTHON": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    pure = json.loads(proc.stdout)
    assert native.active()
    compiled = {p.name: digest(p.read_bytes()) for p in sorted(tmp_path.glob("*.wasm"))}
    assert len(compiled) == len(cases)
    differ = [(k, compiled[k], pure[k]) for k in compiled if compiled[k] != pure[k]]
    assert not differ, differ[:5]
    errors = sum(v.startswith(("DecodeError", "ValidationError")) for v in compiled.values())
    assert errors > 300 and len(cases) - errors > 100, (errors, len(cases))  # both well exercised

