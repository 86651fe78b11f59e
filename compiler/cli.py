"""The `wasmc` command line.

`wasmc MODULE -o OUT` compiles (the default command); subcommands: `wast` runs spec scripts.
Exit status: 0 success, 1 compile error (malformed/invalid module, tool failure), 2 usage error.
Errors print as `FILE:0xOFFSET: error: message`, never as a Python traceback.
"""

from __future__ import annotations

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


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wasmc")
def main() -> None:
    """wasmc: compile WebAssembly modules to native x86-64 executables.

    \b
    Examples:
      wasmc app.wasm -o app          compile to an executable
      wasmc app.wasm --emit=llvm     print optimised LLVM IR
      wasmc wast tests/*.wast        run spec test scripts
    """


@main.command("compile")
@click.argument("module", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Output file.")
@click.option("-O", "opt_level", type=click.IntRange(0, 3), default=2, show_default=True,
              help="Optimisation level.")
@click.option("--emit", type=click.Choice(["exe", "obj", "llvm", "asm"]), default="exe",
              show_default=True, help="What to produce.")
@click.option("--target-cpu", default=None, help="LLVM CPU name (default: the host's).")
@click.option("-v", "--verbose", "--time", "verbose", is_flag=True,
              help="Print a table of phase times and sizes.")
def compile_cmd(module, output, opt_level, emit, target_cpu, verbose) -> None:
    """Compile MODULE (.wasm, or .wat text) to a native executable.

    \b
    Examples:
      wasmc hello.wasm -o hello && ./hello
      wasmc -O3 app.wasm -o app
      wasmc app.wasm --emit=obj -o app.o
    """
    from . import driver

    opts = driver.Options(opt_level=opt_level, target_cpu=target_cpu)
    times = driver.PhaseTimes()
    try:
        wasm = driver.read_input(module)
        if emit == "exe":
            out = Path(output or Path(module).with_suffix(""))
            if out == Path(module):
                out = out.with_suffix(".out")
            driver.build_executable(wasm, out, opts, times)
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
        click.echo(e.format(module), err=True)
        sys.exit(1)
    if verbose:
        click.echo(times.table(), err=True)


@main.command("wast")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-v", "--verbose", is_flag=True, help="Describe every failed assertion.")
@click.option("-j", "--jobs", type=int, default=1, show_default=True,
              help="Scripts run in parallel.")
def wast_cmd(files, verbose, jobs) -> None:
    """Run WebAssembly spec test scripts (.wast), like `wasmtime wast`.

    Every module is compiled to native code and called through it.  Prints one line per file
    and a final `N passed, M failed, K skipped` (assertions).

    \b
    Examples:
      wasmc wast ../shared/spec/core-2.0/i32.wast
      wasmc wast -j 2 ../shared/spec/core-2.0/*.wast
    """
    from .wast.runner import run_files

    _, failed, _ = run_files([Path(f) for f in files], verbose=verbose, jobs=jobs)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
