"""Robustness tooling for wasmc: differential fuzzing against wasmtime, hostile inputs, minimising.

Modules:
  values       Wasm value bit patterns, NaN rules, argument pools, memory comparison.
  engines      Run a call plan on wasmtime (fuel-limited) and on wasmc (in a subprocess).
  worker       The subprocess side of `engines.run_wasmc_isolated`.
  gen_binaryen Random valid modules from binaryen's `wasm-opt -ttf`.
  gen_lowering Random modules of our own, aimed at the lowering (control, traps, floats, memory).
  differential The campaign driver: `python -m fuzz.differential --seed 1 --count 100`.
  minimise     Shrink a mismatching module with `wasm-reduce` (binaryen).
  hostile      Mutation fuzzer over real modules: every input must give a clean WasmcError.
"""
