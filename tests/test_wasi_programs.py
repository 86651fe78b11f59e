"""Real C programs (tests/wasi_programs/*.c) under `wasmc run` and under wasmtime, compared.

Strategy: each program is compiled on first use with `clang-16 --target=wasm32-wasi` into a
content-addressed cache (so xdist workers and later sessions reuse it), and `wasmc run` caches its
executable the same way.  Every case builds the same fresh
directory tree twice; one copy is granted to `wasmc run` (a real subprocess: pipes, exec, exit
status), the other to the `wasmtime` Python package with the same argv, environment, preopens
and stdin.  stdout, stderr, exit status and the whole resulting tree (names, file types,
contents, link targets) must be identical — including the part of the tree outside the grant,
which the sandbox cases try to reach by `..`, absolute paths, symlinks, renames and hard links.

Where the two must differ by design: when the guest traps, wasmc's runtime reports it on stderr
(`wasm backtrace:` frames, then `wasm trap: ...`; wasmtime's CLI prints its own report and the
Python package raises), so that report is cut before comparing.  Status 134 is a trap; status 1 a
WASI call wasmtime refuses as a host error rather than an errno (`proc_exit(200)`, an enum value
out of range), which `wasmtime run` also reports with exit status 1.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from wasmc import cache, link

PROGRAMS = Path(__file__).resolve().parent / "wasi_programs"
CLANG = shutil.which("clang-16")
SYSROOT = Path("/usr")  # Debian's wasi-libc: /usr/include/wasm32-wasi, /usr/lib/wasm32-wasi
CFLAGS = ["--target=wasm32-wasi", f"--sysroot={SYSROOT}", "-O2", "-Wall", "-Wextra", "-Werror",
          "-Wno-infinite-recursion"]
WASMC = [sys.executable, "-m", "wasmc.cli"]
TRAP = 134
HOST_ERROR = 1  # a WASI call failing as a host error, not a trap: wasmtime exits 1
RUNTIME_REPORT = (b"wasmc: ", b"wasm backtrace:", b"wasm trap: ")


def _missing_toolchain() -> str | None:
    if CLANG is None:
        return "clang-16 not installed (scripts/install-deps.sh installs it)"
    if not (SYSROOT / "lib" / "wasm32-wasi" / "libc.a").is_file():
        return "wasi-libc not installed (apt package wasi-libc; scripts/install-deps.sh)"
    if not list(Path("/usr/lib").glob("llvm-16/lib/clang/16/lib/wasi/libclang_rt.builtins-wasm32.a")):
        return "wasm32 compiler-rt missing (apt package libclang-rt-16-dev-wasm32)"
    return None


wasmtime = pytest.importorskip("wasmtime", reason="the reference needs the wasmtime package")
pytestmark = pytest.mark.skipif(_missing_toolchain() is not None,
                                reason=_missing_toolchain() or "")


# ---------------------------------------------------------------------------------------------
# Building the programs
# ---------------------------------------------------------------------------------------------
def _compile_c(name: str) -> Path:
    src = PROGRAMS / f"{name}.c"
    h = hashlib.sha256(" ".join([CLANG or "", *CFLAGS]).encode())
    for p in (src, PROGRAMS / "check.h"):
        h.update(p.read_bytes())
    # <hash>/<name>.wasm: the guest's argv[0] is the module's file name, as with wasmtime
    out = link.cache_root() / "wasi-programs" / h.hexdigest()[:16] / f"{name}.wasm"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers wanting the same program build it once
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            proc = subprocess.run([CLANG, *CFLAGS, str(src), "-o", str(tmp)], check=False, capture_output=True,
                                  text=True)
            assert proc.returncode == 0, f"clang failed on {src.name}:\n{proc.stderr}"
            os.replace(tmp, out)
    return out


class _Programs(dict):
    """name -> compiled .wasm, built on first use (so each xdist worker builds only what it runs)."""

    def __missing__(self, name: str) -> Path:
        self[name] = _compile_c(name)
        return self[name]


@pytest.fixture(scope="session")
def programs() -> dict[str, Path]:
    return _Programs()


@pytest.fixture(scope="session")
def engine():
    return wasmtime.Engine()


_modules: dict[Path, object] = {}


def _module(engine, wasm: Path):
    if wasm not in _modules:
        _modules[wasm] = wasmtime.Module.from_file(engine, str(wasm))
    return _modules[wasm]


# ---------------------------------------------------------------------------------------------
# The directory tree every case starts from
# ---------------------------------------------------------------------------------------------
def make_tree(root: Path) -> Path:
    """sandbox/ (usually granted), outside/ (never granted), a/ and b/ (for two grants)."""
    sb = root / "sandbox"
    (sb / "sub" / "inner").mkdir(parents=True)
    (sb / "data").mkdir()
    (sb / "hello.txt").write_text("Hello from the host\n")
    (sb / "data" / "one.txt").write_text("1\n")
    (sb / "sub" / "inner" / "leaf.txt").write_text("leaf\n")
    (sb / "link-to-hello").symlink_to("hello.txt")
    (sb / "dangling").symlink_to("missing-target")
    (sb / "escape").symlink_to("../outside")
    (sb / "escape-abs").symlink_to(root / "outside")
    out = root / "outside"
    out.mkdir()
    (out / "secret.txt").write_text("secret\n")
    (out / "link").symlink_to("secret.txt")
    (root / "a").mkdir()
    (root / "a" / "one.txt").write_text("one\n")
    (root / "b").mkdir()
    return root


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root: ("dir",), ("file", bytes) or ("link", target with root masked)."""
    tree: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                tree[rel] = ("link", os.readlink(p).replace(str(root), "<root>"))
            elif p.is_dir():
                tree[rel] = ("dir",)
            elif p.is_file():
                tree[rel] = ("file", p.read_bytes())
            else:
                tree[rel] = ("other",)
    return tree


