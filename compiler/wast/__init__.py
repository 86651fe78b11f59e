"""The `.wast` spec-script runner (`wasmc wast`).

`sexpr` reads the script syntax, `values` turns literals into exact bits, `script` executes one
script in-process, `runner` runs files in child processes and counts, `host` is the spectest module
and value glue, `skips` is the one list of known failures with reasons.
"""

from .runner import FileResult, run_file, run_files

__all__ = ["FileResult", "run_file", "run_files"]
