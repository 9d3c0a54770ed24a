"""Designs: the one KEY=SPEC parser, the one SALib sampler, the one point builder (abm/runner/designs.py).

`abm sweep`, `abm compare`, `abm sensitivity` and `abm robust` read their options and build their
points here; the last tests check that they do, and that no other module splits `KEY=` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from abm.config import ConfigError
from abm.config.ranges import key_parameter, problem_dict, salib_problem
from abm.runner import designs
from abm.runner.designs import (
    SHOWN_CHARS,
    GridValues,
    Lever,
    ParamRange,
    Range,
    design_points,
    grid_parameters,
    matrix_points,
    parse_grid,
    parse_lever,
    parse_range,
    range_parameters,
    ranges_problem,
    salib_sample,
)
from abm.runner.seeds import design_seed

ABM = Path(designs.__file__).resolve().parents[1]
RANGES = [ParamRange("world.militia_attack_rate", 0.02, 0.12), ParamRange("world.successor_delay_days", 1, 30)]
LONG = "x" * 5_000  # under the 10,000-character bound of every command-line value, far over what a message shows
BOUND = 2 * SHOWN_CHARS + 300  # at most two quoted parts (the option, a part of it), the hint and the example


# ---------------------------------------------------------------- the parser, with plain strings


def test_grid_values_are_yaml_scalars_or_a_yaml_list() -> None:
    assert parse_grid("us.doctrine=proportional,massive") == GridValues("us.doctrine", ["proportional", "massive"])
    assert parse_grid(" x = 0, 0.5 ,true,null") == GridValues("x", [0, 0.5, True, None])
    assert parse_grid("us.doctrine=[proportional, massive]") == GridValues("us.doctrine", ["proportional", "massive"])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("us.doctrine", "--grid 'us.doctrine': expected KEY=V1,V2,..., e.g. us.doctrine=proportional,massive"),
        ("=a,b", "expected KEY=V1,V2,..."),
        ("x=", "expected KEY=V1,V2,..."),
        ("x=[a", "is not a valid value"),
        ("x=*a", "YAML aliases (*name) are not allowed"),
    ],
)
def test_bad_grids_name_the_option(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_grid(text)
    assert needle in str(err.value) and str(err.value).startswith("--grid ")


def test_ranges_are_finite_and_increasing_under_any_option_name() -> None:
    assert parse_range("world.hubris_rate=0.1:0.4") == ParamRange("world.hubris_rate", 0.1, 0.4)
    assert parse_range(" x = -1e3 : 1e3 ") == ParamRange("x", -1000.0, 1000.0)
    for bad, needle in [
        ("world.hubris_rate", "expected KEY=LO:HI"),
        ("x=a:b", "expected KEY=LO:HI"),
        ("x=0:1:2", "expected KEY=LO:HI"),
        ("=0:1", "expected KEY=LO:HI"),
        ("x=0.4:0.1", "need finite LO < HI"),
        ("x=1:1", "need finite LO < HI"),
        ("x=0:inf", "need finite LO < HI"),
        ("x=nan:1", "need finite LO < HI"),
    ]:
        for flag in ("--param", "--lhs", "--uncertainty"):
            with pytest.raises(ConfigError, match=needle) as err:
                parse_range(bad, flag)
            assert str(err.value).startswith(f"{flag} {bad!r}: ")


def test_levers_single_and_bundled() -> None:
    lever = parse_lever("iran.advance_warning=0.8,0.0")
    assert lever == Lever(("iran.advance_warning",), ((0.8,), (0.0,)))
    bundle = parse_lever("us.demands+us.sanctions_relief_offer=maximal+false,nuclear_only+true")
    assert bundle.assignment(1) == {"us.demands": "nuclear_only", "us.sanctions_relief_offer": True}
    assert parse_lever("x=[a],b").values == (("[a]",), ("b",))  # a value that is not a scalar stays as typed
    for bad, needle in [
        ("us.doctrine", r"expected KEY=A,B\[,...\]"),
        ("us.doctrine=massive", "at least two values"),
        ("us.doctrine=massive,massive", "distinct"),
        ("x=1,1", "distinct"),
        ("a+a=1+1,2+2", "a key appears twice"),
        ("us..doctrine=a,b", "not a dotted key"),
        ("a+b=1,2", "has 1 values for 2 keys"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            parse_lever(bad)


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_grid, f"us.doctrine{LONG}"),  # no `=`
        (parse_range, f"world.hubris_rate=0:{LONG}"),  # not a number
        (parse_range, f"{LONG}=1:0"),  # LO > HI
        (parse_lever, f"us.doctrine={LONG}"),  # one value
        (parse_lever, f"us..{LONG}=a,b"),  # not a dotted key, quoted twice
        (parse_lever, f"a+b=1+2,{LONG}"),  # an arm of one value
        (lambda text: grid_parameters([text, "us.doctrine=b"]), f"us.doctrine={LONG}"),  # a key twice
        (lambda text: range_parameters(["x=0:1", text]), f"x=0:1{' ' * 5_000}"),
    ],
)
def test_an_overlong_value_is_cut_in_the_message(parse, text) -> None:
    """The option is bounded at 10,000 characters; what a message quotes of it at SHOWN_CHARS."""
    with pytest.raises(ConfigError) as err:
        parse(text)
    message = str(err.value)
    assert len(message) < BOUND and "…" in message, message


def test_sweep_options_become_experiment_parameters_each_key_once() -> None:
    assert grid_parameters(["us.doctrine=massive,proportional", "x=1"]) == {
        "us.doctrine": ["massive", "proportional"],
        "x": [1],
    }
    assert range_parameters(["x=0:1"]) == {"x": {"low": 0.0, "high": 1.0}}
    with pytest.raises(ConfigError) as err:
        grid_parameters(["us.doctrine=massive", "us.doctrine=proportional"])
    assert str(err.value) == (
        "--grid us.doctrine given twice (us.doctrine=massive; us.doctrine=proportional); "
        "allowed: each key once (--grid us.doctrine=V1,V2,...)"
    )
    with pytest.raises(ConfigError, match=r"--lhs x given twice \(x=0:1; x=0:0.5\).*\(--lhs x=LO:HI\)"):
        range_parameters(["x=0:1", "x=0:0.5"])


# ---------------------------------------------------------------- the SALib problem, sampler and points


def test_one_builder_of_the_salib_problem() -> None:
    expected = {"num_vars": 2, "names": [r.key for r in RANGES], "bounds": [[0.02, 0.12], [1, 30]]}
    assert ranges_problem(RANGES) == problem_dict(RANGES) == expected
    assert salib_problem(["world.hubris_rate"]) == problem_dict([key_parameter("world.hubris_rate")])
    with pytest.raises(ConfigError, match=r"--param x given twice \(x=0:1; x=0:2\)"):
        ranges_problem([ParamRange("x", 0, 1), ParamRange("x", 0, 2)])


@pytest.mark.parametrize(("method", "rows"), [("lhs", 16), ("sobol", 16 * (2 * 2 + 2)), ("morris", 16 * 3)])
def test_the_sampler_is_deterministic_for_a_seed(method: str, rows: int) -> None:
    problem = ranges_problem(RANGES)
    first = salib_sample(method, problem, 16, seed=7)
    assert first.shape == (rows, 2)
    assert np.array_equal(first, salib_sample(method, problem, 16, seed=7))
    assert not np.array_equal(first, salib_sample(method, problem, 16, seed=8))
    assert problem == ranges_problem(RANGES)  # SALib got a copy (it marks the problems it scales)
    lows, highs = np.array([r.low for r in RANGES]), np.array([r.high for r in RANGES])
    assert np.all((first >= lows) & (first <= highs))
    with pytest.raises(ValueError, match="allowed: lhs, sobol, morris"):
        salib_sample("latin hypercube", problem, 16, seed=7)


def test_sobol_without_second_order_terms() -> None:
    assert salib_sample("sobol", ranges_problem(RANGES), 8, seed=1, second_order=False).shape == (8 * (2 + 2), 2)


def test_design_points_are_the_sampler_then_the_point_builder(short_baseline) -> None:
    """An experiment's lhs and sobol points: the SALib matrix of the master seed's design seed, as points."""
    parameters = {r.key: Range(r.low, r.high) for r in RANGES}
    for design, samples in (("lhs", 9), ("sobol", 4)):
        points = design_points(design, parameters, short_baseline, samples=samples, seed=3)
        matrix = salib_sample(design, problem_dict(RANGES), samples, design_seed(3))
        assert points == matrix_points(matrix, RANGES, short_baseline)
        assert points == design_points(design, parameters, short_baseline, samples=samples, seed=3)
        assert all(isinstance(p["world.successor_delay_days"], int) for p in points)
        assert all(isinstance(p["world.militia_attack_rate"], float) for p in points)


def test_points_are_clipped_to_their_ranges_and_whole_numbers_rounded(short_baseline) -> None:
    matrix = np.array([[0.12000000000000001, 29.6], [0.0199999999999, 1.4]])
    assert matrix_points(matrix, RANGES, short_baseline) == [
        {"world.militia_attack_rate": 0.12, "world.successor_delay_days": 30},
        {"world.militia_attack_rate": 0.02, "world.successor_delay_days": 1},
    ]


# ---------------------------------------------------------------- every command reads its options here


def test_compare_sensitivity_sweep_and_robust_use_the_designs_module() -> None:
    from abm.analysis import compare, robust, sensitivity

    assert compare.parse_lever is designs.parse_lever and compare.Lever is designs.Lever
    assert compare.value_label is designs.value_label
    assert sensitivity.gather_ranges is designs.gather_ranges is robust.gather_ranges
    assert sensitivity.ParamRange is designs.ParamRange is robust.ParamRange
    assert not hasattr(sensitivity, "parse_param") and not hasattr(sensitivity, "problem")
    assert not hasattr(sensitivity, "design_points")  # one name, one meaning: designs.design_points
    cli = ast.parse((ABM / "commands" / "sweep.py").read_text(encoding="utf-8"))
    sweep = next(n for n in ast.walk(cli) if isinstance(n, ast.FunctionDef) and n.name == "sweep_experiment")
    imported = {
        (node.module, alias.name)
        for node in ast.walk(sweep)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert {("abm.runner.designs", "grid_parameters"), ("abm.runner.designs", "range_parameters")} <= imported


def _splits_on_equals(node: ast.AST) -> bool:
    """`text.partition("=")`, `text.split("=")`, `text.split("=", 1)` (and rpartition, rsplit)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("partition", "rpartition", "split", "rsplit")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == "="
    )


# The one KEY=SPEC parser of the design options, and `--set KEY=VALUE` (configuration, below the runner).
PARSERS = {"runner/designs.py", "config/loader.py"}


def test_no_other_module_splits_key_equals_spec() -> None:
    found = []
    for path in sorted(ABM.rglob("*.py")):
        name = path.relative_to(ABM).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{name}:{n.lineno}" for n in ast.walk(tree) if _splits_on_equals(n) and name not in PARSERS]
    assert found == []


def test_the_design_commands_neither_sample_nor_build_a_salib_problem_themselves() -> None:
    for name in ("cli.py", "analysis/compare.py", "analysis/sensitivity.py", "analysis/robust.py"):
        tree = ast.parse((ABM / name).read_text(encoding="utf-8"))
        salib = [
            n.lineno for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "") == "SALib.sample"
        ]
        problems = [
            n.lineno
            for n in ast.walk(tree)
            if isinstance(n, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "num_vars" for k in n.keys)
        ]
        assert salib == problems == [], name
