"""Bad experiment definitions: one ConfigError naming the key, before any run, never a traceback.

Complements test_runner_experiment.py (zero or negative runs, empty grids, unknown parameter
paths, low > high, Sobol base not a power of two) with the gaps found for issue 6: switches and
counts given as the wrong type, unknown designs, designs too large to enumerate, deep nesting,
and a property test over random mutations of a valid experiment.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.config import ConfigError
from abm.runner import load_experiment, parse_spec, resolve
from abm.runner.designs import MAX_POINTS
from tests.runner.support import BASELINE

VALID: dict[str, Any] = {
    "name": "t",
    "config": str(BASELINE),
    "parameters": {"us.doctrine": ["proportional", "massive"]},
    "runs": 3,
}
RANGE = {"world.hubris_rate": {"low": 0.1, "high": 0.5}}


def nested(depth: int) -> Any:
    node: Any = 1
    for _ in range(depth):
        node = {"a": node}
    return node


def refused(spec: Any) -> str:
    began = time.monotonic()
    with pytest.raises(ConfigError) as err:
        resolve(parse_spec(spec))
    assert time.monotonic() - began < 10
    return str(err.value)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"design": "factorial"}, "design: got 'factorial'; allowed: 'grid', 'lhs', 'sobol' or 'points'"),
        ({"runs": True}, "runs: got True; allowed: a whole number"),
        ({"runs": 2.5}, "runs: got 2.5"),
        ({"runs": "10"}, "runs: got '10'"),
        ({"runs": 10**9}, "runs: got 1000000000"),
        ({"seed": -1}, "seed: got -1"),
        ({"events": 1}, "events: got 1; allowed: true or false"),
        ({"common_random_numbers": "yes"}, "common_random_numbers: got 'yes'"),
        ({"max_failure_share": True}, "max_failure_share: got True"),
        ({"design": "lhs", "samples": True, "parameters": RANGE}, "samples: got True"),
        ({"design": "lhs", "samples": 0, "parameters": RANGE}, "samples: got 0"),
        ({"design": "lhs", "samples": 5, "parameters": {"world.hubris_rate": {"low": "0", "high": 1}}}, "low"),
        ({"design": "lhs", "samples": 5, "parameters": {"world.hubris_rate": {"low": 0.1}}}, "hubris_rate"),
        ({"design": "lhs", "samples": 5, "parameters": {"world.hubris_rate": {"low": float("nan"), "high": 1}}}, "nan"),
        ({"design": "lhs", "samples": 3, "parameters": {"us.doctrine": {"low": 0, "high": 1}}}, "us.doctrine"),
        ({"parameters": {"us.reach.99": ["al_asad"]}}, "us.reach.99: no list item '99'"),
        ({"parameters": {"us": ["x"]}}, "point 0 (us='x')"),
        ({"parameters": {"": [1]}}, "not a dotted key"),
        ({"parameters": {"us..doctrine": [1]}}, "not a dotted key"),
        ({"parameters": {"us.doctrine": "massive"}}, "a non-empty list of values"),
        ({"parameters": {"us.doctrine": [["massive"]]}}, "scalar values"),
        ({"design": "points", "points": [{"us.doctrine": "bogus"}], "parameters": {}}, "point 0 (us.doctrine='bogus')"),
        ({"design": "points", "points": "all", "parameters": {}}, "points"),
        ({"samples": 4}, "samples: only used with designs 'lhs' and 'sobol'"),
        ({"set": {"us.doctrine": "bogus"}}, "us.doctrine"),
        ({"config": str(BASELINE.parent / "nope.yaml")}, "nope.yaml: no such file"),
        ({"name": "../../etc"}, "name: got '../../etc'"),
        ({"parameters": {"us.doctrine": nested(10**5)}}, "nesting too deep"),
        ({"set": {"world": nested(10**5)}}, "nesting too deep"),
        ({"description": "x" * 10**7}, "description: got 'xxx"),
    ],
)
def test_bad_experiment_definitions_are_refused_before_any_run(change, needle) -> None:
    message = refused({**VALID, **change})
    assert needle in message and len(message) < 2000, message[:300]


@pytest.mark.parametrize(
    ("change", "points"),
    [
        ({"parameters": {f"world.p{i}": list(range(10)) for i in range(6)}}, 10**6),
        ({"design": "lhs", "samples": MAX_POINTS + 1, "parameters": RANGE}, MAX_POINTS + 1),
        ({"design": "sobol", "samples": 2**17, "parameters": RANGE}, 2**17 * 4),
        ({"design": "points", "parameters": {}, "points": [{}] * (MAX_POINTS + 1)}, MAX_POINTS + 1),
    ],
)
def test_designs_too_large_to_check_are_refused_without_building_them(change, points) -> None:
    message = refused({**VALID, **change})
    assert f"gives {points:,} points; allowed: at most {MAX_POINTS:,}" in message


def test_the_top_level_must_be_a_mapping() -> None:
    for raw in ([1, 2], "runs: 3", None):
        assert "top level must be a mapping" in refused(raw)


# --- contradictions: a key both set and varied, a key varied twice (issue 17) --------------------

FIXED_AND_VARIED = "states.us.doctrine is both fixed (set {}) and varied ({} us.doctrine)"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"set": {"us.doctrine": "massive"}}, FIXED_AND_VARIED.format("us.doctrine='massive'", "parameters")),
        (
            {"set": {"states.us.doctrine": "massive"}},
            FIXED_AND_VARIED.format("states.us.doctrine='massive'", "parameters"),
        ),
        ({"set": {"us": {"doctrine": "massive"}}}, FIXED_AND_VARIED.format("us={'doctrine': 'massive'}", "parameters")),
        ({"set": {"states": {"us": {"doctrine": "massive"}}}}, "states.us.doctrine is both fixed (set states="),
        (
            {"design": "lhs", "samples": 3, "parameters": RANGE, "set": {"world.hubris_rate": 0.2}},
            "world.hubris_rate is both fixed (set world.hubris_rate=0.2) and varied (parameters world.hubris_rate)",
        ),
        (
            {
                "design": "points",
                "parameters": {},
                "points": [{"us.doctrine": "massive"}],
                "set": {"us.doctrine": "proportional"},
            },
            FIXED_AND_VARIED.format("us.doctrine='proportional'", "points"),
        ),
        (
            {"parameters": {"us.doctrine": ["massive"], "states.us.doctrine": ["proportional"]}},
            "parameters us.doctrine and parameters states.us.doctrine both set states.us.doctrine",
        ),
        (
            {"design": "points", "parameters": {}, "points": [{"us.doctrine": "massive", "states.us.doctrine": "x"}]},
            "points us.doctrine and points states.us.doctrine both set states.us.doctrine",
        ),
    ],
    ids=[
        "set and swept",
        "set long, swept short",
        "a set block holding the swept key",
        "the states block set",
        "set and a range",
        "set and an explicit point",
        "swept twice, short and long",
        "one point, short and long",
    ],
)
def test_a_key_set_and_swept_or_swept_twice_is_refused(change, needle) -> None:
    message = refused({**VALID, **change})
    assert needle in message and len(message.splitlines()) == 1, message


@pytest.mark.parametrize(
    "change",
    [
        {"set": {"us": {"force_protection": 0.5}}},
        {"set": {"iran.doctrine": "massive"}},
        {"set": {"us.force_protection": 0.5}, "parameters": {"us.doctrine": ["massive"], "iran.doctrine": ["massive"]}},
    ],
    ids=["a block without the swept key", "another state's key", "two states' keys"],
)
def test_set_and_varied_keys_that_do_not_meet_are_accepted(change) -> None:
    assert resolve(parse_spec({**VALID, **change})).overrides == change["set"]


def test_an_experiment_file_that_sets_and_sweeps_one_key_is_refused(tmp_path) -> None:
    path = tmp_path / "both.yaml"
    path.write_text(
        f"name: both\nconfig: {BASELINE}\nset: {{us.doctrine: proportional}}\n"
        "parameters: {us.doctrine: [massive, lethal_red_line]}\nruns: 2\n"
    )
    with pytest.raises(ConfigError, match=r"both\.yaml: states\.us\.doctrine is both fixed \(set us\.doctrine="):
        load_experiment(path)
    path.write_text(f"name: both\nconfig: {BASELINE}\nparameters: {{us.doctrine: [massive, lethal_red_line]}}\n")
    resolved = load_experiment(path, {"runs": 2})
    assert [p["us.doctrine"] for p in resolved.points] == ["massive", "lethal_red_line"]
    with pytest.raises(ConfigError, match=r"is both fixed \(set states\.us\.doctrine='massive'\) and varied"):
        load_experiment(path, {"runs": 2, "set": {"states.us.doctrine": "massive"}})  # abm sweep FILE --set ...


# --- property test: random mutations of a valid experiment --------------------------------------

KEYS = [
    "name",
    "design",
    "parameters",
    "points",
    "samples",
    "second_order",
    "runs",
    "seed",
    "events",
    "common_random_numbers",
    "max_failure_share",
    "target_ci",
    "max_runs",
    "chunk_size",
    "set",
    "colour",
]
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=5)), max_size=4),
    st.dictionaries(
        st.text(max_size=12), st.one_of(st.integers(-3, 3), st.lists(st.integers(-3, 3), max_size=3)), max_size=3
    ),
    st.just({"world.hubris_rate": {"low": 0.2, "high": 0.1}}),
    st.just({"us.doctrine": ["massive", "nope"]}),
)


@settings(
    max_examples=80,
    deadline=timedelta(seconds=5),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.dictionaries(st.sampled_from(KEYS), junk, min_size=1, max_size=3))
def test_a_mutated_experiment_resolves_or_raises_one_config_error(mutation) -> None:
    spec = {**VALID, **mutation}
    try:
        experiment = resolve(parse_spec(spec))
    except ConfigError as exc:
        assert str(exc).strip() and len(str(exc)) < 20_000
    else:
        assert experiment.runs >= 1 and len(experiment.points) >= 1
        for key, value in mutation.items():  # what was accepted has the right type
            if key in ("runs", "seed", "samples", "max_runs", "chunk_size") and value is not None:
                assert type(value) is int
            if key in ("events", "common_random_numbers", "second_order"):
                assert type(value) is bool
