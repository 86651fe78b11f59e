"""Error types of each phase.

Every error a user can cause carries the byte offset in the module where it was found and a message
in the spec test suite's wording ("unexpected end", "type mismatch", ...), so `assert_malformed` and
`assert_invalid` can be checked by message and users get a location.  `assert` is kept for our own
invariants only.
"""

from __future__ import annotations


class WasmcError(Exception):
    """Base of every error wasmc reports to a user (never a Python traceback)."""

    kind = "error"

    def __init__(self, message: str, offset: int | None = None, *, func: int | None = None,
                 instr: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.func = func
        self.instr = instr

    def format(self, filename: str = "<module>") -> str:
        where = f"{filename}:0x{self.offset:x}" if self.offset is not None else filename
        extra = ""
        if self.func is not None:
            extra = f" (in func {self.func}" + (f" at {self.instr}" if self.instr else "") + ")"
        return f"{where}: error: {self.message}{extra}"

    def __str__(self) -> str:
        return self.format()


class DecodeError(WasmcError):
    """The binary is malformed (spec: `assert_malformed`)."""

    kind = "malformed"


class ValidationError(WasmcError):
    """The module is well-formed but invalid (spec: `assert_invalid`)."""

    kind = "invalid"


class LinkError(WasmcError):
    """Imports do not match (spec: `assert_unlinkable`)."""

    kind = "unlinkable"


class LimitError(WasmcError):
    """The module is valid but beyond what wasmc supports; refused explicitly."""

    kind = "unsupported"


class ToolError(WasmcError):
    """An external tool (C compiler, linker) failed."""

    kind = "tool"


class InternalError(WasmcError):
    """wasmc itself failed (a back-end process died): a bug, not the input's fault."""

    kind = "internal"
