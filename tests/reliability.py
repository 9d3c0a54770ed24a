"""The reliability tally: what the hostile-input, fault, kill, corruption and orphan tests tried, and what came out.

docs/RELIABILITY.md ("Tally") shows one table produced by the test suite, not written by hand. The
tests of `MODULES` call `record` (or a helper built on it: `trial`, `refusal`, `compare_rows`) once
per trial (an input given to a command, a fault injected, a process killed, a folder damaged and
read) with the outcome they observed, *before* they assert on it, so a trial that goes wrong is
counted in its category even though its test then fails. Outcomes (`OUTCOMES`, one per trial):

* `REFUSED`: a clean error: exit 2 (or the API's one error, `ConfigError`/`FolderError`) with
  a message; nothing run, nothing written;
* `ACCEPTED`: a valid input accepted (and, where the test runs it, run);
* `RECOVERED`: after a fault or a kill, the promised end: the expected exit code, the tables
  equal to an undisturbed run's, nothing left running;
* `TRACEBACK`, `SILENT` (silent acceptance: what had to be refused was accepted, or damaged data
  was read), `HANG` (no answer within the test's bound), `LOST` (rows lost: after a fault, rows
  of an undisturbed run missing or different), `ORPHAN` (a process outlived the killed command),
  `OTHER` (any other failure: an exit code or message the test does not expect).

A test of `MODULES` that fails without having recorded a bad outcome turns its last recorded
trial into one (`OTHER`, `TRACEBACK` for an unexpected exception, `HANG` for a timeout), or adds
one, so a failing test never leaves a clean table. Tests that pass without recording are not
trials (help texts, the fuzzers' own oracles).

`tests/conftest.py` forwards four pytest hooks here; at the end of a session that ran any of
these tests, `session_finished` writes the tally of what ran (nothing else) to
tests/.reliability/RELIABILITY-table.md and tally.json (gitignored). `python -m tests.reliability`
pastes the table into docs/RELIABILITY.md between `BEGIN` and `END` (refusing a partial run unless
`--partial`); `--run` (what `make reliability` calls) first runs every test of `MODULES`, slow ones
included. `tests/docs/test_reliability_doc.py` checks the committed table (`check_table`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "tests" / ".reliability"
TABLE_FILE = OUTPUT / "RELIABILITY-table.md"
TALLY_FILE = OUTPUT / "tally.json"
DOC = ROOT / "docs" / "RELIABILITY.md"
BEGIN = "<!-- reliability tally: begin (written by `python -m tests.reliability`; do not edit by hand) -->"
END = "<!-- reliability tally: end -->"

REFUSED, ACCEPTED, RECOVERED = "refused", "accepted", "recovered"
TRACEBACK, SILENT, HANG, LOST, ORPHAN, OTHER = "traceback", "silent", "hang", "lost", "orphan", "other"
OUTCOMES = (REFUSED, ACCEPTED, RECOVERED, TRACEBACK, SILENT, HANG, LOST, ORPHAN, OTHER)
GOOD = (REFUSED, ACCEPTED, RECOVERED)
BAD = tuple(o for o in OUTCOMES if o not in GOOD)
COLUMNS = {  # the table's column per outcome
    REFUSED: "clean error (exit 2)",
    ACCEPTED: "accepted (valid)",
    RECOVERED: "recovered (nothing lost)",
    TRACEBACK: "tracebacks",
    SILENT: "silent acceptances",
    HANG: "hangs",
    LOST: "rows lost",
    ORPHAN: "orphans",
    OTHER: "other failures",
}
HEADER = ("area", "tests", "trials", *(COLUMNS[o] for o in OUTCOMES))
TOTAL = "total"

AREAS = {  # row of the table -> what was tried
    "command-line values": "hostile values in every option and KEY=VALUE flag of run, sweep, compare, levers, "
    "sensitivity, validate, hindcast (huge numbers, deep brackets, NaN, YAML tags and aliases, control "
    "characters, ...); contradictions (a key set and varied); bad options; accepted values run for real",
    "config files": "one key or value of the baseline replaced by hostile text; bad YAML files (missing, a folder, "
    "malformed, not UTF-8, a Python tag, not a mapping, 3 MB, empty) for every command that reads one; paths "
    "outside the trees",
    "config mutations": "the baseline's mapping mutated in one place (unknown key, wrong type, out of range, NaN, "
    "huge int, deep nesting, unknown reference, ...) through `validate`",
    "damaged results folders": "a flipped byte, a stray copy, a deleted part, damaged or missing manifests, bad "
    "folders, read by report, discover, replay, summaries, `read_table` and `ExperimentResult.runs()/.events()`",
    "faults during a sweep": "runs that raise or hang, workers that die, disk full, read-only folders, a manifest "
    "that cannot be written, damaged parts found on resume, a folder in use, another model version",
    "main process killed": "SIGKILL of the main process at chosen and random moments (before any part, between "
    "a part's write and its rename, mid-run), then --resume",
    "orphans": "the main process SIGKILLed at moments of its start-up and mid-run (loky, dask): processes it "
    "started left running; the worker's parent watch alone",
}
MODULES = {  # the tests that feed the tally -> the area of a failure they did not classify
    "tests/cli/test_no_traceback_property.py": "command-line values",
    "tests/cli/test_cli_bad_input.py": "command-line values",
    "tests/config/test_config_fuzz.py": "config mutations",
    "tests/runner/test_runner_reader.py": "damaged results folders",
    "tests/runner/test_replay_damaged_manifest.py": "damaged results folders",
    "tests/cli/test_cli_faults.py": "faults during a sweep",
    "tests/runner/test_runner_faults.py": "faults during a sweep",
    "tests/runner/test_runner_kill.py": "main process killed",
    "tests/runner/test_runner_orphans.py": "orphans",
}


# ---------------------------------------------------------------- recording (called by the tests)


@dataclass
class Trial:
    test: str  # the pytest node id ("" outside pytest)
    area: str
    outcome: str
    count: int = 1
    rows: int = 0  # rows compared with an undisturbed run
    lost: int = 0  # of those, rows missing or different


@dataclass
class _State:
    trials: list[Trial] = field(default_factory=list)
    current: str = ""
    first: int = 0  # index of the current test's first trial
    tests: dict[str, str] = field(default_factory=dict)  # node id -> passed / failed / skipped
    skips: dict[str, str] = field(default_factory=dict)  # node id -> reason
    deselected: Counter[str] = field(default_factory=Counter)  # module -> tests deselected
    began: float = field(default_factory=time.time)


STATE = _State()


def record(area: str, outcome: str, count: int = 1, *, rows: int = 0, lost: int = 0) -> str:
    """Count `count` trials of `area` with `outcome`; returns the outcome."""
    if area not in AREAS:
        raise ValueError(f"unknown reliability area {area!r}; known: {', '.join(AREAS)}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; known: {', '.join(OUTCOMES)}")
    STATE.trials.append(Trial(STATE.current, area, outcome, int(count), int(rows), int(lost)))
    return outcome


def judge(
    code: int | str | None,
    err: str = "",
    out: str = "",
    *,
    expect: int | str = 2,
    seconds: float | None = None,
    limit: float | None = None,
) -> str:
    """The outcome of one command: `code` (an exit code, or a test's own word such as "planned"),
    its stderr and stdout, against the exit code the trial should give (2: to be refused)."""
    if "Traceback (most recent call last)" in err + out:
        return TRACEBACK
    if limit is not None and seconds is not None and seconds >= limit:
        return HANG
    if code == expect:
        return REFUSED if expect == 2 else ACCEPTED
    if expect == 2 and code in (0, "planned"):
        return SILENT
    return OTHER


def trial(area: str, code: int | str | None, err: str = "", out: str = "", **kw: Any) -> str:
    """`judge` one command's outcome and `record` it; returns the outcome."""
    return record(area, judge(code, err, out, **kw))


def refusal(area: str, call: Callable[[], object], error: type[BaseException] | tuple[type[BaseException], ...]):
    """Call `call`, which must refuse with `error`: records `REFUSED` and returns the exception;
    `SILENT` (and an AssertionError) when it returns, `TRACEBACK` (re-raised) for another exception."""
    try:
        call()
    except error as exc:
        record(area, REFUSED)
        return exc
    except Exception:
        record(area, TRACEBACK)
        raise
    record(area, SILENT)
    raise AssertionError(f"accepted silently: {getattr(call, '__name__', call)!r} did not raise {error}")


def _canonical(value: Any) -> Any:
    """A value as compared by `lost_rows`: nulls alike, a whole float equal to its int (a column with a
    failed run's null is float in pandas), floats exactly, lists and arrays element by element."""
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_ | str | bytes):
        return value.item() if isinstance(value, np.bool_) else value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, list | tuple | np.ndarray):
        return tuple(_canonical(v) for v in value)
    return str(value)


