"""Random valid modules aimed at wasmc's lowering, written as flat WAT text.

Strategy: a typed generator.  `expr(t)` emits instructions that push one value of type `t`;
`stmt()` emits instructions with no net stack effect; both recurse to a bounded depth.  A control
stack of label types makes every `br`, `br_if` and `br_table` well typed, and a `br`/`br_table` only
ever ends a block body (so the rest of the generator never reasons about unreachable code).

Aims, each a knob in `Shape`:
- control flow: blocks, loops and ifs with parameters and several results, branches carrying values
  to every depth, `br_table` with many targets, multi-value calls;
- traps: division, conversions, `unreachable` under a condition, host calls that trap, out-of-range
  `call_indirect` and wrong signatures, loads and stores near and past the end of memory;
- floats: edge constants including signalling NaN payloads.  Float results reach integers only in
  deterministic ways: comparisons, truncations, and `reinterpret`/`store` of *exact* expressions
  (constants, loads, abs/neg/copysign of exact values), so NaN payloads the spec leaves open never
  leak into an integer, while the bit-exact operations are checked bit for bit;
- memory: every load/store form with offsets and alignments, addresses near the current end,
  `memory.grow`/`size`/`fill`/`copy`;
- tables: `table.get/set/size/grow/fill`, `call_indirect`.

Loops are bounded by a per-function counter local, so every generated module terminates (recursion
is excluded: functions call only lower-numbered functions).

With `enable_exceptions()` (Wasm 3.0; off by default, so earlier seeds keep their modules) the
statements also throw three tags (no payload, an i32, an i64 and an exact f64) under a condition,
and run others inside `try_table`s whose clauses catch by tag, catch all, or catch a reference
that is dropped or thrown on -- across calls, loops and branches out of the try body; and calls
go through typed function references too (`call_ref`, with `ref.as_non_null` or `br_on_null`).

With `enable_gc()` (Wasm 3.0's GC; also off by default) every function gets anyref locals and the
module an anyref global, and expressions build and read GC objects: a struct `$box` {mut i32,
mut i64, mut anyref}, arrays `$vec` (mut i32) and `$refs` (mut anyref), i31s, with casts guarded
by `ref.test` (or not, under the trap rate), `ref.eq`, and array accesses, fills and copies whose
indices may be out of bounds.  Objects flow between functions through the global, and most
become garbage at once, so a run under WASMC_GC_STRESS exercises the collector's roots.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TYPES = ["i32", "i64", "f32", "f64"]
LETTER = {"i32": "i", "i64": "l", "f32": "f", "f64": "d"}

INT_UN = ["clz", "ctz", "popcnt", "extend8_s", "extend16_s"]
INT_BIN = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s",
           "shr_u", "rotl", "rotr"]
INT_REL = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
FLT_UN = ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"]
FLT_BIN = ["add", "sub", "mul", "div", "min", "max", "copysign"]
FLT_REL = ["eq", "ne", "lt", "gt", "le", "ge"]
TRAPPING = {"div_s", "div_u", "rem_s", "rem_u"}

CONVERT = {  # result type -> [(mnemonic, operand type)]; reinterprets are handled separately
    "i32": [("i32.wrap_i64", "i64"), ("i32.trunc_f32_s", "f32"), ("i32.trunc_f32_u", "f32"),
            ("i32.trunc_f64_s", "f64"), ("i32.trunc_f64_u", "f64"), ("i32.trunc_sat_f32_s", "f32"),
            ("i32.trunc_sat_f32_u", "f32"), ("i32.trunc_sat_f64_s", "f64"),
            ("i32.trunc_sat_f64_u", "f64")],
    "i64": [("i64.extend_i32_s", "i32"), ("i64.extend_i32_u", "i32"), ("i64.trunc_f32_s", "f32"),
            ("i64.trunc_f32_u", "f32"), ("i64.trunc_f64_s", "f64"), ("i64.trunc_f64_u", "f64"),
            ("i64.trunc_sat_f32_s", "f32"), ("i64.trunc_sat_f32_u", "f32"),
            ("i64.trunc_sat_f64_s", "f64"), ("i64.trunc_sat_f64_u", "f64"), ("i64.extend32_s", "i64")],
    "f32": [("f32.convert_i32_s", "i32"), ("f32.convert_i32_u", "i32"), ("f32.convert_i64_s", "i64"),
            ("f32.convert_i64_u", "i64"), ("f32.demote_f64", "f64")],
    "f64": [("f64.convert_i32_s", "i32"), ("f64.convert_i32_u", "i32"), ("f64.convert_i64_s", "i64"),
            ("f64.convert_i64_u", "i64"), ("f64.promote_f32", "f32")],
}
LOADS = {"i32": [("i32.load", 4), ("i32.load8_s", 1), ("i32.load8_u", 1), ("i32.load16_s", 2),
                 ("i32.load16_u", 2)],
         "i64": [("i64.load", 8), ("i64.load8_s", 1), ("i64.load8_u", 1), ("i64.load16_s", 2),
                 ("i64.load16_u", 2), ("i64.load32_s", 4), ("i64.load32_u", 4)],
         "f32": [("f32.load", 4)], "f64": [("f64.load", 8)]}
STORES = {"i32": [("i32.store", 4), ("i32.store8", 1), ("i32.store16", 2)],
          "i64": [("i64.store", 8), ("i64.store8", 1), ("i64.store16", 2), ("i64.store32", 4)],
          "f32": [("f32.store", 4)], "f64": [("f64.store", 8)]}

CONSTS = {
    "i32": ["0", "1", "-1", "2", "31", "32", "0x7fffffff", "0x80000000", "0xffff", "65536", "-65536"],
    "i64": ["0", "1", "-1", "63", "64", "0x7fffffffffffffff", "0x8000000000000000", "0xffffffff",
            "0x100000000"],
    "f32": ["0", "-0", "1", "-1", "0.5", "-0.5", "1.5", "2.5", "-2.5", "inf", "-inf", "nan", "-nan",
            "nan:0x200000", "nan:0x1", "-nan:0x7fffff", "0x1p-149", "0x1.fffffep127", "2147483648",
            "-2147483904", "4294967296", "9223372036854775808"],
    "f64": ["0", "-0", "1", "-1", "0.5", "-0.5", "1.5", "2.5", "-2.5", "inf", "-inf", "nan", "-nan",
            "nan:0x4000000000000", "nan:0x1", "-nan:0xfffffffffffff", "0x1p-1074",
            "0x1.fffffffffffffp1023", "2147483648", "-2147483649", "4294967296",
            "9223372036854775808", "-9223372036854777856"],
}


@dataclass(frozen=True)
class Shape:
    """Knobs of one generated module (all chosen from the seed)."""

    funcs: int = 6
    depth: int = 4
    mem_pages: int = 1
    mem_max: int | None = 4
    table_size: int = 6
    trap_rate: float = 0.05  # chance that an operation may trap (raw addresses, trapping ops)


EXCEPTIONS = [False]  # enable_exceptions


def enable_exceptions() -> None:
    """Modules also throw and catch (Wasm 3.0 exception handling)."""
    EXCEPTIONS[0] = True


GC = [False]  # enable_gc


def enable_gc() -> None:
    """Modules also allocate and read GC objects (Wasm 3.0)."""
    GC[0] = True


# The GC types of a module with GC objects (before the signatures: type indices 0-2).
GC_TYPES = ["(type $box (struct (field (mut i32)) (field (mut i64)) (field (mut anyref))))",
            "(type $vec (array (mut i32)))", "(type $refs (array (mut anyref)))"]


# The tags of a module with exceptions: (payload types, how to make each value).
TAGS = [[], ["i32"], ["i64", "f64"]]


@dataclass
class Frame:
    label: list[str]  # types a branch to this frame carries
    loop: bool = False  # a branch here is a back edge: only taken under the loop counter


class FuncGen:
    """Generates one function body; `m` is the module being generated (for calls, types)."""

    def __init__(self, m: ModuleGen, params: list[str], results: list[str]):
        self.m, self.rng, self.shape = m, m.rng, m.shape
        self.params, self.results = params, results
        self.locals: list[str] = [self.rng.choice(TYPES) for _ in range(self.rng.randint(0, 5))]
        self.pointer: int | None = None  # an i32 local reused as a pointer (pointer_address)
        self.frames: list[Frame] = [Frame(list(results))]  # the function body's label
        self.budget = 400  # instructions still allowed, to bound the module size
        self.fuel: int | None = None  # the loop counter local, made on first use
        self.tries = 0  # try_table bodies open (s_try)
        # GC: anyref locals holding objects (ref_expr), and a scratch one for guarded casts
        self.refs = [self.scratch("anyref") for _ in range(3)] if GC[0] else []

    # -- helpers ------------------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def local_of(self, t: str) -> int | None:
        cands = [i for i, lt in enumerate(self.params + self.locals) if lt == t]
        return self.rng.choice(cands) if cands else None

    def scratch(self, t: str) -> int:
        """Index of a fresh local of type t (for consumed block parameters, denan)."""
        self.locals.append(t)
        return len(self.params) + len(self.locals) - 1

    def const(self, t: str) -> str:
        if self.chance(0.5):
            return f"{t}.const {self.rng.choice(CONSTS[t])}"
        if t == "i32":
            return f"i32.const {self.rng.getrandbits(32) - (1 << 31)}"
        if t == "i64":
            return f"i64.const {self.rng.getrandbits(64) - (1 << 63)}"
        return f"{t}.const {self.rng.uniform(-1e6, 1e6) * 10 ** self.rng.randint(-30, 30):.6g}"

    # -- expressions --------------------------------------------------------------------------------
    def expr(self, t: str, d: int) -> list[str]:
        if t == "exnref":  # a branch to s_try's $ref block carries one
            return ["ref.null exn"]
        if t == "anyref":  # GC: a ref local being set, a guarded read's `else`
            return self.ref_expr(d)
        self.budget -= 1
        if d <= 0 or self.budget <= 0:
            return self.leaf(t)
        kinds = ["leaf", "un", "bin", "bin", "convert", "load", "select", "block", "if", "call", "multi"]
        if t == "i32":
            kinds += ["rel", "rel", "eqz", "memsize", "grow", "call_indirect", "table", "exact_bits"]
        if t == "i64":
            kinds += ["exact_bits"]
        if t in ("f32", "f64"):
            kinds += ["exact"]
        if t == "i32" and EXCEPTIONS[0]:
            kinds += ["call_ref"]
        if t == "i32" and GC[0]:
            kinds += ["gc", "gc", "gc"]
        return getattr(self, "e_" + self.rng.choice(kinds))(t, d - 1)

    def exprs(self, types: list[str], d: int) -> list[str]:
        return [ins for t in types for ins in self.expr(t, d)]

    def leaf(self, t: str) -> list[str]:
        i = self.local_of(t)
        if i is not None and self.chance(0.5):
            return [f"local.get {i}"]
        g = self.m.global_of(t)
        if g is not None and self.chance(0.3):
            return [f"global.get {g}"]
        return [self.const(t)]

    def e_leaf(self, t, d):
        return self.leaf(t)

    def e_un(self, t, d):
        if t in ("i32", "i64"):
            return self.expr(t, d) + [f"{t}.{self.rng.choice(INT_UN)}"]
        return self.expr(t, d) + [f"{t}.{self.rng.choice(FLT_UN)}"]

    def e_bin(self, t, d):
        if t in ("i32", "i64"):
            op = self.rng.choice(INT_BIN)
            if op in TRAPPING and not self.chance(self.shape.trap_rate * 4):
                # keep the divisor nonzero most of the time: (x | 1)
                return self.expr(t, d) + self.expr(t, d) + [f"{t}.const 1", f"{t}.or", f"{t}.{op}"]
            return self.expr(t, d) + self.expr(t, d) + [f"{t}.{op}"]
        op = self.rng.choice(FLT_BIN)
        if op == "copysign":  # the sign of an arithmetic NaN is not deterministic
            return self.expr(t, d) + self.denan(t, self.expr(t, d)) + [f"{t}.copysign"]
        return self.expr(t, d) + self.expr(t, d) + [f"{t}.{op}"]

    def e_rel(self, t, d):
        u = self.rng.choice(TYPES)
        op = self.rng.choice(INT_REL if u in ("i32", "i64") else FLT_REL)
        return self.expr(u, d) + self.expr(u, d) + [f"{u}.{op}"]

    def e_eqz(self, t, d):
        u = self.rng.choice(["i32", "i64"])
        return self.expr(u, d) + [f"{u}.eqz"]

    def e_convert(self, t, d):
        name, src = self.rng.choice(CONVERT[t])
        if ".trunc_f" in name and not self.chance(self.shape.trap_rate * 4):
            name = name.replace(".trunc_f", ".trunc_sat_f")  # trapping truncation only sometimes
        return self.expr(src, d) + [name]

    def e_exact_bits(self, t, d):
        """reinterpret of an exact float: bit-exact, NaN payloads included."""
        f = "f32" if t == "i32" else "f64"
        return self.exact(f, d) + [f"{t}.reinterpret_{f}"]

    def e_exact(self, t, d):
        return self.exact(t, d)

    def exact(self, t: str, d: int) -> list[str]:
        """A float expression whose bits the spec fixes (no arithmetic on it)."""
        k = self.rng.choice(["const", "const", "load", "unop", "copysign", "reinterpret", "select"]
                            if d > 0 else ["const"])
        if k == "const":
            return [f"{t}.const {self.rng.choice(CONSTS[t])}"]
        if k == "load":
            return self.address(8) + [self.memarg(f"{t}.load", 4 if t == "f32" else 8)]
        if k == "unop":
            return self.exact(t, d - 1) + [f"{t}.{self.rng.choice(['abs', 'neg'])}"]
        if k == "copysign":
            return self.exact(t, d - 1) + self.exact(t, d - 1) + [f"{t}.copysign"]
        if k == "select":
            return self.exact(t, d - 1) + self.exact(t, d - 1) + self.expr("i32", d - 1) + ["select"]
        i = "i32" if t == "f32" else "i64"
        return self.expr(i, d - 1) + [f"{t}.reinterpret_{i}"]

    def denan(self, t: str, code: list[str]) -> list[str]:
        """`code`'s value, or +0 when it is a NaN (select on x == x)."""
        if t not in ("f32", "f64"):
            return code
        s = self.scratch(t)
        return code + [f"local.tee {s}", f"{t}.const 0", f"local.get {s}", f"local.get {s}", f"{t}.eq",
                       "select"]

    def e_load(self, t, d):
        name, size = self.rng.choice(LOADS[t])
        return self.address(size) + [self.memarg(name, size)]

    def e_select(self, t, d):
        typed = self.chance(0.5)
        return self.expr(t, d) + self.expr(t, d) + self.expr("i32", d) + \
            [f"select (result {t})" if typed else "select"]

    def e_memsize(self, t, d):
        return ["memory.size"]

    def e_grow(self, t, d):
        delta = self.rng.choice(["0", "1", "2", "-1", "65536", "0x7fffffff"])
        if self.chance(0.3):  # small deltas only: a final memory is compared byte by byte
            return self.expr("i32", d) + ["i32.const 7", "i32.and", "memory.grow"]
        return [f"i32.const {delta}", "memory.grow"]

    def e_block(self, t, d):
        return self.block_like([t], d)

    def e_multi(self, t, d):
        """A multi-result block or call; keep one value."""
        extra = [self.rng.choice(TYPES) for _ in range(self.rng.randint(1, 3))]
        if self.chance(0.4):
            callee = self.m.callee_with_result_prefix(t, self.m.current)
            if callee is not None:
                idx, (params, results) = callee
                return self.exprs(params, d) + [f"call {idx}"] + ["drop"] * (len(results) - 1)
        return self.block_like([t] + extra, d) + ["drop"] * len(extra)

    def e_if(self, t, d):
        params = self.some_types(2)
        code = self.exprs(params, d) + self.expr("i32", d)
        code.append(f"if {self.blocktype(params, [t])}")
        self.frames.append(Frame([t]))
        code += self.body(params, [t], d)
        code.append("else")
        code += self.body(params, [t], d)
        self.frames.pop()
        return code + ["end"]

    def e_call(self, t, d):
        callee = self.m.callee_with_result_prefix(t, self.m.current)
        if callee is None:
            return self.leaf(t)
        idx, (params, results) = callee
        return self.exprs(params, d) + [f"call {idx}"] + ["drop"] * (len(results) - 1)

    def e_call_indirect(self, t, d):
        """call_indirect through the table at a random index (maybe out of range, null, wrong type)."""
        if not self.m.may_call_indirect() or not self.m.fill:
            return self.leaf(t)
        n = self.shape.table_size
        if self.chance(self.shape.trap_rate * 4):
            params, results = self.rng.choice(self.m.sigs)
            index = self.rng.choice([self.expr("i32", d), [f"i32.const {self.rng.randint(0, n)}"]])
        else:
            slot = self.rng.randrange(len(self.m.fill))
            params, results = self.m.func_sigs[self.m.fill[slot]]
            index = [f"i32.const {slot + 1}"]
        code = self.exprs(params, d) + index + [f"call_indirect (type {self.m.sig_index(params, results)})"]
        code += ["drop"] * len(results)
        return code + self.leaf(t)

    def e_call_ref(self, t, d):
        """call_ref (typed function references, with `enable_exceptions`) of a lower-numbered
        function's `ref.func`, or of null under a condition, through `ref.as_non_null`,
        `br_on_null` or directly: a null one traps, or skips the call."""
        if self.m.current == 0:
            return self.leaf(t)
        f = self.rng.randrange(self.m.current)
        params, results = self.m.func_sigs[f]
        ty = self.m.sig_index(params, results)
        ref = [f"ref.func {self.m.first_defined + f}"]
        if self.chance(self.shape.trap_rate * 4):
            ref = [f"ref.null {ty}"] + ref + self.expr("i32", d) + [f"select (result (ref null {ty}))"]
        how = self.rng.choice(["direct", "as_non_null", "br_on_null"])
        if how == "br_on_null":  # a null reference skips the call (and drops its arguments)
            code = ["block (result i32)", "block"]
            self.frames += [Frame(["i32"]), Frame([])]
            code += self.exprs(params, d) + ref + ["br_on_null 0", f"call_ref {ty}"]
            self.frames = self.frames[:-2]
            return code + ["drop"] * len(results) + ["i32.const 1", "br 1", "end", "i32.const 0",
                                                     "end"]
        if how == "as_non_null":
            ref.append("ref.as_non_null")
        return self.exprs(params, d) + ref + [f"call_ref {ty}"] + ["drop"] * len(results) + \
            self.leaf(t)

    def e_table(self, t, d):
        k = self.rng.choice(["size", "grow", "get"])
        if k == "size":
            return ["table.size 0"]
        if k == "grow":
            return ["ref.null func", self.rng.choice(["i32.const 0", "i32.const 1", "i32.const 3",
                                                      "i32.const -1"]), "table.grow 0"]
        n = self.shape.table_size
        i = self.rng.randint(0, n + 1) if self.chance(self.shape.trap_rate * 4) else self.rng.randrange(n)
        return [f"i32.const {i}", "table.get 0", "ref.is_null"]


    # -- GC objects (enable_gc) ---------------------------------------------------------------------
    def ref_expr(self, d: int) -> list[str]:
        """Push an anyref: an object (new, or read from a local, the global, a field or an
        element), an i31, or null."""
        k = self.rng.choice(["local", "local", "local", "local", "global", "box", "vec", "refs",
                             "i31", "null", "field", "element"]
                            if d > 0 else ["local", "local", "global", "null", "i31"])
        if k == "local":
            return [f"local.get {self.rng.choice(self.refs)}"]
        if k == "global":
            return [f"global.get {self.m.ref_global}"]
        if k == "null":
            return ["ref.null any"]
        if k == "i31":
            return self.expr("i32", d - 1) + ["ref.i31"]
        if k == "box":
            return self.expr("i32", d - 1) + self.expr("i64", d - 1) + self.ref_expr(d - 1) + \
                ["struct.new $box"]
        if k == "vec":
            n = self.rng.choice([0, 1, 3, 8, 100])
            if self.chance(0.5):
                return [f"i32.const {n}", "array.new_default $vec"]
            return self.expr("i32", d - 1) + [f"i32.const {n}", "array.new $vec"]
        if k == "refs":
            n = self.rng.randint(0, 3)
            return [ins for _ in range(n) for ins in self.ref_expr(d - 1)] + \
                [f"array.new_fixed $refs {n}"]
        if k == "field":
            return self.guarded("$box", d, lambda: ["struct.get $box 2"], ["ref.null any"])
        return self.guarded("$refs", d, lambda: self.index(d) + ["array.get $refs"],
                            ["ref.null any"])

    def guarded(self, ty: str, d: int, use, otherwise: list[str]) -> list[str]:
        """`use()`'s code applied to a reference cast to (ref ty): behind a ref.test (else
        `otherwise`, which also gives the result type: i32, anyref or none), or, under the trap
        rate, a bare cast that fails on another object (or null).  `use` is called inside the
        `if`, so the branches it generates count its label."""
        tmp = self.refs[-1]
        ref = self.ref_expr(d - 1)
        if self.chance(self.shape.trap_rate):
            return ref + [f"ref.cast (ref {ty})"] + use()
        label = ["i32"] if otherwise[:1] and otherwise[0].startswith("i32") else \
            ["anyref"] if otherwise else []
        self.frames.append(Frame(label))
        code = ref + [f"local.tee {tmp}", f"ref.test (ref {ty})",
                      f"if (result {label[0]})" if label else "if",
                      f"local.get {tmp}", f"ref.cast (ref {ty})", *use(), "else", *otherwise, "end"]
        self.frames.pop()
        return code

    def index(self, d: int) -> list[str]:
        """An array index: small, or anything under the trap rate."""
        if self.chance(self.shape.trap_rate * 2):
            return self.expr("i32", d - 1)
        return [f"i32.const {self.rng.randrange(4)}"]

    def e_gc(self, t, d):
        k = self.rng.choice(["test", "field", "field64", "len", "get", "i31", "eq"])
        if k == "test":
            ty = self.rng.choice(["(ref $box)", "(ref $vec)", "(ref null $refs)", "(ref i31)",
                                  "(ref struct)", "(ref array)", "(ref eq)", "(ref null none)"])
            return self.ref_expr(d) + [f"ref.test {ty}"]
        if k == "field":
            return self.guarded("$box", d, lambda: ["struct.get $box 0"], ["i32.const -7"])
        if k == "field64":
            return self.guarded("$box", d, lambda: ["struct.get $box 1", "i32.wrap_i64"],
                                ["i32.const -8"])
        if k == "len":
            return self.guarded("$vec", d, lambda: ["array.len"], ["i32.const -9"])
        if k == "get":
            return self.guarded("$vec", d, lambda: self.index(d) + ["array.get $vec"],
                                ["i32.const -10"])
        if k == "i31":
            return self.guarded("i31", d, lambda: ["i31.get_s"], ["i32.const -11"])
        eq = ["ref.cast (ref null eq)"]  # our anyrefs are never host values: this never fails
        return self.ref_expr(d) + eq + self.ref_expr(d) + eq + ["ref.eq"]

    def s_gc(self, d):
        k = self.rng.choice(["local", "local", "global", "set", "set64", "setref", "aset", "fill",
                             "copy", "refs_set"])
        if k == "local":
            return self.ref_expr(d) + [f"local.set {self.rng.choice(self.refs[:-1])}"]
        if k == "global":
            return self.ref_expr(d) + [f"global.set {self.m.ref_global}"]
        if k == "set":
            return self.guarded("$box", d, lambda: self.expr("i32", d - 1) + ["struct.set $box 0"],
                                [])
        if k == "set64":
            return self.guarded("$box", d, lambda: self.expr("i64", d - 1) + ["struct.set $box 1"],
                                [])
        if k == "setref":
            return self.guarded("$box", d, lambda: self.ref_expr(d - 1) + ["struct.set $box 2"],
                                [])
        if k == "aset":
            return self.guarded("$vec", d, lambda: self.index(d) + self.expr("i32", d - 1) +
                                ["array.set $vec"], [])
        if k == "refs_set":
            return self.guarded("$refs", d, lambda: self.index(d) + self.ref_expr(d - 1) +
                                ["array.set $refs"], [])
        if k == "fill":
            return self.guarded("$vec", d, lambda: self.index(d) + self.expr("i32", d - 1) +
                                [f"i32.const {self.rng.randrange(4)}", "array.fill $vec"], [])
        # a copy within the tested array (overlapping either way, or out of bounds)
        tmp = self.refs[-1]
        return self.guarded("$vec", d, lambda: self.index(d) + [
            f"local.get {tmp}", "ref.cast (ref null $vec)"] + self.index(d) + [
            f"i32.const {self.rng.randrange(4)}", "array.copy $vec $vec"], [])

    # -- structured control -------------------------------------------------------------------------
    def some_types(self, n: int) -> list[str]:
        return [self.rng.choice(TYPES) for _ in range(self.rng.randint(0, n))]

    def blocktype(self, params: list[str], results: list[str]) -> str:
        p = f"(param {' '.join(params)}) " if params else ""
        r = f"(result {' '.join(results)})" if results else ""
        return (p + r).strip()

    def block_like(self, results: list[str], d: int) -> list[str]:
        params = self.some_types(3)
        code = self.exprs(params, d)
        if self.chance(0.3):  # a loop whose back edge carries the parameters
            code.append(f"loop {self.blocktype(params, results)}")
            self.frames.append(Frame(list(params), loop=True))
            code += self.loop_body(params, results, d)
        else:
            code.append(f"block {self.blocktype(params, results)}")
            self.frames.append(Frame(list(results)))
            code += self.body(params, results, d)
        self.frames.pop()
        return code + ["end"]

    def consume(self, params: list[str]) -> list[str]:
        """Take block parameters off the stack: into fresh locals (readable later) or dropped."""
        out = []
        for t in reversed(params):
            out.append(f"local.set {self.scratch(t)}" if self.chance(0.6) else "drop")
        return out

    def body(self, params: list[str], results: list[str], d: int) -> list[str]:
        code = self.consume(params)
        for _ in range(self.rng.randint(0, 3)):
            code += self.stmt(d)
        return code + self.finish(results, d)

    def loop_body(self, params: list[str], results: list[str], d: int) -> list[str]:
        code = self.consume(params)
        for _ in range(self.rng.randint(0, 2)):
            code += self.stmt(d)
        # back edge while the function's loop counter lasts (local 0 of the extra locals)
        code += self.exprs(params, d) + self.fuel_check() + ["br_if 0"] + ["drop"] * len(params)
        return code + self.finish(results, d)

    def fuel_check(self) -> list[str]:
        if self.fuel is None:
            self.fuel = self.scratch("i32")
        f = self.fuel
        return [f"local.get {f}", "i32.const 1", "i32.sub", f"local.tee {f}", "i32.const 0", "i32.gt_s"]

    def finish(self, results: list[str], d: int) -> list[str]:
        """The end of a block body: the results directly, or a branch / br_table carrying values."""
        r = self.rng.random()
        if r < 0.55 or d <= 0:
            return self.exprs(results, d)
        forward = [j for j in range(len(self.frames)) if not self.frames[-1 - j].loop]
        if r < 0.8:
            k = self.rng.choice(forward)
            label = self.frames[-1 - k].label
            return self.exprs(label, d) + [f"br {k}"]
        if r < 0.9:
            k = self.rng.choice(forward)
            label = self.frames[-1 - k].label
            same = [j for j in forward if self.frames[-1 - j].label == label]
            n = self.rng.choice([1, 2, 5, 40, 300])
            targets = [str(self.rng.choice(same)) for _ in range(n)]
            return self.exprs(label, d) + self.expr("i32", d) + [f"br_table {' '.join(targets)}"]
        return ["return"] if not self.results else self.exprs(self.results, d) + ["return"]

    # -- statements ---------------------------------------------------------------------------------
    def stmt(self, d: int) -> list[str]:
        self.budget -= 1
        if d <= 0 or self.budget <= 0:
            return ["nop"]
        kinds = ["set", "set", "store", "store", "log", "if", "br_if", "drop", "block",
                 "global", "bulk", "trap", "table_set", "loop", "stream", "dispatch"]
        if EXCEPTIONS[0]:
            kinds += ["try", "try", "throw"]
        if GC[0]:
            kinds += ["gc", "gc", "gc"]
        k = self.rng.choice(kinds)
        return getattr(self, "s_" + k)(d - 1)

    def s_throw(self, d):
        """Throw one of the tags, under a condition as `s_trap` traps; rarely outside a try body
        (an exception that escapes an export ends the plan, as a trap does)."""
        if not self.chance(0.3 if self.tries else 0.03):
            return ["nop"]
        tag = self.rng.randrange(len(TAGS))
        cond = self.expr("i32", d) + ["i32.const 7", "i32.and", "i32.eqz", "if"]
        self.frames.append(Frame([]))  # the payload is built inside the `if`
        payload = []
        for t in TAGS[tag]:
            payload += self.exact(t, d) if t == "f64" else self.expr(t, d)
        self.frames.pop()
        return cond + payload + [f"throw {tag}", "end"]

    def s_try(self, d):
        """A try_table inside three blocks that its clauses branch to: $none (tag 0, or any
        exception), $i32 (tag 1's payload, logged) and $ref (an exnref, dropped or thrown on)."""
        clauses = self.rng.sample(["(catch 0 2)", "(catch 1 1)", "(catch_all 2)",
                                   "(catch_all_ref 0)", "(catch_ref 0 0)"], self.rng.randint(0, 3))
        code = ["block", "block (result i32)", "block (result exnref)",
                f"try_table {' '.join(clauses)}"]
        self.frames += [Frame([]), Frame(["i32"]), Frame(["exnref"]), Frame([])]
        self.tries += 1
        for _ in range(self.rng.randint(1, 3)):
            code += self.stmt(d)
        if any("_ref" in c for c in clauses) and self.chance(0.5):
            code.append("throw 0")  # often enough that a clause delivers an exnref to hold
        self.tries -= 1
        self.frames = self.frames[:-4]
        # The exnref may stay on the stack while more code runs -- other exceptions thrown and
        # caught, maybe more statements (calls, allocations): under WASMC_GC_STRESS each
        # allocation collects, and the held exception must survive them.
        held = []
        if self.chance(0.5):
            for _ in range(2):  # two: the first collection still finds the held one in flight
                held += ["block (result i32)", "try_table (catch 1 0)",
                         f"i32.const {self.rng.randrange(1000)}", "throw 1", "end", "unreachable",
                         "end", f"call {self.m.log_index['i32']}"]
            self.frames += [Frame([]), Frame(["i32"])]
            held += self.stmt(d)
            self.frames = self.frames[:-2]
        rethrow = "throw_ref" if self.chance(0.5 if held else 0.3) else "drop"
        return code + ["end", "br 2", "end", *held, rethrow, "br 1", "end",
                       f"call {self.m.log_index['i32']}", "end"]

    def s_set(self, d):
        i = self.rng.randrange(len(self.params) + len(self.locals)) \
            if self.params or self.locals else None
        if i is None:
            return ["nop"]
        t = (self.params + self.locals)[i]
        if self.chance(0.2):
            return self.expr(t, d) + [f"local.tee {i}", "drop"]
        return self.expr(t, d) + [f"local.set {i}"]

    def s_store(self, d):
        t = self.rng.choice(TYPES)
        name, size = self.rng.choice(STORES[t])
        if t in ("f32", "f64"):
            value = self.exact(t, d) if self.chance(0.5) else self.denan(t, self.expr(t, d))
        else:
            value = self.expr(t, d)
        return self.address(size) + value + [self.memarg(name, size)]

    def s_log(self, d):
        t = self.rng.choice(TYPES)
        return self.expr(t, d) + [f"call {self.m.log_index[t]}"]

    def s_if(self, d):
        code = self.expr("i32", d) + ["if"]
        self.frames.append(Frame([]))
        for _ in range(self.rng.randint(1, 2)):
            code += self.stmt(d)
        if self.chance(0.5):
            code.append("else")
            code += self.stmt(d)
        self.frames.pop()
        return code + ["end"]

    def s_br_if(self, d):
        k = self.rng.randrange(len(self.frames))
        label = self.frames[-1 - k].label
        cond = self.expr("i32", d)
        if self.frames[-1 - k].loop:
            cond += self.fuel_check() + ["i32.and"]
        return self.exprs(label, d) + cond + [f"br_if {k}"] + ["drop"] * len(label)

    def s_drop(self, d):
        return self.expr(self.rng.choice(TYPES), d) + ["drop"]

    def s_block(self, d):
        return self.block_like([], d)

    def s_loop(self, d):
        return self.block_like([], d)

    def s_stream(self, d):
        """A loop in the shape LLVM vectorises, as clang emits it for wasm32: two pointer locals
        advanced together, `dst[k] = f(src[k], dst[k])` unrolled by one or two, a dead load, and
        one exit on a counter.  wasmc sums its loads or gives them range witnesses, and gives
        each pointer its own memory base (compiler/lower/witness.py, FunctionLowerer.loop_base);
        the pointers are aimed so that they overlap, run off the end of memory, or wrap.  The
        variants move what range witnesses depend on: `src` stepped before its loads, loads at
        `src + C` rather than `offset=C`, a load at `src - C` (which wraps when src is small), the
        exit tested before the loads, a division that traps in some iteration, a pointer that
        steps backwards, and a derived pointer (`q = i + src` each iteration, `i` stepped, `src`
        fixed: the loads of clang's vectorised loops)."""
        t = self.rng.choice(["i32", "i64", "f32", "f64"])
        size = {"i32": 4, "i64": 8, "f32": 4, "f64": 8}[t]
        dst, src, cnt = self.scratch("i32"), self.scratch("i32"), self.scratch("i32")
        unroll = self.rng.choice([1, 2])
        op = {"i32": "i32.add", "i64": "i64.xor", "f32": "f32.add", "f64": "f64.mul"}[t]
        code = self.address(size) + [f"local.set {dst}"]
        if self.chance(0.3):  # overlapping: src = dst + a few elements either way
            code += [f"local.get {dst}", f"i32.const {size * self.rng.choice([-2, -1, 1, 2])}",
                     "i32.add", f"local.set {src}"]
        else:
            code += self.address(size) + [f"local.set {src}"]
        step = unroll * size
        src_step = -step if self.chance(0.1) else step
        step_first = self.chance(0.25)  # src steps before its loads (a later segment)
        added = self.chance(0.3)  # src + C through i32.add, as clang emits unrolled loads
        exit_first = self.chance(0.2)  # the exit is tested before the loads
        stepped = ptr = src
        if self.chance(0.3):  # loads through q = i + src; i steps, src stays
            stepped, ptr = self.scratch("i32"), self.scratch("i32")
            code += ["i32.const 0", f"local.set {stepped}"]
        code += [f"i32.const {self.rng.choice([1, 2, 3, 8, 17, 64])}", f"local.set {cnt}"]
        code += ["block", "loop"] if exit_first else ["loop"]
        if exit_first:
            code += [f"local.get {cnt}", "i32.eqz", "br_if 1"]
        if step_first:
            code += [f"local.get {stepped}", f"i32.const {src_step}", "i32.add",
                     f"local.set {stepped}"]
        if ptr != src:
            code += [f"local.get {stepped}", f"local.get {src}", "i32.add", f"local.set {ptr}"]
        if self.chance(0.25):  # the element before src, through i32.sub
            code += [f"local.get {ptr}", f"i32.const {self.rng.choice([size, 2 * size, 48])}",
                     "i32.sub", f"{t}.load", "drop"]

        def src_at(off: int) -> list[str]:
            if added and off:
                return [f"local.get {ptr}", f"i32.const {off}", "i32.add", f"{t}.load"]
            return [f"local.get {ptr}", f"{t}.load" + (f" offset={off}" if off else "")]
        for k in range(unroll):
            off = f" offset={k * size}" if k else ""
            code += [f"local.get {dst}", *src_at(k * size),
                     f"local.get {dst}", f"{t}.load{off}", op, f"{t}.store{off}"]
        if self.chance(0.5):
            code += src_at(unroll * size) + ["drop"]
        if self.chance(0.15):  # traps with a division by zero when the counter reaches k
            code += ["i32.const 1000", f"local.get {cnt}",
                     f"i32.const {self.rng.choice([1, 2, 5])}", "i32.sub", "i32.div_u", "drop"]
        code += [f"local.get {dst}", f"i32.const {step}", "i32.add", f"local.set {dst}"]
        if not step_first:  # (clang writes `i += 64` as `i - -64`: one byte shorter)
            code += [f"local.get {stepped}", f"i32.const {-src_step}", "i32.sub"] \
                if self.chance(0.3) else [f"local.get {stepped}", f"i32.const {src_step}", "i32.add"]
            code += [f"local.set {stepped}"]
        code += [f"local.get {cnt}", "i32.const 1", "i32.sub", f"local.tee {cnt}"]
        code += ["drop", "br 0", "end", "end"] if exit_first else ["br_if 0", "end"]
        return code

    def s_dispatch(self, d):
        """An interpreter's dispatch loop: a `br_table` over 8-20 handler blocks inside a loop,
        which wasmc lowers to a jump through a table of block addresses (control.lower_dispatch).
        The targets mix the handlers and the loop header itself; the index is random while the
        loop counter lasts, then out of range, so the default (the last handler) leaves the loop.
        Handlers run a statement or two, then re-enter the loop or fall into the next handler."""
        k = self.rng.randint(8, 20)
        targets = [str(j) for j in range(k + 1)] + \
            [str(self.rng.randrange(k + 1)) for _ in range(self.rng.randint(0, k))]
        self.rng.shuffle(targets)
        code = ["loop"] + ["block"] * k
        self.frames.append(Frame([], loop=True))
        self.frames += [Frame([]) for _ in range(k)]
        code += self.expr("i32", d) + ["i32.const 1000"] + self.fuel_check() + ["select"]
        code.append(f"br_table {' '.join(targets)} {k - 1}")
        for j in range(k):
            code.append("end")
            self.frames.pop()
            code += self.stmt(d)
            if j < k - 1 and self.chance(0.7):
                code.append(f"br {k - 1 - j}")
        self.frames.pop()
        return code + ["end"]

    def s_global(self, d):
        g = self.m.mutable_global()
        if g is None:
            return ["nop"]
        idx, t = g
        return self.expr(t, d) + [f"global.set {idx}"]

    def s_bulk(self, d):
        k = self.rng.choice(["fill", "copy", "grow"])
        if k == "grow":
            return self.e_grow("i32", d) + ["drop"]
        n = [self.rng.choice(["i32.const 0", "i32.const 1", "i32.const 16", "i32.const 65536"])]
        return self.address(1) + (self.address(1) if k == "copy" else self.expr("i32", d)) + n + \
            [f"memory.{k}"]

    def s_trap(self, d):
        if not self.chance(self.shape.trap_rate * 4):
            return ["nop"]
        what = self.rng.choice(["unreachable", f"call {self.m.trap_index}"])
        return self.expr("i32", d) + ["i32.const 7", "i32.and", "i32.eqz", "if", what, "end"]

    def s_table_set(self, d):
        n = self.shape.table_size
        i = self.rng.randint(0, n + 1) if self.chance(self.shape.trap_rate * 4) else self.rng.randrange(n)
        k = self.rng.choice(["set", "fill"])
        if k == "fill":
            return [f"i32.const {i}", "ref.null func", f"i32.const {self.rng.randint(0, 3)}", "table.fill 0"]
        f = self.m.first_defined + self.rng.randrange(self.m.leaves)
        return [f"i32.const {i}", f"ref.func {f}", "table.set 0"]

    # -- addresses ----------------------------------------------------------------------------------
    def address(self, size: int) -> list[str]:
        r = self.rng.random()
        if r < self.shape.trap_rate:  # anything at all
            return self.expr("i32", 1)
        if r < 0.45:
            return [f"i32.const {self.rng.randrange(0, 256)}"]
        if r < 0.7:  # near the current end of memory: memory.size * 64 KiB - k
            k = self.rng.choice([size, size + 1, 8, 16, 64, 100])
            return ["memory.size", "i32.const 16", "i32.shl", f"i32.const {k}", "i32.sub"]
        if r < 0.85:
            return self.pointer_address(size)
        return self.expr("i32", 1) + ["i32.const 0xfff8", "i32.and"]

    def pointer_address(self, size: int) -> list[str]:
        """A pointer kept in an i32 local and reused, bare or plus a constant: the `p`, `p + C`
        pattern whose add wasmc folds into the address once `p` is proven in bounds
        (compiler/lower/addressing.py).  The pointer is aimed near the end of memory, or just
        below 2^32 so that `p + C` wraps."""
        if self.pointer is None:
            self.pointer = self.scratch("i32")
        i = self.pointer
        form = self.rng.random()
        if form < 0.3:
            if self.chance(0.85):
                k = self.rng.choice([size, size + 8, 16, 24, 64])
                aim = ["memory.size", "i32.const 16", "i32.shl", f"i32.const {k}", "i32.sub"]
            else:
                aim = [f"i32.const {self.rng.choice([-4, -8, -16, -65536])}"]
            return aim + [f"local.tee {i}"]
        if form < 0.55:
            return [f"local.get {i}"]
        c = self.rng.choice([1, 4, 8, 16, 24, 65535, 65536, 65537])
        return [f"local.get {i}", f"i32.const {c}", "i32.add"]

    def memarg(self, name: str, size: int) -> str:
        offset = 0
        if self.chance(0.3):
            offset = self.rng.choice([1, 4, 8, 255, 4096, 65535])
        if self.chance(self.shape.trap_rate):
            offset = self.rng.choice([65536, 0x7FFFFFFF, 0xFFFFFFFF])
        align = self.rng.choice([a for a in (1, 2, 4, 8) if a <= size])
        return f"{name} offset={offset} align={align}"


