;; Minimised (fuzz/minimise.py) from fuzz/differential lowering-2-19: an out-of-bounds load left on
;; the stack under an `if` whose arms both leave the function (return / br to the body label).
;; expect: f(0, 0) traps "out of bounds memory access" (wasmtime)
;; got:    wasmc returns normally, also at -O0
;; call: f 0 0
(module
  (memory 1 4)
  (func (export "f") (param f64 i64) (result i64)
    i32.const 85
    f32.load offset=65535 align=1
    i32.const 2
    if (result i32)
      local.get 1
      return
    else
      i64.const -5351530307631407109
      br 1
    end
    unreachable))