def lost_rows(got: Any, reference: Any) -> int:
    """Rows of the DataFrame `reference` with no equal row in `got` (by the values of `reference`'s
    columns, whatever the index), counted as a multiset: a row read twice does not make up for a lost one."""
    if got is None:
        return len(reference)

    def plain(frame: Any) -> Any:  # a named index (point, run) is data; a positional one is not
        return frame.reset_index(drop=list(frame.index.names) == [None])

    reference = plain(reference)
    got = plain(got).reindex(columns=list(reference.columns))

    def rows(frame: Any) -> Counter[tuple[Any, ...]]:
        return Counter(tuple(_canonical(v) for v in row) for row in frame.itertuples(index=False, name=None))

    return sum((rows(reference) - rows(got)).values())


def compare_rows(area: str, pairs: Iterable[tuple[Any, Any]], count: int = 1) -> int:
    """Record `count` trials (faults or kills) judged by the tables they left: each (got, reference)
    pair of DataFrames compared row for row. `RECOVERED` when no row of the references is lost,
    else `LOST`; returns the rows lost."""
    rows = lost = 0
    for got, reference in pairs:
        rows += len(reference)
        lost += lost_rows(got, reference)
    record(area, LOST if lost else RECOVERED, count, rows=rows, lost=lost)
    return lost


