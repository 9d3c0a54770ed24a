"""The decision rule in the model (issue 15, "choices instead of gates"; MODEL.md §5, §6).

Force after a harmless attack, warning a strike, de-escalating and settling are all choices a
state scores and picks by logit: a doctrine or a lever moves their weights, never removes them.
Statistical tests run a few hundred seeded runs per arm (the same seeds in every arm); the
white-box tests build one model and call the verbs the decision rule uses.
"""

from __future__ import annotations

import json
from functools import cache
from itertools import pairwise

import pandas as pd
import pytest

from abm.model.actions import ACTIONS, BY_NAME, DEESCALATORY
from abm.model.bargaining import DEMAND_SIZE
from abm.model.model import CrisisModel
from tests.model.sim import events_of, records, scenario, variant

RUNS = 300
MILITIAS = ("kataib_hezbollah", "pmf_other", "hezbollah", "houthis")
VIOLENT = frozenset(a.name for a in ACTIONS if a.violent)
DEESCALATING = frozenset(a.name for a in DEESCALATORY)
MISSILES = ("warned_missile_strike", "unwarned_missile_strike")
WINDOW = 7  # days after a militia attack in which a US strike on a militia counts as its answer


@cache
def baseline() -> pd.DataFrame:
    """RUNS seeded baseline runs with their events (shared by the tests of this module; read-only)."""
    return records(scenario(), RUNS, events=True)


# -- a. no gate: force after harmless attacks is a choice, discounted below the red line ------------
def _answers_to_militia_attacks(ev: pd.DataFrame) -> dict[str, float]:
    """How often a US strike on a militia follows a militia attack on the US within WINDOW days.

    Harmless attacks count only while nothing has yet killed Americans in the run (blood owed
    stays until answered, so a later harmless attack could ride on an earlier lethal one).
    `only_harmless` counts US strikes on a militia preceded, within WINDOW days, by harmless
    militia attacks and by nothing lethal to Americans since the run began.
    """
    ev = ev[ev.day >= 1]
    n = {"harmless": 0, "lethal": 0}
    hit = {"harmless": 0, "lethal": 0}
    only_harmless = 0
    for _, g in ev.groupby("seed"):
        violent = g.action.isin(VIOLENT)
        deadly = g[(g.target_side == "us") & (g.state_deaths > 0)]
        first_death = deadly.day.min() if len(deadly) else 10**9
        attacks = g[violent & g.side.isin(MILITIAS) & (g.target_side == "us")]
        force = g[violent & (g.side == "us") & g.target_side.isin(MILITIAS)].day.to_numpy()
        for day, deaths in zip(attacks.day, attacks.state_deaths, strict=True):
            if not deaths and day >= first_death:
                continue
            kind = "lethal" if deaths else "harmless"
            n[kind] += 1
            hit[kind] += bool(((force > day) & (force <= day + WINDOW)).any())
        harmless_days = attacks[attacks.state_deaths == 0].day.to_numpy()
        only_harmless += sum(
            1 for d in force if d < first_death and ((harmless_days < d) & (harmless_days >= d - WINDOW)).any()
        )
    assert n["harmless"] > 100 and n["lethal"] > 30, n  # enough of each for a rate
    return {
        "harmless": hit["harmless"] / n["harmless"],
        "lethal": hit["lethal"] / n["lethal"],
        "only_harmless": only_harmless,
    }


def test_us_can_choose_force_after_harmless_militia_attacks_but_less_than_after_lethal_ones() -> None:
    assert scenario().states["us"].doctrine == "lethal_red_line"
    rates = _answers_to_militia_attacks(events_of(baseline()))
    assert rates["only_harmless"] > 0  # no gate: force is chosen though no American died
    assert rates["harmless"] > 0.0
    assert rates["harmless"] < rates["lethal"] / 2  # ... but the red line makes deaths draw it far more


def test_the_below_the_line_discount_is_what_holds_force_back_after_harmless_attacks() -> None:
    on = _answers_to_militia_attacks(events_of(baseline()))
    off = _answers_to_militia_attacks(
        events_of(records(variant(mechanisms__lethality_threshold=False), RUNS, events=True))
    )
    assert off["harmless"] >= on["harmless"]
    assert off["harmless"] > on["harmless"] + 0.1  # and clearly so: the discount is the mechanism


def test_force_stays_among_the_options_after_a_harmless_attack_and_deaths_make_it_worth_more() -> None:
    """White-box: the US scores violent acts against a militia whose attack killed no one."""
    best = {}
    for deaths in (0, 2):
        m = CrisisModel(scenario(), 0)
        us = m.states["us"]
        us.aggrieved("kataib_hezbollah", 16.0, deaths, violent=True)
        options = us.options("kataib_hezbollah")
        violent = [o for o in options if o.action is not None and o.action.violent]
        assert violent, f"no violent option after an attack with {deaths} deaths"
        best[deaths] = max(o.utility for o in violent)
        assert ("kataib_hezbollah" in us.breach_day) == (deaths > 0)  # only deaths breach the red line
    assert best[2] > best[0]


