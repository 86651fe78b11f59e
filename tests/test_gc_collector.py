"""The GC collector (runtime_c/gc.c): every place a reference can live keeps its object through
collections, garbage is freed, and the host's references stay valid.

Most checks run with WASMC_GC_STRESS=1 (a collection before every allocation, freed objects
poisoned), so a reference the generated code or the runtime failed to root shows as a wrong
result or a crash, and compare with wasmtime.  Roots exercised: locals and operand-stack values
across calls (recursion keeps many frames linked), a call's own arguments, globals, tables,
passive element segments, fields of live objects, an `any` kept as an externref, exception
payloads, and frames left by a throw, a trap or a tail call (whose links must be undone).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.engines import Call

FEATURES = {"wasm_function_references": True, "wasm_gc": True, "wasm_exceptions": True,
            "wasm_tail_call": True}

ROOTS_WAT = """(module
  (type $box (struct (field $v (mut i32))))
  (type $pair (struct (field $l (ref null $box)) (field $r (mut anyref))))
  (type $boxes (array (mut (ref null $box))))
  (type $bytes (array (mut i8)))
  (type $anys (array (mut anyref)))
  (tag $carry (param (ref $box) i32))
  (global $kept (mut anyref) (ref.null any))
  (global $outside (mut externref) (ref.null extern))
  (table $slots 4 anyref)
  (elem $seg anyref (struct.new $box (i32.const 41)) (array.new $bytes (i32.const 7) (i32.const 9)))

  (func $new (param i32) (result (ref $box)) (struct.new $box (local.get 0)))
  (func $churn (param $n i32)  ;; garbage: collections (in stress mode, one per allocation)
    (loop $l (drop (array.new_default $bytes (i32.const 100)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func $v (param anyref) (result i32) (struct.get $box $v (ref.cast (ref $box) (local.get 0))))

  ;; a local, and a value on the operand stack, across allocating calls
  (func (export "locals") (param i32) (result i32) (local $b (ref null $box))
    (local.set $b (call $new (local.get 0)))
    (i32.add (struct.get $box $v (call $new (i32.const 1000)))  ;; stays on the stack ...
      (block (result i32) (call $churn (i32.const 10))           ;; ... across these
        (i32.add (struct.get $box $v (local.get $b))
                 (struct.get $box $v (call $new (i32.const 7)))))))
  ;; a call's arguments, built by allocations after the first
  (func $sum3 (param (ref $box) (ref $box) (ref $box)) (result i32)
    (call $churn (i32.const 5))
    (i32.add (struct.get $box $v (local.get 0))
      (i32.add (struct.get $box $v (local.get 1)) (struct.get $box $v (local.get 2)))))
  (func (export "args") (result i32)
    (call $sum3 (call $new (i32.const 1)) (call $new (i32.const 2)) (call $new (i32.const 3))))
  ;; recursion: every level holds its own box in a local while deeper levels allocate
  (func $deep (export "deep") (param $n i32) (result i32) (local $b (ref null $box))
    (local.set $b (call $new (local.get $n)))
    (call $churn (i32.const 2))
    (if (result i32) (local.get $n)
      (then (i32.add (struct.get $box $v (local.get $b))
                     (call $deep (i32.sub (local.get $n) (i32.const 1)))))
      (else (struct.get $box $v (local.get $b)))))
  ;; globals, tables and an `any` made extern
  (func (export "store") (param i32)
    (global.set $kept (call $new (local.get 0)))
    (table.set $slots (i32.const 2) (call $new (i32.add (local.get 0) (i32.const 1))))
    (global.set $outside (extern.convert_any (call $new (i32.add (local.get 0) (i32.const 2))))))
  (func (export "load") (result i32)
    (call $churn (i32.const 20))
    (i32.add (call $v (global.get $kept))
      (i32.add (call $v (table.get $slots (i32.const 2)))
               (call $v (any.convert_extern (global.get $outside))))))
  ;; fields of live objects: a pair holds boxes, an array holds boxes
  (func (export "fields") (result i32) (local $p (ref null $pair)) (local $a (ref null $boxes))
    (local.set $p (struct.new $pair (call $new (i32.const 10)) (call $new (i32.const 20))))
    (local.set $a (array.new_default $boxes (i32.const 3)))
    (array.set $boxes (local.get $a) (i32.const 1) (call $new (i32.const 30)))
    (call $churn (i32.const 20))
    (i32.add (struct.get $box $v (struct.get $pair $l (local.get $p)))
      (i32.add (call $v (struct.get $pair $r (local.get $p)))
               (struct.get $box $v (array.get $boxes (local.get $a) (i32.const 1))))))
  ;; a passive segment's items, materialised at instantiation, copied out late
  (func (export "segment") (result i32)
    (call $churn (i32.const 20))
    (call $v (array.get $anys (array.new_elem $anys $seg (i32.const 0) (i32.const 2))
                          (i32.const 0))))
  ;; a throw's payload; the frames the throw unwound must be unlinked before the handler allocates
  (func $thrower (param $n i32) (local $b (ref null $box))
    (local.set $b (call $new (local.get $n)))
    (call $churn (i32.const 3))
    (if (local.get $n) (then (call $thrower (i32.sub (local.get $n) (i32.const 1)))))
    (throw $carry (ref.as_non_null (local.get $b)) (i32.const 5)))
  (func (export "catch") (param i32) (result i32) (local $k i32)
    (block $h (result (ref $box) i32)
      (try_table (catch $carry $h) (call $thrower (local.get 0)))
      (return (i32.const -1)))
    (local.set $k)
    (call $churn (i32.const 30))  ;; the caught box stays on the operand stack across this
    (struct.get $box $v)
    (i32.add (local.get $k))
    (i32.add (struct.get $box $v (call $new (i32.const 100)))))
  ;; a trap deep in calls leaves their frames linked: the next call must not see them
  (func $trapper (param $n i32) (local $b (ref null $box))
    (local.set $b (call $new (local.get $n)))
    (if (local.get $n) (then (call $trapper (i32.sub (local.get $n) (i32.const 1)))))
    (unreachable))
  (func (export "trap") (param i32) (call $trapper (local.get 0)))
  ;; tail calls unlink the caller's frame; the callee roots its parameters
  (func $tail (param $b (ref $box)) (param $n i32) (result i32)
    (call $churn (i32.const 1))
    (if (result i32) (local.get $n)
      (then (return_call $tail (call $new (i32.add (struct.get $box $v (local.get $b))
                                                   (local.get $n)))
                               (i32.sub (local.get $n) (i32.const 1))))
      (else (struct.get $box $v (local.get $b)))))
  (func (export "tail") (param i32) (result i32) (return_call $tail (call $new (i32.const 0))
                                                               (local.get 0))))"""

PLAN = [Call("locals", [5]), Call("args", []), Call("deep", [200]), Call("store", [50]),
        Call("load", []), Call("fields", []), Call("segment", []), Call("catch", [30]),
        Call("locals", [6]), Call("tail", [300]), Call("load", [])]


@pytest.mark.parametrize("opt", ["0", "2"])
def test_roots_survive_collections(opt, matches_wasmtime, monkeypatch):
    monkeypatch.setenv("WASMC_GC_STRESS", "1")
    matches_wasmtime(ROOTS_WAT, PLAN, FEATURES, opt=opt)


def test_frames_unlinked_after_a_trap(matches_wasmtime, monkeypatch):
    """A trap leaves 20 frames' root links behind; wasmc_rt_protected restores the chain, so the
    collections of the next calls (here in the same instance, embedding mode) scan live frames
    only."""
    monkeypatch.setenv("WASMC_GC_STRESS", "1")
    matches_wasmtime(ROOTS_WAT, [Call("trap", [20]), Call("deep", [50]), Call("catch", [10])],
                     FEATURES, state_after_trap=False)


CHURN_WAT = """(module
  (type $node (struct (field $v i64) (field $next (ref null $node))))
  (type $buf (array (mut i64)))
  (type $ring (array (mut (ref null $buf))))
  (func $run (export "run") (param $n i32) (result i64)
    (local $ring (ref null $ring)) (local $list (ref null $node)) (local $b (ref null $buf))
    (local $i i32) (local $sum i64)
    (local.set $ring (array.new $ring (array.new_default $buf (i32.const 256)) (i32.const 64)))
    (loop $l
      ;; a 2 KiB buffer, kept for 64 iterations, then garbage
      (local.set $b (array.new $buf (i64.extend_i32_u (local.get $i)) (i32.const 256)))
      (array.set $ring (local.get $ring) (i32.and (local.get $i) (i32.const 63)) (local.get $b))
      ;; a list of the last 100 values (older nodes become garbage)
      (local.set $list (struct.new $node (i64.extend_i32_u (local.get $i))
        (if (result (ref null $node)) (i32.rem_u (local.get $i) (i32.const 100))
          (then (local.get $list)) (else (ref.null $node)))))
      (local.set $sum (i64.add (local.get $sum)
        (i64.add (struct.get $node $v (local.get $list))
          (array.get $buf (ref.as_non_null (array.get $ring (local.get $ring)
            (i32.and (i32.add (local.get $i) (i32.const 1)) (i32.const 63))))
            (i32.const 255)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (local.get $sum))
  (func (export "_start")
    (if (i64.ne (call $run (i32.const N)) (i64.const EXPECTED)) (then (unreachable)))))"""


def checked_executable(build_exe, tmp_path, template: str, n: int, **features) -> Path:
    """`template` (a module whose `_start` traps unless `run(N)` is EXPECTED) built at -O2, with
    N = n and EXPECTED what wasmtime's `run(n)` returns."""
    cfg = wasmtime.Config()
    for name, on in features.items():
        setattr(cfg, name, on)
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    wat = template.replace("(i32.const N)", f"(i32.const {n})")
    inst = wasmtime.Instance(store, wasmtime.Module(engine, wat.replace("EXPECTED", "0")), [])
    src = tmp_path / "checked.wat"
    src.write_text(wat.replace("EXPECTED", str(inst.exports(store)["run"](store, n))))
    return build_exe(src, "-O2")


def exit_status_and_peak_rss(exe: Path) -> tuple[int, int]:
    """Run `exe` from a fresh Python whose only child it is, so that the children's ru_maxrss is
    the executable's alone (the compiler's processes are not counted): (status, KiB)."""
    probe = ("import resource, subprocess, sys; r = subprocess.run([sys.argv[1]]).returncode; "
             "print(r, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, str(exe)], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]), int(out[1])


def test_garbage_is_collected_in_an_executable(build_exe, tmp_path):
    """1,000,000 iterations allocate about 2 GiB (2 KiB buffers, list nodes) with under 1 MiB
    live at any time: the executable computes wasmtime's sum, and its peak RSS stays far below
    what it allocated."""
    exe = checked_executable(build_exe, tmp_path, CHURN_WAT, 1_000_000, wasm_gc=True,
                             wasm_function_references=True)
    status, peak_kib = exit_status_and_peak_rss(exe)
    assert status == 0
    assert peak_kib < 256 * 1024, f"peak RSS {peak_kib} KiB"


def test_host_references_stay_valid():
    """References handed to the host (results, global and table reads) are pinned: Python can
    pass them back after collections."""
    import wasmc
    from wasmc import runtime

    wat = """(module
      (type $box (struct (field i32)))
      (global $g (export "g") (mut anyref) (ref.null any))
      (func (export "make") (param i32) (result anyref) (struct.new $box (local.get 0)))
      (func (export "keep") (param i32) (global.set $g (struct.new $box (local.get 0))))
      (func (export "read") (param anyref) (result i32)
        (struct.get $box 0 (ref.cast (ref $box) (local.get 0))))
      (func (export "churn") (param $n i32)
        (loop $l (drop (struct.new $box (local.get $n)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"""
    inst = wasmc.load(wasmtime.wat2wasm(wat))
    made = [inst.exports["make"](i) for i in range(100)]
    inst.exports["keep"](777)
    from_global = inst.globals[0].value if hasattr(inst, "globals") else None
    inst.exports["keep"](0)  # the global no longer holds the 777 box: only Python does
    inst.exports["churn"](10_000)
    runtime.lib().wasmc_rt_gc_collect()
    assert [inst.exports["read"](r) for r in made] == list(range(100))
    if from_global is not None:
        assert inst.exports["read"](from_global) == 777


# --- exceptions are GC objects ----------------------------------------------------------------------
# A throw allocates (and so may collect), and an exception lives while an exnref reaches it.  The
# first module never names exnref in a declared type, so only the functions that catch by
# reference get root frames (function.holds_exceptions); the second keeps exnrefs in every place a
# declared type allows.

EXN_CHURN = """
  (func $churn (param $n i32)  ;; n exceptions thrown and caught: collections, under stress
    (loop $l
      (block $h (result i32) (try_table (catch $e $h) (throw $e (local.get $n))) (unreachable))
      (drop)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))"""

UNDECLARED_EXN_WAT = """(module
  (tag $e (param i32))""" + EXN_CHURN + """
  ;; an exception caught by reference stays on the operand stack across collections, then goes on
  (func $keep (param $x i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e (local.get $x)))
      (unreachable))
    (call $churn (i32.const 20))
    (throw_ref))
  (func $keep_two (param $x i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e (local.get $x)))
      (unreachable))
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e (i32.add (local.get $x) (i32.const 1))))
      (unreachable))
    (call $churn (i32.const 10))
    (drop)
    (throw_ref))
  (func (export "held") (param i32) (result i32)
    (block $c (result i32)
      (try_table (catch $e $c) (call $keep (local.get 0)))
      (i32.const -1)))
  (func (export "held_two") (param i32) (result i32)
    (block $c (result i32)
      (try_table (catch $e $c) (call $keep_two (local.get 0)))
      (i32.const -1))))"""

DECLARED_EXN_WAT = """(module
  (type $cell (struct (field exnref)))
  (tag $e (param i32))
  (tag $wrap (param exnref))
  (global $g (mut exnref) (ref.null exn))
  (table $t 2 exnref)""" + EXN_CHURN + """
  (func $make (param i32) (result exnref)
    (block $h (result exnref) (try_table (catch_all_ref $h) (throw $e (local.get 0))) (unreachable)))
  (func $payload (param exnref) (result i32)
    (block $c (result i32) (try_table (catch $e $c) (throw_ref (local.get 0))) (i32.const -1)))
  (func $unwrap (param exnref) (result exnref)
    (block $c (result exnref) (try_table (catch $wrap $c) (throw_ref (local.get 0))) (unreachable)))
  (func (export "local") (param i32) (result i32) (local $x exnref)
    (local.set $x (call $make (local.get 0)))
    (call $churn (i32.const 20))
    (call $payload (local.get $x)))
  (func (export "store") (param i32)
    (global.set $g (call $make (local.get 0)))
    (table.set $t (i32.const 1) (call $make (i32.add (local.get 0) (i32.const 1)))))
  (func (export "load") (result i32)
    (call $churn (i32.const 20))
    (i32.add (call $payload (global.get $g)) (call $payload (table.get $t (i32.const 1)))))
  ;; an exception reachable only through another one's payload
  (func (export "nested") (param i32) (result i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $wrap (call $make (local.get 0))))
      (unreachable))
    (call $churn (i32.const 20))
    (call $payload (call $unwrap)))
  ;; a throw's payload is rooted while the throw allocates: here it is in no local, and it is
  ;; not the exception in flight (the churn threw later ones)
  (func $make_late (param i32) (result exnref)
    (call $make (local.get 0))
    (call $churn (i32.const 3)))
  (func (export "nested_late") (param i32) (result i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $wrap (call $make_late (local.get 0))))
      (unreachable))
    (call $payload (call $unwrap)))
  ;; ... and through a struct's field
  (func (export "field") (param i32) (result i32) (local $c (ref null $cell))
    (local.set $c (struct.new $cell (call $make (local.get 0))))
    (call $churn (i32.const 20))
    (call $payload (struct.get $cell 0 (local.get $c)))))"""

EXN_PLANS = [
    (UNDECLARED_EXN_WAT, [Call("held", [7]), Call("held_two", [40]), Call("held", [9])]),
    (DECLARED_EXN_WAT, [Call("local", [3]), Call("store", [50]), Call("nested", [11]),
                        Call("load", []), Call("field", [13]), Call("nested_late", [17]),
                        Call("load", [])]),
]


@pytest.mark.parametrize("opt", ["0", "2"])
@pytest.mark.parametrize("case", range(len(EXN_PLANS)), ids=["undeclared", "declared"])
def test_exceptions_survive_collections(case, opt, matches_wasmtime, monkeypatch):
    """Exnrefs on the operand stack, in locals, globals, tables, fields and another exception's
    payload keep their exceptions through a collection at every throw (freed ones poisoned: a
    lost root shows as a wrong payload or an uncaught exception)."""
    monkeypatch.setenv("WASMC_GC_STRESS", "1")
    wat, plan = EXN_PLANS[case]
    matches_wasmtime(wat, plan, FEATURES, opt=opt)


LEGACY_RETHROW_WAT = """(module
  (tag $e (param i32))
  (func $churn (param $n i32)  ;; EXN_CHURN in legacy instructions (wabt cannot read try_table)
    (loop $l
      (try (do (throw $e (local.get $n))) (catch $e (drop)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; a legacy catch keeps its exception for `rethrow` across collections
  (func $again (param $n i32) (result i32)
    (try (result i32)
      (do (try (result i32)
            (do (throw $e (local.get $n)))
            (catch_all (call $churn (i32.const 20)) (rethrow 0))))
      (catch $e)))
  (func (export "_start")
    (if (i32.ne (call $again (i32.const 1000)) (i32.const 1000)) (then (unreachable)))))"""


def test_legacy_rethrow_survives_collections(build_exe, monkeypatch):
    from wasmc.wast.script import wabt_wat2wasm

    wasm = wabt_wat2wasm(LEGACY_RETHROW_WAT.encode())
    if wasm is None:
        pytest.skip("wabt's wat2wasm is not installed")
    exe = build_exe(wasm, "-O2")
    monkeypatch.setenv("WASMC_GC_STRESS", "1")
    proc = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


THROW_CHURN_WAT = """(module
  (tag $big (param i64 i64 i64 i64 i64 i64 i64 i64))
  (func $run (export "run") (param $n i32) (result i64) (local $i i32) (local $sum i64)
    (loop $l
      (block $h (result i64 i64 i64 i64 i64 i64 i64 i64)
        (try_table (catch $big $h)
          (throw $big (i64.extend_i32_u (local.get $i)) (i64.const 1) (i64.const 2) (i64.const 3)
                      (i64.const 4) (i64.const 5) (i64.const 6) (i64.const 7)))
        (unreachable))
      (drop) (drop) (drop) (drop) (drop) (drop) (drop)
      (local.set $sum (i64.add (local.get $sum)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $sum))
  (func (export "_start")
    (if (i64.ne (call $run (i32.const N)) (i64.const EXPECTED)) (then (unreachable)))))"""


def test_thrown_exceptions_are_freed(build_exe, tmp_path):
    """2,000,000 exceptions of 160 bytes each (330 MB of peak RSS when they were never freed),
    each caught at once: the executable computes wasmtime's sum in bounded memory."""
    exe = checked_executable(build_exe, tmp_path, THROW_CHURN_WAT, 2_000_000, wasm_exceptions=True)
    status, peak_kib = exit_status_and_peak_rss(exe)
    assert status == 0
    assert peak_kib < 160 * 1024, f"peak RSS {peak_kib} KiB"


def test_host_exnrefs_stay_valid():
    """An exnref handed to the host is pinned like any reference: the exception survives
    collections and other throws (which reuse freed memory), and its payload is intact when
    Python passes it back."""
    import wasmc
    from wasmc import runtime

    wat = """(module
      (tag $e (param i32))
      (func (export "make") (param i32) (result exnref)
        (block $h (result exnref) (try_table (catch_all_ref $h) (throw $e (local.get 0)))
          (unreachable)))
      (func (export "payload") (param exnref) (result i32)
        (block $c (result i32) (try_table (catch $e $c) (throw_ref (local.get 0))) (i32.const -1)))""" \
        + EXN_CHURN + """
      (export "churn" (func $churn)))"""
    inst = wasmc.load(wasmtime.wat2wasm(wat))
    made = [inst.exports["make"](i) for i in range(50)]
    inst.exports["churn"](1000)
    runtime.lib().wasmc_rt_gc_collect()
    inst.exports["churn"](1000)
    assert [inst.exports["payload"](r) for r in made] == list(range(50))
