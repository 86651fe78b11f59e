# wasmc: `make example` compiles and runs the bundled examples; `make test` runs the whole suite;
# `make bench` runs the benchmarks (benchmarks/bench.py).
PYTHON ?= python3
JOBS ?= auto

.PHONY: deps example test bench fuzz clean

deps:
	./scripts/install-deps.sh

example: deps
	mkdir -p build
	$(PYTHON) -m wasmc.cli examples/hello.wat -o build/hello
	./build/hello
	$(PYTHON) -m wasmc.cli examples/add.wat -o build/add.o --emit=obj
	$(PYTHON) examples/call_add.py

test: deps
	$(PYTHON) -m pytest -n $(JOBS) -q tests

# Differential fuzzing against wasmtime, then the hostile-input fuzzer (see fuzz/__init__.py).
# `make fuzz SEED=7 COUNT=10000 CASES=100000` runs at length; CI runs a short fixed-seed version
# through tests/test_fuzz_ci.py.
SEED ?= 1
COUNT ?= 100
CASES ?= 3000
JOBS ?= $(shell nproc)
fuzz: deps
	$(PYTHON) -m fuzz.differential --seed $(SEED) --count $(COUNT) --jobs $(JOBS) --out build/fuzz; \
	status=$$?; \
	$(PYTHON) -m fuzz.hostile --seed $(SEED) --count $(CASES) --out build/hostile || status=1; \
	exit $$status

# Interleaved runs against native, wasmtime, wasm2c and wasm-interp; writes benchmarks/results.md.
# Options: make bench BENCH_ARGS="--rounds 7 --only sort,matmul" (or --quick).
bench: deps
	$(PYTHON) benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf build
