"""`python -m abm.commands COMMAND ...`: the `abm` console script without installing it (abm.cli.main)."""

from __future__ import annotations

import sys

from abm.cli import main

if __name__ == "__main__":
    sys.exit(main())
