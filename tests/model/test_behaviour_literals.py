"""No behavioural number creeps back into the rule modules as a literal (MODEL.md §8).

The constants of the agents' rules are `behaviour.*` parameters (abm/config/behaviour.py, whose
docstring gives the rule for what counts as one). This test reads the modules whose constants
moved there and fails on any numeric literal other than 0 and 1 (the ends of a share, the
neutral factor of a product) that is not in ALLOWED, with its reason. A new constant belongs in
the config schema with a default, unit, range and source; a definition goes in ALLOWED.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from abm.model import rules
from abm.model.actions import BY_NAME

MODEL = Path(__file__).resolve().parents[2] / "abm" / "model"
MODULES = (
    "rules.py",
    "model.py",
    "consequences.py",
    "decision.py",
    "bargaining.py",
    "deescalation.py",
    "agents/states.py",
    "agents/militias.py",
    "agents/commanders.py",
    "agents/policies.py",
)

# (module, enclosing function or <module>, value) -> why it is a definition, not a choice.
ALLOWED: dict[tuple[str, str, float], str] = {
    ("rules.py", "bayes_unlimited", 1e-06): "numerical guard: keeps the log-odds of a posterior finite",
    ("rules.py", "bayes_unlimited", 0.5): "centre of the uniform draw: the misperception shift has mean zero",
    ("rules.py", "face_deficit", 2.0): "normalisation: an agnostic belief (0.5) leaves the grievance at its harm",
    ("rules.py", "<module>", 60.0): "FACE_CAP: the face scale's end, the severity of sustained war (a definition)",
    ("model.py", "CrisisModel.press_on_nuclear", 1e-09): "numerical guard: a preventive threshold of 1",
    ("model.py", "CrisisModel.__init__", 10): "-(10**6): 'never' as a day, so no state starts hot",
    ("model.py", "CrisisModel.__init__", 6): "-(10**6): 'never' as a day, so no state starts hot",
    ("consequences.py", "bookkeep_actor", 3): "rung: acts above rung 2 break the quiet talks need "
    "(the ladder's classes, MODEL.md §5; world.quiet_days_for_talks counts the days)",
    ("model.py", "CrisisModel.sign_deal", 4): "display precision (decimal places) of the recorded deal terms",
    ("decision.py", "intent_factor", 2.0): "normalisation: an agnostic belief (0.5) leaves the grievance at its harm",
    ("bargaining.py", "continuing_cost", 1e-09): "numerical guard: a pain threshold of 1",
    ("bargaining.py", "accept_chance", 700.0): "numerical guard: exp() overflows past 709",
    ("agents/states.py", "<module>", 3): "ALERT_MAX: the alert scale's end (schema `alert`: 0..3)",
    ("agents/states.py", "StateAgent.check_gambles", 5): "rung 5, the first violent rung: a gamble's size is its "
    "rungs above it",
    ("agents/states.py", "StateAgent.check_gambles", 2): "normalisation: a rung-7 gamble adds one world.hubris_rate",
    ("agents/states.py", "StateAgent.acted", 6): "rung: a gamble is a violent act of rung 6 or more (ODD §7.13)",
}
# Modules whose module-level literals are data tables kept beside the rule that reads them, as the
# action table is (MODEL.md §8: no behavioural number outside the config schema and the data
# tables): decision.DOCTRINES and WAR_CHANCE, bargaining.DEMAND_SIZE. Each row's reason is written
# beside it there, and docs/ODD.md §7.1 and §7.9 print them.
DATA_TABLES = frozenset({"decision.py", "bargaining.py"})


def literals(module: str, root: Path = MODEL) -> list[tuple[str, float, int]]:
    """(enclosing qualified name, value, line) of every numeric literal other than 0 and 1."""
    tree = ast.parse((root / module).read_text(encoding="utf-8"))
    found: list[tuple[str, float, int]] = []

    def walk(node: ast.AST, where: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = [*where, child.name]
            value = getattr(child, "value", None) if isinstance(child, ast.Constant) else None
            if isinstance(value, int | float) and not isinstance(value, bool) and value not in (0, 1):
                found.append((".".join(where) or "<module>", value, child.lineno))
            walk(child, inner)

    walk(tree, [])
    return found


@pytest.mark.parametrize("module", MODULES)
def test_no_behavioural_literal_outside_the_config(module: str) -> None:
    stray = [
        f"{module}:{line} {where}: {value!r}"
        for where, value, line in literals(module)
        if (module, where, value) not in ALLOWED and not (module in DATA_TABLES and where == "<module>")
    ]
    assert not stray, (
        "numeric literals in a rule module: make each a behaviour.* parameter (abm/config/behaviour.py) "
        f"or, if it is a definition, add it to ALLOWED with the reason: {stray}"
    )


def test_every_allowed_literal_is_still_there() -> None:
    """A stale entry would let a literal of the same value creep back in its place."""
    present = {(m, where, value) for m in MODULES for where, value, _ in literals(m)}
    assert set(ALLOWED) <= present, sorted(set(ALLOWED) - present)


def test_the_scan_finds_a_planted_literal(tmp_path) -> None:
    """The scan itself works: a constant in a method is found with its place; 0, 1 and True are not."""
    (tmp_path / "m.py").write_text(
        "class A:\n    def suffer(self, r):\n        return min(1.0, r + 0.12 * True + 0)\n\nX = 20\n"
    )
    assert literals("m.py", tmp_path) == [("A.suffer", 0.12, 3), ("<module>", 20, 5)]


def test_face_cap_is_the_war_severity_it_stands_for() -> None:
    """FACE_CAP stays a literal until states.py reads it from the config (ALLOWED); until then it
    must stay what it stands for, the severity of war at the top of the action table."""
    assert BY_NAME["sustained_war"].severity == rules.FACE_CAP
