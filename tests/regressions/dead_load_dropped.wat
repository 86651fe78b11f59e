;; A load whose value is dropped after arithmetic must still trap when out of bounds.
;; expect: f() traps "out of bounds memory access" (wasmtime)
;; got:    wasmc returns 0: the load is deleted as dead code and its trap lost
(module
  (memory 1)
  (func (export "f") (result i32)
    (drop (i32.add (i32.load (i32.const 70000)) (i32.const 1)))
    (i32.const 0)))
