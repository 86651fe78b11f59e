;; Minimised by hand from fuzz/differential lowering-12-879 (also -3185, -9335, seen as wasmc
;; timeouts).
;; expect: f traps "out of bounds memory access" (wasmtime)
;; got:    wasmc spun forever: the loop never exits, so the load witness never reached a flush and
;;         LLVM deleted the dropped load.  The witness is now also flushed on entry to every loop.
(module
  (memory 1)
  (func (export "f")
    (drop (i32.load (i32.const 65536)))
    (loop $l (br $l))))
