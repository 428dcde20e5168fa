"""`python -m fmcat`: the same as the `fmcat` command."""

from fmcat.cli import main

main()
