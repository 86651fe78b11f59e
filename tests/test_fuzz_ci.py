"""`make fuzz` in CI: a short, fixed-seed run of both fuzzers (the long runs are by hand).

The differential runs must show zero mismatches, in the default (guard-page) mode and with
`--bounds-checks`.  A bug found later and not yet fixed goes into KNOWN (signature pattern -> the
regression test that pins it down) so that it stays visible without hiding new ones.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz import differential, hostile

SEED, COUNT = 1, 30
KNOWN: dict[str, str] = {}


def known(diff: str) -> str | None:
    return next((why for pat, why in KNOWN.items() if re.search(pat, diff)), None)


@pytest.fixture(scope="module")
def campaign():
    return differential.run_campaign(SEED, COUNT, "both", out=None, timeout=60, verbose=False)


def test_differential_modules_ran(campaign):
    ran = [r for r in campaign if r.status != "skip"]
    assert len(ran) >= COUNT * 0.9, differential.summary(campaign)


def test_differential_no_unknown_mismatch(campaign):
    unknown = [f"{r.name}: {r.diffs[0]}" for r in campaign
               if r.status == "mismatch" and not known(r.diffs[0])]
    assert not unknown, "\n".join(unknown)


def test_differential_zero_mismatches(campaign):
    mism = [f"{r.name}: {r.diffs[0]}" for r in campaign if r.status == "mismatch"]
    assert not mism, "\n".join(mism)


def test_differential_exact_with_bounds_checks(monkeypatch):
    """With explicit bounds checks (`--bounds-checks`) wasmc must agree with wasmtime on every
    module, dead loads included."""
    monkeypatch.setenv("WASMC_BOUNDS_CHECKS", "1")
    results = differential.run_campaign(SEED + 100, 20, "both", out=None, timeout=60, verbose=False)
    assert len([r for r in results if r.status != "skip"]) >= 18, differential.summary(results)
    mism = [f"{r.name}: {r.diffs[0]}" for r in results if r.status == "mismatch"]
    assert not mism, "\n".join(mism)


def test_hostile_short_run_is_clean():
    rep = hostile.run_campaign(seed=SEED, count=300, timeout=60, verbose=False, synth_rate=0.0)
    assert not rep["findings"], rep["findings"][:5]
    assert not rep["disagreements"], rep["disagreements"][:5]


def test_a_hang_where_wasmtime_traps_is_a_mismatch_not_a_skip(monkeypatch):
    """A wasmc timeout is run again with HANG_FACTOR times the limit; still stuck where wasmtime
    finished is a mismatch.  The known hang (an out-of-bounds store before an endless loop,
    deleted by LLVM) is the case; with `--bounds-checks` the same module matches."""
    import random

    import wasmtime

    text = (Path(__file__).parent / "regressions" / "store_before_endless_loop.wat").read_text()
    wasm = wasmtime.wat2wasm(text)
    monkeypatch.setattr(differential, "HANG_FACTOR", 2)
    r = differential.check_module(wasm, random.Random(0), timeout=3)
    assert r.status == "mismatch" and r.diffs[0].startswith("wasmc hang:"), r
    monkeypatch.setenv("WASMC_BOUNDS_CHECKS", "1")
    r = differential.check_module(wasm, random.Random(0), timeout=60)
    assert r.status == "match", r


def test_tail_call_modules_match(monkeypatch):
    """With `--tail-calls`, binaryen's modules use return_call/return_call_indirect (Wasm 3.0):
    the first few that do match wasmtime."""
    import random

    from wasmc.decode import decode_module

    from fuzz import engines, gen_binaryen

    monkeypatch.setattr(gen_binaryen, "FEATURES", list(gen_binaryen.FEATURES))
    monkeypatch.setattr(engines, "_ENGINE", None)
    engines.use_tail_calls()
    gen_binaryen.enable_tail_calls()
    checked = 0
    for ms in range(7_000_000, 7_000_200):
        wasm = gen_binaryen.generate(ms)
        if not any(i.op.name.startswith("return_call") for c in decode_module(wasm).codes
                   for i in c.body):
            continue
        r = differential.check_module(wasm, random.Random(ms))
        assert r.status == "match", (ms, r.status, r.detail, r.diffs)
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_exception_modules_match(monkeypatch):
    """With `--exceptions`, our generator's modules throw and catch (Wasm 3.0): the first few
    that both throw and catch match wasmtime, default mode and `--bounds-checks`."""
    import random

    from wasmc.decode import decode_module

    from fuzz import engines, gen_lowering

    monkeypatch.setattr(engines, "_ENGINE", None)
    monkeypatch.setattr(gen_lowering, "EXCEPTIONS", [False])
    engines.use_features(wasm_exceptions=True, wasm_function_references=True)
    gen_lowering.enable_exceptions()
    checked = 0
    for ms in range(8_000_000, 8_000_100):
        wasm = gen_lowering.generate(ms)
        names = {i.op.name for c in decode_module(wasm).codes for i in c.body}
        if not {"throw", "try_table"} <= names:
            continue
        for bounds_checks in (False, True):
            if bounds_checks:
                monkeypatch.setenv("WASMC_BOUNDS_CHECKS", "1")
            r = differential.check_module(wasm, random.Random(ms))
            assert r.status == "match", (ms, bounds_checks, r.status, r.detail, r.diffs)
        monkeypatch.delenv("WASMC_BOUNDS_CHECKS", raising=False)
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_gc_modules_match_under_collection_stress(monkeypatch):
    """With `--gc`, our generator's modules allocate and read GC objects (Wasm 3.0): the first
    few that run at least two calls match wasmtime with a collection before every allocation
    (WASMC_GC_STRESS=1), which shows any reference the generated code failed to root."""
    import random

    from fuzz import engines, gen_lowering

    monkeypatch.setattr(engines, "_ENGINE", None)
    monkeypatch.setattr(gen_lowering, "GC", [False])
    monkeypatch.setenv("WASMC_GC_STRESS", "1")
    engines.use_features(wasm_gc=True, wasm_function_references=True)
    gen_lowering.enable_gc()
    checked = 0
    for ms in range(9_000_000, 9_000_100):
        r = differential.check_module(gen_lowering.generate(ms), random.Random(ms))
        assert r.status == "match", (ms, r.status, r.detail, r.diffs)
        if r.calls >= 2:
            checked += 1
        if checked == 4:
            break
    assert checked == 4
