"""`python -m lab up|down|status|fault`: see lab/README.md."""

import sys

from lab.cli import main

sys.exit(main())
