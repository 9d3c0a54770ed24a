"""Analysis commands for the `abm` CLI, one module each: `register(subparsers)` and `main(args) -> int`.

`abm.cli` adds them with `for module in COMMANDS: module.register(sub)`; each subparser sets
`handler=main`, so the CLI's `args.handler(args)` dispatch works unchanged. They also run as
`python -m abm.commands COMMAND ...` (no console script needed).

Every module here is import-light: `register` needs only `abm.commands._common` and
`abm.defaults`, and the handler imports the analysis it runs (pandas, scipy, statsmodels,
SALib, matplotlib ...) when it is called, so building the parser costs no heavy import.
"""

from __future__ import annotations

from abm.commands import (
    compact,
    compare,
    discover,
    explore,
    hindcast,
    levers,
    mechanisms,
    replay,
    report,
    robust,
    sensitivity,
    validate,
)

COMMANDS = (
    compare,
    levers,
    mechanisms,
    sensitivity,
    discover,
    report,
    validate,
    hindcast,
    replay,
    compact,
    robust,
    explore,
)

__all__ = [
    "COMMANDS",
    "compact",
    "compare",
    "discover",
    "hindcast",
    "levers",
    "mechanisms",
    "replay",
    "report",
    "sensitivity",
    "validate",
]