# ---------------------------------------------------------------------------------------------
# Running one case both ways
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    program: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # NAME=VALUE
    dirs: tuple[tuple[str, str], ...] = (("sandbox", "/sandbox"),)  # (dir under the tree, guest)
    stdin: bytes = b""
    pipe_stdin: bool = False  # wasmc reads a pipe (wasmtime always reads a file)
    host_env: tuple[tuple[str, str], ...] = ()  # extra variables for the wasmc process only
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or "-".join([self.program, *self.args])[:60]


@dataclass
class Outcome:
    status: int
    stdout: bytes
    stderr: bytes
    tree: dict


def run_wasmc(wasm: Path, case: Case, root: Path) -> Outcome:
    cmd = [*WASMC, "run"]
    for host, guest in case.dirs:
        cmd += ["--dir", f"{root / host}::{guest}"]
    for nv in case.env:
        cmd += ["--env", nv]
    env = dict(os.environ, **dict(case.host_env))
    stdin_path = root.parent / f"{root.name}.stdin"
    stdin_path.write_bytes(case.stdin)
    with open(stdin_path, "rb") as f:
        proc = subprocess.run([*cmd, str(wasm), *case.args], check=False, capture_output=True, env=env,
                              timeout=120, **({"input": case.stdin} if case.pipe_stdin else {"stdin": f}))
    return Outcome(proc.returncode, proc.stdout, proc.stderr, snapshot(root))


def run_wasmtime(engine, wasm: Path, case: Case, root: Path) -> Outcome:
    io = root.parent / f"{root.name}.io"
    io.mkdir()
    (io / "stdin").write_bytes(case.stdin)
    cfg = wasmtime.WasiConfig()
    cfg.argv = [wasm.name, *case.args]
    cfg.env = [tuple(nv.split("=", 1)) for nv in case.env]
    for host, guest in case.dirs:
        cfg.preopen_dir(str(root / host), guest)
    cfg.stdin_file = str(io / "stdin")
    cfg.stdout_file = str(io / "stdout")
    cfg.stderr_file = str(io / "stderr")
    store = wasmtime.Store(engine)
    store.set_wasi(cfg)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, _module(engine, wasm))
    try:
        instance.exports(store)["_start"](store)
        status = 0
    except wasmtime.ExitTrap as e:
        status = e.code
    except wasmtime.Trap:
        status = TRAP
    except wasmtime.WasmtimeError:  # a host error (e.g. proc_exit(200)): `wasmtime run` exits 1
        status = HOST_ERROR
    del store, instance
    return Outcome(status, (io / "stdout").read_bytes(), (io / "stderr").read_bytes(), snapshot(root))


