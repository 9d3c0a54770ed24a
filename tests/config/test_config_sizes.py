"""Huge and deep configs: never a traceback, a hang or a silent acceptance (complements the fuzz).

Each case must end within a few seconds with one `ConfigError` whose message stays short
enough for a terminal, or be a config that is legitimately valid.
"""

from __future__ import annotations

import copy
import functools
import time
from pathlib import Path
from typing import Any

import pytest

from abm.config import ConfigError, load_config, validate
from abm.config.loader import read_yaml

BASELINE = Path(__file__).resolve().parents[2] / "configs" / "baseline_jan2020.yaml"
RAW: dict[str, Any] = read_yaml(BASELINE)
SECONDS = 15.0  # generous for a slow CI machine; these take 0.01-2 s here
MESSAGE_CHARS = 1000


def changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return raw


def refused(raw: Any) -> str:
    began = time.monotonic()
    with pytest.raises(ConfigError) as err:
        validate(raw)
    assert time.monotonic() - began < SECONDS
    return str(err.value)


def nested(depth: int, as_list: bool) -> Any:
    node: Any = 1
    for _ in range(depth):
        node = [node] if as_list else {"a": node}
    return node


@pytest.mark.parametrize(
    ("case", "path", "value", "needle"),
    [
        ("10^6 unknown reach sites", ("states", "us", "reach"), ["nowhere"] * 10**6, "states.us.reach: got"),
        ("10^6 distinct reach ids", ("states", "us", "reach"), [f"s{i}" for i in range(10**6)], "states.us.reach: got"),
        ("10 MB name", ("name",), "x" * 10**7, "name: got 'xxx"),
        ("10 MB doctrine", ("states", "us", "doctrine"), "x" * 10**7, "states.us.doctrine: got 'xxx"),
        ("10 MB value of an unknown key", ("states", "us", "colour"), "x" * 10**7, "states.us.colour: got 'xxx"),
        ("10 MB site kind", ("sites", "al_asad", "kind"), "x" * 10**7, "sites.al_asad.kind: got 'xxx"),
        ("10 MB capability", ("states", "iran", "capabilities"), ["x" * 10**7], "states.iran.capabilities.0: got"),
        ("10 MB state id", ("states", "x" * 10**7), {}, "states.xxx"),
        ("10^6 capabilities", ("states", "us", "capabilities"), ["public_threat"] * 10**6, "states.us.capabilities"),
        ("10^6 unknown capabilities", ("states", "us", "capabilities"), ["nuke"] * 10**6, "states.us.capabilities"),
        ("10^6 states", ("states",), {f"s{i}": {} for i in range(10**6)}, "states: got"),
        ("10^6 channel ends", ("channels", "oman", "between"), ["us"] * 10**6, "channels.oman.between: got"),
        ("10^6-long list for a number", ("horizon_days",), list(range(10**6)), "horizon_days: got [0, 1, 2"),
        ("10^5-deep mapping", ("states", "us"), nested(10**5, as_list=False), "nesting too deep"),
        ("10^5-deep list", ("states", "us", "reach"), nested(10**5, as_list=True), "nesting too deep"),
        ("10^5-deep capabilities", ("states", "us", "capabilities"), nested(10**5, as_list=True), "nesting too deep"),
        ("300-deep mapping", ("world",), nested(300, as_list=False), "world"),
        ("a 10^4000 number", ("horizon_days",), 10**4000, "horizon_days"),
    ],
)
def test_huge_or_deep_values_are_refused_quickly_with_a_short_message(case, path, value, needle) -> None:
    message = refused(changed(path, value))
    assert needle in message and len(message) < MESSAGE_CHARS, message[:300]


def test_a_million_copies_of_a_valid_reach_site_are_refused() -> None:
    refused(changed(("states", "us", "reach"), ["al_asad"] * 10**6))


def test_a_huge_unknown_key_gives_a_short_message() -> None:
    assert len(refused(changed(("z" * 3_000_000,), 1))) < MESSAGE_CHARS


