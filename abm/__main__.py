"""`python -m abm COMMAND ...`: the `abm` console script without installing it."""

from __future__ import annotations

import sys

from abm.cli import main

if __name__ == "__main__":
    sys.exit(main())
