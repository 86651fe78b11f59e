"""`wasmc run`: compile a WASI command (cached) and replace this process with it.

Strategy: the executable comes from the content-addressed cache (cache.py); the grants travel in
WASMC_GRANTS and the guest's argv[0] in WASMC_ARGV0 (read by runtime_c/main.c), and `os.execve`
replaces the Python process, so stdin/stdout/stderr, signals and the exit status are the guest
program's own, exactly as with `wasmtime run` (a trap exits 134).  The guest sees only what the
flags grant: run-time grants replace any WASMC_GRANTS in our own environment rather than adding
to it, so the same flags always mean the same sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .errors import WasmcError


class GrantError(WasmcError):
    """A --dir/--env value that cannot be expressed as a grant."""


def grant_lines(dirs: Sequence[str], envs: Sequence[str]) -> list[str]:
    """`--dir`/`--env` flag values as grant strings (`--dir=HOST[::GUEST]`, `--env=NAME[=VALUE]`)."""
    lines = []
    for kind, values in (("dir", dirs), ("env", envs)):
        for v in values:
            if "\n" in v or "\0" in v:
                raise GrantError(f"--{kind} {v!r}: a grant cannot contain a newline or NUL")
            if not v or (kind == "env" and v.startswith("=")):
                raise GrantError(f"--{kind} {v!r}: empty {'name' if kind == 'env' else 'path'}")
            lines.append(f"--{kind}={v}")
    return lines


def guest_argv0(module: str | os.PathLike) -> str:
    """What `wasmtime run` passes as argv[0]: the module path's last component."""
    return Path(module).name or str(module)


def exec_module(module: str | os.PathLike, args: Sequence[str], dirs: Sequence[str],
                envs: Sequence[str], opt_level: int = 2, target_cpu: str | None = None,
                argv0: str | None = None) -> NoReturn:
    from .cache import cached_executable

    grants = grant_lines(dirs, envs)
    exe = cached_executable(module, opt_level, target_cpu)
    argv0 = guest_argv0(module) if argv0 is None else argv0
    env = dict(os.environ)
    env["WASMC_GRANTS"] = "\n".join(grants)
    env["WASMC_ARGV0"] = argv0
    os.execve(exe, [argv0 or "wasm", *args], env)
