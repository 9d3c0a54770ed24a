"""Climatology and persistence baselines."""

from __future__ import annotations

from pathlib import Path

import pytest

from abm.hindcast import baselines
from abm.hindcast.questions import QUESTIONS

# The project's copy of the brief's base rates (configs/reference/, copied from shared/data/).
REFERENCE = Path(__file__).resolve().parents[2] / "configs" / "reference" / "base_rates.yaml"


def test_base_rates_in_code_match_the_reference_file() -> None:
    assert baselines.rates_from_file(REFERENCE) == pytest.approx(dict(baselines.BASE_RATES))


def test_every_question_has_a_climatology_row() -> None:
    assert {r.question for r in baselines.CLIMATOLOGY} == {q.name for q in QUESTIONS}


def test_constant_hazard_conversion() -> None:
    assert baselines.window_probability(0.3, 81, 81) == pytest.approx(0.3)
    assert baselines.window_probability(0.3, 0, 81) == 0.0
    # two windows in a row: P(none in 2W) = P(none in W)^2
    p7 = baselines.window_probability(0.606, 7, 81)
    assert 1 - (1 - p7) ** 2 == pytest.approx(baselines.window_probability(0.606, 14, 81))
    assert baselines.climatology("answer", 7) == pytest.approx(1 - 0.394 ** (7 / 81))
    assert baselines.climatology("answer", 7) == pytest.approx(0.0773, abs=1e-4)


def test_crisis_shares_from_their_factors() -> None:
    rows = baselines.BY_QUESTION
    assert baselines.crisis_share(rows["counter"]) == pytest.approx(0.606 * 0.49)
    assert baselines.crisis_share(rows["proxy_kills"]) == pytest.approx(0.455 * (1 - 0.71))
    assert baselines.crisis_share(rows["deal"]) == baselines.DEAL_ASSUMED_SHARE
    table = baselines.describe()
    assert [r["assumed"] for r in table].count(True) == 1


def test_persistence() -> None:
    assert baselines.persistence(True) == 0.9
    assert baselines.persistence(False) == 0.1


def test_climatology_for_a_ninety_day_window() -> None:
    # 90 days is longer than the median crisis (81 days): more than the per-crisis share
    assert baselines.climatology("war", 90) == pytest.approx(1 - (1 - 0.292) ** (90 / 81))
    assert baselines.climatology("war", 90) > 0.292 > baselines.climatology("war", 30)
    assert {"p_7d", "p_30d", "p_90d"} <= set(baselines.describe()[0])
