"""Random valid modules from binaryen: `wasm-opt random.bin -ttf` with only Wasm 2.0 features.

Features: binaryen's MVP set plus the Wasm 2.0 proposals wasmc implements.  Reference types stay
off: binaryen 108 emits `anyref` and typed references under that flag, which are not Wasm 2.0
(our own generator covers tables and references instead).  Half the modules also go through
`--denan`, so NaN payloads (which the spec leaves open) cannot reach integers and memory there.

ttf modules import `fuzzing-support` logging functions (logged by both engines) and export
`hangLimitInitializer`, which the plan calls before every export, as binaryen's own harness does.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from pathlib import Path

FEATURES = ["--mvp-features", "--enable-sign-ext", "--enable-mutable-globals",
            "--enable-nontrapping-float-to-int", "--enable-bulk-memory", "--enable-multivalue"]


def enable_tail_calls() -> None:
    """Modules may also hold return_call/return_call_indirect (Wasm 3.0; binaryen 108 makes no
    other 3.0 feature wasmc has)."""
    if "--enable-tail-call" not in FEATURES:
        FEATURES.append("--enable-tail-call")


def enable_threads() -> None:
    """Modules may also have shared memories and atomic instructions (the threads proposal)."""
    if "--enable-threads" not in FEATURES:
        FEATURES.append("--enable-threads")


def generate(seed: int) -> bytes:
    rng = random.Random(seed)
    size = rng.choice([512, 2048, 8192, 20000])
    extra = ["--denan"] if rng.random() < 0.5 else []
    with tempfile.TemporaryDirectory(prefix="wasmc-ttf-") as tmp:
        src, out = Path(tmp) / "random.bin", Path(tmp) / "out.wasm"
        src.write_bytes(rng.randbytes(size))
        subprocess.run(["wasm-opt", str(src), "-ttf", "-o", str(out), *FEATURES, *extra],
                       check=True, capture_output=True, timeout=60)
        return out.read_bytes()
