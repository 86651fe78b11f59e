;; Minimised from fuzz/differential lowering-1-71: a dead load feeding a block parameter; because
;; its trap is lost, a later global.set runs that must never run.
;; expect: f() traps "out of bounds memory access"; global g stays 0 (wasmtime)
;; got:    wasmc returns normally and g = -1 (0xffffffffffffffff)
(module
  (memory 0 2)
  (global (export "g") (mut i64) (i64.const 0))
  (func (export "f")
    (f32.load offset=0x7fffffff (memory.size))
    (block (param f32)
      (drop)
      (global.set 0 (i64.const -1)))))
