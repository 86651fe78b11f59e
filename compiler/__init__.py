"""wasmc: an ahead-of-time compiler from WebAssembly to native x86-64 executables.

Pipeline: decode (decode.py) -> validate (validate.py) -> lower to LLVM IR (lower/) -> optimise and
emit an object (backend.py) -> link with the C runtime (link.py).  driver.py strings the phases
together; cli.py is the command line; runtime.py embeds compiled modules in this process.
"""

__version__ = "0.1.0"
