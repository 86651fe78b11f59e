"""Subprocess side of `engines._run_wasmc_subprocess` (for threaded callers): a JSON request on
stdin, an Outcome on stdout.

A Python exception escaping wasmc (anything but WasmcError) is itself a finding, reported as status
"error" with the traceback's last lines; a crash of the process is seen by the parent.
"""

from __future__ import annotations

import json
import sys
import traceback

from .engines import Call, Outcome, run_wasmc


def main() -> None:
    req = json.load(sys.stdin)
    plan = [Call(name, args) for name, args in req["plan"]]
    try:
        outcome = run_wasmc(bytes.fromhex(req["wasm"]), plan)
    except Exception:  # noqa: BLE001 - any escape is a finding, reported not raised
        tb = traceback.format_exc().strip().splitlines()
        outcome = Outcome("error", "\n".join(tb[-8:]))
    sys.stdout.flush()
    print(outcome.to_json())


if __name__ == "__main__":
    main()
