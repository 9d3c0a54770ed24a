"""`python -m abm.commands COMMAND ...`: the analysis commands without `abm.cli` (until it wires them)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from abm.commands import COMMANDS
from abm.commands._common import EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abm", description="abm analysis commands")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
