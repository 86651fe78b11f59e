#!/usr/bin/env bash
# Installs everything wasmc, its tests and its benchmarks need on a fresh Debian machine (as root),
# skipping what is already there so repeated runs are quick.
set -euo pipefail
PY=${PYTHON:-python3}
apt_pkgs=(clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32 wabt binaryen)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Installed, and `wasmc` is this checkout (an editable install of another clone would otherwise
# be what `make test` tests).
if ! $PY -c "import sys, pathlib, wasmc, llvmlite, wasmtime, xdist, click, mypyc
sys.exit(pathlib.Path(wasmc.__file__).resolve().parent != pathlib.Path('compiler').resolve())" \
    >/dev/null 2>&1; then
  $PY -m pip install -q -e ".[test,native]"
fi
# The compiled front end (compiler/native.py): mypyc builds the hot front-end modules once per
# content of the sources; a no-op when the build is current.
$PY -m wasmc.cli native build
