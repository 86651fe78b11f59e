"""Spec-suite cases for the decoder and validator tests, found with the package's own .wast reader.

Strategy: every core-2.0 `.wast` file is read once (cached) by `wasmc.wast.sexpr`, the reader the
`wasmc wast` runner uses; the small helpers below only classify its top-level forms (which kind of
`(module ...)`, the module an assertion is about, the expected message) so that each test file says
in a few lines which cases it wants.  Nothing here assembles, decodes or runs a module.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from wasmc.wast.sexpr import Atom, SList, Str, read_file

# $WASMC_SPEC_DIR may name the suite itself or (as in conftest.py) the folder holding core-2.0/
SPEC_DIR = Path(os.environ.get("WASMC_SPEC_DIR") or Path(__file__).resolve().parents[2] / "shared" / "spec")
if (SPEC_DIR / "core-2.0").is_dir():
    SPEC_DIR = SPEC_DIR / "core-2.0"


def spec_files() -> list[Path]:
    return sorted(SPEC_DIR.glob("*.wast")) if SPEC_DIR.is_dir() else []


@functools.cache
def _script(path: Path) -> tuple[str, list[SList]]:
    text, forms = read_file(path)
    return text, [f for f in forms if isinstance(f, SList)]


def scripts():
    """(file name, source text, top-level list forms) for each spec file, in name order."""
    for path in spec_files():
        text, forms = _script(path)
        yield path.name, text, forms


def source(text: str, node: SList) -> str:
    """A form's source verbatim, comments and all."""
    return text[node.start:node.end]


def module_kind(node) -> str | None:
    """"text", "binary" or "quote" for a `(module $id? ...)` form; None for anything else."""
    if not isinstance(node, SList) or node.head != "module":
        return None
    rest = node.items[1:]
    if rest and isinstance(rest[0], Atom) and rest[0].text.startswith("$"):
        rest = rest[1:]
    if rest and isinstance(rest[0], Atom) and rest[0].text in ("binary", "quote"):
        return rest[0].text
    return "text"


def module_binary(node) -> bytes | None:
    """The bytes of `(module $id? binary "..."*)`, or None for any other form."""
    if module_kind(node) != "binary":
        return None
    return b"".join(s.value for s in node.items if isinstance(s, Str))


def module_arg(form: SList) -> SList | None:
    """The `(module ...)` an assertion is about (`assert_invalid (module ...) "..."`), if any."""
    arg = form.items[1] if len(form) > 1 else None
    return arg if module_kind(arg) else None


def expected_message(form: SList) -> str:
    """An assertion's expected-failure text: its last string."""
    last = form.items[-1]
    assert isinstance(last, Str), f"line {form.line}: no message"
    return last.value.decode("utf-8", "surrogateescape")
