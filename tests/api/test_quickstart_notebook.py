"""docs/notebooks/quickstart.ipynb runs from top to bottom, in this venv, in under a minute.

Why: a notebook nobody executes rots silently when the API changes. The test runs it with
nbclient on a kernel of this interpreter (the `python3` kernel spec names `python`, which
jupyter_client replaces with `sys.executable`; an injected cell checks `sys.prefix`), after
its `parameters` cell with fewer runs and with the figure and folder sent to `tmp_path`, so
the committed figure and outputs are left as they are. Any cell that raises fails the test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "notebooks" / "quickstart.ipynb"
FIGURE = ROOT / "docs" / "figures" / "quickstart_curves.png"
TEST_RUNS = 60
BUDGET_SECONDS = 60


def _parameters_cell(nb: nbformat.NotebookNode) -> int:
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "the notebook needs exactly one cell tagged 'parameters'"
    return tagged[0]


def test_the_notebook_runs_in_this_venv_within_a_minute(tmp_path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    figure = tmp_path / "figure.png"
    overrides = (
        f"RUNS = {TEST_RUNS}\nFIGURE = {str(figure)!r}\nRESULTS = {str(tmp_path)!r}\n"
        f"import sys\nassert sys.prefix == {sys.prefix!r}, f'kernel runs {{sys.executable}}, not this venv'"
    )
    nb.cells.insert(_parameters_cell(nb) + 1, nbformat.v4.new_code_cell(overrides))
    client = NotebookClient(
        nb, kernel_name="python3", timeout=BUDGET_SECONDS, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    started = time.monotonic()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell raises
    seconds = time.monotonic() - started
    assert seconds < BUDGET_SECONDS, f"the notebook took {seconds:.0f} s"
    assert figure.stat().st_size > 10_000
    assert (tmp_path / "baseline" / "manifest.json").is_file()
    errors = [o for cell in nb.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []


def test_the_committed_notebook_is_executed_and_its_figure_is_there() -> None:
    """What a reader sees on opening it: every code cell run, in order, without errors, and the figure saved."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert not any(o.get("output_type") == "error" for cell in code for o in cell.outputs)
    assert "RUNS = 500" in nb.cells[_parameters_cell(nb)].source
    assert FIGURE.stat().st_size > 10_000
    assert FIGURE.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", ["load_scenario", "run", "plot_curves", "compare", "sweep", "read_results"])
def test_the_notebook_shows_each_step(name) -> None:
    source = "\n".join(cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells)
    assert f"abm.{name}(" in source
