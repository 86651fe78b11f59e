"""Execute one `.wast` script in this process, command by command.

Strategy: the reader gives top-level forms; each command form is dispatched by its keyword through
one dict to a `cmd_*` method.  Every module is assembled to a binary (our decoder never sees text),
really compiled to a native `.so` by `driver.build_shared` (cached by content hash) and instantiated
through `runtime.Instance`.  Any exception while executing a command, including a Python exception
inside the compiler, is that command's failure and the script goes on.  Results are reported through
a callback so the parent process still learns what happened if native code kills this one.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DecodeError, LinkError, ValidationError
from ..features import DEFAULT as DEFAULT_FEATURES
from ..traps import TRAP_EXCEPTION
from . import host
from .sexpr import Atom, Node, SList, Str, read_file, to_text
from .values import Either, LiteralError, parse_const

ASSERTIONS = frozenset({"assert_return", "assert_trap", "assert_exhaustion", "assert_invalid",
                        "assert_malformed", "assert_unlinkable", "assert_uninstantiable",
                        "assert_exception"})
COMMANDS = ASSERTIONS | {"module", "register", "invoke", "get"}


class CommandFailure(Exception):
    """The command did not do what the script says; the message says why."""


class TextError(Exception):
    """The text assembler (wat2wasm) rejected a module."""


@dataclass(slots=True)
class Event:
    line: int
    command: str
    outcome: str  # "pass" | "fail" | "skip"
    message: str = ""


# Messages the Wasm 3.0 suite words differently from ours: the 2.0 suite's wording (the validator's), or
# wasmtime's one "null reference" trap (executables print what wasmtime prints).
RENAMED_3_0 = {"immutable global": "global is immutable",
               "null function reference": "null reference",
               "null exception reference": "null reference",
               "null i31 reference": "null reference",
               "null structure reference": "null reference",
               "null array reference": "null reference"}


def message_matches(ours: str, expected: str) -> bool:
    """Spec wording check: ours contains the expected text, or the expected text starts with ours."""
    ours = ours.strip()
    expected = RENAMED_3_0.get(expected, expected)
    return bool(ours) and (expected in ours or expected.startswith(ours))


def iter_commands(forms: list[Node]):
    """Yield (keyword, form, line); runs of bare module fields become one inline `module` form."""
    inline: list[Node] = []
    for form in forms:
        head = form.head if isinstance(form, SList) else None
        if head in COMMANDS:
            if inline:
                yield "inline", inline, inline[0].line
                inline = []
            yield head, form, form.line
        else:
            inline.append(form)
    if inline:
        yield "inline", inline, inline[0].line


def count_assertions(forms: list[Node]) -> int:
    return sum(1 for kw, _, _ in iter_commands(forms) if kw in ASSERTIONS)


class ScriptRunner:
    def __init__(self, path: str | os.PathLike, *, report: Callable[[Event], None],
                 progress: Callable[[int, str], None] | None = None, skips: dict[int, str] | None = None,
                 opt_level: int = 1, omit: set[int] | None = None,
                 features: frozenset[str] = DEFAULT_FEATURES):
        self.path = Path(path)
        self.report = report
        self.progress = progress or (lambda line, keyword: None)
        self.skips = skips or {}
        self.opt_level = opt_level
        self.features = features  # the WebAssembly version's rules (features.py)
        self.omit = omit or set()  # commands that killed an earlier run: not run again
        self.text, self.forms = read_file(self.path)
        self.instances: dict[str, object] = {}  # $name -> instance
        self.definitions: dict[str, bytes] = {}  # $name -> binary of a `module definition`
        self.registry: dict[str, object] = {}  # registered name -> instance; `spectest` made on demand
        self.current: object | None = None
        self.failed_module_line = 0  # line of the last module that failed (for messages)
        self.cache: dict[bytes, object] = {}  # sha256 of the binary -> (so_path, ir) or the error
        self.dispatch = {
            "module": self.cmd_module, "inline": self.cmd_inline, "register": self.cmd_register,
            "invoke": self.cmd_invoke, "get": self.cmd_get,
            "assert_return": self.assert_return, "assert_trap": self.assert_trap,
            "assert_exhaustion": self.assert_exhaustion, "assert_invalid": self.assert_invalid,
            "assert_malformed": self.assert_malformed, "assert_unlinkable": self.assert_unlinkable,
            "assert_uninstantiable": self.assert_uninstantiable,
            "assert_exception": self.assert_exception,
        }

    # ---------------------------------------------------------------------------------- driver
    def run(self) -> None:
        for keyword, form, line in iter_commands(self.forms):
            if line in self.omit:
                continue
            self.progress(line, keyword)
            if line in self.skips:
                self.report(Event(line, keyword, "skip", self.skips[line]))
                continue
            try:
                self.dispatch[keyword](form)
            except Exception as e:  # noqa: BLE001 - a failure of this command, not of the runner
                msg = str(e) if isinstance(e, CommandFailure) else f"{type(e).__name__}: {e}"
                self.report(Event(line, keyword, "fail", _shorten(msg)))
            else:
                if keyword in ASSERTIONS:
                    self.report(Event(line, keyword, "pass"))

    # ---------------------------------------------------------------------------------- modules
    def source(self, node: Node) -> str:
        return self.text[node.start:node.end]

    def module_bytes(self, form: SList) -> tuple[str | None, str, bytes]:
        """(name, form kind, binary) of a `(module ...)` form; kind is text, binary or quote.

        Raises TextError if the text assembler rejects the module.
        """
        items = form.items[1:]
        name = None
        definition = bool(items) and isinstance(items[0], Atom) and items[0].text == "definition"
        if definition:  # Wasm 3.0 scripts: `(module definition $M ...)`, instantiated later
            items = items[1:]
        if items and isinstance(items[0], Atom) and items[0].text.startswith("$"):
            name = items[0].text
            items = items[1:]
        kind = "text"
        if items and isinstance(items[0], Atom) and items[0].text in ("binary", "quote"):
            kind = items[0].text
            parts = items[1:]
            if not all(isinstance(p, Str) for p in parts):
                raise CommandFailure(f"module {kind}: expected strings")
            data = b"".join(p.value for p in parts)
            if kind == "binary":
                return name, kind, data
            return name, kind, wat2wasm(b"(module " + data + b")")
        if definition:  # the module's own text, without the script's keyword
            fields = self.text[items[0].start:form.end - 1] if items else ""
            return name, kind, wat2wasm(f"(module {fields})".encode("utf-8", "surrogateescape"))
        return name, kind, self.assemble([form])

    def assemble(self, forms: list[Node]) -> bytes:
        """Binary of text module forms (their source verbatim).

        wasmtime's parser refuses some raw characters (bidi controls, as in names.wast) anywhere in
        the source; the same module re-printed with escaped strings and no comments is accepted.
        """
        text = self.text[forms[0].start:forms[-1].end]
        try:
            return wat2wasm(text.encode("utf-8", "surrogateescape"))
        except TextError:
            if text.isascii():
                raise
        return wat2wasm(to_text(forms).encode("ascii"))

    def compile(self, wasm: bytes):
        """(so_path, ir) for a binary; raises the compiler's error.  Cached by content."""
        from ..driver import build_shared

        key = hashlib.sha256(wasm).digest()
        hit = self.cache.get(key)
        if hit is None:
            try:
                hit = build_shared(wasm, opt_level=self.opt_level, features=self.features)
            except Exception as e:  # noqa: BLE001 - remembered and re-raised for the same bytes
                hit = e
            self.cache[key] = hit
        if isinstance(hit, Exception):
            raise hit
        return hit

    def instantiate(self, wasm: bytes):
        so_path, ir = self.compile(wasm)
        imports = {}
        for imp in ir.imports:
            if imp.module == "spectest" and "spectest" not in self.registry:
                self.registry["spectest"] = host.spectest()
            provider = self.registry.get(imp.module)
            if provider is not None:
                ext = host.exports_of(provider).get(imp.name)
                if ext is not None:
                    imports[(imp.module, imp.name)] = ext
        return host.instantiate(so_path, ir, imports)

    def define(self, name: str | None, inst) -> None:
        self.current = inst
        if name:
            self.instances[name] = inst

    def cmd_module(self, form: SList) -> None:
        items = form.items
        if len(items) > 1 and isinstance(items[1], Atom) and items[1].text == "definition":
            name, _, wasm = self.module_bytes_or_fail(form)
            self.compile(wasm)  # a definition is validated and compiled, not instantiated
            if name:
                self.definitions[name] = wasm
            return
        if len(items) == 4 and isinstance(items[1], Atom) and items[1].text == "instance":
            self.current, self.failed_module_line = None, form.line
            inst_name, def_name = items[2], items[3]
            if not (isinstance(inst_name, Atom) and isinstance(def_name, Atom)):
                raise CommandFailure("module instance: expected $instance $definition")
            if def_name.text not in self.definitions:
                raise CommandFailure(f"unknown module definition {def_name.text}")
            self.instances.pop(inst_name.text, None)
            self.define(inst_name.text, self.instantiate(self.definitions[def_name.text]))
            self.failed_module_line = 0
            return
        self.current, self.failed_module_line = None, form.line  # cleared if the module works
        name, _, wasm = self.module_bytes_or_fail(form)
        self.instances.pop(name, None)
        self.define(name, self.instantiate(wasm))
        self.failed_module_line = 0

    def cmd_inline(self, forms: list[Node]) -> None:
        self.current, self.failed_module_line = None, forms[0].line
        self.define(None, self.instantiate(self.assemble(forms)))
        self.failed_module_line = 0

    def module_bytes_or_fail(self, form: SList):
        try:
            return self.module_bytes(form)
        except TextError as e:
            raise CommandFailure(f"text assembler rejected the module: {e}") from None

    def cmd_register(self, form: SList) -> None:
        items = form.items
        if len(items) < 2 or not isinstance(items[1], Str):
            raise CommandFailure("register: expected a name string")
        inst = self.instance(items[2].text if len(items) > 2 else None)
        self.registry[items[1].value.decode("utf-8", "surrogateescape")] = inst

    def instance(self, name: str | None):
        if name is None:
            if self.current is None:
                raise CommandFailure(f"no current module (the module at line {self.failed_module_line} "
                                     "failed)")
            return self.current
        if name not in self.instances:
            raise CommandFailure(f"unknown module {name} (did its definition fail?)")
        return self.instances[name]

    # ---------------------------------------------------------------------------------- actions
    def action_target(self, form: SList):
        """(instance, export name, rest of the items) of an `invoke`/`get` action."""
        items = form.items[1:]
        name = None
        if items and isinstance(items[0], Atom) and items[0].text.startswith("$"):
            name = items[0].text
            items = items[1:]
        if not items or not isinstance(items[0], Str):
            raise CommandFailure(f"{form.head}: expected an export name")
        return self.instance(name), items[0].value.decode("utf-8", "surrogateescape"), items[1:]

    def perform(self, form: SList) -> list:
        """Run an action; returns its results as script values (host.Result)."""
        if not isinstance(form, SList) or form.head not in ("invoke", "get"):
            raise CommandFailure(f"expected an action, got {form.head}")
        inst, export, rest = self.action_target(form)
        if form.head == "get":
            return [host.get_global(inst, export)]
        args = [const(node, pattern=False) for node in rest]
        return host.invoke(inst, export, args)

    def cmd_invoke(self, form: SList) -> None:
        self.perform(form)

    def cmd_get(self, form: SList) -> None:
        self.perform(form)

    # ---------------------------------------------------------------------------------- assertions
    def assert_return(self, form: SList) -> None:
        expected = [const(node, pattern=True) for node in form.items[2:]]
        got = self.perform(form.items[1])
        if len(got) != len(expected) or not all(host.matches(p, r) for p, r in zip(expected, got)):
            raise CommandFailure(f"expected {fmt_list(expected)}, got {fmt_list(got)}")

    def expect_trap(self, form: SList, what: str) -> None:
        action, expected = form.items[1], expected_text(form)
        try:
            got = self.perform(action)
        except host.Trap as t:
            msg = host.trap_message(t)
            if not message_matches(msg, expected):
                raise CommandFailure(f"trapped with {msg!r}, expected {expected!r}") from None
            return
        raise CommandFailure(f"expected {what} {expected!r}, returned {fmt_list(got)}")

    def assert_trap(self, form: SList) -> None:
        if isinstance(form.items[1], SList) and form.items[1].head == "module":
            return self.assert_uninstantiable(form)
        self.expect_trap(form, "trap")

    def assert_exhaustion(self, form: SList) -> None:
        self.expect_trap(form, "exhaustion")

    def assert_exception(self, form: SList) -> None:
        """An exception (Wasm 3.0) that no Wasm code catches reaches the host."""
        try:
            got = self.perform(form.items[1])
        except host.Trap as t:
            if t.kind != TRAP_EXCEPTION:
                raise CommandFailure(f"trapped with {host.trap_message(t)!r}, expected an "
                                     "uncaught exception") from None
            return
        raise CommandFailure(f"expected an uncaught exception, returned {fmt_list(got)}")

    def assert_uninstantiable(self, form: SList) -> None:
        _, _, wasm = self.module_bytes_or_fail(form.items[1])
        expected = expected_text(form)
        try:
            self.instantiate(wasm)
        except host.Trap as t:
            msg = host.trap_message(t)
            if not message_matches(msg, expected):
                raise CommandFailure(f"instantiation trapped with {msg!r}, expected {expected!r}") from None
            return
        raise CommandFailure(f"instantiation succeeded, expected trap {expected!r}")

    def assert_unlinkable(self, form: SList) -> None:
        _, _, wasm = self.module_bytes_or_fail(form.items[1])
        expected = expected_text(form)
        try:
            self.instantiate(wasm)
        except LinkError as e:
            if not message_matches(e.message, expected):
                raise CommandFailure(f"link error {e.message!r}, expected {expected!r}") from None
            return
        raise CommandFailure(f"instantiation succeeded, expected link error {expected!r}")

    def assert_invalid(self, form: SList) -> None:
        _, _, wasm = self.module_bytes_or_fail(form.items[1])
        self.expect_rejected(wasm, expected_text(form), (DecodeError, ValidationError))

    def assert_malformed(self, form: SList) -> None:
        module = form.items[1]
        try:
            _, kind, wasm = self.module_bytes(module)
        except TextError:
            return  # the text is malformed: rejected before any binary exists
        if kind != "binary":
            raise CommandFailure(f"text assembler accepted a malformed {kind} module")
        self.expect_rejected(wasm, expected_text(form), (DecodeError,))

    def expect_rejected(self, wasm: bytes, expected: str, errors: tuple[type, ...]) -> None:
        from ..decode import decode_module
        from ..validate import validate_module

        try:
            validate_module(decode_module(wasm, features=self.features))
        except errors as e:
            if not message_matches(e.message, expected):
                raise CommandFailure(f"{type(e).__name__} {e.message!r}, expected {expected!r}") from None
            return
        except (DecodeError, ValidationError) as e:
            raise CommandFailure(f"{type(e).__name__} {e.message!r}, expected a "
                                 f"{'/'.join(t.__name__ for t in errors)} {expected!r}") from None
        raise CommandFailure(f"module accepted, expected {expected!r}")


