"""Each quantity kind on small hand-made tables whose answer is known."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from abm.validation.quantities import REGISTRY, Tables, compute, kinds
from tests.validation.tables import ev, events, quantity, runs, tables

ATTACK = {"events": "side_kind == 'militia' and violent and target_side == 'us'"}
STRIKE_BACK = {"where": "side == 'us' and violent", "within_days": 3, "match": {"target_side": "side"}}


def test_registry_lists_the_kinds() -> None:
    assert kinds() == sorted(["share", "mean", "quantile", "event_share", "event_delay", "event_count", "difference"])
    assert set(REGISTRY) == set(kinds())


def test_share_and_conditional_share() -> None:
    t = tables(
        [
            {"outcome": "spiral", "accident": True},
            {"outcome": "deal", "accident": False},
            {"outcome": "spiral", "accident": False},
            {"outcome": "unresolved", "accident": False},
        ]
    )
    est = compute(quantity(kind="share", where="outcome == 'spiral'"), t)
    assert est.value == 0.5 and est.n == 4 and est.low < 0.5 < est.high
    given = compute(quantity(kind="share", where="outcome == 'spiral'", given="not accident"), t)
    assert given.value == pytest.approx(1 / 3) and given.n == 3


def test_share_counts_missing_values_as_false() -> None:
    t = tables(
        [
            {"first_violent_response_day": 3.0},
            {"first_violent_response_day": math.nan},
            {"first_violent_response_day": 12.0},
            {"first_violent_response_day": 10.0},
        ]
    )
    est = compute(quantity(kind="share", where="first_violent_response_day <= 10"), t)
    assert est.value == 0.5


def test_mean_drops_missing_and_quantile() -> None:
    t = tables([{"x": 1.0}, {"x": 2.0}, {"x": math.nan}, {"x": 6.0}])
    t.runs["n_militia_attacks"] = t.runs.pop("x")
    assert compute(quantity(kind="mean", of="n_militia_attacks"), t).value == 3.0
    assert compute(quantity(kind="mean", of="n_militia_attacks * 2"), t).n == 3
    assert compute(quantity(kind="quantile", of="n_militia_attacks"), t).value == 2.0


def test_event_share_where() -> None:
    t = tables(
        [{}, {}],
        [
            ev(0, 40, "us", "strike_militia_sites", "kataib_hezbollah"),
            ev(0, 41, "us", "strike_territory", "iran"),
            ev(1, 50, "us", "strike_militia_sites", "pmf_other"),
            ev(1, 10, "us", "strike_territory", "iran"),  # before day 30: not counted
        ],
    )
    q = quantity(kind="event_share", events="side == 'us' and violent and day > 30", where="target_kind == 'militia'")
    est = compute(q, t)
    assert est.value == pytest.approx(2 / 3) and est.n == 3


def test_event_share_followed_by_matches_the_attacker_and_the_window() -> None:
    t = tables(
        [{}, {}, {}],
        [
            # run 0: lethal KH attack, US strikes KH two days later -> answered
            ev(0, 10, "kataib_hezbollah", "militia_rocket_attack", "us", state_deaths=2),
            ev(0, 12, "us", "strike_militia_sites", "kataib_hezbollah"),
            # run 1: KH attack, US strikes the *other* militia -> not answered; then a late strike on KH (day 5 after)
            ev(1, 10, "kataib_hezbollah", "militia_rocket_attack", "us"),
            ev(1, 11, "us", "strike_militia_sites", "pmf_other"),
            ev(1, 15, "us", "strike_militia_sites", "kataib_hezbollah"),
            # run 2: a US strike on KH *before* the attack, same day -> not a response; then none
            ev(2, 20, "us", "strike_militia_sites", "kataib_hezbollah"),
            ev(2, 20, "kataib_hezbollah", "militia_rocket_attack", "us"),
        ],
    )
    est = compute(quantity(kind="event_share", **ATTACK, followed_by=STRIKE_BACK), t)
    assert est.value == pytest.approx(1 / 3) and est.n == 3
    lethal = compute(
        quantity(kind="event_share", events=ATTACK["events"] + " and state_deaths > 0", followed_by=STRIKE_BACK), t
    )
    assert lethal.value == 1.0 and lethal.n == 1


def test_same_day_response_after_the_trigger_counts() -> None:
    t = tables(
        [{}],
        [
            ev(0, 5, "kataib_hezbollah", "militia_rocket_attack", "us"),
            ev(0, 5, "us", "strike_militia_sites", "kataib_hezbollah"),
        ],
    )
    assert compute(quantity(kind="event_share", **ATTACK, followed_by=STRIKE_BACK), t).value == 1.0


def test_censoring_drops_unanswered_triggers_near_the_end_only() -> None:
    rows = [
        ev(0, 178, "kataib_hezbollah", "militia_rocket_attack", "us"),  # window past day 180, unanswered
        ev(0, 100, "kataib_hezbollah", "militia_rocket_attack", "us"),  # unanswered, fully observed
        ev(1, 9, "kataib_hezbollah", "militia_rocket_attack", "us"),  # run 1 spirals on day 10, answered
        ev(1, 10, "us", "strike_militia_sites", "kataib_hezbollah"),
    ]
    t = tables([{}, {"outcome": "spiral"}], rows)
    censored = compute(quantity(kind="event_share", **ATTACK, followed_by=STRIKE_BACK), t)
    assert censored.value == 0.5 and censored.n == 2
    kept = compute(quantity(kind="event_share", **ATTACK, followed_by=STRIKE_BACK, censor=False), t)
    assert kept.n == 3


def test_event_delay_median() -> None:
    rows = []
    for run, delay in enumerate([1, 3, 5, None]):
        rows.append(ev(run, 0, "us", "targeted_killing", "iran", imposed=True))
        if delay is not None:
            rows.append(ev(run, delay, "iran", "warned_missile_strike", "us"))
    t = tables([{}] * 4, rows)
    q = quantity(
        kind="event_delay",
        events="imposed",
        followed_by={"where": "side == 'iran' and violent", "within_days": 30, "match": {"side": "target_side"}},
    )
    est = compute(q, t)
    assert est.value == 3.0 and est.n == 3
    assert "3 of 4" in est.note


def test_event_count_includes_runs_without_events() -> None:
    t = tables(
        [{}, {}, {"outcome": "spiral"}, {}],
        [
            ev(0, 40, "kataib_hezbollah", "militia_rocket_attack", "us"),
            ev(0, 50, "kataib_hezbollah", "militia_rocket_attack", "us"),
            ev(2, 45, "kataib_hezbollah", "militia_rocket_attack", "us"),
            ev(3, 5, "kataib_hezbollah", "militia_rocket_attack", "us"),  # day <= 30
        ],
    )
    q = quantity(kind="event_count", events=ATTACK["events"] + " and day > 30")
    assert compute(q, t).value == pytest.approx(3 / 4)
    q = quantity(kind="event_count", events=ATTACK["events"] + " and day > 30", given="outcome != 'spiral'")
    assert compute(q, t).value == pytest.approx(2 / 3)


def test_difference_paired_and_unpaired() -> None:
    a = tables([{"outcome": o} for o in ["spiral", "spiral", "deal", "unresolved"]])
    b = Tables(runs([{"outcome": o} for o in ["spiral", "deal", "deal", "unresolved"]]))
    q = quantity(kind="difference", of={"kind": "share", "where": "outcome == 'spiral'"}, versus={"set": {}})
    paired = compute(q, a, b)
    assert paired.value == pytest.approx(0.25) and paired.method == "Newcombe (paired)"
    # subgroups of the same runs: independent
    t = tables(
        [
            {"outcome": "spiral", "accident": True},
            {"outcome": "deal", "accident": True},
            {"outcome": "spiral", "accident": False},
            {"outcome": "deal", "accident": False},
            {"outcome": "deal", "accident": False},
            {"outcome": "deal", "accident": False},
        ]
    )
    q = quantity(
        kind="difference",
        of={"kind": "share", "where": "outcome == 'spiral'", "given": "accident"},
        minus={"kind": "share", "where": "outcome == 'spiral'", "given": "not accident"},
    )
    est = compute(q, t)
    assert est.value == pytest.approx(0.5 - 0.25) and est.method == "Newcombe (independent)"


def test_difference_of_means_paired() -> None:
    a = tables([{"state_deaths": x} for x in [1.0, 2.0, 3.0, 4.0]])
    b = Tables(runs([{"state_deaths": x} for x in [0.0, 1.0, 2.0, 3.0]]))
    q = quantity(kind="difference", of={"kind": "mean", "of": "state_deaths"}, versus={})
    est = compute(q, a, b)
    assert est.value == 1.0 and est.low == est.high == 1.0


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "share", "where": "outcom == 'spiral'"}, "unknown column 'outcom'"),
        ({"kind": "share", "where": "state_deaths + 1"}, "is not a condition"),
        ({"kind": "mean", "of": "outcome"}, "is not a number"),
        ({"kind": "share", "where": "__import__('os').system('true')"}, "only column methods"),
        ({"kind": "share", "where": "outcome.__class__ == 1"}, "not allowed"),
        ({"kind": "share", "where": "@x > 1"}, "not a valid expression"),
        ({"kind": "share", "where": "outcome == 'spiral'", "extra": 1}, "Extra inputs"),
        ({"kind": "shares", "where": "accident"}, "does not match any of the expected tags"),
        ({"kind": "event_share", "events": "violent"}, "exactly one of"),
        ({"kind": "event_share", "events": "violent", "where": "accident"}, "unknown column 'accident'"),
        (
            {
                "kind": "event_share",
                "events": "violent",
                "followed_by": {"where": "violent", "within_days": 3, "match": {"target": "sidee"}},
            },
            "sidee",
        ),
        ({"kind": "difference", "of": {"kind": "share", "where": "accident"}}, "needs 'versus'"),
        ({"kind": "difference", "of": {"kind": "quantile", "of": "days"}, "versus": {}}, "does not match"),
        ({"kind": "quantile", "of": "days", "q": 1.5}, "less than 1"),
    ],
)
def test_invalid_specs_are_refused_with_a_precise_message(spec: dict, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        quantity(**spec)
    assert message in str(info.value)


def test_events_table_required_for_event_kinds() -> None:
    with pytest.raises(ValueError, match="needs the events table"):
        compute(quantity(kind="event_count", events="violent"), tables([{}]))
    assert quantity(kind="event_count", events="violent").needs_events
    assert not quantity(kind="share", where="accident").needs_events


def test_every_kind_describes_itself() -> None:
    described = quantity(kind="share", where="outcome == 'spiral'", given="accident").describe()
    assert described == "P(outcome == 'spiral' | accident)"
    assert events([ev(0, 1, "us", "new_sanctions", "iran")]).seq.tolist() == [0]
