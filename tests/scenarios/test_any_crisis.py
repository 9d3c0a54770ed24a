"""One scenario format for any crisis (issue 16, MODEL.md §3-§4): a new crisis is a config file only.

The made-up crisis in `configs/examples/` has states, a militant group and sites the code has
never heard of; it must run end to end from its file. And no code path may be keyed by a
country id: the ids of the 2020 scenario appear in configs, tests and docs, not in `abm/`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

from abm.cli import main
from abm.config import ConfigError, load_config
from abm.model.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "configs" / "examples").glob("*.yaml"))
COUNTRY_IDS = {"us", "iran", "iraq", "israel", "saudi_arabia", "uae", "india", "pakistan"}
# The one place that must name them: recognising a version-1 file (top-level `us:` blocks) to
# tell its user how to convert it. It reads keys of the old format, it decides nothing.
ALLOWED = {("abm/config/loader.py", "OLD_STATE_BLOCKS")}


def test_there_is_a_made_up_crisis():
    assert EXAMPLES, "configs/examples/ should hold at least one made-up crisis"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_made_up_crisis_runs_from_its_config_alone(path: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(path), "--runs", "40", "--seed", "7", "--out", str(out), "--jobs", "1"]) == 0
    runs = pd.read_parquet(out / "runs")
    assert len(runs) == 40 and runs["error"].isna().all()
    assert (out / "summary.csv").exists() and (out / "curves.csv").exists()
    # Its own states appear in its records: the code took them from the file.
    states = set(load_config(path).states)
    hit = set().union(*(json.loads(t) for t in runs["deaths_by_state"]))
    assert hit and hit <= states | {"unknown"}


def test_the_made_up_crisis_is_shaped_by_its_own_data():
    # Its actors answer each other: the trigger's victim answers the militant group (or its patron).
    sc = load_config(ROOT / "configs" / "examples" / "border_crisis.yaml")
    records = [simulate(sc, seed).record for seed in range(60)]
    answered = [r["first_violent_response_day"] for r in records if r["first_violent_response_day"] is not None]
    assert len(answered) > 30
    assert sum(r["n_strikes_on_militias"] for r in records) > 0


def _string_literals(path: Path) -> list[tuple[str, str]]:
    """(enclosing assignment target or '', value) of every string constant in a module, docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            name = next((t.id for t in targets if isinstance(t, ast.Name)), "")
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    found.append((name, sub.value))
                    docstrings.add(id(sub))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.append(("", node.value))
    return found


def test_no_code_path_is_keyed_by_a_country_id():
    offenders = []
    for path in sorted((ROOT / "abm").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for name, value in _string_literals(path):
            if value in COUNTRY_IDS and (rel, name) not in ALLOWED:
                offenders.append(f"{rel}: {value!r}" + (f" in {name}" if name else ""))
    assert not offenders, "country ids in code (they belong in configs): " + "; ".join(sorted(set(offenders)))


OLD_FORMAT = """
name: old
us: {doctrine: massive}
iran: {advance_warning: 0.5}
sites: {}
"""


def test_a_version_1_config_is_refused_with_how_to_convert_it(tmp_path: Path, capsys):
    old = tmp_path / "old.yaml"
    old.write_text(OLD_FORMAT, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"version-1 scenario format.*`states:`.*capabilities"):
        load_config(old)
    assert main(["run", str(old), "--runs", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "top-level `us:`, `iran:`" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_version_1_block_on_top_of_a_version_2_file_is_refused(tmp_path: Path):
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {ROOT / 'configs' / 'baseline_jan2020.yaml'}\nus: {{doctrine: massive}}\n")
    with pytest.raises(ConfigError, match="top-level `us:`"):
        load_config(child)


def test_levers_keep_their_short_names():
    # MODEL.md §8 names levers by state id; in the file they sit under `states:`.
    sc = load_config(ROOT / "configs" / "baseline_jan2020.yaml", ["us.doctrine=massive", "iran.advance_warning=0"])
    assert sc.states["us"].doctrine == "massive" and sc.states["iran"].advance_warning == 0.0
    long = load_config(ROOT / "configs" / "baseline_jan2020.yaml", ["states.us.doctrine=massive"])
    assert long == load_config(ROOT / "configs" / "baseline_jan2020.yaml", {"us.doctrine": "massive"})
