"""Address facts: what earlier accesses in a function prove about later ones.

Strategy.  Linear memory never shrinks, so an access that completed at address `x` (offset `off`,
width `w`) proves `zext(x) + off + w <= memory size` for the rest of the code it dominates.  The
lowering tracks, per straight-line region, the largest such end `e` for each address *value*:

* **No wrap, so fold the add.**  Clang emits `i32.add p, C` before an access whenever it cannot
  prove the 32-bit sum does not wrap (pointer increments, unrolled loops).  Wasm's add wraps, so
  the address is `base + zext(p + C)`, which hides from LLVM that it is `C` bytes after `p`: loops
  do not vectorise and every access pays its own add and zero-extension.  When `p` was accessed
  with end `e`, `p + C` cannot wrap if `C < e` (the memory is at most 4 GiB), or if `C < e + 64 KiB`
  when the memory stays below 4 GiB - 64 KiB.  Then the address is `base + zext(p) + C + off`,
  exactly equal.  The second case ("wide folds") is allowed only when memory 0 is the module's own
  and starts below 65536 pages; a partition that uses one defines `wasmc_wide_address_folds`, and
  the runtime then refuses to grow that memory to the last page (an implementation limit that
  `memory.grow` is allowed to have).
* **Covered loads need no witness.**  A load whose bytes lie below an earlier access's end at the
  same address value cannot trap, so it does not feed the load witness (function.py).

Soundness under LLVM's freedom to move or delete the earlier access: a folded address is exact
whenever the Wasm program would reach it; if the program would have trapped earlier and that
access was moved or deleted, a wrapping `p + C` lands at `base + 2^32 + small`, inside the guard
reservation (which covers `2 * 4 GiB + 64 KiB` for this), so it still traps with the same kind.

Values are keyed by identity; `local.get` results share the key of the value last stored to the
local, so facts flow through locals.  A region ends where control flow merges (`loop` headers,
`else`, and an `end` reached by a branch), and everything is forgotten there: the facts stay
dominating without any dominator tree.
"""

from __future__ import annotations

from . import irbuild as ir

MAX_FOLD = 1 << 16  # largest folded constant: bounded by the guard reservation's slack
WIDE_FOLD_SYMBOL = "wasmc_wide_address_folds"


class AddressFacts:
    __slots__ = ("facts", "key_locals", "keys", "local_keys", "next_key", "provenance", "tracks",
                 "wide_ok", "wide_used")

    def __init__(self, wide_ok: bool):
        self.tracks = True  # effective_address asks questions (not at -O0: NoAddressFacts)
        self.wide_ok = wide_ok  # may fold with C >= e (memory capped below 4 GiB - 64 KiB)
        self.wide_used = False
        self.next_key = 0
        self.reset()

    def reset(self) -> None:
        """A control-flow merge: nothing learnt before it is known to dominate what follows."""
        self.keys: dict[int, tuple[ir.Value, int]] = {}  # id(value) -> (value kept alive, key)
        self.local_keys: dict[int, int] = {}  # local index -> key of its current value
        self.key_locals: dict[int, int] = {}  # key -> a local that held it (local_root)
        self.provenance: dict[int, tuple[ir.Value, int]] = {}  # key -> (root value, constant)
        self.facts: dict[int, int] = {}  # key -> largest proven access end (offset + width)

    def key(self, v: ir.Value) -> int:
        entry = self.keys.get(id(v))
        if entry is not None and entry[0] is v:
            return entry[1]
        self.next_key += 1
        self.keys[id(v)] = (v, self.next_key)
        return self.next_key

    # --- hooks from the instruction handlers -----------------------------------------------------
    def local_get(self, index: int, v: ir.Value) -> None:
        k = self.local_keys.get(index)
        if k is None:
            k = self.local_keys[index] = self.key(v)
            self.key_locals[k] = index
        else:
            self.keys[id(v)] = (v, k)

    def local_set(self, index: int, v: ir.Value) -> None:
        k = self.local_keys[index] = self.key(v)
        self.key_locals.setdefault(k, index)

    def local_root(self, addr: ir.Value) -> int | None:
        """The local an address value was read from (or stored to), if any: the pointer it
        walks, for grouping a loop's accesses by pointer (FunctionLowerer.loop_base)."""
        return self.key_locals.get(self.key(addr))

    def i32_add(self, result: ir.Value, x: ir.Value, y: ir.Value) -> None:
        """Remember `result = x + C` (either operand constant) for folding at an access."""
        if isinstance(y, ir.Constant):
            base, c = x, y.constant
        elif isinstance(x, ir.Constant):
            base, c = y, x.constant
        else:
            return
        if isinstance(base, ir.Constant) or not 0 < c <= MAX_FOLD:
            return
        prov = self.provenance.get(self.key(base))
        if prov is not None and prov[1] + c <= MAX_FOLD:
            base, c = prov[0], prov[1] + c  # (p + C1) + C2: fold both, from p
        self.provenance[self.key(result)] = (base, c)

    def access(self, addr: ir.Value, offset: int, width: int) -> tuple[ir.Value, int, bool]:
        """For an access of `width` bytes at `addr + offset`: the (i32 value, 64-bit constant)
        to address it by, and whether earlier accesses prove it in bounds.  Records the fact."""
        k = self.key(addr)
        end = offset + width
        covered = self.facts.get(k, 0) >= end
        if not covered:
            self.facts[k] = end
        prov = self.provenance.get(k)
        if prov is None:
            return addr, offset, covered
        root, c = prov
        rk = self.key(root)
        e = self.facts.get(rk, 0)
        if e == 0:
            return addr, offset, covered
        if c >= e:
            if not self.wide_ok:
                return addr, offset, covered
            self.wide_used = True
        covered = covered or e >= c + end
        if e < c + end:
            self.facts[rk] = c + end
        return root, c + offset, covered


class NoAddressFacts(AddressFacts):
    """At -O0 facts buy nothing: a witnessed load costs no more than a covered one (both are one
    machine load; witness.py), and a folded `p + C` saves an add the code generator would emit
    anyway, unoptimised.  Tracking them took 8% of the -O0 lowering of QuickJS and of a module
    of small functions.  The hooks do nothing; effective_address asks no questions (`tracks`)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(False)
        self.tracks = False

    def reset(self) -> None:
        pass

    def local_get(self, index: int, v: ir.Value) -> None:
        pass

    def local_set(self, index: int, v: ir.Value) -> None:
        pass

    def i32_add(self, result: ir.Value, x: ir.Value, y: ir.Value) -> None:
        pass