# -------------------------------------------------------------------------------------------- helpers
def wat2wasm(text: bytes) -> bytes:
    """Assemble with wasmtime's text parser; text with the legacy exception instructions, which
    wasmtime dropped, with wabt's `wat2wasm` if that is installed (wabt accepts some text the
    spec calls malformed, so it is asked for nothing else)."""
    import wasmtime

    try:
        return bytes(wasmtime.wat2wasm(text))
    except Exception as e:  # noqa: BLE001 - wasmtime raises WasmtimeError (and ValueError on NUL)
        first = str(e).strip().splitlines()
        error = TextError(first[0] if first else type(e).__name__)
    wasm = wabt_wat2wasm(text) if _LEGACY_EH.search(text) else None
    if wasm is None:
        raise error from None
    return wasm


_LEGACY_EH = re.compile(rb"\((?:try|delegate|rethrow)\b|\s(?:try|delegate|rethrow)\s")


def wabt_wat2wasm(text: bytes) -> bytes | None:
    """wabt's assembly of `text` (every feature on, no validation: an invalid module is for our
    validator to refuse), or None if it is not installed or cannot read the text."""
    import shutil
    import subprocess
    import tempfile

    exe = shutil.which("wat2wasm")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="wasmc-wabt-") as tmp:
        src, out = Path(tmp) / "m.wat", Path(tmp) / "m.wasm"
        src.write_bytes(text)
        try:  # (wabt 1.0.32 loops for ever on some malformed text: a time limit)
            proc = subprocess.run([exe, "--enable-all", "--no-check", str(src), "-o", str(out)],
                                  capture_output=True, timeout=10, check=False)
        except subprocess.TimeoutExpired:  # run() killed it
            return None
        return out.read_bytes() if proc.returncode == 0 else None


