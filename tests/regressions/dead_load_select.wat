;; A load as the unselected operand of `select` must still trap (operands are evaluated first).
;; expect: f() traps "out of bounds memory access" (wasmtime)
;; got:    wasmc returns 1
(module
  (memory 1)
  (func (export "f") (result i32)
    (select (i32.const 1) (i32.load (i32.const 70000)) (i32.const 1))))
