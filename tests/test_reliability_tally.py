"""The reliability tally's own machinery (tests/reliability.py): judging a trial, rows lost, a failure the
test did not classify, the table it renders, the check of the pasted table, the paste between markers."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pandas as pd
import pytest

from tests import reliability as r

MODULE = "tests/runner/test_runner_kill.py"  # one of `r.MODULES`, area "main process killed"


@pytest.fixture
def state():
    """A state of its own, so that these trials do not enter the session's tally."""
    real, r.STATE = r.STATE, r._State()
    try:
        yield r.STATE
    finally:
        r.STATE = real


def test_judge_sorts_a_command_into_its_outcome() -> None:
    assert r.judge(2, "abm run: error: no such file") == r.REFUSED
    assert r.judge(0, "", expect=0) == r.ACCEPTED
    assert r.judge(0, "") == r.SILENT and r.judge("planned") == r.SILENT  # to be refused, but accepted
    assert r.judge(2, "Traceback (most recent call last):\n  ...") == r.TRACEBACK
    assert r.judge(0, out="Traceback (most recent call last):", expect=0) == r.TRACEBACK
    assert r.judge(2, "", seconds=61, limit=60) == r.HANG
    assert r.judge(1, "") == r.OTHER and r.judge(2, "", expect=0) == r.OTHER


def test_refusal_records_what_happened(state) -> None:
    assert isinstance(r.refusal("config files", lambda: int("x"), ValueError), ValueError)
    with pytest.raises(AssertionError, match="accepted silently"):
        r.refusal("config files", lambda: 1, ValueError)
    with pytest.raises(KeyError):
        r.refusal("config files", lambda: {}["x"], ValueError)
    assert [t.outcome for t in state.trials] == [r.REFUSED, r.SILENT, r.TRACEBACK]
    with pytest.raises(ValueError, match="unknown reliability area"):
        r.record("nowhere", r.REFUSED)


def test_lost_rows_counts_missing_and_different_rows() -> None:
    reference = pd.DataFrame({"run": [0, 1, 2, 3], "days": [5, 6, 7, 8], "hot": [[1], [], [2, 3], [4]]})
    assert r.lost_rows(reference.copy(), reference) == 0
    assert r.lost_rows(reference.iloc[[3, 1, 0, 2]], reference) == 0  # order does not matter
    assert r.lost_rows(reference.drop(index=2), reference) == 1
    changed = reference.copy()
    changed.loc[1, "days"] = 60
    assert r.lost_rows(changed, reference) == 1
    twice = pd.concat([reference.drop(index=3), reference.iloc[[0]]])  # a row read twice does not make up for one
    assert r.lost_rows(twice, reference) == 1
    as_float = reference.assign(days=reference["days"].astype(float))  # a column with a null is float in pandas
    assert r.lost_rows(as_float, reference) == 0
    assert r.lost_rows(reference.assign(days=reference["days"] + 1e-9), reference) == 4
    assert r.lost_rows(reference.drop(columns="hot"), reference) == 4 and r.lost_rows(None, reference) == 4
    indexed = reference.set_index("run")
    assert r.lost_rows(indexed, indexed) == 0 and r.lost_rows(indexed.drop(index=0), indexed) == 1


def test_compare_rows_records_recovered_or_lost(state) -> None:
    frame = pd.DataFrame({"run": [0, 1]})
    assert r.compare_rows("main process killed", [(frame, frame)], 3) == 0
    assert r.compare_rows("main process killed", [(frame.iloc[:1], frame)]) == 1
    assert [(t.outcome, t.count, t.rows, t.lost) for t in state.trials] == [(r.RECOVERED, 3, 2, 0), (r.LOST, 1, 2, 1)]


def _report(nodeid: str, when: str = "call", outcome: str = "failed") -> SimpleNamespace:
    return SimpleNamespace(
        nodeid=nodeid, when=when, failed=outcome == "failed", skipped=outcome == "skipped", longrepr=None
    )


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (AssertionError("tables differ"), r.OTHER),
        (subprocess.TimeoutExpired("abm", 120), r.HANG),
        (ValueError("a traceback in the code under test"), r.TRACEBACK),
        (ExceptionGroup("hypothesis", [KeyError("x")]), r.TRACEBACK),
    ],
)
def test_a_failure_the_test_did_not_classify_is_counted(state, error, outcome) -> None:
    test = f"{MODULE}::test_one"
    r.start_test(test)
    r.record("main process killed", r.RECOVERED, 2)  # judged good, then the test failed on another assertion
    r.phase_report(_report(test), SimpleNamespace(value=error))
    counts = {t.outcome: t.count for t in state.trials}
    assert counts == {r.RECOVERED: 1, outcome: 1} and state.tests[test] == "failed"
    other = f"{MODULE}::test_two"  # failed before recording anything: one trial of the module's area
    r.start_test(other)
    r.phase_report(_report(other, when="setup"), SimpleNamespace(value=error))
    assert (state.trials[-1].area, state.trials[-1].outcome) == ("main process killed", outcome)
    elsewhere = "tests/model/test_rules.py::test_x"  # not a reliability test: not counted
    r.start_test(elsewhere)
    r.phase_report(_report(elsewhere), SimpleNamespace(value=error))
    assert len(state.trials) == 3 and elsewhere not in state.tests
    bad = f"{MODULE}::test_three"  # a bad outcome already recorded: nothing added
    r.start_test(bad)
    r.record("main process killed", r.LOST)
    r.phase_report(_report(bad), SimpleNamespace(value=error))
    assert len(state.trials) == 4