# ---------------------------------------------------------------- pytest hooks (from tests/conftest.py)


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def start_test(nodeid: str) -> None:
    STATE.current, STATE.first = nodeid, len(STATE.trials)


def failure_outcome(exc: BaseException | None) -> str:
    """The category of a test's failure that the test itself did not classify."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"TimeoutExpired", "TimeoutError", "DeadlineExceeded"}:
        return HANG
    if isinstance(exc, AssertionError) or "Failed" in names:  # an assertion, or pytest.fail
        return OTHER
    return TRACEBACK


def phase_report(report: Any, excinfo: Any) -> None:
    """After each phase (setup, call, teardown) of a test: its status, and a failure the test did not classify."""
    nodeid = report.nodeid
    mine = [t for t in STATE.trials[STATE.first :] if t.test == nodeid]
    module = module_of(nodeid)
    if module not in MODULES and not mine:
        return
    if report.skipped:
        STATE.tests.setdefault(nodeid, "skipped")
        longrepr = report.longrepr
        STATE.skips[nodeid] = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)[:200]
        return
    if report.failed:
        STATE.tests[nodeid] = "failed"
        if not any(t.outcome in BAD for t in mine):
            outcome = failure_outcome(excinfo.value if excinfo is not None else None)
            good = [t for t in mine if t.outcome in GOOD]
            if good:  # the trial that went wrong after being judged: one of it changes category
                last = good[-1]
                last.count -= 1
                STATE.trials.append(Trial(nodeid, last.area, outcome))
            else:
                STATE.trials.append(Trial(nodeid, MODULES.get(module, mine[0].area if mine else ""), outcome))
    elif report.when == "call":
        STATE.tests.setdefault(nodeid, "passed")


def deselected(items: Sequence[Any]) -> None:
    for item in items:
        if module_of(item.nodeid) in MODULES:
            STATE.deselected[module_of(item.nodeid)] += 1


def session_finished(session: Any, exitstatus: int) -> None:
    """Write the tally of what ran (if any of these tests ran)."""
    if not STATE.tests and not STATE.trials:
        return
    args = [str(a) for a in session.config.invocation_params.args]
    tally = summarize(STATE, args, int(exitstatus))
    try:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for path, text in ((TALLY_FILE, json.dumps(tally, indent=1) + "\n"), (TABLE_FILE, render(tally))):
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
    except OSError as exc:  # the tally is a report on the run, never a reason for it to fail
        sys.stderr.write(f"\nreliability tally not written: {exc}\n")


# ---------------------------------------------------------------- the tally and its table


def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    except OSError:
        return "unknown"
    commit = head.stdout.strip() or "unknown"
    return f"{commit} with uncommitted changes" if dirty.stdout.strip() else commit


def summarize(state: _State, args: list[str], exitstatus: int) -> dict[str, Any]:
    """The tally as plain data (tally.json): per area the tests, trials, outcomes; the run's provenance."""
    areas: dict[str, dict[str, Any]] = {}
    for area in AREAS:
        trials = [t for t in state.trials if t.area == area and t.count]
        tests = sorted({t.test for t in trials if t.test})
        outcomes = Counter[str]()
        for t in trials:
            outcomes[t.outcome] += t.count
        areas[area] = {
            "tests": len(tests),
            "failed": sum(state.tests.get(t) == "failed" for t in tests),
            "trials": sum(outcomes.values()),
            "outcomes": {o: outcomes[o] for o in OUTCOMES},
            "rows": sum(t.rows for t in trials),
            "lost": sum(t.lost for t in trials),
            "modules": sorted({module_of(t) for t in tests}),
        }
    modules = {}
    for module in MODULES:
        mine = {k: v for k, v in state.tests.items() if module_of(k) == module}
        modules[module] = {
            **{s: sum(v == s for v in mine.values()) for s in ("passed", "failed", "skipped")},
            "deselected": state.deselected[module],
        }
    missing = [m for m, v in modules.items() if not (v["passed"] + v["failed"] + v["skipped"])]
    left_out = [m for m, v in modules.items() if v["deselected"]]
    return {
        "began": state.began,
        "started": dt.datetime.fromtimestamp(state.began, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.time() - state.began),
        "commit": _git_commit(),
        "python": sys.version.split()[0],
        "command": ["python", "-m", "pytest", *args],
        "exitstatus": exitstatus,
        "complete": not missing and not left_out,
        "not_run": missing,
        "deselected_in": left_out,
        "tests": {s: sum(v == s for v in state.tests.values()) for s in ("passed", "failed", "skipped")},
        "skipped": dict(sorted(state.skips.items())),
        "modules": modules,
        "areas": areas,
        "trials": _merged(state.trials),
    }


