"""No behavioural number creeps back into the rule modules as a literal (MODEL.md §8).

The constants of the agents' rules are `behaviour.*` parameters (abm/config/behaviour.py, whose
docstring gives the rule for what counts as one). This test reads the modules whose constants
moved there and fails on any numeric literal other than 0 and 1 (the ends of a share, the
neutral factor of a product) that is not in ALLOWED, with its reason. A new constant belongs in
the config schema with a default, unit, range and source; a definition goes in ALLOWED.

REWRITTEN names the parts of these modules that another change is rewriting at the same time
(issue 15): their literals move to the config with that rewrite, and then leave this list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from abm.model import rules
from abm.model.actions import BY_NAME

MODEL = Path(__file__).resolve().parents[2] / "abm" / "model"
MODULES = ("rules.py", "model.py", "agents/militias.py", "agents/commanders.py", "agents/policies.py")

# (module, enclosing function or <module>, value) -> why it is a definition, not a choice.
ALLOWED: dict[tuple[str, str, float], str] = {
    ("rules.py", "bayes_unlimited", 1e-06): "numerical guard: keeps the log-odds of a posterior finite",
    ("rules.py", "bayes_unlimited", 0.5): "centre of the uniform draw: the misperception shift has mean zero",
    ("rules.py", "face_deficit", 2.0): "normalisation: an agnostic belief (0.5) leaves the grievance at its harm",
    ("rules.py", "<module>", 60.0): "FACE_CAP, read by agents/states.py (being rewritten); moves to the config then",
    ("model.py", "CrisisModel.press_on_nuclear", 1e-09): "numerical guard: a preventive threshold of 1",
    ("model.py", "CrisisModel.__init__", 10): "-(10**6): 'never' as a day, so no state starts hot",
    ("model.py", "CrisisModel.__init__", 6): "-(10**6): 'never' as a day, so no state starts hot",
    ("model.py", "CrisisModel._bookkeep_actor", 3): "rung: acts above rung 2 break the quiet talks need "
    "(the ladder's classes, MODEL.md §5; world.quiet_days_for_talks counts the days)",
}
# Parts being rewritten in parallel (states.py is not scanned at all, for the same reason).
REWRITTEN = {
    ("rules.py", "talk_willingness"),
    ("policies.py", "Bargaining"),  # except its nuclear and sanctions steps, which read the config
    ("model.py", "CrisisModel.order"),
    ("model.py", "CrisisModel.sign_deal"),  # how much relief a deal gives follows the relief-offer rewrite
}


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


def rewritten(module: str, where: str) -> bool:
    name = module.rsplit("/", 1)[-1]
    return any(name == m and (where == part or where.startswith(part + ".")) for m, part in REWRITTEN)


@pytest.mark.parametrize("module", MODULES)
def test_no_behavioural_literal_outside_the_config(module: str) -> None:
    stray = [
        f"{module}:{line} {where}: {value!r}"
        for where, value, line in literals(module)
        if (module, where, value) not in ALLOWED and not rewritten(module, where)
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