def _complete_tally(state, **extra: int) -> dict:
    """A tally in which every area had a passing test and one trial of each outcome in `extra`."""
    for i, area in enumerate(r.AREAS):
        test = f"{list(r.MODULES)[i % len(r.MODULES)]}::test_{i}"
        r.start_test(test)
        r.record(area, r.REFUSED, 3)
        r.record(area, r.RECOVERED, rows=10)
        state.tests[test] = "passed"
    for outcome, count in extra.items():
        r.record("orphans", outcome, count)
    for module in r.MODULES:
        state.tests.setdefault(f"{module}::test_more", "passed")
    return r.summarize(state, ["-q", *r.MODULES], 0)


def test_the_rendered_table_passes_the_check_and_each_fault_is_caught(state) -> None:
    tally = _complete_tally(state)
    assert tally["complete"]
    block = r.render(tally)
    assert r.check_table(block) == [], block
    header, rows = r.parse_table(block)
    assert tuple(header) == r.HEADER and list(rows) == [*r.AREAS, r.TOTAL]
    assert rows[r.TOTAL][:3] == [str(len(r.AREAS)), str(4 * len(r.AREAS)), str(3 * len(r.AREAS))]
    assert f"<the {len(r.MODULES)} files of tests.reliability.MODULES>" in block
    # each can fail: a bad outcome, a sum that does not add up, a missing area, a partial run, no provenance
    moved = r.check_table(block.replace("| orphans | 1 | 4 | 3 | 0 | 1 | 0 |", "| orphans | 1 | 4 | 3 | 0 | 0 | 1 |"))
    assert "total tracebacks: 0, but the areas add up to 1" in moved, moved
    assert "orphans: 5 trials, but its outcomes add up to 4" in r.check_table(
        block.replace("| orphans | 1 | 4 |", "| orphans | 1 | 5 |")
    )
    assert any("rows" in p for p in r.check_table(block.replace("| orphans |", "| zombies |")))
    assert any("header" in p for p in r.check_table(block.replace("| tracebacks |", "| exceptions |")))
    assert any("partial" in p for p in r.check_table(block.replace("slow ones included", "PARTIAL run")))
    assert any("provenance" in p for p in r.check_table(block.replace("Tally of", "Count of")))
    assert any("rows lost after" in p for p in r.check_table(block.replace("rows lost: 0.", "rows lost: 3.")))


@pytest.mark.parametrize("outcome", r.BAD)
def test_every_bad_outcome_makes_the_check_fail(state, outcome) -> None:
    problems = r.check_table(r.render(_complete_tally(state, **{outcome: 2})))
    assert f"2 {r.COLUMNS[outcome]}" in problems


def test_a_partial_run_says_so(state) -> None:
    r.start_test(f"{MODULE}::test_x")
    r.record("main process killed", r.RECOVERED)
    state.tests[f"{MODULE}::test_x"] = "passed"
    state.deselected[MODULE] = 2
    tally = r.summarize(state, ["-q", MODULE], 0)
    assert not tally["complete"] and MODULE in tally["deselected_in"]
    assert "PARTIAL run" in r.render(tally)


def test_paste_replaces_only_the_text_between_the_markers() -> None:
    doc = f"# Title\n\nbefore\n\n{r.BEGIN}\nold table\n{r.END}\n\nafter\n"
    once = r.paste(doc, "new table\n")
    assert once == f"# Title\n\nbefore\n\n{r.BEGIN}\nnew table\n{r.END}\n\nafter\n"
    assert r.paste(once, "new table") == once and r.doc_block(once).strip() == "new table"
    with pytest.raises(ValueError, match="markers"):
        r.paste("no markers here", "x")
    with pytest.raises(ValueError, match="markers"):
        r.paste(f"{r.END}\n{r.BEGIN}\n", "x")
