"""Case files: the shipped ones load, and every kind of mistake is one precise error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from abm.validation.cases import CaseError, load_case, load_cases
from abm.validation.quantities import DifferenceSpec
from abm.validation.stats import Estimate

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
CASES = CONFIGS / "validation"
PATTERNS = {"1", "2", "3", "4", "5", "6", "7"}

GOOD = {
    "name": "tiny",
    "description": "a test case",
    "scenario": "baseline_jan2020.yaml",
    "runs": 5,
    "quantity": {"kind": "share", "where": "outcome == 'spiral'"},
    "band": {"low": 0.0, "high": 0.5},
    "source": "a test",
}


def write(tmp_path: Path, data: dict, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_cases_load_and_cover_the_seven_patterns() -> None:
    cases = load_cases(cases_dir=CASES)
    in_sample = [c for c in cases if c.sample == "in-sample"]
    assert len(in_sample) >= 7
    assert {c.spec.pattern.split()[0] for c in in_sample} == PATTERNS
    for case in cases:
        assert case.spec.source.strip()
        if case.sample == "in-sample":
            assert case.path.name == f"p{case.spec.pattern.split()[0]}_{case.name}.yaml"  # p<pattern>_<name>.yaml
        else:  # the crises of MODEL.md §10: oos_<name>.yaml, pattern 10
            assert case.path.name == f"oos_{case.name}.yaml"
            assert case.spec.pattern.split()[0] == "10"


def test_generic_configs_have_no_jan_2020_history() -> None:
    generic = [c for c in load_cases(cases_dir=CASES) if c.spec.pattern.startswith("6")]
    assert generic
    for case in generic:
        for s in case.arm.scenarios:
            assert s.start_date.year != 2020
            assert not s.commanders.keys() & {"quds_force", "kh_leader"}


def test_config_paths_resolve_relative_to_case_or_configs(tmp_path: Path) -> None:
    case = load_case(write(tmp_path, GOOD), configs_root=CONFIGS)
    assert case.arm.scenarios[0].name == "baseline_jan2020"
    local = write(tmp_path, {**GOOD, "scenario": str(CONFIGS / "unwarned_strike.yaml")})
    assert load_case(local, CONFIGS).arm.scenarios[0].name == "unwarned_strike"


def test_set_overrides_and_versus_arm(tmp_path: Path) -> None:
    data = {
        **GOOD,
        "set": {"horizon_days": 40},
        "quantity": {
            "kind": "difference",
            "of": {"kind": "share", "where": "accident"},
            "versus": {"set": {"mechanisms.accidents": False}},
        },
    }
    case = load_case(write(tmp_path, data), CONFIGS)
    assert isinstance(case.quantity, DifferenceSpec)
    assert case.versus is not None
    assert case.versus.scenarios[0].horizon_days == 40  # the case's set applies to the versus arm too
    assert case.versus.scenarios[0].mechanisms.accidents is False
    assert case.arm.scenarios[0].mechanisms.accidents is True


@pytest.mark.parametrize(
    "change, message",
    [
        ({"bands": {"low": 0}}, "bands: got"),
        ({"band": {"low": 0.6, "high": 0.5}}, "low 0.6 is above high 0.5"),
        ({"band": {}}, "needs 'low', 'high' or both"),
        ({"source": ""}, "source"),
        ({"name": "Bad Name"}, "name"),
        ({"runs": 0}, "runs"),
        ({"rule": "maybe"}, "rule"),
        ({"scenario": []}, "empty list"),
        ({"scenario": "no_such_config.yaml"}, "no config 'no_such_config.yaml'"),
        ({"set": {"us.doctrin": "massive"}}, "us.doctrin"),
        ({"set": {"us.doctrine": "nuclear"}}, "us.doctrine"),
        ({"quantity": {"kind": "share", "where": "outcome == 'spiral'", "given": "accidents"}}, "unknown column"),
        (
            {
                "quantity": {
                    "kind": "difference",
                    "of": {"kind": "share", "where": "accident"},
                    "versus": {"scenario": "nope.yaml"},
                }
            },
            "quantity.versus.scenario",
        ),
    ],
)
def test_bad_case_files_are_one_error_naming_file_and_key(tmp_path: Path, change: dict, message: str) -> None:
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(CaseError) as info:
        load_case(path, CONFIGS)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_selectors_names_paths_unknown_and_duplicates(tmp_path: Path) -> None:
    folder = tmp_path / "validation"
    folder.mkdir()
    write(folder, GOOD, "a.yaml")
    write(folder, {**GOOD, "name": "other"}, "b.yaml")
    assert [c.name for c in load_cases(cases_dir=folder, configs_root=CONFIGS)] == ["tiny", "other"]
    assert [c.name for c in load_cases(["other"], cases_dir=folder, configs_root=CONFIGS)] == ["other"]
    assert [c.name for c in load_cases([str(folder / "a.yaml")], cases_dir=folder, configs_root=CONFIGS)] == ["tiny"]
    with pytest.raises(CaseError, match=r"no such case in .*known: other, tiny"):
        load_cases(["missing"], cases_dir=folder, configs_root=CONFIGS)
    write(folder, GOOD, "c.yaml")
    with pytest.raises(CaseError, match="'tiny' is also used by"):
        load_cases(cases_dir=folder, configs_root=CONFIGS)


def test_judge_rules(tmp_path: Path) -> None:
    est = Estimate(0.45, 0.40, 0.52, 100, "Wilson")
    for rule, expected in [("estimate", "pass"), ("interval", "fail"), ("overlap", "pass")]:
        case = load_case(write(tmp_path, {**GOOD, "rule": rule}), CONFIGS)
        assert case.judge(est) == expected
    case = load_case(write(tmp_path, {**GOOD, "band": {"high": 0.4}}), CONFIGS)
    assert case.judge(est) == "fail"
    assert case.judge(Estimate(float("nan"), float("nan"), float("nan"), 0, "-")) == "no data"