def test_yaml_aliases_cannot_expand_a_small_file_into_a_huge_one(tmp_path) -> None:
    """'Billion laughs': nine levels of aliases, a few hundred bytes; refused before expansion."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    (tmp_path / "laughs.yaml").write_text("\n".join(lines) + "\n")
    began = time.monotonic()
    with pytest.raises(ConfigError, match="aliases"):
        load_config(tmp_path / "laughs.yaml")
    assert time.monotonic() - began < SECONDS


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("description: '" + "x" * 10**7 + "'\n")
    began = time.monotonic()
    with pytest.raises(ConfigError, match="larger than"):
        load_config(path)
    assert time.monotonic() - began < 1.0


def test_a_long_history_is_valid_and_validated_in_bounded_time() -> None:
    """Not every large config is wrong: 10^4 repeats of the day-0 event are a valid (if odd) history."""
    began = time.monotonic()
    scenario = validate(changed(("history",), RAW["history"] * 10**4))
    assert len(scenario.history) == len(RAW["history"]) * 10**4 and time.monotonic() - began < SECONDS


# --- command-line values (--set, --grid, --lever, --lhs, --param): one strict parser ---------------

LEVELS = ["&l0 [x,x,x,x,x,x,x,x,x]"] + [f"&l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 8)]
LAUGHS = "[" + ",".join(LEVELS) + "]"  # eight levels of aliases, 9**8 nodes once expanded


def _cli_values() -> dict[str, Any]:
    from abm.config import parse_assignment
    from abm.runner.designs import parse_grid, parse_lever, parse_range

    lhs = functools.partial(parse_range, flag="--lhs")
    return {
        "--set": parse_assignment,
        "--grid": parse_grid,
        "--lever": parse_lever,
        "--lhs": lhs,
        "--param": parse_range,
    }


@pytest.mark.parametrize("flag", ["--set", "--grid", "--lever"])
def test_aliases_in_a_command_line_value_are_refused_before_expansion(flag) -> None:
    """Eight levels of aliases in 280 characters took 21 s through --grid's yaml.safe_load."""
    parse = _cli_values()[flag]
    began = time.monotonic()
    with pytest.raises(ConfigError, match=r"YAML aliases \(\*name\) are not allowed") as err:
        parse(f"us.doctrine={LAUGHS}" if flag != "--lever" else f"us.doctrine={LAUGHS},x")
    assert time.monotonic() - began < 1.0 and flag in str(err.value) and len(str(err.value)) < MESSAGE_CHARS


@pytest.mark.parametrize("flag", ["--set", "--grid", "--lever", "--lhs", "--param"])
def test_a_command_line_value_over_the_length_limit_is_refused(flag) -> None:
    text = "world.militia_attack_rate=0:" + "1" * 10_000 + (",0" if flag == "--lever" else "")
    with pytest.raises(ConfigError, match="at most 10,000 characters") as err:
        _cli_values()[flag](text)
    assert flag in str(err.value) and len(str(err.value)) < MESSAGE_CHARS


@pytest.mark.parametrize("flag", ["--set", "--grid"])
def test_a_command_line_value_nested_too_deep_is_refused(flag) -> None:
    with pytest.raises(ConfigError, match="nested too deep; allowed: at most 20 levels"):
        _cli_values()[flag]("us.doctrine=" + "[" * 21 + "x" + "]" * 21)
    with pytest.raises(ConfigError, match="nested too deep"):  # block style, no brackets to count
        _cli_values()[flag]("us=" + "".join(f"\n{'  ' * i}k{i}:" for i in range(22)) + " x")


def test_values_within_the_limits_parse_as_before() -> None:
    from abm.config import parse_assignment

    assert parse_assignment("us.doctrine=" + "[" * 20 + "x" + "]" * 20)[1] is not None
    assert parse_assignment("us={doctrine: massive, force_protection: 0.5}") == (
        "us",
        {"doctrine": "massive", "force_protection": 0.5},
    )
    assert parse_assignment("start_date=2020-13-01") == ("start_date", "2020-13-01")  # not YAML: as written
    assert parse_assignment("x='[[[['") == ("x", "[[[[")  # brackets inside quotes are not nesting
    grid = _cli_values()["--grid"]("us.sanctions_level=0,0.5,1")
    assert (grid.key, grid.values) == ("us.sanctions_level", [0, 0.5, 1])
