"""The runner is a few rooms with one job each, and "execute" has one meaning (issue 14, item 1).

* `abm.runner.run`: the entry points and the `Session` of a locked folder run; `abm.runner.results`:
  what they return; `abm.runner.engine`: tasks, dispatch, lost workers, tally, failure limit,
  chunk size, `drive`; `abm.runner.folder`: the run folder's checks and manifest data;
  `abm.runner.faults`: every test-only fault. The old catch-all `abm/runner/execute.py` is gone.
* No production runner module but `faults.py` reads `ABM_FAULT_INJECT` or names a fault key.
* No function of the runner takes a long positional parameter list (`MAX_POSITIONAL`).
* Nothing in `abm` is named `execute` (or `Execution`) but `CrisisModel.execute`, the model
  carrying out an order.

The source checks read the files with `ast`; each is also run on a probe that breaks its rule, so
it can fail.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from abm.runner import engine, faults, folder, results, run

PACKAGE = Path(__file__).resolve().parents[2] / "abm"
RUNNER = PACKAGE / "runner"
MAX_POSITIONAL = 8  # parameters that can be given by position, `self` and `cls` not counted
EXECUTE_NAMES = frozenset({"execute", "_execute", "Execution", "execution"})
ALLOWED_EXECUTE = {("abm/model/model.py", "CrisisModel", "execute")}  # the model carrying out an order

ROOMS = {
    run: ("run_experiment", "run_in_memory", "run_scenario", "Session"),
    results: ("ExperimentResult", "MemoryResult", "read_table"),
    engine: ("Engine", "Tasks", "Tally", "Losses", "dispatch", "drive", "over_limit", "chunk_size_for"),
    folder: ("check_folder", "version_mismatch", "already_complete", "verified", "manifest_data", "sync"),
    faults: ("read_faults", "inject", "writer_hooks", "for_pilot", "FAULT_KEYS", "PROCESS_FAULTS"),
}


@pytest.mark.parametrize("module", list(ROOMS), ids=lambda m: m.__name__)
def test_each_room_holds_its_job(module) -> None:
    missing = [name for name in ROOMS[module] if not hasattr(module, name)]
    assert missing == [], f"{module.__name__} lacks {missing}"


def test_the_catch_all_module_is_gone_and_the_package_exports_the_rooms() -> None:
    import abm.runner

    assert not (RUNNER / "execute.py").exists()
    assert not (PACKAGE / "analysis" / "execution.py").exists()
    assert abm.runner.check_folder is folder.check_folder
    assert abm.runner.run_experiment is run.run_experiment
    assert abm.runner.ExperimentResult is results.ExperimentResult


def test_the_public_keyword_signatures_are_kept() -> None:
    """The CLI, the API and the tests call these by keyword: the split changed none of them."""

    def shape(fn) -> list[tuple[str, str, object]]:
        return [(p.name, p.kind.name, p.default) for p in inspect.signature(fn).parameters.values()]

    empty = inspect.Parameter.empty
    assert shape(run.run_experiment) == [
        ("experiment", "POSITIONAL_OR_KEYWORD", empty),
        ("out_dir", "POSITIONAL_OR_KEYWORD", empty),
        *[
            (name, "KEYWORD_ONLY", default)
            for name, default in [
                ("jobs", None),
                ("backend", "loky"),
                ("scheduler", None),
                ("resume", False),
                ("progress", True),
                ("chunk_size", None),
                ("simulator", None),
                ("run_timeout", None),
                ("retries", 2),
                ("retry_failed", False),
                ("allow_version_mix", False),
                ("extend", False),
            ]
        ],
    ]
    assert shape(run.run_in_memory) == [
        ("experiment", "POSITIONAL_OR_KEYWORD", empty),
        *[
            (name, "KEYWORD_ONLY", default)
            for name, default in [
                ("jobs", 1),
                ("backend", "serial"),
                ("scheduler", None),
                ("chunk_size", None),
                ("simulator", None),
                ("progress", False),
                ("run_timeout", None),
                ("retries", 2),
            ]
        ],
    ]


# --- faults live in one room --------------------------------------------------------------------


def fault_names(source: str) -> list[str]:
    """String constants of `source` that name a fault key or the fault variable."""
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and (node.value in faults.FAULT_KEYS or faults.FAULT_ENV in node.value)
    ]


def test_no_runner_module_but_faults_names_a_fault() -> None:
    found = {
        path.name: names
        for path in sorted(RUNNER.glob("*.py"))
        if path.name != "faults.py" and (names := fault_names(path.read_text(encoding="utf-8")))
    }
    assert found == {}, f"fault keys outside abm/runner/faults.py: {found}"


def test_the_fault_check_can_fail() -> None:
    """The old writer hook (`execute._writer_hooks`) and the old worker's plan reader are caught."""
    assert fault_names('def hooks(f, n):\n    return f.get("write_kill") == n\n') == ["write_kill"]
    assert fault_names('import os\nplan = os.environ.get("ABM_FAULT_INJECT")\n') == ["ABM_FAULT_INJECT"]