def _merged(trials: Iterable[Trial]) -> list[dict[str, Any]]:
    """The trials, those of one test, area and outcome added up (a property test makes thousands)."""
    merged: dict[tuple[str, str, str], Trial] = {}
    for t in trials:
        if t.count:
            into = merged.setdefault((t.test, t.area, t.outcome), Trial(t.test, t.area, t.outcome, 0))
            into.count, into.rows, into.lost = into.count + t.count, into.rows + t.rows, into.lost + t.lost
    return [asdict(t) for t in merged.values()]


def _command(tally: Mapping[str, Any]) -> str:
    """The pytest command, with the list of `MODULES` (when given whole) shortened."""
    args = list(tally["command"])
    if all(m in args for m in MODULES):
        args = [a for a in args if a not in MODULES] + [f"<the {len(MODULES)} files of tests.reliability.MODULES>"]
    return " ".join(args)


def render(tally: Mapping[str, Any]) -> str:
    """The block pasted into docs/RELIABILITY.md: provenance, the table, the rows compared, the areas."""
    tests = tally["tests"]
    ran = sum(tests.values())
    scope = (
        "every test of those files, slow ones included"
        if tally["complete"]
        else "PARTIAL run: "
        + "; ".join(
            [f"not run: {', '.join(tally['not_run'])}"] * bool(tally["not_run"])
            + [f"tests deselected in {', '.join(tally['deselected_in'])}"] * bool(tally["deselected_in"])
        )
    )
    skipped = "".join(f"\n* skipped: `{k}`: {v}" for k, v in tally["skipped"].items())
    lines = [
        f"Tally of `{_command(tally)}` ({scope}), run on {tally['started']} at commit {tally['commit']} "
        f"(Python {tally['python']}), {tally['seconds']} s: {ran} tests, {tests['passed']} passed, "
        f"{tests['failed']} failed, {tests['skipped']} skipped.{skipped}",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|" + "---:|" * (len(HEADER) - 1),
    ]
    totals = Counter[str]()
    for area, row in tally["areas"].items():
        values = [row["tests"], row["trials"], *(row["outcomes"][o] for o in OUTCOMES)]
        totals.update(dict(zip(HEADER[1:], values, strict=True)))
        failed = f" ({row['failed']} failed)" if row["failed"] else ""
        lines.append(f"| {area} | {row['tests']}{failed} | " + " | ".join(str(v) for v in values[1:]) + " |")
    totals["tests"] = len({t["test"] for t in tally["trials"] if t["test"]})  # a test of two areas counts once
    lines.append(f"| {TOTAL} | " + " | ".join(str(totals[h]) for h in HEADER[1:]) + " |")
    rows = sum(r["rows"] for r in tally["areas"].values())
    lost = sum(r["lost"] for r in tally["areas"].values())
    lines += [
        "",
        f"Rows compared, value for value, with an undisturbed run after the faults and kills: {rows}; "
        f"rows lost: {lost}.",
        "",
    ]
    for area, row in tally["areas"].items():
        where = ", ".join(f"`{m}`" for m in row["modules"]) or "no test ran"
        lines.append(f"* **{area}**: {AREAS[area]} ({where}).")
    return "\n".join(lines) + "\n"


