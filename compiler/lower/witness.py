"""How a linear-memory load is kept alive: a register use, a volatile load, or a sum (the load
witness).

With guard pages a Wasm load traps by faulting, but LLVM sees a load without side effects: one
whose value ends up unused is deleted, or sunk into the one branch that uses it, and its trap goes
with it.  So every load that may trap is given a use LLVM cannot remove, or made volatile:

* **Register use** (the default): right after the load, an empty `asm sideeffect` takes the value
  in a register.  It emits no instruction; it declares that it touches only memory no IR can see
  (`memory(inaccessiblemem: readwrite)`), so loads and stores of linear memory still move, merge
  and hoist around it, and `willreturn`, so code after it still counts as reached.  LLVM never
  deletes such an asm, and a use in the load's own block keeps the load from sinking.
  (`llvm.fake.use` looks made for this, but LLVM drops it, and the load, once the value is
  otherwise dead: a dead load inlined into a caller lost its trap in the test that tried it.)

* **Volatile** (at -O0): the load itself is `volatile`, which no code generator deletes.  At -O0
  LLVM selects instructions with FastISel, which cannot select an asm with operands: each such
  asm went to SelectionDAG on its own (QuickJS's -O0 code generation: 0.97 s with them, 0.75 s
  without).  No optimisation runs at -O0, so nothing is lost that the register use keeps at
  higher levels (loads that still move and merge).  Optimised code keeps the register use:
  volatile loads cost instructions there (session 9, README) and met an LLVM bug in x86's
  cmov-to-branch pass (llvm/llvm-project#219814), a pass that does not run at -O0.

* **Sum** (in loops the loop vectoriser may take; never at -O0, where nothing vectorises): the
  value is added into a per-function sum that leaves through every exit into
  `instance->load_witness` (function.py).  An asm call in a loop body stops LLVM's vectoriser; an
  add is a reduction it vectorises.  But a sum is a loop-carried chain, and in loops that cannot
  vectorise anyway (an interpreter's dispatch loop) it costs 30-40% of the run time, which is why
  it is kept to `summed_loops`.

* **Range** (in those loops, for loads through a pointer the loop steps by a constant, at `p`,
  `p + C` or `p - C`): no use of the value at all.  The addresses such a load reads form an
  arithmetic sequence, so whether any was out of bounds is decided by the last: the load records
  where it ended, from a 64-bit copy of the pointer that cannot wrap, and every exit that would
  flush the sum traps if a recorded end lies past the memory (SummedLoop,
  FunctionLowerer.finish_range).  LLVM may then delete the load: the check stands for it.  Even a
  vectorisable reduction costs a vectorised loop dearly when its loads are interleaved (a loop
  clang unrolled: the sum wants the even and odd elements apart, about 20 shuffles per vector
  iteration in matmul), and a range witness costs one compare per exit; so a loop takes range
  witnesses only if they replace its sum entirely.

`summed_loops` is a heuristic for "LLVM may vectorise this": an innermost loop with exactly one
exit, no calls or `br_table` (the vectoriser needs a single exit and no calls it cannot widen), and
no exit or back edge taken on a condition computed from a load, by `br_if` or inside an `if`
(`while (*p)`, `p = p->next`, a heap's sift-down: the trip count is not computable, so it cannot
vectorise either).
Either choice is exact for loops that end; only speed depends on it.  A summed load in a loop that
never ends is the one case still lost (its sum only leaves through the loop's exit), which is why
a loop without any exit is never summed.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from . import irbuild as ir
from . import types as T

# Instructions that become calls (to Wasm functions or to the runtime) inside a loop body.
_CALL_LIKE = frozenset(("call", "call_indirect", "return_call", "return_call_indirect",
                        "memory.grow", "memory.init", "data.drop", "table.get", "table.set",
                        "table.grow", "table.fill", "table.copy", "table.init", "elem.drop"))
_NO_FALLTHROUGH = frozenset(("br", "br_table", "return", "unreachable", "return_call",
                             "return_call_indirect"))


_SLICE_LIMIT = 64  # instructions looked at behind a branch for its condition's loads
_ARITY = {"local.get": (0, 1), "local.set": (1, 0), "local.tee": (1, 1), "global.get": (0, 1),
          "global.set": (1, 0), "select": (3, 1), "drop": (1, 0), "nop": (0, 0)}


def _arity(op) -> tuple[int, int] | None:
    """(values popped, values pushed) of a straight-line instruction; None if not known here."""
    if op.sig is not None:
        params, results = op.sig.split(":")
        return len(params), len(results)
    return _ARITY.get(op.name)


def _condition_loads(body, i: int, loaded: AbstractSet[int] = frozenset()) -> bool:
    """Whether the value popped by `body[i]` (a branch's condition) is computed, on the value stack
    and within a few instructions before it, from a linear-memory load or from a local in
    `loaded` (locals last set to such a value); unknown counts as no."""
    need = 1
    for j in range(i - 1, max(i - 1 - _SLICE_LIMIT, -1), -1):
        op = body[j][0]
        if op.mem_bytes and ".load" in op.name:
            return True
        if op.name == "local.get" and body[j][1] in loaded:
            return True
        ar = _arity(op)
        if ar is None:
            return False
        need += ar[0] - ar[1]
        if need <= 0:
            return False
    return False


_LOAD_IF = "if-on-a-load"  # summed_loops: an open `if` whose condition is computed from a load
MAX_STEP = 1 << 16  # largest pointer step a range witness accepts (see SummedLoop)


class SummedLoop:
    """What the lowering needs to know about a loop whose loads are summed.

    `induction`: the locals the loop body sets (among them the pointers it walks).

    `steps`, `range_loads` and `groups` allow a cheaper witness than the sum, the *range witness*
    (FunctionLowerer.finish_range).  `steps` maps each pointer local `p` that the loop sets exactly
    once, as `p = p + s` (0 < s <= 64 KiB), at its top level and before any branch back to its
    header, and that such a load reads through (`p`, `p + C` or `p - C`), to `s`; `range_loads`
    maps the `id()` of each load at the loop's top level before any such branch to its *region*,
    the number of things before it that can leave the iteration (a branch out of the loop or back
    to its header, a trap other than a memory access's), so that the loads of one region run
    together in every iteration that runs any of them; `groups` counts the (pointer, stepped yet,
    region) combinations those loads read through, one range slot each.  Each iteration that
    reaches such a load has run `p`'s update exactly once since the previous one did, so the
    addresses one such load reads through `p` form an arithmetic sequence, and whether any of them
    was out of bounds is decided by the last one alone -- as long as the sequence does not wrap
    around 2^32, which the lowering tracks in a 64-bit copy of `p`.

    A *derived* pointer counts as stepped too: a local `p` whose first set in the loop, at its top
    level and before any branch back, is `p = i + b`, where `i` is a stepped local (set once) and
    `b` a local the loop never sets (clang's vectorised loops address `i + base`).  The values
    that definition gives form the same arithmetic sequence as `i`'s; `p`'s value on entry, or
    after a later set (clang reuses locals), is not one of them, so the lowering follows the
    definition's value, not the local (FunctionLowerer.stepped_local).  `derived` maps `p` to
    (`i`, `b`, whether `i`'s step comes before `p`'s definition) and `steps[p]` is `i`'s step."""

    __slots__ = ("derived", "groups", "induction", "range_loads", "steps")

    def __init__(self, induction: set[int], steps: dict[int, int], range_loads: dict[int, int],
                 groups: int, derived: dict[int, tuple[int, int, bool]]):
        self.induction = induction
        self.steps = steps
        self.range_loads = range_loads
        self.groups = groups
        self.derived = derived


class _OpenLoop:
    __slots__ = (
        "addressed",
        "continued",
        "defs",
        "exits",
        "induction",
        "innermost",
        "instr",
        "loaded",
        "range_loads",
        "region",
        "set_counts",
        "steps",
    )

    def __init__(self, instr: Any) -> None:
        self.instr = instr
        self.innermost = True  # no loop inside it, no call, no br_table, no loaded exit
        self.exits = 0  # branches out of it
        self.induction: set[int] = set()  # locals set in it
        self.loaded: set[int] = set()  # locals it last set (in program order) from a load
        self.set_counts: dict[int, int] = {}
        self.steps: dict[int, int] = {}  # `p = p + s` at its top level, before `continued`
        self.defs: dict[int, tuple[int, int, bool]] = {}  # `p = i + b` there (SummedLoop.derived)
        self.range_loads: dict[int, int] = {}  # loads at its top level, before `continued`
        self.addressed: set[tuple[int, bool, int]] = set()  # (pointer, stepped before, region)
        self.continued = False  # a branch back to its header has been seen
        self.region = 0  # things seen so far that can leave the iteration


def _step(body, i: int, local: int) -> int:
    """`s` if body[i - 3:i] computes `local + s` (either operand order) or `local - (-s)` (as
    clang writes `+ 64`: its constant is one byte shorter) for `local.set`/`tee` body[i], with
    0 < s <= MAX_STEP; else 0."""
    if i < 3 or body[i - 1][0].name not in ("i32.add", "i32.sub"):
        return 0
    a, c = body[i - 3], body[i - 2]
    if a[0].name == "i32.const" and body[i - 1][0].name == "i32.add":
        a, c = c, a
    if a[0].name != "local.get" or a[1] != local or c[0].name != "i32.const":
        return 0
    s = c[1] if body[i - 1][0].name == "i32.add" else -c[1]
    return s if 0 < s <= MAX_STEP else 0


def _sum_of_locals(body, i: int) -> tuple[int, int] | None:
    """(x, y) if body[i - 3:i] is `local.get x; local.get y; i32.add`, else None."""
    if i < 3 or body[i - 1][0].name != "i32.add":
        return None
    a, c = body[i - 3], body[i - 2]
    if a[0].name != "local.get" or c[0].name != "local.get":
        return None
    return a[1], c[1]


def _address_local(body, i: int) -> int | None:
    """The local `p` if the load body[i] reads through `p`, `p + C` or `p - C` (the forms a range
    witness takes; `p` read by `local.get` or just set by `local.tee`), else None."""
    a = body[i - 1]
    if a[0].name in ("i32.add", "i32.sub") and i >= 3 and body[i - 2][0].name == "i32.const":
        a = body[i - 3]
    return a[1] if a[0].name in ("local.get", "local.tee") else None


_TRAPS = ("div_s", "div_u", "rem_s", "rem_u")  # and i32/i64.trunc_f*: numeric instructions that trap


def _may_trap(name: str) -> bool:
    """A trap other than a memory access's (whose kind the range check shares)."""
    return name.endswith(_TRAPS) or (".trunc_f" in name and "_sat" not in name) \
        or name == "unreachable"


def summed_loops(body) -> dict[int, SummedLoop]:
    """The loops in `body` (by the `id()` of their `loop` instruction) whose loads are witnessed
    by a sum (see the module docstring)."""
    out: dict[int, SummedLoop] = {}
    # One entry per open construct: None for block/if/the function, _LOAD_IF for an `if` on a
    # load, else (a loop) its _OpenLoop.
    stack: list = [None]
    loops: list[int] = []  # stack positions of the open loops
    prev = ""
    for i, ins in enumerate(body):
        name = ins[0].name
        if name == "loop":
            if loops:
                stack[loops[-1]].innermost = False
            loops.append(len(stack))
            stack.append(_OpenLoop(ins))
        elif name == "block" or name == "try_table" or name == "try":
            stack.append(None)
        elif name == "if":
            stack.append(_LOAD_IF if loops and _condition_loads(body, i, stack[loops[-1]].loaded)
                         else None)
        elif name == "end" or name == "delegate":  # (a delegate ends its try)
            top = stack.pop()
            if top.__class__ is _OpenLoop:
                loops.pop()
                exits = top.exits + (prev not in _NO_FALLTHROUGH)
                if top.innermost and exits == 1:  # no exit: it runs forever, and cannot vectorise
                    derived = _derived(top)
                    groups = {g for g in top.addressed if (g[0] in derived and g[1]) or (
                        g[0] in top.steps and top.set_counts.get(g[0]) == 1)}
                    steps = {g[0]: top.steps[derived[g[0]][0] if g[0] in derived else g[0]]
                             for g in groups}
                    out[id(top.instr)] = SummedLoop(
                        top.induction, steps, top.range_loads if steps else {}, len(groups),
                        {p: d for p, d in derived.items() if p in steps})
        elif loops:
            inner = stack[loops[-1]]
            top_level = len(stack) - 1 == loops[-1]
            if name in ("br", "br_if"):
                target = len(stack) - 1 - ins[1]
                if target < loops[-1]:  # a branch out of the loop
                    inner.exits += 1
                    inner.region += 1
                elif target == loops[-1]:
                    inner.continued = True
                    inner.region += 1
                if target <= loops[-1] and (
                        (name == "br_if" and _condition_loads(body, i, inner.loaded))
                        or _LOAD_IF in stack[loops[-1] + 1:]):
                    inner.innermost = False  # its trip count depends on memory
            elif name in ("local.set", "local.tee"):
                local = ins[1]
                inner.induction.add(local)
                first = local not in inner.set_counts
                inner.set_counts[local] = inner.set_counts.get(local, 0) + 1
                if top_level and not inner.continued:
                    s = _step(body, i, local)
                    if s:
                        inner.steps[local] = s
                    xy = _sum_of_locals(body, i) if first else None
                    if xy and local not in xy:
                        inner.defs[local] = (*xy, xy[0] in inner.steps or xy[1] in inner.steps)
                if _condition_loads(body, i, inner.loaded):
                    inner.loaded.add(local)
                else:
                    inner.loaded.discard(local)
            elif name in _CALL_LIKE or name in ("br_table", "return"):
                inner.innermost = False
            elif top_level and not inner.continued and ins[0].mem_bytes and ".load" in name:
                inner.range_loads[id(ins)] = inner.region
                p = _address_local(body, i)
                if p is not None:
                    inner.addressed.add((p, p in inner.steps or p in inner.defs, inner.region))
            elif _may_trap(name):
                inner.region += 1
        prev = name
    return out


def _derived(top: _OpenLoop) -> dict[int, tuple[int, int, bool]]:
    """The loop's derived pointers (SummedLoop): p -> (i, b, i stepped before p is set)."""
    out = {}
    for p, (x, y, before) in top.defs.items():
        for i, b in ((x, y), (y, x)):
            if i in top.steps and top.set_counts.get(i) == 1 and b not in top.induction:
                out[p] = (i, b, before)
                break
    return out


_ASM_ATTRS = ("nounwind", "willreturn", "memory(inaccessiblemem: readwrite)")
_KEEP: dict = {}  # value type -> its empty asm callee (one per type, shared by every load)


def keep_alive(b: ir.IRBuilder, v: Any, volatile: bool = False) -> None:
    """Give the load `v`, just built by `b`, a use LLVM cannot delete, or (`volatile`, at -O0)
    make it volatile (see the docstring)."""
    if volatile:
        v.volatile = True
        return
    t = v.type
    if isinstance(t, ir.VectorType) and t.count * t.element.width == 64:
        v = b.bitcast(v, T.I64)  # v128.load8x8_s and friends: a 64-bit vector
        t = T.I64
    asm = _KEEP.get(t)
    if asm is None:
        constraint = "r" if isinstance(t, ir.IntType) else "x"  # f32, f64, v128: an SSE register
        asm = _KEEP[t] = ir.InlineAsm(ir.FunctionType(T.VOID, [t]), "", constraint, True)
    b.call(asm, [v], attrs=_ASM_ATTRS)
