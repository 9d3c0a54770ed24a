"""Start-up cost: the parser is built from light modules, each command imports what it runs on.

`import abm.cli`, `abm --help` and `abm run --help` must not load the numeric stack, and
`abm run` must not load the libraries only other commands need (SALib, matplotlib). It does
load statsmodels, once, for the Wilson intervals of its summary (abm/stats.py:
every interval in the tool is statsmodels' own), and a worker running the model never does.
Each check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.runner.support import BASELINE, subprocess_env

HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "statsmodels", "SALib", "matplotlib", "mesa", "pydantic", "yaml")
OTHER_COMMANDS_ONLY = ("SALib", "matplotlib")
NOT_IN_WORKERS = ("statsmodels", "scipy.stats", "SALib", "matplotlib")


def loaded_by(code: str, *, beforehand: str = "", fake: bool = False) -> list[str]:
    """Modules that `code` (Python source) loads in a fresh interpreter, beyond those `beforehand` loaded."""
    script = f"import json, sys\n{beforehand}\nknown = set(sys.modules)\n{code}\n"
    script += "print(json.dumps(sorted(set(sys.modules) - known)))"
    done = subprocess.run(
        [sys.executable, "-c", script], env=subprocess_env(fake), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def under(modules: list[str], roots: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == r or m.startswith(f"{r}.") for r in roots)]


@pytest.mark.parametrize("argv", [None, ["--help"], ["run", "--help"], ["sweep", "--help"], ["compare", "--help"]])
def test_the_parser_and_help_load_no_heavy_library(argv) -> None:
    code = "import abm.cli\nabm.cli.build_parser()"
    if argv is not None:
        code += f"\ntry:\n    abm.cli.main({argv!r})\nexcept SystemExit:\n    pass"
    assert under(loaded_by(code), HEAVY) == []


def test_abm_run_loads_no_library_of_other_commands(tmp_path) -> None:
    """Beyond what the model itself imports (abm/model's business), `abm run` adds no plotting or sampling."""
    argv = ["run", str(BASELINE), "--runs", "5", "--backend", "serial", "-q", "--out", str(tmp_path / "out")]
    code = f"from abm.cli import main\nassert main({argv!r}) == 0"
    assert under(loaded_by(code, beforehand="import abm.model.simulate", fake=True), OTHER_COMMANDS_ONLY) == []
    assert (tmp_path / "out" / "summary.csv").exists()


def test_a_worker_running_chunks_loads_no_analysis_library() -> None:
    """Workers import the runner's worker module and the model: no statistics, no plots."""
    code = "import abm.runner.worker, abm.model.simulate"
    assert under(loaded_by(code), NOT_IN_WORKERS) == []
