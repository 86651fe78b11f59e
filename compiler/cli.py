"""The `wasmc` command line.

`wasmc MODULE -o OUT` compiles (the default command); subcommands: `run` compiles (cached) and runs
a WASI command like `wasmtime run`, `wast` runs spec scripts.
Exit status: 0 success, 1 compile error (malformed/invalid module, tool failure), 2 usage error.
Errors print as `FILE:0xOFFSET: error: message`, never as a Python traceback.
"""

from __future__ import annotations

import faulthandler
import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import WasmcError


class DefaultGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, is a module to compile."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h",
                                                                     "--version"):
            args = ["compile"] + list(args)
        return super().parse_args(ctx, args)


OPT_HELP = ("Optimisation level: 0 compiles fastest (unoptimised code, LLVM's fast instruction "
            "selector), 1 optimises, 2 also vectorises loops, 3 is LLVM's -O3.")


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wasmc")
def main() -> None:
    """wasmc: compile WebAssembly modules to native x86-64 executables.

    \b
    Examples:
      wasmc app.wasm -o app          compile to an executable
      wasmc run --dir .::/ app.wasm  compile (cached) and run, like `wasmtime run`
      wasmc app.wasm --emit=llvm     print optimised LLVM IR
      wasmc wast tests/*.wast        run spec test scripts
    """
    # A crash inside LLVM is a compiler bug that kills the process; at least say so and where.
    try:
        faulthandler.enable()
    except (AttributeError, OSError, ValueError):  # stderr without a file descriptor (captured)
        pass


