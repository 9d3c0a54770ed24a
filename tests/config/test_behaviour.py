"""The `behaviour:` block: every parameter documented, ranged and read; how blocks expand for screening."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from abm.config import ConfigError, Scenario, config_hash, load_config, with_overrides
from abm.config.behaviour import BehaviourConfig, Block, bounds, leaf_fields
from abm.config.loader import HASHED_WHEN_SET
from abm.config.ranges import block_parameters, screening_range
from abm.config.schema import Strict, WorldConfig
from abm.model.rules import SIGNAL_KINDS, signal_kind

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
FIELDS = leaf_fields()
# A unit names what the number counts: probability, share, multiplier, days, deaths, ... per day.
UNIT = re.compile(r"\[([^\]]+)\]; (.+)$")


def test_the_block_walk_finds_every_sub_block() -> None:
    keys = [key for key, _ in FIELDS]
    assert len(keys) == len(set(keys)) > 40
    assert {k.split(".")[1] for k in keys} == set(BehaviourConfig.model_fields)


@pytest.mark.parametrize(("key", "info"), FIELDS, ids=[k for k, _ in FIELDS])
def test_every_field_has_a_unit_a_source_and_a_range_holding_its_default(key: str, info) -> None:
    match = UNIT.search(info.description or "")
    assert match, f"{key}: description must end '[unit]; source'"
    unit, source = match.groups()
    assert unit.strip() and len(source) > 10, key
    assert info.json_schema_extra == {"unit": unit, "source": source}
    span = bounds(info)
    assert span is not None, f"{key}: needs ge and le"
    low, high = span
    assert low < high and low <= info.default <= high, key
    assert type(info.default) is info.annotation, f"{key}: a {info.annotation.__name__} field needs such a default"


def test_blocks_are_as_strict_as_the_rest_of_the_schema() -> None:
    assert Block.model_config == Strict.model_config
    with pytest.raises(ConfigError, match=r"behaviour\.militias\.revenge_on_los: got .*not a known key"):
        load_config(BASELINE, ["behaviour.militias.revenge_on_los=0.1"])
    with pytest.raises(ConfigError, match=r"behaviour\.host\.vote_ceiling: got 2\.0; allowed: a number <= 1"):
        load_config(BASELINE, ["behaviour.host.vote_ceiling=2.0"])
    with pytest.raises(ConfigError, match=r"behaviour\.militias\.revenge_death_cap: got 2\.5"):
        load_config(BASELINE, ["behaviour.militias.revenge_death_cap=2.5"])


def test_a_key_set_on_the_command_line_or_in_a_file_reaches_the_scenario(tmp_path) -> None:
    sc = load_config(BASELINE, ["behaviour.militias.revenge_on_loss=0", "behaviour.host.withdrawal_days=3"])
    assert sc.behaviour.militias.revenge_on_loss == 0.0 and sc.behaviour.host.withdrawal_days == 3
    assert sc.behaviour.militias.revenge_per_death == 0.05  # the rest of the block keeps its defaults
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {BASELINE}\nbehaviour:\n  accidents: {{median_deaths: 176.0}}\n")
    assert load_config(child).behaviour.accidents.median_deaths == 176.0


def test_belief_likelihoods_cover_every_signal() -> None:
    table = BehaviourConfig().beliefs.likelihoods()
    assert set(table) == set(SIGNAL_KINDS)
    seen = {signal_kind(w, d, k) for w in (True, False) for d in (0, 3) for k in (True, False)}
    assert seen == set(SIGNAL_KINDS)
    assert table["warned_harmless"] == (0.60, 0.12) and table["decapitation"] == (0.10, 0.60)


def test_every_parameter_is_read_by_the_model() -> None:
    """A parameter the rules never read would let a screening vary nothing (the likelihoods are
    read through `BeliefsConfig.likelihoods`)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "abm" / "model").rglob("*.py"))
    unread = [
        key
        for key, _ in FIELDS
        if not key.endswith(("_if_limited", "_if_unlimited")) and f".{key.rsplit('.', 1)[1]}" not in source
    ]
    assert not unread, f"behaviour parameters no rule reads: {unread}"


def test_a_default_behaviour_block_leaves_the_config_hash_as_before() -> None:
    """Saved manifests record configs without the block: their hash must still match."""
    sc = load_config(BASELINE)
    dump = sc.model_dump(mode="json")
    old = Scenario.model_validate({k: v for k, v in dump.items() if k not in HASHED_WHEN_SET})
    assert config_hash(old) == config_hash(sc)
    assert config_hash(with_overrides(sc, {"behaviour.host.vote_ceiling": 0.4})) != config_hash(sc)
    assert config_hash(with_overrides(sc, {"behaviour.host.vote_ceiling": 0.5})) == config_hash(sc)  # the default


# -- blocks for screening --------------------------------------------------------------------------
def test_block_parameters_expand_behaviour_and_world() -> None:
    behaviour = block_parameters("behaviour")
    assert [p.key for p in behaviour] == [key for key, _ in FIELDS]
    assert all(p.low < p.high for p in behaviour)
    assert {p.key for p in behaviour if p.integer} == {
        "behaviour.militias.revenge_death_cap",
        "behaviour.host.withdrawal_days",
    }
    militias = block_parameters("behaviour.militias")
    assert militias == [p for p in behaviour if p.key.startswith("behaviour.militias.")]
    world = {p.key: (p.low, p.high) for p in block_parameters("world")}
    assert "world.war_death_threshold" not in world  # a definition of war, not screened
    assert world["world.face_decay"] == (0.02, 0.08) and world["world.successor_delay_days"] == (1, 30)
    assert len(world) == len(WorldConfig.model_fields) - 1


def test_every_world_rate_has_a_screening_range_inside_its_validation_range() -> None:
    """World validation ranges are far wider than any value worth exploring (0-1 for a daily
    rate of 0.0015; 0-365 days): each numeric field says what a screening explores, and why."""
    for name, info in WorldConfig.model_fields.items():
        extra = info.json_schema_extra
        assert isinstance(extra, dict) and "screen" in extra, name
        if extra["screen"] is None:
            continue
        low, high = screening_range(info) or (0, 0)
        vlow, vhigh = bounds(info) or (0, 0)
        assert vlow <= low < high <= vhigh, name
        assert low <= info.default <= high, name
        assert extra["screen_source"], name


@pytest.mark.parametrize(
    ("block", "needle"),
    [("mechanisms", "no numeric parameters"), ("nope", "not a config block; allowed: behaviour,"), ("states", "not a")],
)
def test_a_block_that_cannot_be_screened_is_refused(block: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        block_parameters(block)
