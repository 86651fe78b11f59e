"""`python -m wasmc ...` runs the command-line interface (the same as the `wasmc` script)."""

from .cli import main

main()
