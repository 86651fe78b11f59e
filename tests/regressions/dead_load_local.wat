;; A load stored into a local that is never read must still trap.
;; expect: f() traps "out of bounds memory access" (wasmtime)
;; got:    wasmc returns 0
(module
  (memory 1)
  (func (export "f") (result i32) (local f32)
    (local.set 0 (f32.load (i32.const 70000)))
    (i32.const 0)))
