;; A module exporting `add`, which adds two i64 (local.get / local.get / i64.add).
(module
  (func (export "add") (param i64 i64) (result i64)
    local.get 0
    local.get 1
    i64.add))
