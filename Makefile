# wasmc: `make example` compiles and runs the bundled examples; `make test` runs the whole suite.
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

clean:
	rm -rf build
