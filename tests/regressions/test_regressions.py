"""Minimised modules from the fuzzers, each run under wasmc and wasmtime and compared.

Every `.wat` here starts with `;;` comments: what wasmtime does (`expect:`), what wasmc did when it
was found (`got:`), and, while the bug is open, `xfail: reason` -- the test is then a strict xfail,
so fixing the bug turns it into a failure that asks for the marker to go (`xfail-default:` marks
the default mode's test only, for a bug `--bounds-checks` does not have).  Optional `call: NAME
ARG...` lines give the plan (bit patterns); by default every exported function runs once with
zero arguments.  `timeout: S` bounds wasmc's run (default 120 s), for a known hang.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import wasmtime

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from fuzz.differential import compare, first_trap
from fuzz.engines import Call, Outcome, export_types, run_wasmc_isolated, run_wasmtime

HERE = Path(__file__).resolve().parent


def header(text: str, key: str) -> list[str]:
    return [ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith(f";; {key}:")]


def cases(bounds_checks: bool = False):
    for p in sorted(HERE.glob("*.wat")):
        text = p.read_text()
        reason = header(text, "xfail") + ([] if bounds_checks else header(text, "xfail-default"))
        marks = [pytest.mark.xfail(strict=True, reason=reason[0])] if reason else []
        yield pytest.param(p, marks=marks, id=p.stem)


def timeout_of(text: str) -> float:
    return float((header(text, "timeout") or [120])[0])


def plan_of(text: str, wasm: bytes) -> list[Call]:
    """The `call:` lines, or every export once with zero arguments."""
    calls = header(text, "call")
    if calls:
        return [Call(c.split()[0], [int(a, 0) for a in c.split()[1:]]) for c in calls]
    return [Call(name, [0] * len(params)) for name, (params, _) in export_types(wasm).items()]


def oracle(wasm: bytes, plan: list[Call]) -> tuple[list[Call], Outcome]:
    """wasmtime's outcome, with the plan cut before a call that runs out of fuel (as
    fuzz.differential does): such a loop may just be long (a counter wrapping at 2^32, which
    dispatch_llvm_crash.wat's f4 runs natively in seconds), so it is not compared."""
    exp = run_wasmtime(wasm, plan)
    if exp.calls and exp.calls[-1].status == "hang":
        plan = plan[:len(exp.calls) - 1]
        exp = run_wasmtime(wasm, plan)
    return plan, exp


@pytest.mark.parametrize("path", cases())
def test_regression_matches_wasmtime(path: Path):
    text = path.read_text()
    wasm = wasmtime.wat2wasm(text)
    plan, exp = oracle(wasm, plan_of(text, wasm))
    k = first_trap(exp)
    if k is not None:  # default (guard-page) mode: a trap ends the run, as it ends a command
        plan = plan[:k + 1]
        exp = run_wasmtime(wasm, plan)
    got = run_wasmc_isolated(wasm, plan, timeout=timeout_of(text))
    diffs, skip = compare(exp, got, state_after_trap=False)
    assert skip is None, skip
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize("path", cases(bounds_checks=True))
def test_regression_exact_with_bounds_checks(path: Path, monkeypatch):
    """With explicit bounds checks every regression matches wasmtime completely: also the memory a
    trap leaves and the calls after it (fuzz/differential.py explains the two semantics)."""
    monkeypatch.setenv("WASMC_BOUNDS_CHECKS", "1")
    text = path.read_text()
    wasm = wasmtime.wat2wasm(text)
    plan, exp = oracle(wasm, plan_of(text, wasm))
    diffs, skip = compare(exp, run_wasmc_isolated(wasm, plan, timeout=timeout_of(text)))
    assert skip is None, skip
    assert not diffs, diffs
