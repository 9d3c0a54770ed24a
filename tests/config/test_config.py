"""Scenario loading: the baseline, `extends` inheritance, `--set` overrides, hashing, errors.

Every bad input must end as one `ConfigError` naming the dotted key (where there is one), the
offending value and what is allowed; `pytest.raises(ConfigError)` also fails the test when
any other exception type escapes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from abm.config import ConfigError, Scenario, config_hash, load_config, parse_assignment, validate, with_overrides
from abm.config.loader import read_yaml
from abm.config.schema import StateConfig
from abm.model.actions import CAPABILITIES

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def child_of_baseline(tmp_path: Path, body: str = "", name: str = "child") -> Path:
    """A config in tmp_path that extends a copy of the baseline (relative `extends`)."""
    write(tmp_path / "base" / "baseline_jan2020.yaml", BASELINE.read_text(encoding="utf-8"))
    return write(tmp_path / f"{name}.yaml", f"extends: base/baseline_jan2020.yaml\n{textwrap.dedent(body)}")


def config_error(path: Path | str = BASELINE, *overrides: str) -> str:
    """The message of the ConfigError that loading must raise."""
    with pytest.raises(ConfigError) as info:
        load_config(path, list(overrides))
    return str(info.value)


# --- the baseline -------------------------------------------------------------------------


def test_baseline_loads_with_january_2020_settings():
    sc = load_config(BASELINE)
    assert isinstance(sc, Scenario)
    assert sc.name == "baseline_jan2020"
    assert sc.start_date == dt.date(2020, 1, 3)
    assert sc.horizon_days == 180
    us = sc.states["us"]
    assert (us.doctrine, us.demands, us.sanctions_relief_offer) == ("lethal_red_line", "maximal", False)
    assert set(sc.states) == {"us", "iran", "iraq", "israel", "saudi_arabia", "uae"}
    assert {sid for sid, st in sc.states.items() if not st.engaged} == {"israel", "saudi_arabia", "uae"}
    assert {"kataib_hezbollah", "pmf_other", "hezbollah", "houthis"} <= set(sc.militias)
    assert {"quds_force", "irgc_aerospace", "kh_leader", "centcom"} <= set(sc.commanders)
    assert all(ch.open for ch in sc.channels.values())


def test_baseline_history_is_the_day_0_killing_and_agents_choose_from_day_1():
    sc = load_config(BASELINE)
    (trigger,) = sc.history
    assert (trigger.day, trigger.actor, trigger.action) == (0, "centcom", "targeted_killing")
    assert set(trigger.killed) == {"quds_force", "kh_leader"}
    assert sc.free_from_day == 1


def test_scenario_is_frozen():
    sc = load_config(BASELINE)
    with pytest.raises(ValueError):
        sc.states["us"].doctrine = "massive"  # type: ignore[misc]


def test_name_defaults_to_the_file_stem(tmp_path):
    sc = load_config(write(tmp_path / "my_scenario.yaml", "horizon_days: 60\nstates: {us: {}}\n"))
    # Policy traits default to none: a state declares what it has.
    assert (sc.name, sc.horizon_days, sc.states["us"].doctrine) == ("my_scenario", 60, None)


# --- inheritance with `extends` -------------------------------------------------------------


def test_extends_merges_mappings_key_by_key(tmp_path):
    base = load_config(BASELINE)
    sc = load_config(
        child_of_baseline(
            tmp_path,
            """
            name: massive_doctrine
            states:
              us: {doctrine: massive}
            sites:
              al_asad: {exposed: true}
            """,
        )
    )
    assert sc.name == "massive_doctrine"
    assert sc.states["us"].doctrine == "massive"
    # Siblings of the overridden key keep the parent's values, not the schema defaults.
    assert sc.states["us"].sanctions_level == base.states["us"].sanctions_level == 0.8
    assert sc.states["us"].force_protection == base.states["us"].force_protection == 0.6
    assert sc.states["us"].capabilities == base.states["us"].capabilities
    assert sc.sites["al_asad"].exposed is True
    assert sc.sites["al_asad"].present == base.sites["al_asad"].present
    assert sc.sites["al_asad"].kind == base.sites["al_asad"].kind == "base"
    assert sc.states["iran"] == base.states["iran"]
    assert set(sc.states) == set(base.states)
    assert sc.militias == base.militias


def test_extends_replaces_lists(tmp_path):
    sc = load_config(
        child_of_baseline(
            tmp_path,
            """
            states:
              iran: {reach: [al_asad], capabilities: [public_threat]}
            alliances: [[us, israel]]
            history:
              - {day: 0, actor: kataib_hezbollah, action: militia_rocket_attack, site: k1, deaths: 1}
            """,
        )
    )
    assert sc.states["iran"].reach == ["al_asad"]
    assert sc.states["iran"].capabilities == ["public_threat"]
    assert sc.alliances == [("us", "israel")]
    assert [ev.action for ev in sc.history] == ["militia_rocket_attack"]


def test_extends_chain_and_relative_paths(tmp_path):
    middle = child_of_baseline(
        tmp_path, "states:\n  us: {doctrine: proportional, sanctions_level: 0.5}\n", name="middle"
    )
    leaf = write(
        tmp_path / "deeper" / "leaf.yaml",
        "extends: ../middle.yaml\nname: leaf\nstates:\n  us: {sanctions_level: 0.2}\n",
    )
    sc = load_config(leaf)
    assert (sc.name, sc.states["us"].doctrine, sc.states["us"].sanctions_level) == ("leaf", "proportional", 0.2)
    assert load_config(middle).states["us"].sanctions_level == 0.5


def test_a_child_that_changes_nothing_equals_its_parent(tmp_path):
    assert load_config(child_of_baseline(tmp_path)) == load_config(BASELINE)


def test_extends_cycle_is_a_config_error(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    assert "extends" in config_error(tmp_path / "a.yaml")


def test_extends_missing_parent_names_the_parent(tmp_path):
    msg = config_error(write(tmp_path / "child.yaml", "extends: nowhere/parent.yaml\n"))
    assert "parent.yaml" in msg and "no such file" in msg


def test_extends_must_be_a_file_name(tmp_path):
    msg = config_error(write(tmp_path / "child.yaml", "extends: [a.yaml, b.yaml]\n"))
    assert "extends" in msg and "a.yaml" in msg


# --- `--set` overrides ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("us.doctrine=massive", "us.doctrine", "massive"),
        ("us.sanctions_level=0.3", "us.sanctions_level", 0.3),
        ("us.sanctions_relief_offer=true", "us.sanctions_relief_offer", True),
        ("us.sanctions_relief_offer=false", "us.sanctions_relief_offer", False),
        ("us.sanctions_relief_offer=0.5", "us.sanctions_relief_offer", 0.5),
        ("iran.advance_warning=choose", "iran.advance_warning", "choose"),
        ("world.successor_delay_days=10", "world.successor_delay_days", 10),
        ("iran.reach=[al_asad, erbil]", "iran.reach", ["al_asad", "erbil"]),
        ("us.adversary=null", "us.adversary", None),
        ("description=a=b", "description", "a=b"),
        (" us.doctrine = massive", "us.doctrine", "massive"),
        ("states.us.doctrine=massive", "states.us.doctrine", "massive"),
        ("us.capabilities=[public_threat]", "us.capabilities", ["public_threat"]),
    ],
)
def test_parse_assignment_reads_yaml_scalars_and_lists(text, key, value):
    parsed_key, parsed = parse_assignment(text)
    assert parsed_key == key
    assert parsed == value and type(parsed) is type(value)


def test_overrides_apply_on_top_of_the_file():
    sc = load_config(
        BASELINE,
        [
            "us.doctrine=massive",
            "us.sanctions_level=0.3",
            "us.sanctions_relief_offer=true",
            "us.demands=nuclear_only",
            "iran.reach=[al_asad, erbil]",
            "channels.oman.open=false",
            "iraq.mediation=0",
        ],
    )
    us, iran, iraq = sc.states["us"], sc.states["iran"], sc.states["iraq"]
    assert us.doctrine == "massive"
    assert us.sanctions_level == 0.3
    assert us.sanctions_relief_offer == 1.0  # version 1's `true` is the whole of the sanctions (MODEL.md §8)
    assert us.demands == "nuclear_only"
    assert iran.reach == ["al_asad", "erbil"]
    assert sc.channels["oman"].open is False
    assert iraq.mediation == 0.0
    assert us.force_protection == 0.6  # untouched siblings keep the file's values
    assert us.capabilities == load_config(BASELINE).states["us"].capabilities


def test_overrides_as_a_mapping_and_after_inheritance(tmp_path):
    child = child_of_baseline(tmp_path, "states:\n  us: {doctrine: proportional}\n")
    assert load_config(child).states["us"].doctrine == "proportional"
    assert load_config(child, {"us.doctrine": "massive"}).states["us"].doctrine == "massive"
    with pytest.raises(ConfigError, match="each key once"):  # no longer "last wins" (issue 17)
        load_config(child, ["us.doctrine=massive", "states.us.doctrine=lethal_red_line"])
    assert load_config(child, ["states.us.doctrine=lethal_red_line"]).states["us"].doctrine == "lethal_red_line"


def test_with_overrides_returns_a_validated_copy():
    base = load_config(BASELINE)
    changed = with_overrides(base, {"us.sanctions_level": 0.1, "iran.advance_warning": 0.0})
    assert (changed.states["us"].sanctions_level, changed.states["iran"].advance_warning) == (0.1, 0.0)
    assert base.states["us"].sanctions_level == 0.8
    with pytest.raises(ConfigError, match=r"states\.us\.sanctions_level"):
        with_overrides(base, {"us.sanctions_level": 2})


@pytest.mark.parametrize("text", ["us.doctrine", "=massive", "", "   =1"])
def test_malformed_assignment_is_a_config_error(text):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment(text)


def test_a_block_set_on_the_command_line_merges_into_the_files_block():
    base = load_config(BASELINE)
    block = load_config(BASELINE, ["us={doctrine: massive, force_protection: 0.5}"])
    dotted = load_config(BASELINE, ["us.doctrine=massive", "us.force_protection=0.5"])
    assert block == dotted
    assert block == load_config(BASELINE, ["states.us={doctrine: massive, force_protection: 0.5}"])
    b_us, base_us = block.states["us"], base.states["us"]
    assert b_us.posture == base_us.posture and b_us.resolve == base_us.resolve
    assert b_us.capabilities == base_us.capabilities and b_us.reach == base_us.reach
    assert b_us.doctrine == "massive" and base_us.doctrine != "massive"


def test_a_list_set_on_the_command_line_replaces_the_list():
    assert load_config(BASELINE, ["history=[]"]).history == []


def test_setting_below_a_scalar_names_the_scalar():
    msg = config_error(BASELINE, "us.doctrine.x=1")
    assert "states.us.doctrine" in msg and "us.doctrine.x" in msg


# --- version 2: states by id, the short form of a state's keys, capabilities, site kinds ------


def test_a_state_declared_with_nothing_has_no_policies():
    """Policy traits default to none: no doctrine, sanctions, demands or nuclear programme (MODEL.md §3)."""
    sc = validate({"name": "bare", "states": {"atlantis": {}}})
    st = sc.states["atlantis"]
    assert (st.doctrine, st.demands, st.nuclear_progress, st.adversary) == (None, None, None, None)
    assert (st.sanctions_level, st.force_protection, st.sanctions_relief_offer, st.mediation) == (0.0, 0.0, 0.0, 0.0)
    assert st.advance_warning == "choose"  # not a policy: a state with missiles decides each time (MODEL.md §8)
    assert (st.sovereignty_grievance, st.proxy_restraint, st.sovereignty_sensitivity) == (0.0, 0.5, 1.0)
    assert (st.expulsion_threshold, st.implementation_threshold) == (0.35, 0.9)
    assert st.capabilities == [] and st.reach == [] and st.engaged is True
    assert not hasattr(sc, "us")


def test_every_state_is_one_generic_state_config():
    sc = load_config(BASELINE)
    assert len({type(st) for st in sc.states.values()}) == 1
    assert sc.states["iraq"].capabilities == [] and sc.states["iraq"].mediation == 0.5
    assert sc.states["iran"].nuclear_progress == 0.45 and sc.states["us"].nuclear_progress is None
    assert sc.channels["iraqi_pm"].via == "iraq" and sc.channels["swiss"].via is None


@pytest.mark.parametrize(
    "body", ["", "states: {}\n", "states: []\n"], ids=["no states", "empty states", "states as a list"]
)
def test_a_scenario_needs_a_states_map(tmp_path, body):
    msg = config_error(write(tmp_path / "stateless.yaml", f"name: stateless\n{body}"))
    assert "states" in msg and len(msg.splitlines()) == 1, msg


SHORT_AND_LONG = [
    ("us.doctrine", "massive"),
    ("iran.reach", ["al_asad"]),
    ("iran.reach.0", "erbil"),
    ("iraq.mediation", 0.0),
    ("israel.engaged", True),
    ("us.capabilities", ["public_threat", "targeted_killing"]),  # the day-0 killing needs targeted_killing
    ("us", {"doctrine": "massive", "force_protection": 0.5}),
]


@pytest.mark.parametrize(("key", "value"), SHORT_AND_LONG, ids=[k for k, _ in SHORT_AND_LONG])
def test_the_short_and_the_long_form_of_a_state_key_give_the_same_scenario(key, value):
    base = load_config(BASELINE)
    short = load_config(BASELINE, {key: value})
    long = load_config(BASELINE, {f"states.{key}": value})
    assert short == long != base
    assert config_hash(short) == config_hash(long)
    assert with_overrides(base, {key: value}) == with_overrides(base, {f"states.{key}": value}) == short


def test_the_short_form_on_the_command_line():
    short = load_config(BASELINE, ["us.doctrine=massive"])
    long = load_config(BASELINE, ["states.us.doctrine=massive"])
    assert short == long
    assert short.states["us"].doctrine == "massive" != load_config(BASELINE).states["us"].doctrine


def test_the_short_form_names_a_state_added_by_an_earlier_override():
    sc = load_config(BASELINE, ["states.india={capabilities: [public_threat]}", "india.resolve=2.0"])
    assert sc.states["india"].resolve == 2.0 and sc.states["india"].capabilities == ["public_threat"]


def test_a_top_level_key_wins_over_a_state_of_the_same_name():
    sc = load_config(BASELINE, ["states.world={}", "world.face_decay=0.1"])
    assert sc.world.face_decay == 0.1 and sc.states["world"] == StateConfig()


OLD_FORMAT = {
    "us": "us: {doctrine: massive}\n",
    "iran": "iran:\n  advance_warning: 0.8\n",
    "iraq": "iraq: {mediation: 0.5}\n",
    "third_parties": "third_parties:\n  israel: {resolve: 1.2}\n",
}


@pytest.mark.parametrize(("block", "body"), OLD_FORMAT.items(), ids=OLD_FORMAT.keys())
def test_a_version_1_file_is_refused_with_how_to_convert_it(tmp_path, block, body):
    old = write(tmp_path / "old.yaml", f"name: old\n{body}")
    msg = config_error(old)
    assert str(old) in msg and f"`{block}:`" in msg and "version-1" in msg
    assert "`states:`" in msg and "capabilities" in msg and "kind" in msg
    assert len(msg.splitlines()) == 1, msg


def test_the_version_1_baseline_is_refused_whole(tmp_path):
    """A full version-1 file (the state blocks at the top level) names every old block it has."""
    v1 = write(
        tmp_path / "v1.yaml",
        """
        name: v1
        us: {doctrine: lethal_red_line, sanctions_level: 0.8, reach: [kh_depots]}
        iran: {advance_warning: 0.8, reach: [al_asad]}
        iraq: {mediation: 0.5}
        third_parties:
          israel: {entry_hazard: 0.5}
        sites:
          al_asad: {host: iraq, present: [us]}
          kh_depots: {host: iraq}
        """,
    )
    msg = config_error(v1)
    assert all(f"`{block}:`" in msg for block in OLD_FORMAT) and "`states:`" in msg


def test_a_version_1_block_is_refused_even_beside_states(tmp_path):
    msg = config_error(child_of_baseline(tmp_path, "us: {doctrine: massive}\n"))
    assert "`us:`" in msg and "version-1" in msg and "`states:`" in msg


def test_a_version_1_parent_is_refused_through_extends(tmp_path):
    write(tmp_path / "old_parent.yaml", "name: old\nus: {doctrine: massive}\n")
    msg = config_error(write(tmp_path / "child.yaml", "extends: old_parent.yaml\nname: child\n"))
    assert "`us:`" in msg and "`states:`" in msg


@pytest.mark.parametrize("key", ["us.doctrine", "iran.proxy_restraint", "iraq.mediation", "third_parties.x.resolve"])
def test_a_lever_for_a_state_the_scenario_lacks_names_the_key_not_the_version_1_format(tmp_path, key):
    """`--set us.doctrine=...` on a scenario without a state `us` must not blame the file for being version 1."""
    scenario = write(tmp_path / "two_states.yaml", "name: two\nstates:\n  north: {}\n  south: {}\n")
    value = "massive" if key == "us.doctrine" else "0.5"
    msg = config_error(scenario, f"{key}={value}")
    assert f"{key}: {key.split('.')[0]!r} is not a state" in msg and "north, south" in msg, msg
    assert "version-1" not in msg and len(msg.splitlines()) == 1, msg
    with pytest.raises(ConfigError, match="is not a state"):
        with_overrides(load_config(scenario), {key: 0.5})


def test_validate_refuses_a_version_1_mapping():
    raw = read_yaml(BASELINE)
    raw["us"] = raw["states"].pop("us")
    with pytest.raises(ConfigError, match="`states:`"):
        validate(raw)


SITE_KINDS_SHOWN = ["'base'", "'embassy'", "'city'", "'maritime'", "'oil'", "'nuclear'", "'missile_base'", "'depot'"]


@pytest.mark.parametrize(
    "assignment",
    [
        "sites.new_post={label: New post, host: iraq, present: [us]}",
        "sites.al_asad.kind=null",
        "sites.al_asad.kind=airfield",
        "sites.al_asad.kind=Base",
        "sites.al_asad.kind=[base]",
    ],
    ids=["no kind", "null kind", "unknown kind", "kind in capitals", "list for a kind"],
)
def test_a_site_without_a_valid_kind_is_one_error_naming_the_allowed_kinds(assignment):
    msg = config_error(BASELINE, assignment)
    site = assignment.split(".")[1].split("=")[0]
    assert f"sites.{site}.kind" in msg
    for kind in SITE_KINDS_SHOWN:
        assert kind in msg, f"{kind} missing from {msg!r}"
    assert len(msg.splitlines()) == 1, msg


def test_a_site_without_a_kind_in_a_file(tmp_path):
    child = child_of_baseline(tmp_path, "sites:\n  new_post: {label: New post, host: iraq}\n")
    msg = config_error(child)
    assert str(child) in msg and "sites.new_post.kind: missing" in msg and "'missile_base'" in msg
    assert len(msg.splitlines()) == 1, msg


def test_a_baseline_site_with_its_kind_removed():
    raw = read_yaml(BASELINE)
    del raw["sites"]["dubai"]["kind"]
    with pytest.raises(ConfigError) as info:
        validate(raw)
    assert "sites.dubai.kind: missing" in str(info.value) and "'city'" in str(info.value)


def test_every_capability_is_accepted():
    sc = load_config(BASELINE, {"iraq.capabilities": sorted(CAPABILITIES)})
    assert set(sc.states["iraq"].capabilities) == CAPABILITIES


@pytest.mark.parametrize(
    ("state", "name"),
    [
        ("us", "nuke"),
        ("iran", "Public_Threat"),
        ("iraq", "militia_rocket_attack"),  # an action, but a militia's, not a state's capability
        ("israel", "negotiate"),  # de-escalatory acts are open to every state, not a capability
    ],
)
def test_an_unknown_capability_is_refused_naming_the_states_capabilities(state, name):
    msg = config_error(BASELINE, f"{state}.capabilities=[public_threat, {name}]")
    assert f"states.{state}.capabilities" in msg and repr(name) in msg
    assert all(repr(c) in msg for c in CAPABILITIES), msg
    assert len(msg.splitlines()) == 1, msg


def test_an_unknown_capability_in_a_file(tmp_path):
    child = child_of_baseline(tmp_path, "states:\n  uae:\n    capabilities: [public_threat, drone_swarm]\n")
    msg = config_error(child)
    assert "states.uae.capabilities" in msg and "'drone_swarm'" in msg and "'cyber_attack'" in msg


@pytest.mark.parametrize(
    ("value", "twice"),
    [
        ("[public_threat, public_threat]", "public_threat"),
        ("[cyber_attack, public_threat, attack_city, cyber_attack]", "cyber_attack"),
        ("[attack_city, sustained_war, attack_city, sustained_war]", "attack_city, sustained_war"),
    ],
)
def test_a_capability_listed_twice_is_refused(value, twice):
    msg = config_error(BASELINE, f"iran.capabilities={value}")
    assert "states.iran.capabilities" in msg and f"listed twice: {twice}" in msg
    assert len(msg.splitlines()) == 1, msg


# --- validation errors: key, bad value and what is allowed ------------------------------------

ERRORS = {
    # unknown keys, nested (a state's keys are named by their full path, whichever form was set)
    "unknown key": ("us.doctrin=massive", ["states.us.doctrin", "'massive'", "not a known key"]),
    "unknown key, long form": ("states.us.doctrin=massive", ["states.us.doctrin", "'massive'", "not a known key"]),
    "unknown nested block": ("world.zzz.yyy=1", ["world.zzz", "not a known key"]),
    "unknown top-level key": ("horizon=90", ["horizon", "90", "not a known key"]),
    "unknown state by its short form": ("narnia.doctrine=massive", ["narnia", "not a known key"]),
    # wrong types
    "text for a number": ("us.sanctions_level=high", ["states.us.sanctions_level", "'high'", "finite number"]),
    "text for a bool": ("israel.engaged=maybe", ["states.israel.engaged", "'maybe'", "true or false"]),
    "text for a share": (
        "us.sanctions_relief_offer=maybe",
        ["states.us.sanctions_relief_offer", "'maybe'", "finite number"],
    ),
    "a share above 1": ("us.sanctions_relief_offer=1.5", ["states.us.sanctions_relief_offer", "1.5", "<= 1"]),
    "neither choose nor a share": (
        "iran.advance_warning=sometimes",
        ["states.iran.advance_warning", "'sometimes'", "'choose' or a finite number"],
    ),
    "number for a bool": ("israel.engaged=1", ["states.israel.engaged", "1", "true or false"]),
    "bool for a fraction": ("iraq.mediation=true", ["states.iraq.mediation", "True", "finite number"]),
    "text for a mapping": ("us=strong", ["states.us", "'strong'", "valid dictionary"]),
    "list for the states map": ("states=[us, iran]", ["states", "['us', 'iran']", "valid dictionary"]),
    "text for a list": ("us.reach=al_asad", ["states.us.reach", "'al_asad'", "valid list"]),
    "text for the capabilities list": (
        "us.capabilities=public_threat",
        ["states.us.capabilities", "'public_threat'", "valid list"],
    ),
    "fraction for an int": ("horizon_days=100.5", ["horizon_days", "100.5", "whole number"]),
    "list for a string": ("us.adversary=[iran]", ["states.us.adversary", "['iran']", "valid string"]),
    "text for nuclear progress": ("iran.nuclear_progress=high", ["states.iran.nuclear_progress", "'high'", "finite"]),
    "bad date": ("start_date=2020-13-01", ["start_date", "2020-13-01", "date"]),
    "bad id": ("name=Bad Name", ["name", "'Bad Name'", "pattern"]),
    # out of range
    "fraction above 1": ("us.sanctions_level=1.5", ["states.us.sanctions_level", "1.5", "<= 1"]),
    "fraction below 0": ("iran.advance_warning=-0.1", ["states.iran.advance_warning", "-0.1", ">= 0"]),
    "fraction above 1, long form": (
        "states.iraq.sovereignty_grievance=1.5",
        ["states.iraq.sovereignty_grievance", "1.5", "<= 1"],
    ),
    "sensitivity above 5": ("iraq.sovereignty_sensitivity=6.0", ["states.iraq.sovereignty_sensitivity", "6.0", "<= 5"]),
    "nuclear progress above 1": ("iran.nuclear_progress=1.2", ["states.iran.nuclear_progress", "1.2", "<= 1"]),
    "horizon too short": ("horizon_days=30", ["horizon_days", "30", ">= 31"]),
    "alert above 3": ("us.alert=4", ["states.us.alert", "4", "<= 3"]),
    "negative delay": ("world.successor_delay_days=-1", ["world.successor_delay_days", "-1", ">= 0"]),
    "huge int": ("world.war_death_threshold=" + "9" * 30, ["world.war_death_threshold", "999", "<= 10000000"]),
    # bad enum
    "bad doctrine": (
        "us.doctrine=massiv",
        ["states.us.doctrine", "'massiv'", "'proportional'", "'lethal_red_line'", "'massive'"],
    ),
    "bad demands": ("us.demands=all", ["states.us.demands", "'all'", "'maximal'", "'nuclear_only'"]),
    "bad posture": ("us.posture=backward", ["states.us.posture", "'backward'", "'forward'", "'consolidated'"]),
    # NaN and infinity, as YAML floats and as strings
    "yaml .nan": ("us.sanctions_level=.nan", ["states.us.sanctions_level", "nan", "finite"]),
    "yaml .NaN": ("us.resolve=.NaN", ["states.us.resolve", "nan", "finite"]),
    "yaml .inf": ("us.resolve=.inf", ["states.us.resolve", "inf", "finite"]),
    "yaml -.inf": ("world.casualty_dispersion=-.inf", ["world.casualty_dispersion", "inf", "finite"]),
    "string nan": ("us.sanctions_level=nan", ["states.us.sanctions_level", "'nan'", "finite"]),
    "string NaN": ("iran.advance_warning=NaN", ["states.iran.advance_warning", "'NaN'", "finite"]),
    "string inf": ("us.resolve=inf", ["states.us.resolve", "'inf'", "finite"]),
    "string -Infinity": ("us.caution=-Infinity", ["states.us.caution", "'-Infinity'", "finite"]),
    "overflowing float": ("us.resolve=1e999", ["states.us.resolve", "1e999", "finite"]),
    "nan inside a list": ("iran.reach=[al_asad, .nan]", ["states.iran.reach.1", "nan", "finite"]),
    # unknown cross-references
    "state reaches unknown site": ("us.reach=[kh_depots, nowhere]", ["states.us.reach", "'nowhere'", "known:", "k1"]),
    "militia reaches unknown site": (
        "militias.kataib_hezbollah.reach=[al_asad, nowhere]",
        ["militias.kataib_hezbollah.reach", "'nowhere'", "known:", "al_asad"],
    ),
    "history with unknown action": (
        "history=[{day: 1, actor: us, action: nuke}]",
        ["history.0.action", "'nuke'", "known:", "sign_deal", "targeted_killing"],
    ),
    "history with unknown actor": (
        "history=[{day: 1, actor: nobody, action: negotiate}]",
        ["history.0.actor", "'nobody'", "known:", "centcom"],
    ),
    "history kills a non-commander": (
        "history=[{day: 0, actor: centcom, action: targeted_killing, killed: [iran]}]",
        ["history.0.killed", "'iran'", "known:", "quds_force"],
    ),
    "history after the horizon": (
        "history=[{day: 180, actor: us, action: negotiate}]",
        ["history.0.day", "180", "horizon_days=180"],
    ),
    "history with the removed us_deaths": (
        "history=[{day: 1, actor: kataib_hezbollah, action: militia_rocket_attack, site: k1, deaths: 1, us_deaths: 1}]",
        ["history.0.us_deaths", "1", "not a known key"],
    ),
    "unknown site host": ("sites.al_asad.host=narnia", ["sites.al_asad.host", "'narnia'", "known:", "iraq"]),
    "unknown commander side": ("commanders.centcom.side=nato", ["commanders.centcom.side", "'nato'", "known:", "us"]),
    "unknown adversary": (
        "states.israel.adversary=russia",
        ["states.israel.adversary", "'russia'", "unknown state", "known:", "iran"],
    ),
    "adversary is a militia, not a state": (
        "us.adversary=kataib_hezbollah",
        ["states.us.adversary", "'kataib_hezbollah'", "unknown state", "known:", "iran"],
    ),
    "adversary is a commander, not a state": (
        "israel.adversary=quds_force",
        ["states.israel.adversary", "'quds_force'", "unknown state", "known:", "iran"],
    ),
    "unknown channel end": ("channels.oman.between=[us, narnia]", ["channels.oman.between", "'narnia'", "known:"]),
    "channel end is a militia": (
        "channels.oman.between=[us, kataib_hezbollah]",
        ["channels.oman.between", "'kataib_hezbollah'", "unknown state", "known:", "iran"],
    ),
    "channel with one end": ("channels.oman.between=[us]", ["channels.oman.between", "missing"]),
    "channel with three ends": ("channels.oman.between=[us, iran, iraq]", ["channels.oman.between", "at most 2"]),
    "channel without ends": ("channels.new_channel={open: true}", ["channels.new_channel.between", "missing"]),
    "unknown channel carrier": ("channels.oman.via=narnia", ["channels.oman.via", "'narnia'", "unknown state", "iraq"]),
    "channel carried by a militia": (
        "channels.iraqi_pm.via=kataib_hezbollah",
        ["channels.iraqi_pm.via", "'kataib_hezbollah'", "unknown state", "known:", "iraq"],
    ),
    "unknown ally": ("alliances=[[us, narnia]]", ["alliances.0", "'narnia'", "known:"]),
    "unknown patron": ("militias.houthis.patron=russia", ["militias.houthis.patron", "'russia'", "known:", "iran"]),
    "site id that is also a state": ("sites.iraq={kind: city}", ["used twice", "iraq"]),
    # a version-1 block name in a dotted key is not a state here, not a version-1 file
    "version-1 third_parties block": (
        "third_parties.israel.entry_hazard=0.1",
        ["third_parties.israel.entry_hazard", "'third_parties' is not a state", "israel", "states.<id>.<key>"],
    ),
}


@pytest.mark.parametrize(("assignment", "fragments"), ERRORS.values(), ids=ERRORS.keys())
def test_bad_value_is_one_config_error_naming_key_value_and_what_is_allowed(assignment, fragments):
    msg = config_error(BASELINE, assignment)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} missing from {msg!r}"
    assert len(msg.splitlines()) == 1, msg  # one bad input, one line


def test_several_bad_values_are_all_reported():
    msg = config_error(BASELINE, "us.sanctions_level=2", "iran.proxy_restraint=-1", "us.doctrin=massive")
    assert all(key in msg for key in ("us.sanctions_level", "iran.proxy_restraint", "us.doctrin"))


@pytest.mark.parametrize("literal", [".nan", ".NaN", ".inf", "-.Inf", "'nan'", "'inf'"])
def test_non_finite_numbers_in_a_yaml_file_are_refused(tmp_path, literal):
    child = child_of_baseline(tmp_path, f"world:\n  hubris_rate: {literal}\n")
    msg = config_error(child)
    assert "world.hubris_rate" in msg and "finite" in msg


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "nan", "Infinity"])
def test_validate_refuses_non_finite_numbers(value):
    raw = read_yaml(BASELINE)
    raw["states"]["us"]["force_protection"] = value
    with pytest.raises(ConfigError, match=r"states\.us\.force_protection.*finite"):
        validate(raw)


def test_a_nan_in_an_unknown_key_is_still_named():
    raw = read_yaml(BASELINE)
    raw["states"]["us"]["zz_extra"] = float("nan")
    with pytest.raises(ConfigError, match=r"states\.us\.zz_extra"):
        validate(raw)


# --- contradictions: inputs that are each valid but cannot all be true (issue 17) ----------------

HISTORY = "history=[{day: 2, actor: %s}]"
CONTRADICTIONS = {
    # who can do what: a state its capabilities (or a row imposed on states: votes, deals, steps),
    # a militia the militia rows, a commander what its side can do
    "the issue's militia signing a deal": (
        "history=[{day: 2, actor: hezbollah, action: sign_deal, site: dubai, killed: [centcom]}]",
        [
            "history.0.action",
            "'sign_deal'",
            "hezbollah is a militia",
            "allowed for a militia:",
            "militia_rocket_attack",
        ],
    ),
    "a militia imposing sanctions": (
        HISTORY % "kataib_hezbollah, action: new_sanctions, target: us",
        ["history.0.action", "'new_sanctions'", "kataib_hezbollah is a militia", "embassy_siege"],
    ),
    "a state without the capability": (
        HISTORY % "iraq, action: strike_territory, target: iran, site: iran_missile_bases, deaths: 3",
        ["history.0.action", "'strike_territory'", "not among states.iraq.capabilities", "allowed for iraq:"],
    ),
    "a capability the history uses taken away": (
        "us.capabilities=[public_threat, new_sanctions]",
        [
            "history.0.action",
            "centcom acts for us, a state, and 'targeted_killing' is not among states.us.capabilities",
        ],
    ),
    "an unwarned missile strike by a state without missiles": (
        HISTORY % "us, action: unwarned_missile_strike, target: iran, site: iran_missile_bases, deaths: 3",
        ["history.0.action", "a form of warned_missile_strike", "not among states.us.capabilities"],
    ),
    "a state doing a militia row": (
        HISTORY % "us, action: embassy_siege, site: us_embassy_baghdad",
        ["history.0.action", "'embassy_siege'", "us is a state", "allowed for us:", "expulsion_vote"],
    ),
    "a commander acting beyond its side": (
        HISTORY % "irgc_aerospace, action: strike_militia_sites, target: kataib_hezbollah, site: kh_depots",
        ["history.0.action", "'strike_militia_sites'", "irgc_aerospace acts for iran", "states.iran.capabilities"],
    ),
    "a militia's commander imposing sanctions": (
        HISTORY % "kh_leader, action: new_sanctions, target: us",
        ["history.0.action", "'new_sanctions'", "kh_leader acts for kataib_hezbollah, a militia"],
    ),
    # where: a site-targeted act hits only its kinds of site; an act that hits no site names none
    "a naval act at an air base": (
        HISTORY % "iran, action: naval_harassment, target: us, site: al_asad",
        ["history.0.site", "'al_asad' (kind base)", "allowed for 'naval_harassment': a site of kind maritime"],
    ),
    "rockets on shipping lanes": (
        HISTORY % "kataib_hezbollah, action: militia_rocket_attack, target: us, site: hormuz_shipping",
        ["history.0.site", "'hormuz_shipping' (kind maritime)", "allowed for 'militia_rocket_attack'", "embassy"],
    ),
    "a site-targeted act without a site": (
        HISTORY % "kataib_hezbollah, action: militia_rocket_attack, target: us",
        ["history.0.site", "missing", "allowed for 'militia_rocket_attack': a site of kind base"],
    ),
    "sanctions at a site": (
        HISTORY % "us, action: new_sanctions, target: iran, site: al_asad",
        ["history.0.site", "'al_asad'", "'new_sanctions' hits no site", "allowed: no site"],
    ),
    # whom: the target's kind, never the actor's own side
    "a targeted killing of a state": (
        HISTORY % "centcom, action: targeted_killing, target: iran, site: baghdad_airport",
        ["history.0.target", "'iran'", "'targeted_killing' targets a commander", "quds_force"],
    ),
    "sanctions on a militia": (
        HISTORY % "us, action: new_sanctions, target: kataib_hezbollah",
        ["history.0.target", "'kataib_hezbollah'", "'new_sanctions' targets a state", "iran"],
    ),
    "a target for a posture move": (
        HISTORY % "us, action: posture_consolidation, target: iran",
        ["history.0.target", "'iran'", "'posture_consolidation' has no target", "allowed: no target"],
    ),
    "sanctions on oneself": (
        HISTORY % "us, action: new_sanctions, target: us",
        ["history.0.target", "'us'", "the actor's own side", "another actor"],
    ),
    "a commander striking its own side": (
        HISTORY % "centcom, action: strike_militia_sites, target: us, site: kh_depots",
        ["history.0.target", "'us'", "the actor's own side"],
    ),
    # who died
    "a commander killed twice in one event": (
        HISTORY % "centcom, action: targeted_killing, target: quds_force, deaths: 2, killed: [quds_force, quds_force]",
        ["history.0.killed", "quds_force", "listed twice", "each commander once"],
    ),
    "a commander killed by its own side": (
        HISTORY % "centcom, action: targeted_killing, target: quds_force, deaths: 2, killed: [quds_force, centcom]",
        ["history.0.killed", "'centcom'", "serves us", "the actor's own side", "allowed: commanders of other sides"],
    ),
    "a killing by a non-violent act": (
        HISTORY % "us, action: new_sanctions, target: iran, deaths: 1, killed: [quds_force]",
        ["history.0", "'new_sanctions' kills no one", "allowed: deaths 0 and no killed"],
    ),
    "deaths from a non-violent act": (
        HISTORY % "us, action: public_threat, target: iran, deaths: 5",
        ["history.0", "'public_threat' kills no one", "deaths 0"],
    ),
    "fewer deaths than commanders killed": (
        HISTORY % "centcom, action: targeted_killing, target: quds_force, killed: [quds_force, kh_leader]",
        ["history.0.deaths", "got 0", "2 commanders killed", "allowed: at least 2"],
    ),
    # when
    "free choice after the horizon": (
        "free_from_day=3000",
        ["free_from_day", "3000", "horizon_days=180", "allowed: 0..181"],
    ),
    # self-edges
    "a channel from a state to itself": (
        "channels.oman.between=[us, us]",
        ["channels.oman.between", "['us', 'us']", "allowed: two different states"],
    ),
    "a channel carried by one of its ends": (
        "channels.oman.via=iran",
        ["channels.oman.via", "'iran'", "one of the channel's ends", "allowed: a third state"],
    ),
    "an alliance with oneself": (
        "alliances=[[us, israel], [iran, iran]]",
        ["alliances.1", "['iran', 'iran']", "allowed: two different states"],
    ),
    "a state that is its own adversary": (
        "us.adversary=us",
        ["states.us.adversary", "'us'", "the state itself", "allowed: another state"],
    ),
    "a militia whose enemy is its patron": (
        "militias.houthis.enemy=iran",
        ["militias.houthis.enemy", "'iran'", "also its patron", "allowed: a state other than iran"],
    ),
}


@pytest.mark.parametrize(("assignment", "fragments"), CONTRADICTIONS.values(), ids=CONTRADICTIONS.keys())
def test_a_contradiction_is_one_config_error_naming_key_value_and_what_is_allowed(assignment, fragments):
    msg = config_error(BASELINE, assignment)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} missing from {msg!r}"
    assert len(msg.splitlines()) == 1, msg


ACCEPTED = {
    "a row imposed on states (a vote)": HISTORY % "iraq, action: expulsion_vote, target: us",
    "a row imposed on states (a deal)": HISTORY % "us, action: sign_deal, target: iran",
    "an unwarned strike, a row no rule picks": HISTORY % "iran, action: unwarned_missile_strike, target: us, "
    "site: al_asad, deaths: 4",
    "talks, open to every state": HISTORY % "iran, action: negotiate, target: us",
    "a commander acting for its militia": HISTORY % "kh_leader, action: militia_rocket_attack, target: us, site: k1",
    "a killing at its place": HISTORY % "centcom, action: targeted_killing, target: quds_force, site: baghdad_airport, "
    "deaths: 1, killed: [quds_force]",
    "free only on the last day": "free_from_day=180",
    "never free (the record only)": "free_from_day=181",
}


@pytest.mark.parametrize("assignment", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_what_is_consistent_is_accepted(assignment):
    load_config(BASELINE, [assignment])


SHIPPED = sorted(
    p.relative_to(ROOT).as_posix()
    for folder in ("configs", "configs/generic", "configs/examples")
    for p in (ROOT / folder).glob("*.yaml")
)


@pytest.mark.parametrize("path", SHIPPED)
def test_every_shipped_config_passes_the_contradiction_checks(path):
    load_config(ROOT / path)


# --- file-level errors ---------------------------------------------------------------------


def test_malformed_yaml_names_file_and_line(tmp_path):
    bad = write(tmp_path / "bad.yaml", "name: bad\nstates:\n  us:\n    reach: [al_asad, erbil\n    doctrine: massive\n")
    msg = config_error(bad)
    assert str(bad) in msg and "invalid YAML" in msg and "line" in msg


def test_tab_indentation_is_malformed_yaml(tmp_path):
    msg = config_error(write(tmp_path / "tabs.yaml", "name: x\nstates:\n  us:\n\tdoctrine: massive\n"))
    assert "invalid YAML" in msg and "line 4" in msg


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    msg = config_error(missing)
    assert str(missing) in msg and "no such file" in msg


def test_a_directory_is_not_a_config(tmp_path):
    assert "is a folder, not a config file" in config_error(tmp_path)


def test_non_utf8_file(tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: x\ndescription: Caf\u00e9 in Tehr\u00e2n\n".encode("latin-1"))
    msg = config_error(latin1)
    assert str(latin1) in msg and "UTF-8" in msg


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        "!!python/object/apply:subprocess.check_output [[touch, '{marker}']]",
        "!!python/name:os.system",
    ],
)
def test_python_object_tags_are_refused_and_never_run(tmp_path, tag):
    marker = tmp_path / "pwned"
    config = write(tmp_path / "evil.yaml", f"name: evil\ndescription: {tag.format(marker=marker)}\n")
    msg = config_error(config)
    assert str(config) in msg and "python/" in msg
    assert not marker.exists()


def test_top_level_must_be_a_mapping(tmp_path):
    msg = config_error(write(tmp_path / "list.yaml", "- us\n- iran\n"))
    assert "mapping" in msg and "list" in msg


def test_a_python_tag_in_an_override_is_just_a_string():
    msg = config_error(BASELINE, "us.doctrine=!!python/object/apply:os.system ['echo hi']")
    assert "us.doctrine" in msg and "os.system" in msg


# --- pathological inputs: still one ConfigError -----------------------------------------------


def test_deeply_nested_yaml_file(tmp_path):
    depth = 5000
    deep = write(tmp_path / "deep.yaml", "name: deep\nstates:\n  us:\n    reach: " + "[" * depth + "]" * depth + "\n")
    config_error(deep)


def test_deeply_nested_raw_mapping():
    raw = read_yaml(BASELINE)
    node = raw["states"]["us"]["zz_deep"] = {}
    for _ in range(5000):
        node = node.setdefault("a", {})
    with pytest.raises(ConfigError):
        validate(raw)


@pytest.mark.parametrize("date", ["2020-13-01", "2020-02-30"])
def test_impossible_date_in_a_file(tmp_path, date):
    msg = config_error(write(tmp_path / "date.yaml", f"name: x\nstart_date: {date}\n"))
    assert "date.yaml" in msg and ("month" in msg or "day" in msg), msg


def test_integer_too_long_to_print_in_a_file(tmp_path):
    config = write(tmp_path / "big.yaml", "name: big\nstates:\n  us:\n    resolve: " + "1" * 5000 + "\n")
    config_error(config)


def test_integer_too_long_to_print_in_an_override():
    msg = config_error(BASELINE, "us.resolve=" + "1" * 5000)
    assert "states.us.resolve" in msg


def test_integer_too_long_to_print_in_a_raw_mapping():
    raw = read_yaml(BASELINE)
    raw["states"]["us"]["resolve"] = 10**5000
    with pytest.raises(ConfigError, match=r"states\.us\.resolve"):
        validate(raw)


@pytest.mark.parametrize("raw", [[1, 2], "us: {doctrine: massive}", None, 42])
def test_validate_refuses_a_non_mapping(raw):
    with pytest.raises(ConfigError, match="mapping"):
        validate(raw)  # type: ignore[arg-type]


# --- config_hash ---------------------------------------------------------------------------


def test_config_hash_is_stable_and_hex():
    h = config_hash(load_config(BASELINE))
    assert h == config_hash(load_config(BASELINE))
    assert re.fullmatch(r"[0-9a-f]{64}", h), h  # a sha256 in lower-case hex: the form manifests record


def test_config_hash_depends_on_content_not_on_files_or_key_order(tmp_path):
    reordered = write(
        tmp_path / "reordered.yaml",
        "".join(f"{line}\n" for line in reversed(_top_level_blocks(BASELINE.read_text(encoding="utf-8")))),
    )
    base = config_hash(load_config(BASELINE))
    assert config_hash(load_config(reordered)) == base
    assert config_hash(load_config(child_of_baseline(tmp_path))) == base


def test_config_hash_changes_when_a_value_changes_and_comes_back():
    base = load_config(BASELINE)
    h = config_hash(base)
    changed = with_overrides(base, {"us.sanctions_level": 0.3})
    assert config_hash(changed) != h
    assert config_hash(with_overrides(changed, {"us.sanctions_level": 0.8})) == h
    assert config_hash(with_overrides(base, {"channels.oman.open": False})) != h
    assert config_hash(with_overrides(base, {"history": []})) != h


def test_config_hash_is_the_same_in_another_process():
    code = f"from abm.config import config_hash, load_config; print(config_hash(load_config({str(BASELINE)!r})))"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == config_hash(load_config(BASELINE))


def _top_level_blocks(text: str) -> list[str]:
    """Split a YAML document into top-level blocks (a key with its indented lines)."""
    blocks: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " -" and blocks:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


# --- gaps the loader once had, now closed: each test pins its fix ---------------------------


def test_a_bool_is_not_a_fraction():
    # `--set us.sanctions_level=true` silently means maximum pressure.
    config_error(BASELINE, "us.sanctions_level=true")


def test_a_duplicated_key_is_an_error(tmp_path):
    # The second `us:` block silently drops `doctrine: massive` from the first.
    dup = write(tmp_path / "dup.yaml", "name: dup\nstates:\n  us: {doctrine: massive}\n  us: {demands: nuclear_only}\n")
    msg = config_error(dup)
    # Where and what, not the key: a file that did not parse has none of its text quoted (Path safety).
    assert "duplicate key" in msg and "line 4, column 3" in msg


def test_a_key_set_twice_with_two_values_is_one_error_not_last_wins():
    """`--set K=a --set K=b` used to run b while the command line showed both (issue 17)."""
    with pytest.raises(ConfigError, match=r"us\.doctrine: given twice \('massive', then 'proportional'\)"):
        load_config(BASELINE, ["us.doctrine=massive", "us.doctrine=proportional"])
    with pytest.raises(ConfigError, match=r"the same key as us\.doctrine \(states\.us\.doctrine\)"):
        load_config(BASELINE, ["us.doctrine=massive", "states.us.doctrine=massive"])
    assert load_config(BASELINE, ["us.doctrine=massive", "us.doctrine=massive"]).states["us"].doctrine == "massive"
