;; A load whose value a branch discards must still trap.
;; expect: f() traps "out of bounds memory access" (wasmtime)
;; got:    wasmc returns 3
(module
  (memory 1)
  (func (export "f") (result i32)
    (block (result i32)
      (i32.load (i32.const 70000))
      (br 0 (i32.const 3)))))