@main.command("compile")
@click.argument("module", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Output file.")
@click.option("-O", "opt_level", type=click.IntRange(0, 3), default=2, show_default=True,
              help=OPT_HELP)
@click.option("--emit", type=click.Choice(["exe", "obj", "llvm", "asm"]), default="exe",
              show_default=True, help="What to produce.")
@click.option("--target-cpu", default=None, help="LLVM CPU name (default: the host's).")
@click.option("-j", "--jobs", type=click.IntRange(1, None), default=None,
              help="Parallel back-end processes (default: every core).")
@click.option("-v", "--verbose", "--time", "verbose", is_flag=True,
              help="Print a table of phase times and sizes.")
@click.option("--json", "json_diag", is_flag=True,
              help="Report errors as JSON objects on stderr (for tools and CI).")
@click.option("--bounds-checks", is_flag=True,
              help="Check every memory access explicitly (exact traps even for loads whose "
                   "value is unused; slower).")
@click.option("--wasm", "wasm_version", type=click.Choice(["2.0", "3.0"]), default="3.0",
              show_default=True,
              help="The WebAssembly version whose rules apply (3.0: all but garbage "
                   "collection's array instructions; see the README).")
@click.option("--dir", "dirs", multiple=True, metavar="HOST[::GUEST]",
              help="Bake in a directory grant (repeatable); see `wasmc run --help`.")
@click.option("--env", "envs", multiple=True, metavar="NAME[=VALUE]",
              help="Bake in an environment variable grant (repeatable).")
def compile_cmd(module, output, opt_level, emit, target_cpu, jobs, verbose, json_diag,
                bounds_checks, wasm_version, dirs, envs) -> None:
    """Compile MODULE (.wasm, or .wat text) to a native executable.

    --dir/--env grants are baked into the executable; more can be given when it runs, in the
    WASMC_GRANTS environment variable (newline-separated `--dir=HOST[::GUEST]`, `--env=N=V`).

    \b
    Examples:
      wasmc hello.wasm -o hello && ./hello
      wasmc -O3 app.wasm -o app
      wasmc app.wasm -o app --dir data::/data --env LANG=C
      WASMC_GRANTS='--dir=/tmp::/tmp' ./app
      wasmc app.wasm --emit=obj -o app.o
    """
    from . import driver
    from .features import VERSIONS

    grants = _grants(dirs, envs)
    if grants and emit != "exe":
        raise click.UsageError("--dir/--env grants apply to executables (--emit=exe) only")
    opts = driver.Options(opt_level=opt_level, target_cpu=target_cpu, jobs=jobs,
                          bounds_checks=bounds_checks, features=VERSIONS[wasm_version])
    times = driver.PhaseTimes()
    try:
        wasm = driver.read_input(module)
        opts.progress = _progress_bar(len(wasm))
        if emit == "exe":
            out = Path(output or Path(module).with_suffix(""))
            if out == Path(module):
                out = out.with_suffix(".out")
            driver.build_executable(wasm, out, opts, times, grants)
        else:
            result, _ = driver.compile_module(wasm, opts, emit, times)
            if output:
                mode = "wb" if isinstance(result, bytes) else "w"
                with open(output, mode) as f:
                    f.write(result)
            elif isinstance(result, bytes):
                raise click.UsageError("--emit=obj needs -o FILE")
            else:
                sys.stdout.write(result)
    except WasmcError as e:
        report(e, module, json_diag)
        sys.exit(1)
    except OSError as e:
        report(WasmcError(f"{e.strerror or e}: {e.filename or output}"), module, json_diag)
        sys.exit(1)
    if verbose:
        from . import native

        times.notes.append(f"(front end: {native.describe()}; `wasmc native status` says more)")
        click.echo(times.table(), err=True)


def report(e: WasmcError, filename: str, as_json: bool) -> None:
    """One diagnostic: `FILE:0xOFFSET: error: message`, or a JSON object with the same facts."""
    if as_json:
        click.echo(json.dumps({"file": str(filename), "offset": e.offset, "severity": "error",
                               "kind": e.kind, "message": e.message, "func": e.func,
                               "instr": e.instr}), err=True)
    else:
        click.echo(e.format(filename), err=True)


def _progress_bar(module_size: int):
    """A progress callback for the back end, shown only on a terminal and only for modules big
    enough to take more than a couple of seconds."""
    if module_size < (1 << 20) or not sys.stderr.isatty():
        return None
    state: dict[str, object] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(length=total, label="compiling partitions", file=sys.stderr)
            bar.__enter__()
            state["bar"] = bar
        bar.update(1)
        if done == total:
            bar.__exit__(None, None, None)
    return update


def _grants(dirs, envs) -> list[str]:
    from .run import GrantError, grant_lines

    try:
        return grant_lines(dirs, envs)
    except GrantError as e:
        raise click.UsageError(e.message) from None


@main.command("run", context_settings={"allow_interspersed_args": False})
@click.option("--dir", "dirs", multiple=True, metavar="HOST[::GUEST]",
              help="Grant host directory HOST, seen by the guest as GUEST (default: HOST). "
                   "Repeatable; `HOST::/` makes HOST the guest's root.")
@click.option("--env", "envs", multiple=True, metavar="NAME[=VALUE]",
              help="Give the guest environment variable NAME (without =VALUE: the host's value). "
                   "Repeatable.")
@click.option("-O", "opt_level", type=click.IntRange(0, 3), default=2, show_default=True,
              help=OPT_HELP)
@click.option("--argv0", default=None, help="The guest's argv[0] (default: MODULE's file name).")
@click.argument("module", type=click.Path(exists=True, dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run_cmd(dirs, envs, opt_level, argv0, module, args) -> None:
    """Compile MODULE (cached) and run it as a WASI command, like `wasmtime run`.

    The guest sees only the granted directories and environment variables.  stdin, stdout and
    stderr are inherited; the exit status is the guest's (proc_exit code, 134 on a trap).  The
    executable is cached by module content, options and compiler version (in $WASMC_CACHE_DIR,
    default ~/.cache/wasmc), so a second run starts at once.  Options end at MODULE: everything
    after it goes to the guest.

    \b
    Examples:
      wasmc run hello.wasm
      wasmc run --dir . app.wasm input.txt
      wasmc run --dir ./data::/data --env HOME=/data app.wasm --verbose
      wasmc run --dir /srv/root::/ app.wasm
    """
    from .run import exec_module

    grants_dirs, grants_envs = list(dirs), list(envs)
    _grants(grants_dirs, grants_envs)
    try:
        exec_module(module, list(args), grants_dirs, grants_envs, opt_level, argv0=argv0)
    except WasmcError as e:
        click.echo(e.format(module), err=True)
        sys.exit(1)
    except OSError as e:
        click.echo(f"{module}: error: cannot run: {e}", err=True)
        sys.exit(1)


@main.command("inspect")
@click.argument("module", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect_cmd(module, as_json) -> None:
    """Summarise MODULE: sections, imports, exports, features used and sizes.

    \b
    Examples:
      wasmc inspect app.wasm
      wasmc inspect --json app.wasm | jq .features
    """
    from . import driver
    from .summary import summarise

    try:
        summary = summarise(driver.read_input(module))
    except WasmcError as e:
        report(e, module, as_json)
        sys.exit(1)
    click.echo(json.dumps(summary.to_dict(), indent=2) if as_json else summary.text())


@main.group("native")
def native_group() -> None:
    """The compiled front end: decode, validate and the lowering built into C extensions by mypyc.

    It is used when a build of exactly the installed sources exists (else the same Python source
    runs, slower); WASMC_PURE_PYTHON=1 asks for the Python source.

    \b
    Examples:
      wasmc native status
      wasmc native build
    """


@native_group.command("build")
@click.option("--force", is_flag=True, help="Build again even if a current build exists.")
@click.option("-v", "--verbose", is_flag=True, help="Show mypyc's output.")
def native_build_cmd(force, verbose) -> None:
    """Build the compiled front end for these sources (about 70 s), and prune older builds."""
    from . import native

    try:
        dest = native.build(force=force, verbose=verbose)
    except native.NativeBuildError as e:
        click.echo(f"wasmc: error: cannot build the compiled front end: {e}", err=True)
        sys.exit(1)
    native.prune()
    click.echo(f"compiled front end: {dest}")


@native_group.command("status")
def native_status_cmd() -> None:
    """Say whether a compiled front end is built for these sources, and where."""
    from . import native

    click.echo(f"compiled front end: {native.status()}")


@main.group("cache")
def cache_group() -> None:
    """Manage the compile cache (`$WASMC_CACHE_DIR`, default ~/.cache/wasmc).

    Entries are content-addressed; the least recently used are pruned once the cache exceeds
    `$WASMC_CACHE_MAX` (default 2G).

    \b
    Examples:
      wasmc cache info
      wasmc cache clean
    """


@cache_group.command("clean")
def cache_clean_cmd() -> None:
    """Delete every cached executable, shared object and runtime build.

    \b
    Examples:
      wasmc cache clean
    """
    from . import cache

    freed = cache.clean()
    click.echo(f"removed {freed / (1 << 20):.1f} MiB")


@cache_group.command("info")
def cache_info_cmd() -> None:
    """Show where the cache is, how many entries it holds and their size.

    \b
    Examples:
      wasmc cache info
    """
    from . import cache, link

    items = cache.entries()
    click.echo(f"{link.cache_root()}: {len(items)} entries, "
               f"{sum(s for _, s, _ in items) / (1 << 20):.1f} MiB "
               f"(limit {cache.max_bytes() / (1 << 20):.0f} MiB)")


@main.command("wast")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-v", "--verbose", is_flag=True, help="Describe every failed assertion.")
@click.option("-j", "--jobs", type=int, default=1, show_default=True,
              help="Scripts run in parallel.")
@click.option("--wasm", "wasm_version", type=click.Choice(["2.0", "3.0"]), default="3.0",
              show_default=True, help="The WebAssembly version whose rules apply (the 2.0 suite's "
                                      "scripts need 2.0: some of their invalid modules are valid in 3.0).")
def wast_cmd(files, verbose, jobs, wasm_version) -> None:
    """Run WebAssembly spec test scripts (.wast), like `wasmtime wast`.

    Every module is compiled to native code and called through it.  Prints one line per file
    and a final `N passed, M failed, K skipped` (assertions).

    \b
    Examples:
      wasmc wast --wasm 2.0 ../shared/spec/core-2.0/i32.wast
      wasmc wast -j 2 --wasm 2.0 ../shared/spec/core-2.0/*.wast
      wasmc wast -j 2 ../shared/spec/core/global.wast
    """
    from .wast.runner import run_files

    _, failed, _ = run_files([Path(f) for f in files], verbose=verbose, jobs=jobs, wasm=wasm_version)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
