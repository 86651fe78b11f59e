;; Control: a load whose value is used traps as it should (no xfail).
;; expect: f() traps "out of bounds memory access"; g() returns the loaded byte
(module
  (memory 1)
  (data (i32.const 65535) "\2a")
  (func (export "f") (result i32) (i32.load (i32.const 65533)))
  (func (export "g") (result i32) (i32.load8_u (i32.const 65535))))