def test_every_key_the_faults_module_reads_is_listed() -> None:
    """`FAULT_KEYS` is the whole plan: each key read in faults.py (`.get(KEY)`, `[KEY]`, `_matches(_, KEY)`)."""

    def is_plan(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id == "faults"

    read = set()
    for node in ast.walk(ast.parse(Path(faults.__file__).read_text(encoding="utf-8"))):
        keys: list[ast.expr] = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            keys = node.args[:1] if is_plan(node.func.value) else []
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_matches":
            keys = node.args[1:2]
        elif isinstance(node, ast.Subscript) and is_plan(node.value):
            keys = [node.slice]
        read |= {k.value for k in keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    assert read and read <= set(faults.FAULT_KEYS), sorted(read - set(faults.FAULT_KEYS))


# --- short parameter lists ------------------------------------------------------------------------


def long_signatures(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg not in ("self", "cls")]
            if len(names) > MAX_POSITIONAL:
                found.append(f"{where}:{node.lineno} {node.name} takes {len(names)} positional parameters")
    return found


def test_no_runner_function_takes_a_long_positional_list() -> None:
    found = [
        problem
        for path in sorted(RUNNER.glob("*.py"))
        for problem in long_signatures(path.read_text(encoding="utf-8"), path.name)
    ]
    assert found == [], "\n".join(found)


def test_the_parameter_check_can_fail() -> None:
    """`_run_locked` once took 13 positional parameters; the session now carries them."""
    old = "def _run_locked(experiment, out_dir, engine, tasks, bar, session, started, resume, chunk_size,\n"
    old += "    retries, retry_failed, allow_version_mix, extend=False):\n    pass\n"
    assert long_signatures(old, "execute.py") == ["execute.py:1 _run_locked takes 13 positional parameters"]
    assert long_signatures("class S:\n    def m(self, a, b, *, c, d, e, f, g, h, i):\n        pass\n", "x") == []


# --- "execute" means one thing ----------------------------------------------------------------------


def execute_names(source: str, where: str) -> list[str]:
    """Where `source` defines or imports something named like `execute`, apart from `ALLOWED_EXECUTE`."""
    found = []

    def visit(node: ast.AST, owner: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            name = None
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = child.name
            elif isinstance(child, ast.Import | ast.ImportFrom):
                for alias in child.names:
                    parts = {*alias.name.split("."), alias.asname}
                    if parts & EXECUTE_NAMES:
                        found.append(f"{where}:{child.lineno} imports {alias.name}")
            if name in EXECUTE_NAMES and (where, owner, name) not in ALLOWED_EXECUTE:
                found.append(f"{where}:{child.lineno} {owner + '.' if owner else ''}{name}")
            visit(child, child.name if isinstance(child, ast.ClassDef) else owner)

    visit(ast.parse(source), None)
    return found


def test_only_the_model_executes() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    named = [str(p.relative_to(PACKAGE.parent)) for p in modules if p.stem in EXECUTE_NAMES]
    found = [
        problem
        for path in modules
        for problem in execute_names(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert named == [] and found == [], f"modules: {named}; names: {found}"


def test_the_execute_check_can_fail() -> None:
    old = "from abm.analysis.execution import execute\n\ndef _execute(job):\n    return execute(job)\n"
    assert execute_names(old, "abm/api.py") == [
        "abm/api.py:1 imports execute",
        "abm/api.py:3 _execute",
    ]
    model = "class CrisisModel:\n    def execute(self, order, executor):\n        pass\n"
    assert execute_names(model, "abm/model/model.py") == []
    assert execute_names(model.replace("CrisisModel", "Other"), "abm/model/model.py") == [
        "abm/model/model.py:2 Other.execute"
    ]
