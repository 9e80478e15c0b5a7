"""`python -m lab.emulator <component> [flags]`: see lab/emulator/README.md."""

import sys

from lab.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
