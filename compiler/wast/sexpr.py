"""Reader for the `.wast` script syntax: text -> a tree of atoms, strings and lists.

Strategy: one hand-written scanner over the decoded text.  It skips whitespace, `;;` line comments,
nested `(; ;)` block comments and `(@id ...)` annotations, and produces three node kinds.  Every node
keeps its source span so that a module form can be handed verbatim (comments and all) to the text
assembler, and its line number so failures can be reported where they are written.  Strings are
decoded to bytes (`\\hh` escapes are raw bytes, `\\u{...}` is UTF-8), because `(module binary ...)`
strings are arbitrary bytes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


class ParseError(Exception):
    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line


@dataclass(slots=True)
class Atom:
    text: str
    line: int
    start: int
    end: int


@dataclass(slots=True)
class Str:
    value: bytes
    line: int
    start: int
    end: int


@dataclass(slots=True)
class SList:
    items: list[Node] = field(default_factory=list)
    line: int = 0
    start: int = 0
    end: int = 0

    @property
    def head(self) -> str | None:
        """The keyword this list starts with (`module`, `assert_return`, ...), if any."""
        if self.items and isinstance(self.items[0], Atom):
            return self.items[0].text
        return None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


Node = Atom | Str | SList

_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", "'": b"'", '"': b'"'}
_HEX = "0123456789abcdefABCDEF"
_DELIMS = frozenset(' \t\n\r()";')


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos)

    def error(self, message: str, pos: int | None = None) -> ParseError:
        return ParseError(message, self.line_of(self.pos if pos is None else pos))

    def skip_space(self) -> None:
        """Skip whitespace, comments and annotations."""
        text, n = self.text, len(self.text)
        while self.pos < n:
            c = text[self.pos]
            if c in " \t\n\r":
                self.pos += 1
            elif text.startswith(";;", self.pos):
                nl = text.find("\n", self.pos)
                self.pos = n if nl < 0 else nl + 1
            elif text.startswith("(;", self.pos):
                self.skip_block_comment()
            elif text.startswith("(@", self.pos) and self.pos + 2 < n and text[self.pos + 2] not in _DELIMS:
                self.skip_annotation()
            else:
                return

    def skip_block_comment(self) -> None:
        start, depth = self.pos, 0
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.error("unclosed block comment", start)
            if text.startswith("(;", self.pos):
                depth += 1
                self.pos += 2
            elif text.startswith(";)", self.pos):
                depth -= 1
                self.pos += 2
                if depth == 0:
                    return
            else:
                self.pos += 1

    def skip_annotation(self) -> None:
        start = self.pos
        self.pos += 2
        depth = 1
        while depth:
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.error("unclosed annotation", start)
            c = self.text[self.pos]
            if c == "(":
                depth += 1
                self.pos += 1
            elif c == ")":
                depth -= 1
                self.pos += 1
            elif c == '"':
                self.read_string()
            elif c == ";":  # a lone `;` is a token there (reserved), not the start of a comment
                self.pos += 1
            else:
                self.read_atom()

    def read_string(self) -> Str:
        start = self.pos
        text = self.text
        self.pos += 1
        out = bytearray()
        while True:
            if self.pos >= len(text):
                raise self.error("unclosed string", start)
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                return Str(bytes(out), self.line_of(start), start, self.pos)
            if c == "\n":
                raise self.error("newline in string", start)
            if c != "\\":
                out += c.encode("utf-8", "surrogateescape")
                self.pos += 1
                continue
            e = text[self.pos + 1:self.pos + 2]
            if e in _ESCAPES:
                out += _ESCAPES[e]
                self.pos += 2
            elif e == "u" and text[self.pos + 2:self.pos + 3] == "{":
                close = text.find("}", self.pos)
                if close < 0:
                    raise self.error("bad \\u escape")
                code = int(text[self.pos + 3:close].replace("_", ""), 16)
                out += chr(code).encode("utf-8", "surrogatepass")
                self.pos = close + 1
            elif len(text) >= self.pos + 3 and all(h in _HEX for h in text[self.pos + 1:self.pos + 3]):
                out.append(int(text[self.pos + 1:self.pos + 3], 16))
                self.pos += 3
            else:
                raise self.error(f"bad escape \\{e}")

    def read_atom(self) -> Atom:
        start = self.pos
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos] not in _DELIMS:
            self.pos += 1
        if self.pos == start:
            raise self.error(f"unexpected character {text[start]!r}")
        return Atom(text[start:self.pos], self.line_of(start), start, self.pos)

    def read_all(self) -> list[Node]:
        """Read every top-level form; lists are built with an explicit stack (no recursion limit)."""
        top: list[Node] = []
        stack: list[SList] = []
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                if stack:
                    raise self.error("unclosed parenthesis", stack[-1].start)
                return top
            c = self.text[self.pos]
            if c == "(":
                stack.append(SList([], self.line_of(self.pos), self.pos, self.pos))
                self.pos += 1
                continue
            if c == ")":
                if not stack:
                    raise self.error("unexpected )")
                self.pos += 1
                node: Node = stack.pop()
                node.end = self.pos
            elif c == '"':
                node = self.read_string()
            else:
                node = self.read_atom()
            (stack[-1].items if stack else top).append(node)


def read(text: str) -> list[Node]:
    """Parse a whole script into its top-level forms."""
    return _Scanner(text).read_all()


def read_file(path) -> tuple[str, list[Node]]:
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "surrogateescape")
    return text, read(text)


def _escape(value: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\{b:02x}" for b in value)


def to_text(nodes: list[Node]) -> str:
    """Re-print forms without comments or annotations, every string escaped to plain ASCII.

    Used to feed a text assembler that rejects some raw characters (e.g. bidi controls) in strings
    or comments: the re-printed module means the same thing.
    """
    out: list[str] = []
    stack: list[tuple[list[Node], int]] = [(nodes, 0)]
    while stack:
        items, i = stack.pop()
        if i == len(items):
            if len(stack) >= 1:
                out.append(")")
            continue
        stack.append((items, i + 1))
        node = items[i]
        if isinstance(node, SList):
            out.append("(")
            stack.append((node.items, 0))
        elif isinstance(node, Str):
            out.append(f'"{_escape(node.value)}" ')
        else:
            out.append(node.text + " ")
    return "".join(out)
