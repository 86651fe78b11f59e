"""Run `.wast` files, each in a child process, and count assertions: `wasmc wast FILE...`.

Strategy: native code can crash the process that runs it, so every file runs in its own child
(`python -m wasmc.wast.runner --child FILE LOG`).  The child appends one line per command to LOG as it
goes (`L line keyword` before a command, then `P line` or a JSON event), flushing each, so when a child
dies (a signal, or SIGALRM from the per-command time limit) the parent still has every result so far
and the line of the command that was running.  That command is one failure; the parent then starts a
new child that replays the script silently up to that command (rebuilding the same state), skips it,
and goes on reporting.  Skipped assertions come only from `skips.py` and count as skipped, never passed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import skips

FILE_TIMEOUT = 1800.0  # seconds per file, all children together; env WASMC_WAST_TIMEOUT
COMMAND_TIMEOUT = 60  # seconds per command (compiling its module included); env WASMC_WAST_COMMAND_TIMEOUT
MAX_RESTARTS = 25  # children started after crashes, per file


@dataclass
class FileResult:
    path: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)  # "file:line: command: message"
    skips: list[str] = field(default_factory=list)  # "file:line: command: reason"
    note: str = ""  # whole-file note: skip reason, crashes
    total: int | None = field(default=None, repr=False)  # assertions in the file (from the child)
    seen: int = field(default=0, repr=False)  # assertions with an outcome so far
    running: tuple[int, str] | None = field(default=None, repr=False)  # (line, keyword) being run
    done: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def summary(self) -> str:
        line = f"{self.name}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        return f"{line} ({self.note})" if self.note else line

    def collect(self, lines: list[str]) -> None:
        """Fold one child's log into the result."""
        self.running, self.done = None, False
        for ln in lines:
            tag, _, rest = ln.partition(" ")
            if tag == "L":
                line, _, keyword = rest.partition(" ")
                self.running = (int(line), keyword)
            elif tag == "T":
                self.total = int(rest)
            elif tag == "P":
                self.passed += 1
                self.seen += 1
                self.running = None
            elif tag == "E":
                ev = json.loads(rest)
                where = f"{self.name}:{ev['line']}: {ev['command']}: {ev['message']}"
                if ev["outcome"] == "skip":
                    self.skipped += 1
                    self.skips.append(where)
                else:
                    self.failed += 1
                    self.failures.append(where)
                self.seen += ev["assertion"]
                self.running = None
            elif tag == "D":
                self.done = True


def simd_enabled(simd: bool | None) -> bool:
    if simd is not None:
        return simd
    return os.environ.get("WASMC_WAST_SIMD", "1") != "0"  # SIMD files run unless WASMC_WAST_SIMD=0


# --------------------------------------------------------------------------------------------- parent
def run_file(path: str | os.PathLike, *, simd: bool | None = None, timeout: float | None = None,
             opt_level: int = 1, wasm: str = "3.0") -> FileResult:
    """Run one script in child processes and collect its results; `wasm` is the WebAssembly
    version whose rules the modules are read under (features.VERSIONS)."""
    from .script import ASSERTIONS

    path = str(path)
    result = FileResult(path)
    reason = skips.file_skip_reason(os.path.basename(path), simd_enabled(simd))
    if reason is not None:
        from .script import count_assertions
        from .sexpr import read_file

        result.skipped = count_assertions(read_file(path)[1])
        result.note = f"skipped: {reason}"
        return result
    if timeout is None:
        timeout = float(os.environ.get("WASMC_WAST_TIMEOUT", FILE_TIMEOUT))
    deadline = time.monotonic() + timeout
    resume_after, omit, crashes = 0, [], []
    while True:
        status, stderr, lines = _run_child(path, resume_after, omit, opt_level, wasm,
                                           deadline - time.monotonic())
        result.collect(lines)
        if result.done and status == 0:
            break
        how = _death(status, timeout)
        running = result.running
        where = f"line {running[0]}" if running else "start-up"
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        cmd = running[1] if running else "script"
        result.failures.append(f"{result.name}:{where.removeprefix('line ')}: {cmd}: {how}"
                               + "".join(f"\n    {t}" for t in tail))
        result.failed += 1
        crashes.append(f"{how} at {where}")
        if running and running[1] in ASSERTIONS:
            result.seen += 1
        # Go on after the command that died, unless no progress was made or time is up.
        if (running is None or running[0] <= resume_after or status is None
                or len(crashes) > MAX_RESTARTS or time.monotonic() >= deadline):
            if result.total is not None:
                result.failed += max(0, result.total - result.seen)  # never reached: failed
            crashes.append("rest of the file not run")
            break
        resume_after = running[0]
        omit.append(running[0])
    result.note = "; ".join(crashes[:3] + [f"{len(crashes) - 4} more deaths", crashes[-1]]
                            if len(crashes) > 5 else crashes)
    return result