def parse_table(block: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (area -> cells) of the first markdown table in `block`."""
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("|")]
    if len(lines) < 3:
        return [], {}
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    header, rows = cells[0], cells[2:]
    return header, {row[0]: row[1:] for row in rows}


def _number(cell: str) -> int | None:
    found = re.fullmatch(r"(\d+)( \(\d+ failed\))?", cell)
    return int(found.group(1)) if found else None


def check_table(block: str) -> list[str]:
    """What is wrong with a pasted tally (empty when nothing is): its structure (the header, every area
    and the total, whole numbers, trials the sum of their outcomes, the total the sum of the areas), a
    complete run, and zero tracebacks, silent acceptances, hangs, rows lost, orphans and other failures."""
    problems = []
    if not re.search(r"^Tally of `python -m pytest [^`]*` .*, run on [-\d]{10} \d\d:\d\d UTC at commit ", block, re.M):
        problems.append("no provenance line (`Tally of `python -m pytest ...`, run on DATE at commit ...`)")
    if "PARTIAL run" in block:
        problems.append("the tally is of a partial run (not every test of tests.reliability.MODULES ran)")
    if re.search(r"\(\d+ failed\)", block):
        problems.append("tests failed in the run that produced the tally")
    header, rows = parse_table(block)
    if tuple(header) != HEADER:
        return [*problems, f"header {header} is not {list(HEADER)}"]
    if list(rows) != [*AREAS, TOTAL]:
        return [*problems, f"rows {list(rows)} are not {[*AREAS, TOTAL]}"]
    numbers: dict[str, list[int]] = {}
    for area, cells in rows.items():
        values = [_number(c) for c in cells]
        if len(values) != len(HEADER) - 1 or None in values:
            return [*problems, f"{area}: not one whole number per column: {cells}"]
        numbers[area] = values  # type: ignore[assignment]
    for area, values in numbers.items():
        if values[1] != sum(values[2:]):
            problems.append(f"{area}: {values[1]} trials, but its outcomes add up to {sum(values[2:])}")
        if area != TOTAL and not values[1]:
            problems.append(f"{area}: no trial")
    for i, name in enumerate(HEADER[1:]):
        column = sum(numbers[a][i] for a in AREAS)
        if name != "tests" and column != numbers[TOTAL][i]:
            problems.append(f"total {name}: {numbers[TOTAL][i]}, but the areas add up to {column}")
    for outcome in BAD:
        count = numbers[TOTAL][HEADER.index(COLUMNS[outcome]) - 1]
        if count:
            problems.append(f"{count} {COLUMNS[outcome]}")
    found = re.search(r"rows lost: (\d+)\.", block)
    if not found or int(found.group(1)):
        problems.append(f"rows lost after the faults and kills: {found.group(1) if found else 'not stated'}")
    return problems


# ---------------------------------------------------------------- the generator


def doc_block(text: str) -> str:
    """The text between `BEGIN` and `END` in the doc (one pair of markers, in that order)."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"the markers {BEGIN!r} and {END!r} must appear once each, in that order")
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)]


def paste(text: str, block: str) -> str:
    """`text` with the block between the markers replaced by `block`."""
    doc_block(text)
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{block.strip()}\n{END}{tail}"


def run_tests(extra: Sequence[str]) -> int:
    """Every test of `MODULES`, slow ones included (the session writes the tally)."""
    cmd = [sys.executable, "-m", "pytest", "-q", *MODULES, *extra]
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="first run every test of MODULES, slow ones included")
    parser.add_argument("--partial", action="store_true", help="paste the tally even if not every test ran")
    parser.add_argument("--doc", type=Path, default=DOC, help="the document to paste into (default: %(default)s)")
    args, extra = parser.parse_known_args(argv)
    began = time.time()
    status = run_tests(extra) if args.run else 0
    if not TALLY_FILE.is_file():
        print(f"{TALLY_FILE}: no tally; run the tests first (python -m tests.reliability --run)", file=sys.stderr)
        return 2
    tally = json.loads(TALLY_FILE.read_text(encoding="utf-8"))
    if args.run and tally.get("began", 0) < began:
        print(f"{TALLY_FILE}: not written by this run (did pytest end early?); not pasted", file=sys.stderr)
        return 2
    if not tally["complete"] and not args.partial:
        print(
            f"{TALLY_FILE}: a partial run (not run: {tally['not_run']}; deselected in: {tally['deselected_in']}); "
            "not pasted (give --partial to paste it anyway)",
            file=sys.stderr,
        )
        return 2
    block = render(tally)
    args.doc.write_text(paste(args.doc.read_text(encoding="utf-8"), block), encoding="utf-8")
    problems = check_table(block)
    print(f"{args.doc}: tally pasted ({tally['started']}); " + ("; ".join(problems) or "no problem found"))
    return status or (1 if problems else 0)


if __name__ == "__main__":
    sys.exit(main())