def const(node: Node, *, pattern: bool):
    if not isinstance(node, SList) or not isinstance(node.head, str):
        raise CommandFailure("expected a constant like (i32.const 1)")
    if pattern and node.head == "either":
        return Either(tuple(const(alt, pattern=True) for alt in node.items[1:]))
    args = []
    for a in node.items[1:]:
        if not isinstance(a, Atom):
            raise CommandFailure(f"bad constant operand in ({node.head} ...)")
        args.append(a.text)
    try:
        return parse_const(node.head, args, pattern=pattern)
    except (LiteralError, ValueError, KeyError) as e:
        raise CommandFailure(f"bad constant ({node.head} {' '.join(args)}): {e}") from None


def expected_text(form: SList) -> str:
    last = form.items[-1]
    if not isinstance(last, Str):
        raise CommandFailure(f"{form.head}: expected a message string")
    return last.value.decode("utf-8", "surrogateescape")


def fmt_list(values) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _shorten(msg: str, lines: int = 6, chars: int = 600) -> str:
    """Long tool output (a C compiler's errors) cut to a readable size."""
    parts = msg.strip().splitlines()
    out = "\n    ".join(parts[:lines])
    if len(parts) > lines:
        out += f"\n    ... ({len(parts) - lines} more lines)"
    return out if len(out) <= chars else out[:chars] + "..."
