;; From fuzz/differential lowering-62-910 (seed 62), reduced by fuzz.minimise; also lowering-62-1317.
;; expect: every export runs (wasmtime)
;; got:    the compiler itself dies with SIGSEGV inside LLVM's -O1/-O2 pipeline (llvmlite, LLVM 22);
;;         the IR verifies and -O0 compiles.  It needs the interpreter-dispatch lowering
;;         (`indirectbr`, control.lower_dispatch): with DISPATCH_MIN_TARGETS raised it compiles.
;;         f4 (a 25-way br_table in a loop) calls f2; replacing either body stops the crash.
;;         The crash is in LoopDeletionPass -> breakLoopBackedge -> BasicBlock::getTerminator on
;;         a loop that is not in simplified form.  Giving each loop header its own edge block
;;         when the dispatch targets it (so no back edge leaves an `indirectbr`) fixed
;;         lowering-62-1317, not this one.
;;         Not isolated in LLVM (still crashes there); worked around in the driver: a partition
;;         holding an `indirectbr` is optimised in a forked process, and when that process dies
;;         it is lowered again with `switch` (driver._guarded).
(module
  (type (func (param ) (result )))
  (type (func (param i32) (result i32)))
  (type (func (param f64 i32) (result f32 f64)))
  (type (func (param i64 f64) (result )))
  (type (func (param ) (result f32)))
  (type (func (param ) (result f64)))
  (type (func (param ) (result i64)))
  (import "env" "log_i32" (func (param i32)))
  (import "env" "log_i64" (func (param i64)))
  (import "env" "log_f32" (func (param f32)))
  (import "env" "log_f64" (func (param f64)))
  (import "env" "trap_host" (func))
  (memory (export "memory") 0 2)
  (table 4 20 funcref)
  (elem (i32.const 1) func 6 5)
  (elem declare func 5 6 7 8 9 10 11 12)
  (func (export "f0")  (local i64 f64)
  )
  (func (export "f1") (param i32) (result i32) (local i32 i32 i64 f32 i32 f64 i32 f32 i32)
    unreachable
  )
  (func (export "f2") (param f64 i32) (result f32 f64) (local f32 i64 i32 i32 f64 i32 i64 i32 i64 f64 i32 i32 i32 f32 i64 f32 f64)
    memory.size
    f64.const inf
    local.get 3
    i64.eqz
    local.get 4
    if (param f64 i32) (result f64)
    local.set 5
    else
    block 
    local.get 3
    i32.const 0xffff
    if (param i64) (result f32)
    i32.const 0x80000000
    local.get 4
    if (param i64 i32) (result f32)
    drop
    local.set 8
    local.get 2
    else
    local.set 9
    local.set 10
    local.get 2
    end
    f64.const 0.5
    return
    else
    drop
    local.get 2
    end
    memory.size
    f64.load offset=4 align=8
    return
    end
    local.get 0
    i32.trunc_sat_f64_s
    if (result f64)
    f64.const 7.53364e-15
    else
    f32.const 1.5
    f64.const 0.860194
    return
    end
    br 0
    end
    drop
    drop
    local.get 1
    if (result i32)
    i32.const 1608539325
    else
    local.get 1
    end
    f32.convert_i32_s
    f32.const 0x1p-149
    local.get 6
    local.get 0
    f64.ge
    block (result i32)
    loop
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    local.get 12
    end
    if (param f32 i32) (result f64)
    local.set 13
    drop
    i32.const 247
    f64.load offset=8 align=2
    else
    block 
    local.get 9
    local.get 10
    f64.reinterpret_i64
    f64.store offset=0 align=2
    loop
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    local.get 2
    local.get 3
    local.get 12
    br_if 0
    drop
    drop
    end
    end
    end
    block
    block
    block
    block
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    block
    block
    block
    block
    block
    block
    block
    block
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    unreachable
    end
  )
  (func (export "f3") (param i64 f64)  (local f64 f64 i32 f32 i32)
  )
  (func (export "f4") (result f32) (local f32 i32 i32 i32 f32 i32 f32 f64 i64 i64 i64 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 f64 f32 f64 f32 i64 i32 i32 i32 i64 i64 i64 f32 f32 f32 f32 i32 f32 f32 i32 i32 i32)
    i32.const 3
    loop
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    f32.const -1
    i32.const 1
    f64.const -2147483649
    loop (result f32 i64)
    f32.const 4294967296
    i64.const -959597650268019048
    end
    drop
    block (param i32 f64 f32) (result i32)
    local.set 6
    drop
    end
    i32.const 1000
    local.get 5
    i32.const 1
    i32.sub
    local.tee 5
    select
    br_table 5 12 11 12 2 10 5 8 4 12 3 9 10 8 0 4 12 9 0 8 1 7 3 6 11
    end
    end
    end
    end
    end
    i64.const 2200976123177062737
    i64.const 0x100000000
    i64.ge_s
    local.get 7
    i32.trunc_sat_f64_s
    if (param i32) (result i64)
    local.set 11
    i64.const 0x8000000000000000
    else
    i32.const 16
    i32.const 65536
    memory.copy
    local.get 8
    end
    local.set 10
    end
    end
    block
    end
    end
    memory.size
    f64.load offset=0 align=4
    f64.const inf
    local.get 7
    f64.lt
    call 7
    block (param f32 f64)
    local.set 21
    local.set 22
    loop
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    local.get 8
    f32.const inf
    block (result f64 i64 i64 f32)
    f64.const 5.52484e-22
    local.get 9
    local.get 8
    local.get 22
    end
    drop
    drop
    drop
    block (param i64 f32 f64) (result i32 f32)
    local.set 23
    local.set 24
    local.set 25
    loop
    i32.const 1000
    local.get 28
    i32.const 5
    i32.sub
    i32.div_u
    local.set 27
    local.get 28
    i32.const 1
    i32.sub
    local.tee 28
    br_if 0
    end
    local.get 5
    local.get 6
    end
    drop
    br_table 4 10 2 1 9 5 3 0 0 6 3 10 7 10 7 10 4 8 9 9
    end
    local.get 25
    local.get 9
    i32.const 31
    if (param i64 i64) (result i32)
    local.set 29
    local.set 30
    local.get 2
    else
    drop
    local.set 31
    local.get 14
    end
    br 9
    block
    block
    block
    block
    block
    block
    block
    loop
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    block
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    block
    block
    block
    block
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    end
    i32.const 0
    if (result i32)
    i32.const 0x80000000
    else
    i32.const 0x80000000
    end
    br_if 2
    end
    end
    end
    end
    end
    end
    local.get 4
    i32.trunc_sat_f32_s
    if
    block 
    memory.size
    if
    f64.const 0x1p-1074
    i32.const 31
    call 7
    drop
    local.get 17
    local.get 2
    i32.const -1
    if (param i32 i32) (result f32)
    drop
    local.set 36
    local.get 35
    else
    drop
    drop
    f32.const 8.50525e+32
    end
    block (param f32 f32)
    br 4
    end
    end
    end
    end
    unreachable
  )
  (func (export "f5") (result f64) (local i64 i64 f64)
    unreachable
  )
  (func (export "f6") (param i32) (result i32) (local i32 i32 f32 f32 i32 i32 i32 f32 i32 f64 i64 f64 i64 f32 i64)
    unreachable
  )
  (func (export "f7") (result i64) (local i32 f64 i64 i32 i32 i32 i32 f32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 f32 f64)
    unreachable
  )
)
