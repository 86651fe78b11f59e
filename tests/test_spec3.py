"""The official Wasm 3.0 spec suite (`../shared/spec/core/`), one test per `.wast` file, under 3.0 rules.

Wasm 3.0 is our next conformance target, built but for what `KNOWN_FAILURES` names (text
annotations, which the text assembler rejects), so this test is a ratchet: `KNOWN_FAILURES` names
every file that still fails, how many of its assertions fail and why.  A file not listed must pass entirely; a listed file must fail exactly that
many assertions -- more is a regression, fewer means the entry must be lowered (or removed), so the
count tracks progress and a gap cannot hide.  The 2.0 suite (test_spec.py) runs under 2.0 rules.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wasmc.wast.runner import run_file

REPO = Path(__file__).resolve().parent.parent
SPEC_DIR = Path(os.environ.get("WASMC_SPEC3_DIR", REPO.parent / "shared" / "spec" / "core"))
FILES = sorted(SPEC_DIR.rglob("*.wast")) if SPEC_DIR.is_dir() else []  # with custom/ and legacy/

# Why a file still fails.
TEXT_ANNOTATIONS = ("custom-section and branch-hint annotations in the text, which the text assembler "
                    "we use (wasmtime's wat2wasm) rejects")


def key(path: Path) -> str:
    """A file's name in KNOWN_FAILURES: its path below the suite's folder."""
    return path.relative_to(SPEC_DIR).as_posix()


# file -> (assertions that fail, why...)
KNOWN_FAILURES: dict[str, tuple] = {
    "custom/branch_hint.wast": (1, TEXT_ANNOTATIONS),
    "custom/custom_annot.wast": (2, TEXT_ANNOTATIONS),
    "custom/name_annot.wast": (1, TEXT_ANNOTATIONS),
}


@pytest.mark.skipif(not FILES, reason=f"Wasm 3.0 suite not found in {SPEC_DIR} (set WASMC_SPEC3_DIR)")
@pytest.mark.parametrize("path", FILES, ids=[key(p) for p in FILES])
def test_spec3_file(path: Path) -> None:
    result = run_file(path, simd=True, wasm="3.0")
    known, *proposals = KNOWN_FAILURES.get(key(path), (0,))
    needs = "; ".join(proposals)
    report = "\n".join(result.failures[:30])
    if result.failed > known:
        pytest.fail(f"{result.summary()}: {result.failed - known} more than the {known} known "
                    f"({needs or 'none expected'})\n{report}")
    assert result.failed == known, (f"{result.summary()}: fewer failures than the {known} known "
                                    f"({needs}); lower its KNOWN_FAILURES entry")


@pytest.mark.skipif(not FILES, reason=f"Wasm 3.0 suite not found in {SPEC_DIR} (set WASMC_SPEC3_DIR)")
def test_known_failures_name_real_files() -> None:
    names = {key(p) for p in FILES}
    assert not [n for n in KNOWN_FAILURES if n not in names]
