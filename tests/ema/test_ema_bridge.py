"""abm.ema: the model under EMA Workbench gives `abm run`'s numbers; parameters come from the schema."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings
from typing import get_args

import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # ema_workbench warns that ipyparallel is absent
    pytest.importorskip("ema_workbench")

from abm import ema
from abm.cli import main
from abm.config import ConfigError, load_config, with_overrides
from abm.config.ranges import block_parameters, salib_problem
from abm.config.schema import StateConfig
from abm.model.outcomes import OUTCOMES
from abm.runner import run_scenario, run_seeds
from tests.runner.support import BASELINE, subprocess_env

RUNS, SEED, HORIZON = 10, 11, 90
LEVERS = ["us.doctrine", "us.sanctions_level", "iran.advance_warning", "channels.swiss.open"]
POLICIES = {
    "hawk": {"us.doctrine": "massive", "us.sanctions_level": 1.0, "iran.advance_warning": 0.0},
    "dove": {"us.doctrine": "proportional", "channels.swiss.open": False, "iran.advance_warning": 1.0},
}


@pytest.fixture(scope="module")
def base():
    return load_config(BASELINE, {"horizon_days": HORIZON})


@pytest.fixture(scope="module")
def model(base):
    return ema.ema_model(base, runs=RUNS, seed=SEED, uncertainties=["world"], levers=LEVERS)


@pytest.fixture(scope="module")
def results(model):
    """20 LHS scenarios x 2 policies on EMA's SequentialEvaluator (EMA samples with numpy's global
    generator: seeded here and put back, so the scenarios are the same each time)."""
    wb = ema.workbench()
    state = np.random.get_state()
    np.random.seed(2020)
    try:
        policies = [ema.policy(model, name, values) for name, values in POLICIES.items()]
        with wb.SequentialEvaluator(model) as evaluator:
            return wb.perform_experiments(model, scenarios=20, policies=policies, evaluator=evaluator)
    finally:
        np.random.set_state(state)


def expected(runs: pd.DataFrame) -> dict[str, float]:
    """The outcomes computed here from a runs table, independently of abm.ema."""
    out = {f"p_{o}": float((runs["outcome"] == o).sum() / len(runs)) for o in OUTCOMES}
    out["p_error"] = float(runs["error"].notna().mean())
    out.update({f"mean_{m}": float(runs[m].astype(float).mean()) for m in ema.DEFAULT_METRICS})
    return out


def test_every_experiment_equals_the_runner_with_the_same_overrides_and_seed(base, model, results):
    experiments, outcomes = results
    assert len(experiments) == 40 and set(outcomes) == set(ema.outcome_names())
    assert experiments.groupby("policy").size().to_dict() == {"hawk": 20, "dove": 20}
    for i, row in experiments.iterrows():
        values = ema.overrides(model, row)
        assert set(values) == {p.key for p in block_parameters("world")} | set(LEVERS)
        for key, value in POLICIES[row["policy"]].items():
            assert values[key] == value
        runs = run_scenario(with_overrides(base, values), RUNS, SEED)
        assert runs["seed"].tolist() == run_seeds(SEED, 0, range(RUNS))  # abm run's seeds: point key 0, run i
        got = {name: float(outcomes[name][i]) for name in outcomes}
        assert got == expected(runs), f"experiment {i}"


def test_an_experiment_equals_abm_run_with_its_overrides(model, results, tmp_path):
    experiments, outcomes = results
    i = int(np.argmax(outcomes["mean_escalation_score"]))  # one with something happening
    sets = [
        f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}"
        for k, v in ema.overrides(model, experiments.iloc[i]).items()
    ]
    argv = ["run", str(BASELINE), "--runs", str(RUNS), "--seed", str(SEED), "--jobs", "1", "-q"]
    argv += ["--out", str(tmp_path / "run"), "--set", f"horizon_days={HORIZON}"]
    for item in sets:
        argv += ["--set", item]
    assert main(argv) == 0
    summary = pd.read_csv(tmp_path / "run" / "summary.csv").set_index("outcome")["p"]
    assert {o: float(outcomes[f"p_{o}"][i]) for o in OUTCOMES} == {o: float(summary[o]) for o in OUTCOMES}


def test_uncertainties_are_the_world_block_with_its_screening_ranges(model):
    wb = ema.workbench()
    params = block_parameters("world")
    assert [u.name for u in model.uncertainties] == [ema.ema_name(p.key) for p in params]
    for u, p in zip(model.uncertainties, params, strict=True):
        assert (u.lower_bound, u.upper_bound) == (p.low, p.high)
        assert isinstance(u, wb.IntegerParameter) == p.integer


def test_levers_take_their_domain_from_the_schema(model):
    wb = ema.workbench()
    levers = {ema.dotted_key(p.name): p for p in model.levers}
    assert list(levers) == LEVERS
    doctrine_literal = next(a for a in get_args(StateConfig.model_fields["doctrine"].annotation) if get_args(a))
    assert [c.value for c in levers["us.doctrine"].categories] == list(get_args(doctrine_literal))
    assert (levers["us.sanctions_level"].lower_bound, levers["us.sanctions_level"].upper_bound) == (0.0, 1.0)
    assert isinstance(levers["channels.swiss.open"], wb.BooleanParameter)
    assert isinstance(levers["iran.advance_warning"], wb.RealParameter)  # `choose` or a fraction: its number arm


@pytest.mark.parametrize(
    ("levers", "named"),
    [
        (["us.doctrin"], "us.doctrin"),
        (["channels.nope.open"], "channels.nope"),
        (["nobody.doctrine"], "nobody.doctrine"),
        (["world.war_death_threshold"], "world.war_death_threshold"),
        (["world.talk_rate"], "world.talk_rate"),  # also an uncertainty, through the world block
        (["us.label"], "us.label"),
    ],
)
def test_a_bad_key_is_a_config_error_naming_it(base, levers, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        ema.ema_model(base, runs=1, uncertainties=["world"], levers=levers)


def test_policies_name_levers_only_and_fill_the_others_from_the_scenario(model):
    with pytest.raises(ConfigError, match=r"us\.posture is not a lever"):
        ema.policy(model, "p", {"us.posture": "consolidated", "iran.advance_warning": 0.5})
    with pytest.raises(ConfigError, match=r"give iran\.advance_warning"):  # the baseline's is `choose`
        ema.policy(model, "p", {"us.doctrine": "massive"})
    with pytest.raises(ConfigError, match=r"us\.doctrine='masive'; allowed: 'proportional'"):
        ema.policy(model, "p", {"us.doctrine": "masive", "iran.advance_warning": 0.5})
    filled = ema.policy(model, "p", {"iran.advance_warning": 0.5})
    assert filled["us__doctrine"] == "lethal_red_line" and filled["channels__swiss__open"] is True


def test_names_map_back_and_an_ambiguous_key_is_refused():
    assert ema.ema_name("channels.swiss.open") == "channels__swiss__open"
    assert ema.dotted_key(ema.ema_name("behaviour.militias.revenge_on_loss")) == "behaviour.militias.revenge_on_loss"
    with pytest.raises(ConfigError, match="reversibly"):
        ema.ema_name("states.odd_.doctrine")


def test_the_model_function_pickles_for_emas_process_pools(model):
    assert pickle.loads(pickle.dumps(model.function)) == model.function


def test_salib_problem_from_blocks_and_keys():
    world = block_parameters("world")
    problem = salib_problem(["world", "us.sanctions_level"])
    assert problem["num_vars"] == len(world) + 1
    assert problem["names"] == [*(p.key for p in world), "us.sanctions_level"]
    assert problem["bounds"] == [*([p.low, p.high] for p in world), [0.0, 1.0]]
    assert ema.salib_problem is salib_problem
    with pytest.raises(ConfigError, match=r"us\.doctrine: a choice"):
        salib_problem(["us.doctrine"])
    with pytest.raises(ConfigError, match=r"world\.talk_rate: listed twice"):
        salib_problem(["world", "world.talk_rate"])


def test_import_abm_does_not_need_ema_workbench_and_a_missing_one_says_how_to_install(monkeypatch):
    code = "import sys, abm, abm.config.ranges, abm.runner, abm.cli; assert 'ema_workbench' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    monkeypatch.setitem(sys.modules, "ema_workbench", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'abm\[ema\]'"):
        ema.workbench()
