"""Hostile binaries get a clean error (exit 1, `FILE:0xOFFSET: error: ...`) or compile; never a
traceback, a crash, a hang or unbounded memory.  See fuzz/hostile.py for the harness.

Sandbox-critical.  An extreme that still fails is a strict xfail saying why, so that fixing it
turns the test into an XPASS failure that asks for the marker to go.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.hostile import HEADER, SYNTH, Worker, judge, run_campaign, section

SYNTH_TIMEOUT = 10.0
# The 3 MB body is 2M instructions through Python's decoder, validator and lowering: ~8 s alone,
# up to twice that beside other tests on a 2-core CI machine.  Bounded, not a hang.
BIG_BODY_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


def test_mutated_modules_give_clean_errors():
    rep = run_campaign(seed=11, count=1000, timeout=60, verbose=False, synth_rate=0.0)
    assert rep["outcomes"].get("rejected", 0) > 500
    assert not rep["findings"], rep["findings"][:5]


def test_mutated_modules_validate_like_wasmtime():
    rep = run_campaign(seed=12, count=500, timeout=60, verbose=False, synth_rate=0.0)
    assert not rep["disagreements"], rep["disagreements"][:5]


def xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


EXTREMES = [
    pytest.param("nest", 10_000, id="nest-10k"),
    pytest.param("nest_open", 1_000_000, id="nest_open-1M"),
    pytest.param("br_table", 10_000, id="br_table-10k"),
    pytest.param("br_table_count", 0, id="br_table_count"),
    pytest.param("memory", 0, id="memory-min-4GiB"),
    pytest.param("memory", 1, id="memory-min-max-4GiB"),
    pytest.param("memory", 2, id="memory-min-2^32-pages"),
    pytest.param("memory", 3, id="memory-max-65537-pages"),
    pytest.param("memory", 4, id="memory-min-max-2^32-pages"),
    pytest.param("table", 0, id="table-min-2^32"),
    pytest.param("table", 1, id="table-max-2^32"),
    pytest.param("table", 2, id="table-min-2^21"),
    pytest.param("locals_sum", 0, id="locals-sum-overflow"),
    pytest.param("funcs", 1_000_000, id="funcs-1M-no-code"),
    pytest.param("funcs_count", 0, id="funcs-count-2^32"),
    pytest.param("params", 100_000, id="params-100k"),
    pytest.param("body", 1_000_000, id="body-3MB"),
    pytest.param("data", 0, id="data-length-huge"),
    pytest.param("elem", 0, id="elem-count-huge"),
]


@pytest.mark.parametrize("kind,n", EXTREMES)
def test_extreme_module_is_refused_or_compiled_cleanly(worker, kind, n):
    timeout = BIG_BODY_TIMEOUT if kind == "body" else SYNTH_TIMEOUT
    v = judge(worker.run(SYNTH[kind](n), False, timeout))
    assert v.ok, f"{v.what}: {v.detail}"


BEYOND_LIMITS = [
    pytest.param("nest", 1_000_000, id="nest-1M"),
    pytest.param("br_table", 1_000_000, id="br_table-1M"),
    pytest.param("locals", 0, id="locals-50001"),
    pytest.param("locals_huge", 0, id="locals-2^32"),
    pytest.param("stack", 1_000_000, id="stack-1M"),
    pytest.param("params", 1_001, id="params-1001"),
]


@pytest.mark.parametrize("kind,n", BEYOND_LIMITS)
def test_module_beyond_limits_is_refused(worker, kind, n):
    v = judge(worker.run(SYNTH[kind](n), False, SYNTH_TIMEOUT))
    assert v.what == "rejected", f"{v.what}: {v.detail}"


@pytest.mark.parametrize("module", [
    pytest.param(HEADER + section(5, b"\x01\x01\x02\x01"), id="memory-min>max"),
    pytest.param(HEADER + section(4, b"\x01\x70\x01\x02\x01"), id="table-min>max"),
    pytest.param(HEADER + section(2, b"\x01\x01m\x01t\x02\x01\x02\x01"), id="imported-memory-min>max"),
])
def test_bad_limits_error_has_offset(worker, module):
    v = judge(worker.run(module, False, SYNTH_TIMEOUT))
    assert v.ok and v.what == "rejected", f"{v.what}: {v.detail}"
