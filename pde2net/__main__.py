"""`python -m pde2net` is the `pde2net` command."""

from pde2net.entry import main

main()