class ModuleGen:
    """A whole module: imports (log per type, a trapping host call), memory, table, globals, funcs."""

    def __init__(self, rng: random.Random, shape: Shape):
        self.rng, self.shape = rng, shape
        self.log_index = {"i32": 0, "i64": 1, "f32": 2, "f64": 3}
        self.trap_index = 4
        self.first_defined = 5
        self.func_sigs: list[tuple[list[str], list[str]]] = []
        for _ in range(shape.funcs):
            params = [rng.choice(TYPES) for _ in range(rng.randint(0, 4))]
            results = [rng.choice(TYPES) for _ in range(rng.choice([0, 1, 1, 1, 2, 3]))]
            self.func_sigs.append((params, results))
        self.sigs = list(dict.fromkeys((tuple(p), tuple(r)) for p, r in self.func_sigs))
        self.sigs = [(list(p), list(r)) for p, r in self.sigs]
        self.globals = [(rng.choice(TYPES), rng.random() < 0.7) for _ in range(rng.randint(0, 4))]
        self.current = 0
        self.ref_global = len(self.globals)  # GC: the anyref global, after the numeric ones
        # Functions below `leaves` may sit in the table; only the others call_indirect, so the call
        # graph stays acyclic (direct calls go to lower indices).
        self.leaves = max(1, shape.funcs // 2)
        self.fill = [rng.randrange(self.leaves) for _ in range(shape.table_size - 2)]

    def sig_index(self, params, results) -> int:
        first = len(GC_TYPES) if GC[0] else 0  # the GC types come first
        return first + [(list(p), list(r)) for p, r in self.sigs].index((list(params), list(results)))

    def global_of(self, t: str) -> int | None:
        c = [i for i, (gt, _) in enumerate(self.globals) if gt == t]
        return self.rng.choice(c) if c else None

    def mutable_global(self) -> tuple[int, str] | None:
        c = [(i, gt) for i, (gt, mut) in enumerate(self.globals) if mut]
        return self.rng.choice(c) if c else None

    def callee_with_result_prefix(self, t: str, before: int):
        c = [(self.first_defined + i, s) for i, s in enumerate(self.func_sigs[:before]) if s[1][:1] == [t]]
        return self.rng.choice(c) if c else None

    def may_call_indirect(self) -> bool:
        return self.current >= self.leaves


    def text(self) -> str:
        sh = self.shape
        out = ["(module"]
        if GC[0]:
            out += ["  " + t for t in GC_TYPES]
        for p, r in self.sigs:
            out.append(f"  (type (func (param {' '.join(p)}) (result {' '.join(r)})))")
        for t in TYPES:
            out.append(f'  (import "env" "log_{t}" (func (param {t})))')
        out.append('  (import "env" "trap_host" (func))')
        if EXCEPTIONS[0]:
            out += [f"  (tag (param {' '.join(p)}))" for p in TAGS]
        mx = f" {sh.mem_max}" if sh.mem_max is not None else ""
        out.append(f'  (memory (export "memory") {sh.mem_pages}{mx})')
        out.append(f"  (table {sh.table_size} 20 funcref)")
        for i, (t, mut) in enumerate(self.globals):
            ty = f"(mut {t})" if mut else t
            out.append(f'  (global (export "g{i}") {ty} ({t}.const {self.rng.choice(CONSTS[t])}))')
        if GC[0]:
            out.append("  (global (mut anyref) (struct.new $box (i32.const 1) (i64.const 2) "
                       "(array.new_fixed $refs 1 (ref.i31 (i32.const 3)))))")
        data = "".join(f"\\{self.rng.getrandbits(8):02x}" for _ in range(64))
        if sh.mem_pages:
            out.append(f'  (data (i32.const 0) "{data}")')
        fill = " ".join(str(self.first_defined + f) for f in self.fill)
        out.append(f"  (elem (i32.const 1) func {fill})")
        out.append(f"  (elem declare func {' '.join(str(self.first_defined + i) for i in range(sh.funcs))})")
        for i, (params, results) in enumerate(self.func_sigs):
            self.current = i
            fg = FuncGen(self, params, results)
            body = fg.body([], results, sh.depth)
            fuel = fg.fuel
            init = [] if fuel is None else [f"i32.const {self.rng.choice([3, 10, 100])}", f"local.set {fuel}"]
            for k, r in enumerate(fg.refs[:-1]):  # GC: objects in the ref locals from the start,
                v = self.rng.randrange(1000)       # which later allocations must not free
                init += [f"i32.const {v}", "i32.const 4", "array.new $vec", f"local.set {r}"] \
                    if k % 2 else [f"i32.const {v}", f"i64.const {v}", "ref.null any",
                                   "struct.new $box", f"local.set {r}"]
            ps = f"(param {' '.join(params)}) " if params else ""
            rs = f"(result {' '.join(results)})" if results else ""
            ls = f"(local {' '.join(fg.locals)})" if fg.locals else ""
            out.append(f'  (func (export "f{i}") {ps}{rs} {ls}')
            out += ["    " + ins for ins in init + body]
            out.append("  )")
        out.append(")")
        return "\n".join(out)


def random_shape(rng: random.Random) -> Shape:
    return Shape(funcs=rng.randint(2, 8), depth=rng.randint(2, 5), mem_pages=rng.choice([0, 1, 1, 2]),
                 mem_max=rng.choice([None, 2, 4, 16]), table_size=rng.randint(2, 8),
                 trap_rate=rng.choice([0.0, 0.02, 0.05, 0.15]))


def generate_wat(seed: int) -> str:
    rng = random.Random(seed)
    return ModuleGen(rng, random_shape(rng)).text()


def generate(seed: int) -> bytes:
    import wasmtime

    return wasmtime.wat2wasm(generate_wat(seed))
