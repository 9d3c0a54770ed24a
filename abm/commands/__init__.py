"""Every command of the `abm` CLI, one module each: `register(subparsers)` and `main(args) -> int`.

`abm.cli` adds them with `for module in COMMANDS: module.register(sub)`, in the order of the
help; each subparser sets `handler=main`. A `main` returns its exit code (0, 1 when its runs
failed, 130 when interrupted) and raises on bad input: `abm.cli.main` maps errors to exit codes,
once for every command. Without the console script: `python -m abm COMMAND ...`.

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
    run,
    sensitivity,
    sweep,
    validate,
)

# In the order of `abm --help`: runs and their folders first, then the analyses over them.
COMMANDS = (
    run,
    sweep,
    replay,
    compact,
    compare,
    levers,
    mechanisms,
    sensitivity,
    robust,
    discover,
    report,
    validate,
    hindcast,
    explore,
)

__all__ = ["COMMANDS", *(module.__name__.rpartition(".")[2] for module in COMMANDS)]