# -- b. warning is a choice -------------------------------------------------------------------------
def _iran_missiles(df: pd.DataFrame) -> pd.DataFrame:
    ev = events_of(df)
    return ev[(ev.side == "iran") & ev.action.isin(MISSILES) & ~ev.imposed]


def _warned_share(df: pd.DataFrame) -> float:
    shares = df.warned_share.dropna()
    assert len(shares) > 100, "too few runs with an Iranian missile strike to compare"
    return float(shares.mean())


def test_warning_is_chosen_and_likelier_when_iran_believes_the_us_escalates_if_hurt() -> None:
    base = baseline()
    assert scenario().states["iran"].advance_warning == "choose"
    share = _warned_share(base)
    assert share > 0.5  # Iran mostly warns, as on 8 Jan 2020
    # Without a US red line Iran expects a lighter answer to deaths: it warns less, not more.
    no_line = records(variant(states__us__doctrine=None), RUNS, events=True)
    assert _warned_share(no_line) < share
    chosen = set(_iran_missiles(no_line).action)
    assert chosen == set(MISSILES), "a choice: both the warned and the unwarned strike get picked"
    # Believing the US less bent on unlimited aims also makes Iran warn less.
    trusting = records(variant(states__iran__belief_unlimited=0.1), RUNS)
    assert _warned_share(trusting) < share
    # ... and a harsher doctrine not less.
    massive = records(variant(states__us__doctrine="massive"), RUNS)
    assert _warned_share(massive) >= share


def test_a_forced_never_warn_policy_gives_no_warned_strike() -> None:
    df = records(variant(states__iran__advance_warning=0, horizon_days=60), 150, events=True)
    strikes = _iran_missiles(df)
    assert len(strikes) > 10
    assert (strikes.action == "unwarned_missile_strike").all()
    assert not events_of(df).warned.any()
    assert (df.warned_share.dropna() == 0.0).all()


def _unheard_warning(s) -> float:
    ops = getattr(getattr(s, "behaviour", None), "operations", None)
    return getattr(ops, "unheard_warning", 0.25)


def test_a_forced_always_warn_policy_warns_through_the_channels_that_pass_warnings() -> None:
    s = variant(states__iran__advance_warning=1, horizon_days=60)
    assert any(c.passes_warnings and set(c.between) == {"us", "iran"} for c in s.channels.values())
    strikes = _iran_missiles(records(s, 150, events=True))
    assert len(strikes) > 10
    assert (strikes.action == "warned_missile_strike").all()
    assert strikes.warned.all()  # an open channel that passes warnings carries every one
    # Close the channels that pass warnings: a warning then gets through only by chance.
    closed = variant(
        states__iran__advance_warning=1,
        channels__swiss__passes_warnings=False,
        channels__iraqi_pm__passes_warnings=False,
        horizon_days=60,
    )
    assert not any(c.passes_warnings for c in closed.channels.values())
    unheard = _iran_missiles(records(closed, 150, events=True))
    assert len(unheard) > 10
    assert (unheard.action == "warned_missile_strike").all()  # still planned warned ...
    assert unheard.warned.mean() < 0.5  # ... but mostly not heard
    assert unheard.warned.mean() == pytest.approx(_unheard_warning(closed), abs=0.15)


# -- c. de-escalatory acts are chosen, once per episode ---------------------------------------------
def test_deescalatory_acts_are_chosen_by_states_not_imposed() -> None:
    ev = events_of(baseline())
    ev = ev[ev.seed < 200]
    assert not scenario().history or all(h.action not in DEESCALATING for h in scenario().history)
    states = set(scenario().states)
    for name in ("stand_down", "declare_concluded", "back_channel_message"):
        acts = ev[ev.action == name]
        assert len(acts) > 0, f"{name} never chosen in 200 baseline runs"
        assert not acts.imposed.any()
        assert set(acts.side) <= states
        assert (acts.actor == acts.side).all()
    signals = ev[ev.action.isin(DEESCALATING)]
    assert (signals.rung == 0).all() and not signals.kinetic.any() and (signals.deaths == 0).all()


