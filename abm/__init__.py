"""abm: agent-based Monte Carlo model of interstate crisis escalation.

The layers import left to right only: config -> model -> runner -> analysis -> cli.
The Python API (`abm.api`) is re-exported here: `abm.load_scenario`, `abm.run`, `abm.compare`, ...
"""

from __future__ import annotations

__version__ = "0.1.0"

# The facade is imported on first use (PEP 562), not here: `import abm` stays as cheap as the
# version string (not even `typing`), and `abm --help` loads no pandas, pydantic or Mesa
# (tests/cli/test_cli_imports.py). Type checkers see the names through the block below.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from abm.api import (
        Comparison,
        RunSet,
        compare,
        list_levers,
        load_scenario,
        plot_curves,
        read_results,
        run,
        set_levers,
        shipped_scenarios,
        sweep,
    )


__all__ = [
    "Comparison",
    "RunSet",
    "__version__",
    "compare",
    "list_levers",
    "load_scenario",
    "plot_curves",
    "read_results",
    "run",
    "set_levers",
    "shipped_scenarios",
    "sweep",
]
API_NAMES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    """`abm.run`, `abm.compare`, ...: the facade's names, imported from `abm.api` when first asked for."""
    if name in API_NAMES:
        from abm import api

        return getattr(api, name)
    raise AttributeError(f"module 'abm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *API_NAMES})
