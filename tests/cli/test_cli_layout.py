"""One CLI layout (issue 14): every command in `abm/commands/<name>.py`, `abm/cli.py` only builds
the parser, dispatches and maps errors to exit codes, once for every command."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import abm.cli
from abm.commands import COMMANDS

ABM = Path(abm.cli.__file__).resolve().parent
CLI_FUNCTIONS = {"_unreadable", "build_parser", "_misfit", "_terminate", "main"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def test_every_command_is_a_module_of_abm_commands_and_its_main_handles_it() -> None:
    sub = next(a for a in abm.cli.build_parser()._actions if a.dest == "command")
    modules = {m.__name__.rpartition(".")[2]: m for m in COMMANDS}
    assert set(sub.choices) == set(modules)  # run and sweep included
    for name, parser in sub.choices.items():
        assert parser.get_default("handler") is modules[name].main, name
        assert (ABM / "commands" / f"{name}.py").is_file()


def test_cli_defines_no_command_of_its_own() -> None:
    defined = {n.name for n in _tree(ABM / "cli.py").body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert defined == CLI_FUNCTIONS


def _catches(tree: ast.AST, name: str) -> bool:
    """Whether an `except` clause names `name` (an exception class, or a call such as user_errors())."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
            names |= {n.attr for n in ast.walk(node.type) if isinstance(n, ast.Attribute)}
            if name in names:
                return True
    return False


def test_errors_become_exit_codes_in_one_place() -> None:
    """No command catches Ctrl-C or the user errors to print its own message: abm.cli.main does, for all."""
    assert _catches(_tree(ABM / "cli.py"), "user_errors") and _catches(_tree(ABM / "cli.py"), "KeyboardInterrupt")
    for path in sorted((ABM / "commands").glob("*.py")):
        tree = _tree(path)
        assert not _catches(tree, "user_errors"), path.name
        if path.name != "explore.py":  # Ctrl-C is how a user stops the page's server: a normal end, not an error
            assert not _catches(tree, "KeyboardInterrupt"), path.name


def test_one_reporter_of_how_runs_went() -> None:
    """Every command that runs simulations and reports a status goes through `_common.exit_status`."""
    for module in COMMANDS:
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert not re.search(r"\brun_status\b|\b_report\(", source), module.__name__
        if "add_execution" in source and module.__name__.rpartition(".")[2] not in ("validate", "hindcast"):
            assert "exit_status" in source or "run_into_folder" in source, module.__name__


def test_a_path_too_long_is_cut_in_the_one_error_message(tmp_path, capsys) -> None:
    """The OSError of any command (here `run --out` of 60,000 characters) is one line, the path cut to 200."""
    from tests.runner.support import BASELINE

    out = tmp_path / ("x" * 60_000)
    assert abm.cli.main(["run", str(BASELINE), "--runs", "2", "--out", str(out), "--backend", "serial", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("abm run: error: ") and err.count("\n") == 1 and len(err) < 400, err[:500]


def test_python_dash_m_abm_is_the_command_line() -> None:
    """`python -m abm COMMAND ...` without the console script (the explore test serves the page this way)."""
    import subprocess
    import sys

    from tests.runner.support import subprocess_env

    done = subprocess.run(
        [sys.executable, "-m", "abm", "run", "--help"], env=subprocess_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: abm run"), done.stderr