def test_a_deescalatory_act_is_not_repeated_toward_a_target_within_an_episode() -> None:
    ev = events_of(baseline())
    ev = ev[ev.seed < 200]
    repeats = 0
    for _, g in ev.groupby("seed"):
        g = g.reset_index(drop=True)  # event order within a run is the order of the record
        violent = g[g.action.isin(VIOLENT)]
        signals = g[g.action.isin(DEESCALATING)]
        for (side, _, target), grp in signals.groupby(["side", "action", "target"]):
            idx = list(grp.index)
            for first, second in pairwise(idx):
                repeats += 1
                between = violent[
                    (violent.index > first)
                    & (violent.index < second)
                    & (violent.day > g.day[first])
                    & (
                        ((violent.side == side) & (violent.target_side == target))
                        | ((violent.side == target) & (violent.target_side == side))
                    )
                ]
                assert len(between), f"{side} repeated {grp.action.iloc[0]} toward {target} in one episode"
    assert repeats > 50  # the check is not vacuous: signals are sent again in later episodes


def test_a_signal_sent_is_no_option_again_until_violence_opens_a_new_episode() -> None:
    m = CrisisModel(scenario(), 0)
    us = m.states["us"]
    concluded = BY_NAME["declare_concluded"]
    assert concluded in m.deescalations_for(us, "iran")  # the US owes Iran for day 0: the matter is open
    m.deescalate(us, concluded, "iran")
    assert concluded not in m.deescalations_for(us, "iran")
    m.day = 1
    m.apply("irgc_aerospace", "iran", BY_NAME["warned_missile_strike"], "us", "us", "al_asad", 0, True, "iran", [])
    assert concluded in m.deescalations_for(us, "iran")


# -- d. reassurance ------------------------------------------------------------------------------------
def _reader_and_signaller(**sets):
    m = CrisisModel(variant(**sets), 0)
    iran, us = m.states["iran"], m.states["us"]
    iran.face["us"] = 30.0
    iran.belief["us"] = 0.7
    return m, iran, us


@pytest.mark.parametrize("name", ["declare_concluded", "stand_down", "back_channel_message", "signal_talks"])
def test_a_signal_lowers_the_readers_belief_and_grievance(name: str) -> None:
    m, iran, us = _reader_and_signaller(mechanisms__misperception=False)
    action = BY_NAME[name]
    m.deescalate(us, action, "iran")
    p_limited, p_unlimited = action.signal
    post = 0.7 * p_unlimited / (0.7 * p_unlimited + 0.3 * p_limited)
    assert iran.belief["us"] == pytest.approx(post)
    assert iran.belief["us"] < 0.7
    assert iran.face["us"] == pytest.approx(30.0 * (2 * post) / 1.4)
    last = m.events[-1]
    assert (last.action, last.side, last.target, last.imposed) == (name, "us", "iran", False)


def test_a_stronger_signal_reassures_more() -> None:
    falls = {}
    for name in ("declare_concluded", "back_channel_message"):
        m, iran, us = _reader_and_signaller(mechanisms__misperception=False)
        m.deescalate(us, BY_NAME[name], "iran")
        falls[name] = 30.0 - iran.face["us"]
    assert falls["declare_concluded"] > falls["back_channel_message"] > 0.0


def test_a_signal_reassures_through_misperception_noise() -> None:
    m, iran, us = _reader_and_signaller()
    m.deescalate(us, BY_NAME["declare_concluded"], "iran")
    assert iran.belief["us"] < 0.7
    assert iran.face["us"] < 30.0


def test_without_costly_signals_a_signal_moves_neither_belief_nor_grievance() -> None:
    m, iran, us = _reader_and_signaller(mechanisms__costly_signals=False)
    m.deescalate(us, BY_NAME["declare_concluded"], "iran")
    assert iran.belief["us"] == 0.7
    assert iran.face["us"] == 30.0
    assert m.events[-1].action == "declare_concluded"  # the act happened, it just says nothing


# -- e. bargaining on terms ---------------------------------------------------------------------------
def test_deals_grow_with_the_relief_offered_and_record_their_terms() -> None:
    shares, surplus = {}, {}
    for relief in (0.0, 0.5, 1.0):
        df = records(variant(states__us__demands="nuclear_only", states__us__sanctions_relief_offer=relief), 200)
        deal = df.outcome == "deal"
        shares[relief] = deal.mean()
        assert df.deal_terms.notna().equals(deal)  # terms are recorded exactly for deals
        terms = [json.loads(t) for t in df.deal_terms[deal]]
        assert terms
        for t in terms:
            assert t["demands"] == "nuclear_only"
            assert t["demand_size"] == DEMAND_SIZE["nuclear_only"]
            assert t["relief_share"] == relief
            assert isinstance(t["surplus"], float)
        surplus[relief] = sum(t["surplus"] for t in terms) / len(terms)
    assert shares[0.0] < shares[0.5] < shares[1.0]
    assert shares[1.0] - shares[0.0] > 0.2
    assert surplus[0.0] < surplus[1.0]  # relief is what widened the bargaining range
