;; Minimised by hand from fuzz/differential lowering-10-35 (and lowering-10-69, which had the same
;; cause with a callee that traps on integer overflow).
;; expect: f traps "out of bounds memory access" (wasmtime)
;; got:    wasmc trapped "unreachable": the callee was inferred noreturn, so the code after the call,
;;         where the caller's load witness was flushed, was dead and the dropped load went with it.
;;         The witness is now also flushed before every call.
(module
  (memory 1)
  (func $boom unreachable)
  (func $overflow (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "f")
    (drop (i32.load (i32.const 65536)))
    (call $boom))
  (func (export "g") (result i32)
    (drop (i64.load32_s offset=65535 (i32.const 2)))
    (call $overflow))
  (table 1 funcref)
  (func (export "h")
    (drop (f32.load (i32.const 65534)))
    (table.fill 0 (i32.const 1) (ref.null func) (i32.const 1))))
