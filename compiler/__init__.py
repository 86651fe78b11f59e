"""wasmc: an ahead-of-time compiler from WebAssembly to native x86-64 executables.

Pipeline: decode (decode.py) -> validate (validate.py) -> lower to LLVM IR (lower/) -> optimise and
emit an object (backend.py) -> link with the C runtime (link.py).  driver.py strings the phases
together; cli.py is the command line; runtime.py embeds compiled modules in this process and api.py
is the Python API built on it (`wasmc.compile`, `wasmc.load`).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # The API pulls in llvmlite and ctypes: import it only when used, so `import wasmc` stays light.
    if name in ("compile", "load", "Instance", "Trap", "HostFunc", "Memory", "Table", "Global",
                "Func"):
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'wasmc' has no attribute {name!r}")


# The compiled front end (native.py): used when a build of exactly these sources exists.
from . import native as _native  # noqa: E402

_native.install()