def compare(programs, engine, case: Case, tmp_path: Path) -> Outcome:
    wasm = programs[case.program]
    ours = run_wasmc(wasm, case, make_tree(tmp_path / "wasmc"))
    ref = run_wasmtime(engine, wasm, case, make_tree(tmp_path / "wasmtime"))
    stderr = ours.stderr
    lines = stderr.splitlines(keepends=True)
    if ours.status in (TRAP, HOST_ERROR) and lines and lines[-1].startswith(b"wasm trap: "):
        # the guest's stderr, then the runtime's report (see the docstring)
        cut = next(i for i, line in enumerate(lines) if line.startswith(RUNTIME_REPORT))
        stderr = b"".join(lines[:cut])
    assert (ours.status, ours.stdout.decode(errors="replace"), stderr.decode(errors="replace")) == \
        (ref.status, ref.stdout.decode(errors="replace"), ref.stderr.decode(errors="replace"))
    assert ours.tree == ref.tree
    return ours


# ---------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------
STDIN_TEXT = b"".join(b"line %d of the input, with some text\n" % i for i in range(500)) + b"no newline"
TWO = (("a", "/a"), ("b", "/b"))
CASES = [
    Case("args_env", ("7", "--flag", "--dir", "x", "with space", "\u00fcnicode", ""),
         ("HOME=/sandbox", "A=1", "EMPTY=", "WEIRD=x=y", "A=2")),  # duplicates kept, as wasmtime
    Case("args_env", (), (), ()),
    Case("exit_code", ("return", "0")),
    Case("exit_code", ("exit", "7")),
    Case("exit_code", ("return", "42")),
    Case("exit_code", ("_exit", "125")),
    Case("exit_code", ("exit", "126")),  # a host error under wasmtime: status 1
    Case("exit_code", ("abort",)),
    Case("files"),
    Case("dirs"),
    Case("stat"),
    Case("rename"),
    Case("symlinks"),
    Case("lseek"),
    Case("largefile"),
    Case("clocks", dirs=()),
    Case("random", dirs=()),
    Case("poll_stdin", stdin=STDIN_TEXT),
    Case("poll_stdin", stdin=b"", name="poll_stdin-empty"),
    Case("cat_stdin", ("/sandbox/copy.txt",), stdin=STDIN_TEXT, pipe_stdin=True),
    Case("cat_stdin", (), stdin=b"", pipe_stdin=True, name="cat_stdin-empty"),
    Case("cat_stdin", ("/nowhere/copy.txt",), stdin=b"x\n", name="cat_stdin-ungranted"),
    *[Case("trap", (k,)) for k in ("unreachable", "divzero", "oob", "stack", "indirect", "exit200")],
    Case("floats", dirs=()),
    Case("sandbox"),
    Case("sandbox", host_env=(("WASMC_WASI_NO_OPENAT2", "1"),), name="sandbox-walk"),
    Case("root_grant", ("/hello.txt", "/../outside/secret.txt", "../../x"), dirs=(("sandbox", "/"),)),
    Case("preopens", dirs=TWO),
    Case("preopens", dirs=(("a", "/a"), ("b", "/b"), ("sandbox", "/"))),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_program_matches_wasmtime(programs, engine, case, tmp_path):
    compare(programs, engine, case, tmp_path)


def test_sandbox_leaves_outside_untouched(programs, engine, tmp_path):
    ours = compare(programs, engine, Case("sandbox"), tmp_path)
    fresh = snapshot(make_tree(tmp_path / "fresh"))
    outside = {k: v for k, v in fresh.items() if not k.startswith("sandbox")}
    assert {k: v for k, v in ours.tree.items() if not k.startswith("sandbox")} == outside
    assert b"[secret" not in ours.stdout


# ---------------------------------------------------------------------------------------------
# `wasmc run` itself: the cache, concurrency, compile-time grants
# ---------------------------------------------------------------------------------------------
def _custom_section(wasm: bytes, payload: bytes) -> bytes:
    """The module with a custom section appended: same behaviour, different content hash."""
    name = b"wasmc-test"
    body = bytes([len(name)]) + name + payload
    assert len(body) < 128
    return wasm + bytes([0, len(body)]) + body


def test_second_run_uses_the_cache(programs, tmp_path):
    wasm = tmp_path / "args_env.wasm"
    wasm.write_bytes(_custom_section(programs["args_env"].read_bytes(), os.urandom(16)))
    key = cache.executable_key(wasm.read_bytes(), "exe|O2|cpu=")
    exe = link.cache_root() / "exe" / key
    assert not exe.exists()
    first = subprocess.run([*WASMC, "run", str(wasm), "5"], check=False, capture_output=True)
    assert first.returncode == 5 and b"argv[0]=[args_env.wasm]" in first.stdout
    inode = exe.stat().st_ino  # a hit refreshes the mtime (LRU pruning) but never rebuilds
    t0 = time.perf_counter()
    second = subprocess.run([*WASMC, "run", str(wasm), "5"], check=False, capture_output=True)
    elapsed = time.perf_counter() - t0
    assert (second.returncode, second.stdout) == (5, first.stdout)
    assert exe.stat().st_ino == inode
    assert elapsed < 2.0, f"cached run took {elapsed:.2f}s"


def test_concurrent_first_runs_compile_once(programs, tmp_path):
    wasm = tmp_path / "args_env.wasm"
    wasm.write_bytes(_custom_section(programs["args_env"].read_bytes(), os.urandom(16)))
    procs = [subprocess.Popen([*WASMC, "run", str(wasm), str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for i in range(3)]
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=120)
        assert p.returncode == i, err
        assert f"argv[1]=[{i}]".encode() in out
    key = cache.executable_key(wasm.read_bytes(), "exe|O2|cpu=")
    leftovers = [p for p in (link.cache_root() / "exe").glob(f"{key}.*") if not p.name.endswith(".lock")]
    assert leftovers == []


def test_argv0_and_errors(programs, tmp_path):
    r = subprocess.run([*WASMC, "run", "--argv0", "prog", str(programs["args_env"]), "--env", "X=1"],
                       check=False, capture_output=True)
    assert r.returncode == 0
    assert b"argv[0]=[prog]\nargv[1]=[--env]\nargv[2]=[X=1]\n" in r.stdout
    assert b"env[" not in r.stdout  # the host environment is not visible
    r = subprocess.run([*WASMC, "run", "--dir", str(tmp_path / "nonexistent"), str(programs["args_env"])],
                       check=False, capture_output=True)
    assert r.returncode == 1 and b"failed to open directory" in r.stderr
    r = subprocess.run([*WASMC, "run", "--env", "A=1\nB", str(programs["args_env"])], check=False,
                       capture_output=True)
    assert r.returncode == 2 and b"newline" in r.stderr


def test_compile_time_grants(programs, engine, tmp_path):
    """`wasmc app.wasm -o app --dir --env` bakes grants in; WASMC_GRANTS adds more at run time."""
    root = make_tree(tmp_path / "wasmc")
    exe = tmp_path / "preopens"
    r = subprocess.run([*WASMC, str(programs["preopens"]), "-o", str(exe), "--dir", f"{root / 'a'}::/a",
                        "--env", "BAKED=1"], check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    run = subprocess.run([str(exe)], check=False, capture_output=True,
                         env=dict(os.environ, WASMC_GRANTS=f"--dir={root / 'b'}::/b",
                                  WASMC_ARGV0="preopens.wasm"))
    ref = run_wasmtime(engine, programs["preopens"], Case("preopens", dirs=TWO),
                       make_tree(tmp_path / "wasmtime"))
    assert (run.returncode, run.stdout, run.stderr) == (ref.status, ref.stdout, ref.stderr)
    assert snapshot(root) == ref.tree
    # the baked environment plus a run-time one, in grant order
    exe2 = tmp_path / "args_env"
    subprocess.run([*WASMC, str(programs["args_env"]), "-o", str(exe2), "--env", "BAKED=1",
                    "--env", "SHARED=compile"], check=True)
    r = subprocess.run([str(exe2)], check=False, capture_output=True, text=True,
                       env=dict(os.environ, WASMC_GRANTS="--env=LATE=2\n--env=SHARED=run"))
    assert "env[0]=[BAKED=1]\nenv[1]=[SHARED=run]\nenv[2]=[LATE=2]\n" in r.stdout
    assert "argv[0]=[args_env]" in r.stdout