def _run_child(path: str, resume_after: int, omit: list[int], opt_level: int, wasm: str,
               timeout: float):
    """(exit status or None on timeout, stderr, log lines) of one child run."""
    with tempfile.NamedTemporaryFile("w+", prefix="wasmc-wast-", suffix=".log", delete=False) as log:
        log_path = log.name
    cmd = [sys.executable, "-m", "wasmc.wast.runner", "--child", path, log_path, f"-O{opt_level}",
           f"--wasm={wasm}", f"--resume-after={resume_after}", f"--omit={','.join(map(str, omit))}"]
    try:
        try:
            proc = subprocess.run(cmd, check=False, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=max(1.0, timeout))
            status, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as e:
            status, stderr = None, e.stderr or b""
        with open(log_path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    finally:
        os.unlink(log_path)
    return status, stderr, lines


def _death(status: int | None, timeout: float) -> str:
    if status is None:
        return f"file timed out after {timeout:.0f}s"
    if status == -signal.SIGALRM:
        return f"command timed out after {_command_timeout()}s"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"child exited with status {status}"


def _command_timeout() -> int:
    return int(os.environ.get("WASMC_WAST_COMMAND_TIMEOUT", COMMAND_TIMEOUT))


def run_files(paths, verbose: bool = False, jobs: int | None = None, *, simd: bool | None = None,
              opt_level: int = 1, out=None, wasm: str = "3.0") -> tuple[int, int, int]:
    """Run scripts (in parallel, `jobs` files at a time); print one line per file, then the totals.

    Returns (passed, failed, skipped).  With `verbose`, every failure and skip is printed with its line.
    """
    out = out or sys.stdout
    paths = [str(p) for p in paths]
    jobs = max(1, jobs or os.cpu_count() or 1)
    totals = [0, 0, 0]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_file, p, simd=simd, opt_level=opt_level, wasm=wasm) for p in paths]
        for fut in futures:  # in input order, so the output is deterministic
            r = fut.result()
            if verbose:
                for msg in r.failures:
                    print(f"  FAIL {msg}", file=out)
                for msg in r.skips:
                    print(f"  SKIP {msg}", file=out)
            print(r.summary(), file=out, flush=True)
            totals[0] += r.passed
            totals[1] += r.failed
            totals[2] += r.skipped
    print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped", file=out, flush=True)
    return totals[0], totals[1], totals[2]


# --------------------------------------------------------------------------------------------- child
def _child(path: str, log_path: str, opt_level: int, wasm: str, resume_after: int,
           omit: set[int]) -> int:
    from ..features import VERSIONS
    from .script import ASSERTIONS, ScriptRunner, count_assertions

    command_timeout = _command_timeout()
    crash_at = int(os.environ.get("WASMC_WAST_TEST_CRASH_AT", "0"))  # tests of crash reporting
    # SIGALRM keeps its default action (terminate): native code cannot be interrupted any other way.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    with open(log_path, "a", encoding="utf-8") as log:
        def write(line: str) -> None:
            log.write(line + "\n")
            log.flush()

        def report(ev) -> None:
            if ev.line <= resume_after:
                return  # replaying what the previous child already reported
            if ev.outcome == "pass":
                write(f"P {ev.line}")
            else:
                write("E " + json.dumps({"line": ev.line, "command": ev.command, "outcome": ev.outcome,
                                         "message": ev.message, "assertion": ev.command in ASSERTIONS}))

        def progress(line: int, keyword: str) -> None:
            write(f"L {line} {keyword}")
            signal.alarm(command_timeout)
            if line == crash_at and line > resume_after:
                os.kill(os.getpid(), signal.SIGKILL)

        try:
            runner = ScriptRunner(path, report=report, progress=progress,
                                  skips=skips.command_skips(os.path.basename(path), wasm),
                                  opt_level=opt_level, omit=omit, features=VERSIONS[wasm])
        except Exception as e:  # noqa: BLE001 - e.g. the script does not parse
            write("E " + json.dumps({"line": 0, "command": "script", "outcome": "fail",
                                     "message": f"{type(e).__name__}: {e}", "assertion": False}))
            write("D")
            return 0
        if not resume_after:
            write(f"T {count_assertions(runner.forms)}")
        runner.run()
        signal.alarm(0)
        write("D")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wasmc.wast.runner", description=__doc__)
    ap.add_argument("files", nargs="*")
    ap.add_argument("--child", nargs=2, metavar=("FILE", "LOG"), help=argparse.SUPPRESS)
    ap.add_argument("--resume-after", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--omit", default="", help=argparse.SUPPRESS)
    ap.add_argument("-O", dest="opt_level", type=int, default=1)
    ap.add_argument("--wasm", choices=("2.0", "3.0"), default="3.0",
                    help="the WebAssembly version whose rules apply (the 2.0 suite needs 2.0)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=None)
    ap.add_argument("--simd", action=argparse.BooleanOptionalAction, default=None,
                    help="run simd_*.wast files (default; --no-simd skips them)")
    args = ap.parse_args(argv)
    if args.child:
        omit = {int(x) for x in args.omit.split(",") if x}
        return _child(args.child[0], args.child[1], args.opt_level, args.wasm, args.resume_after, omit)
    _, failed, _ = run_files(args.files, args.verbose, args.jobs, simd=args.simd, opt_level=args.opt_level,
                             wasm=args.wasm)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
