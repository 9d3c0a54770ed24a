"""The calibration procedure: a deterministic design, global overrides, an honest score."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from abm.config import ConfigError
from abm.validation.calibrate import (
    CalibrationSpec,
    calibrate,
    calibration_cases,
    design,
    load_spec,
    miss,
    shifted,
)
from abm.validation.cases import load_cases
from abm.validation.run import CaseResult
from abm.validation.stats import Estimate

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "experiments" / "calibration" / "calibration.yaml"
CONFIGS = ROOT / "configs"


def case_folder(tmp_path: Path) -> Path:
    """Two shipped baseline cases, the second marked out-of-sample."""
    folder = tmp_path / "validation"
    folder.mkdir()
    for name, sample in (("p5_expulsion_vote_common", "in-sample"), ("p7_deal_rare_maximal", "out-of-sample")):
        raw = yaml.safe_load((CONFIGS / "validation" / f"{name}.yaml").read_text(encoding="utf-8"))
        raw.update(sample=sample, scenario=str(CONFIGS / "baseline_jan2020.yaml"))
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return folder


def test_shipped_spec_loads_and_design_is_reproducible() -> None:
    spec = load_spec(SPEC)
    a, b = design(spec), design(spec)
    assert a.equals(b) and len(a) == spec.points
    for key, (low, high) in spec.parameters.items():
        assert a[key].between(low, high).all()


def test_low_above_high_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("parameters: {world.face_decay: [0.08, 0.02]}\n")
    with pytest.raises(ConfigError, match=r"world\.face_decay"):
        load_spec(path)


def test_shifted_case_applies_the_same_overrides_to_every_scenario() -> None:
    case = load_cases(["deaths_raise_spiral"])[0]
    moved = shifted(case, {"world.face_decay": 0.07})
    scenarios = [*moved.arm.scenarios, *(moved.versus.scenarios if moved.versus else ())]
    assert scenarios and all(s.world.face_decay == 0.07 for s in scenarios)
    assert case.arm.scenarios[0].world.face_decay != 0.07  # the original is untouched


def _result(value: float, low: float, high: float) -> CaseResult:
    case = load_cases(["baseline_spiral_minority"])[0]
    band = case.spec.band.model_copy(update={"low": low, "high": high})
    case = case.__class__(case.spec.model_copy(update={"band": band}), case.path, case.arm, case.versus)
    return CaseResult(case, Estimate(value, value, value, 100, "test"), "pass", 100, 0)


def test_miss_is_zero_inside_the_band_and_grows_outside() -> None:
    assert miss(_result(0.2, 0.1, 0.3)) == 0.0
    assert miss(_result(0.5, 0.1, 0.3)) == pytest.approx(1.0)
    assert miss(_result(0.0, 0.1, 0.3)) == pytest.approx(0.5)


def test_calibrate_scores_points_best_first() -> None:
    spec = CalibrationSpec(
        parameters={"world.face_decay": (0.02, 0.08)},
        points=2,
        runs=10,
        cases=["baseline_spiral_minority", "expulsion_vote_common"],
    )
    table = calibrate(spec)
    assert len(table) == 2 and set(table.columns) >= {"point", "world.face_decay", "passed", "miss"}
    assert table.passed.is_monotonic_decreasing


def test_out_of_sample_cases_are_dropped_unless_named_and_refused_when_named(tmp_path: Path) -> None:
    folder = case_folder(tmp_path)
    everything = [c.name for c in calibration_cases(None, folder, CONFIGS)]
    assert everything == ["expulsion_vote_common"]
    assert [c.name for c in calibration_cases(["expulsion_vote_common"], folder, CONFIGS)] == everything
    with pytest.raises(ConfigError, match=r"deal_rare_maximal.*out-of-sample"):
        calibration_cases(["expulsion_vote_common", "deal_rare_maximal"], folder, CONFIGS)


def test_calibrate_never_scores_an_out_of_sample_case(tmp_path: Path) -> None:
    folder = case_folder(tmp_path)
    spec = CalibrationSpec(parameters={"world.face_decay": (0.02, 0.08)}, points=2, runs=10)
    table = calibrate(spec, cases_dir=folder, configs_root=CONFIGS)
    assert "value:expulsion_vote_common" in table and "value:deal_rare_maximal" not in table
    assert set(table["cases"]) == {1}
    named = spec.model_copy(update={"cases": ["deal_rare_maximal"]})
    with pytest.raises(ConfigError, match="deal_rare_maximal"):
        calibrate(named, cases_dir=folder, configs_root=CONFIGS)
