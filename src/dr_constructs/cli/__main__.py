"""``python -m dr_constructs.cli``."""

from . import main

main()
