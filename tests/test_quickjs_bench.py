"""benchmarks/scale/build_quickjs.py --bench, the big-program run-time measurement: every engine
reads the script on stdin, must print what the first one printed, and the table's ratios are
medians over the first engine's with the wasmtime start-up taken off.  (The real run needs the
QuickJS sources from PyPI and minutes of compiling; these tests drive its parts with small
commands.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "scale"))
import build_quickjs as q

ECHO = [sys.executable, "-c", "import sys; print(len(sys.stdin.read()))"]


def test_every_engine_reads_the_script_and_is_timed_each_round(tmp_path):
    script = tmp_path / "s.js"
    script.write_text("x" * 1234)
    times, startup = q.interleave({"a": ECHO, "b": ECHO}, 3, script, [sys.executable, "-c", ""])
    assert [len(times["a"]), len(times["b"]), len(startup)] == [3, 3, 3]
    assert all(t > 0 for t in times["a"] + times["b"])


def test_a_different_output_is_refused(tmp_path):
    script = tmp_path / "s.js"
    script.write_text("abc")
    other = [sys.executable, "-c", "print(4)"]  # the script has 3 characters
    with pytest.raises(SystemExit, match="b printed '4', not '3'"):
        q.interleave({"a": ECHO, "b": other}, 1, script)


def test_a_failed_run_is_refused(tmp_path):
    script = tmp_path / "s.js"
    script.write_text("")
    with pytest.raises(SystemExit, match="b: exit 3"):
        q.interleave({"a": ECHO, "b": [sys.executable, "-c", "raise SystemExit(3)"]}, 1, script)


def test_summary_ratios_are_medians_with_start_up_subtracted():
    table = q.summary({"native": [2.0, 1.0, 3.0], "wasmc": [2.2, 9.0, 2.1],
                       "wasmtime": [3.5, 3.0, 3.4]}, [0.4, 0.5, 0.6], "wasmtime")
    rows = {line.split(" | ")[0][2:]: line for line in table.splitlines()[2:]}
    assert rows["native"] == "| native | 2.000 | 1.000 | 1.00× |"
    assert rows["wasmc"] == "| wasmc | 2.200 | 2.100 | 1.10× |"
    assert rows["wasmtime"] == "| wasmtime | 2.900 | 2.500 | 1.45× |"
