;; Minimised by hand from fuzz/differential lowering-61-401 (seed 61, both generators).
;; expect: f returns (wasmtime): p starts at 2^32 - 16 and steps by 16 before each load, so the
;;         loads read 0, 16, 32, ...: all in bounds
;; got:    wasmc trapped "out of bounds memory access": the range witness's 64-bit copy of p
;;         started from p's entry value, 2^32 - 16, which no load reads, and its first step took
;;         the copy past 2^32.  A group of loads after the step now starts its copy at p + s.
;; call: f 0xfffffff0 64
;; call: f 0xfffffff1 3
;; call: f 0 4
;; call: f 65520 2
(module
  (memory 1)
  (func (export "f") (param $p i32) (param $n i32) (result i64) (local $acc i64)
    (loop $l
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $acc (i64.add (local.get $acc) (i64.load (local.get $p))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $acc)))
