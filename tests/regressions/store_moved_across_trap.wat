;; Minimised by hand from fuzz/differential lowering-12-1769 (also -2239, -2683, -3143, -3557).
;; expect: f(1) traps "out of bounds memory access" with memory[179..180] = de 87, and g then
;;         returns 0x87de (wasmtime).
;; got:    wasmc (guard-page mode) leaves memory[179] unwritten: LLVM's LICM sinks the loop-invariant
;;         store to the loop exit, past a load it cannot know will fault.  Unobservable to a command
;;         (the trap ends it), so the default-mode test compares up to the trap only; with
;;         --bounds-checks the state after the trap matches too.
;; call: f 1
;; call: g
(module
  (memory (export "memory") 1)
  (func (export "f") (param i32)
    (loop $l
      (i32.store16 (i32.const 179) (i32.const 0x87de))
      (drop (f64.load offset=255 (i32.const -15)))
      (br_if $l (local.get 0))))
  (func (export "g") (result i32) (i32.load16_u (i32.const 179))))
