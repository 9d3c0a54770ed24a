"""The out-of-sample scenarios change only what MODEL.md §10 allows: actors, sites, traits, trigger.

Their world, behaviour and mechanisms must be the baseline's (nothing tuned to the crises), their
reference timelines must be the design brief's, and their trigger must be the record's day 0.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from abm.config import load_config
from abm.validation.cases import load_cases

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
OUT_OF_SAMPLE = {
    "israel_iran_2024.yaml": "timeline_israel_iran_2024_04.csv",
    "india_pakistan_2019.yaml": "timeline_india_pakistan_2019.csv",
}
SHARED_BLOCKS = ("world", "behaviour", "mechanisms")


@pytest.fixture(scope="module")
def baseline():
    return load_config(CONFIGS / "baseline_jan2020.yaml")


@pytest.mark.parametrize("name", sorted(OUT_OF_SAMPLE))
@pytest.mark.parametrize("block", SHARED_BLOCKS)
def test_shared_blocks_equal_the_baseline(name: str, block: str, baseline) -> None:
    scenario = load_config(CONFIGS / name)
    assert getattr(scenario, block).model_dump() == getattr(baseline, block).model_dump()


@pytest.mark.parametrize("name", sorted(OUT_OF_SAMPLE))
def test_trigger_is_the_timelines_first_row(name: str) -> None:
    """Day 0 imposes the first row of the timeline (same date, same deaths); agents choose from day 1."""
    scenario = load_config(CONFIGS / name)
    with open(CONFIGS / "reference" / OUT_OF_SAMPLE[name], newline="", encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    assert str(scenario.start_date) == first["date"]
    (trigger,) = scenario.history
    assert trigger.day == 0 and trigger.deaths == int(first["deaths"])
    assert scenario.free_from_day == 1


# sha256 of the design brief's data/<timeline> (shared/data/ of the steering repository) when
# they were copied; a copy edited by hand, or a brief that changed, fails here.
BRIEF_SHA256 = {
    "timeline_israel_iran_2024_04.csv": "b63e43ee0f6be3e6b2c6b656b74d5422a92c911d1ab97d7b63ec627e6a83bf7a",
    "timeline_india_pakistan_2019.csv": "51953b0926ba3a7f6c8aa3cc407d750b1a54a78b4670993bdfbd69ce6442b828",
}


@pytest.mark.parametrize("timeline", sorted(OUT_OF_SAMPLE.values()))
def test_reference_timelines_are_the_briefs(timeline: str) -> None:
    copy = (CONFIGS / "reference" / timeline).read_bytes()
    assert hashlib.sha256(copy).hexdigest() == BRIEF_SHA256[timeline]
    shared = CONFIGS.parents[1] / "shared" / "data" / timeline
    if shared.is_file():  # next to a checkout of the steering repository: the brief itself
        assert copy == shared.read_bytes()


def test_out_of_sample_cases_name_only_out_of_sample_scenarios() -> None:
    """Every oos_ case is marked out-of-sample and runs only the two crises; no other case is."""
    cases = load_cases(configs_root=CONFIGS)
    oos = [c for c in cases if c.path.name.startswith("oos_")]
    assert len(oos) >= 8
    for case in cases:
        is_oos = case.path.name.startswith("oos_")
        assert (case.sample == "out-of-sample") == is_oos, case.name
        names = {p.name for p in case.arm.paths}
        assert (names <= set(OUT_OF_SAMPLE)) == is_oos, case.name
