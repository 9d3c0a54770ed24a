"""No traceback for any input (issue 17, item 5): command lines and config files built from a grammar
of hostile values give exit 2 with one clear error, or are accepted; never a traceback, never a hang.

The grammar: huge and 5,000-digit integers, 60,000 levels of brackets, NaN and infinity in every
spelling, YAML tags (Python objects, `!!timestamp`, `!!set`, explicit tags on text of another
kind), anchors and aliases, merge keys, a list or a mapping as a key (`? [a, b]`), impossible
dates (2020-13-01), control and right-to-left characters, empty values, YAML syntax out of place,
wrong types and random text. The values go (i) into `--set KEY=VALUE`, `--grid`, `--lhs`,
`--lever`, `--param` and the numeric options of `abm run`, `sweep`, `compare`, `levers`,
`sensitivity`, `validate` and `hindcast` (keys drawn from real keys, broken keys and random
text), and (ii) into one key or value of configs/baseline_jan2020.yaml, written as text and given
to `abm run`.

Each command runs in this process until it would start its runs: the functions that start them
are replaced by one raising `Planned`, so an accepted input costs milliseconds and the property
is about what the commands check (`test_accepted_inputs_also_run` runs accepted ones for real).
Per example: no "Traceback" anywhere, a result within `SECONDS`, and either acceptance or exit 2
with one error: one line starting `abm COMMAND: error: ` (after argparse's usage or the command's
own announcement), at most `MAX_PROBLEMS_SHOWN` lines in all, nothing on stdout and no results
folder. Derandomized: the same examples every time. `@example`s are the inputs that gave a
traceback (or an unbounded message) before their fix, and the cases of the issue.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import abm.analysis.compare
import abm.analysis.lever_table
import abm.analysis.sensitivity
import abm.hindcast.run
import abm.runner
import abm.validation.run
from abm.cli import main
from abm.config.loader import MAX_PROBLEMS_SHOWN, MAX_VALUE_CHARS
from tests.reliability import ACCEPTED, HANG, OTHER, REFUSED, SILENT, TRACEBACK, record
from tests.runner.support import BASELINE, ROOT

VALUES, FILES = "command-line values", "config files"  # areas of the reliability tally (tests/reliability.py)

B = str(BASELINE)
TIMELINE = str(ROOT / "configs" / "history" / "jan_mar_2020.yaml")
CASE = "baseline_spiral_minority"
SECONDS = 60.0  # per command: a check takes milliseconds (seconds on a loaded machine); a hang would not end
# An error may quote a command-line value whole, twice at most (`--lever TEXT: 'KEY' is not a dotted key`);
# values are refused above MAX_VALUE_CHARS before anything else, so no message is longer than this.
MESSAGE_CHARS = 2 * MAX_VALUE_CHARS + 1000


class Planned(Exception):
    """Raised where a command would start its runs: the input was accepted."""


# Where each command starts its runs (looked up at call time by the command, so replacing them works).
STARTS = [
    (abm.runner, "run_experiment"),  # run, sweep
    (abm.analysis.compare, "run_comparison"),
    (abm.analysis.lever_table, "run_lever_table"),
    (abm.analysis.sensitivity, "run_sensitivity"),
    (abm.validation.run, "run_in_memory"),  # after the cases are planned
    (abm.hindcast.run, "run_in_memory"),  # after the dates are conditioned
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Iterator[Path]:
    """A working directory of its own: a default results folder would land here."""
    path = tmp_path_factory.mktemp("no_traceback")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path)
        yield path


def _planned(*args: Any, **kwargs: Any) -> None:
    raise Planned


@contextlib.contextmanager
def nothing_runs() -> Iterator[None]:
    """The functions that start runs replaced by `_planned` (per example: the real-run test needs them)."""
    with pytest.MonkeyPatch.context() as mp:
        for module, name in STARTS:
            mp.setattr(module, name, _planned)
        yield


# --- the grammar ---------------------------------------------------------------------------------

LITERALS = [
    *("", " ", "=", ",", ",,", ":", "::", "-", "--", "+", "-1", "-0.0", "+1", "0", "00", ".5", "1e5"),
    *("1e308", "1e-400", "1e999", "-1e999", "0x1F", "0o17", "0b101", "1_000", "190:20:30", "12:30:00"),
    *("nan", "NaN", ".nan", ".NaN", "inf", "-inf", ".inf", "-.inf", "Infinity", "-Infinity"),
    *("true", "false", "yes", "no", "on", "off", "null", "~", "[]", "{}", "[1, 2]", "{a: 1}", "[a, [b, [c]]]"),
    *("2020-13-01", "2020-02-30", "2020-01-01", "0000-00-00", "2020-01-01T25:00:00", "2001-12-14t21:59:43.10-05:00"),
    *("!!python/object/apply:os.system ['echo pwned']", "!!python/name:os.system", "!!python/none ''"),
    *("!!binary eA==", "!!binary x", "!!timestamp x", "!!timestamp ''", "!!set {a}", "!!set [a]", "!!omap [a: 1]"),
    *("!!omap [[a]]", "!!pairs [a]", "!!map [a]", "!!map [[a]]", "!!seq {a: 1}", "!!str [a]", "!!int abc"),
    *("!!int ''", "!!float x", "!!float ''", "!!bool x", "!!bool ''", "!!null x", "!custom x", "!e!x y"),
    *("!<tag:yaml.org,2002:int> x", "&a [1, 2]", "*a", "[&a [1], *a]", "{<<: {a: 1}}", "{<<: 1}", "{<<: [[1]]}"),
    *("{? [a, b] : 1}", "? [a, b]\n: 1", "{[a, b]: 1}", "{{a: 1}: 2}", "{? !!set {a} : 1}", "{a: 1, a: 2}"),
    *("é", "\u202e", "\x00", "\x07", "\x1b[31m", "💥", "\t", "\n", "\r\n", "\ufeff", "\udcff"),
    *("---", "...", "--- a\n--- b", "%YAML 1.1", "%TAG ! tag:x,1:", "|", ">", "- a", "a: b", "#", "@", "`"),
    *("'x", '"x', '"\\x"', '"\\ud800"', "'''", "{", "[", "}", "]", "massive", "proportional", "us.doctrine"),
    *("--help", "-h", "-q", "--set"),
]
TAGS = ["!!python/object/apply:os.system", "!!timestamp", "!!set", "!!map", "!!seq", "!!str", "!!int", "!!float"]
TAGS += ["!!bool", "!!null", "!!binary", "!!omap", "!!pairs", "!!merge", "!!value", "!local", "!!"]
BODIES = ["x", "''", "1", "[a]", "{a: 1}", "[[a]]", "[{a: 1, b: 2}]", "2020-13-01", "[a, a]", ".nan"]
OPEN = {"[": "]", "{": "}", "{a: ": "}", "[[": "]]", "{? ": "}"}


def nested(opening: str, depth: int, closed: bool) -> str:
    return opening * depth + ("1" + OPEN[opening] * depth if closed else "")


values = st.one_of(
    st.sampled_from(LITERALS),
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from([19, 20, 40, 41, 309, 4300, 4301, 5000]).map(lambda n: "9" * n),
    st.builds(
        nested, st.sampled_from(sorted(OPEN)), st.sampled_from([1, 19, 20, 21, 100, 1000, 60_000]), st.booleans()
    ),
    st.floats().map(repr),
    st.builds("{:04d}-{:02d}-{:02d}".format, st.integers(0, 99_999), st.integers(0, 99), st.integers(0, 99)),
    st.builds("{} {}".format, st.sampled_from(TAGS), st.sampled_from(BODIES)),
    st.text(max_size=12),
    st.lists(st.sampled_from(LITERALS), min_size=2, max_size=4).map(",".join),
)
KEYS = [
    *("us.doctrine", "states.us.doctrine", "us.sanctions_level", "iran.advance_warning", "horizon_days"),
    *("start_date", "free_from_day", "world.hubris_rate", "world.militia_attack_rate", "history.0.day"),
    *("history.0.killed", "history", "states.us.reach.0", "states.us.capabilities", "sites.al_asad.kind"),
    *("channels.oman.via", "alliances.0", "name", "description", "behaviour", "states", "us", "world", "extends"),
]
BROKEN_KEYS = [
    *("", " ", ".", "..", "a..b", ".us", "us.", "0", "-1", "history.-1", "history.99999999999999999999"),
    *("states.us.reach." + "9" * 5000, "9" * 5000, "é", "x" * 20_000, "us.doctrine.x", "us.doctrine.0"),
    *("states.nobody.doctrine", "third_parties.x", "__class__", "us.__dict__", "states.us.model_fields"),
    *("=", "a=b", "+", "us.doctrine+us.doctrine", "us.doctrine+", "[a]", "{a: 1}", "? [a, b]", "*a", "&a x"),
]
keys = st.one_of(st.sampled_from(KEYS), st.sampled_from(BROKEN_KEYS), st.text(max_size=10))

RUNS = ["--runs", "2"]
SENSITIVITY = ["sensitivity", B, "--method", "morris", "--samples", "2", "--runs-per-point", "1"]
BASES = {  # each valid on its own; the drawn assignment or option is added to it
    "run": ["run", B, *RUNS],
    "sweep": ["sweep", B, *RUNS, "--grid", "us.doctrine=massive,proportional"],
    "sweep-lhs": ["sweep", B, *RUNS, "--lhs", "world.hubris_rate=0:1", "--points", "2"],
    "compare": ["compare", B, *RUNS, "--lever", "iran.advance_warning=0.8,0"],
    "levers": ["levers", B, *RUNS, "--lever", "iran.advance_warning=0.8,0"],
    "sensitivity": [*SENSITIVITY, "--param", "world.hubris_rate=0:1"],
    "validate": ["validate", *RUNS, "--case", CASE],
    "hindcast": ["hindcast", *RUNS, "--timeline", TIMELINE],
}
OPTIONS = {
    "run": ["--runs", "--seed", "--jobs", "--chunk-size", "--run-timeout", "--retries", "--max-failure-share"],
    "sweep-lhs": ["--points", "--target-ci", "--max-runs", "--runs"],
    "compare": ["--runs", "--seed", "--alpha", "--correction"],
    "levers": ["--runs", "--alpha"],
    "sensitivity": ["--samples", "--runs-per-point", "--levels", "--seed", "--method"],
    "validate": ["--runs", "--seed", "--sample"],
    "hindcast": ["--runs", "--seed", "--bootstrap", "--clip", "--dates"],
}


def assignment_forms(key: str, value: str, other: str) -> dict[str, list[str]]:
    """KEY=VALUE (and neighbours) in every flag that takes one."""
    return {
        "run --set": [*BASES["run"], "--set", f"{key}={value}"],
        "sweep --set": [*BASES["sweep"], "--set", f"{key}={value}"],
        "sweep --grid": ["sweep", B, *RUNS, "--grid", f"{key}={value}"],
        "sweep --grid V,W": ["sweep", B, *RUNS, "--grid", f"{key}={value},{other}"],
        "sweep --lhs": ["sweep", B, *RUNS, "--points", "2", "--lhs", f"{key}={value}"],
        "sweep --lhs LO:HI": ["sweep", B, *RUNS, "--points", "2", "--lhs", f"{key}={other}:{value}"],
        "compare --lever": ["compare", B, *RUNS, "--lever", f"{key}={value},{other}"],
        "compare --set": [*BASES["compare"], "--set", f"{key}={value}"],
        "levers --lever": ["levers", B, *RUNS, "--lever", f"{key}={value},{other}"],
        "levers --set": [*BASES["levers"], "--set", f"{key}={value}"],
        "sensitivity --param": [*SENSITIVITY, "--param", f"{key}={value}"],
        "sensitivity --param LO:HI": [*SENSITIVITY, "--param", f"{key}={other}:{value}"],
        "sensitivity --set": [*BASES["sensitivity"], "--set", f"{key}={value}"],
        "validate --case": ["validate", *RUNS, "--case", value],
        "hindcast --dates": ["hindcast", *RUNS, "--timeline", TIMELINE, "--dates", value],
    }


FORMS = list(assignment_forms("k", "v", "w"))


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    if draw(st.integers(0, 3)) == 0:  # a hostile value of an option
        base = draw(st.sampled_from(sorted(OPTIONS)))
        return [*BASES[base], draw(st.sampled_from(OPTIONS[base])), draw(values)]
    form = draw(st.sampled_from(FORMS))
    return assignment_forms(draw(keys), draw(values), draw(values))[form]


# --- running one input ---------------------------------------------------------------------------


@dataclass
class Outcome:
    code: int | str  # the exit code, or "planned" (accepted: the runs would start)
    out: str
    err: str
    seconds: float


def invoke(argv: list[str], out_dir: Path, *, run: bool = False) -> Outcome:
    """`abm ARGV --out OUT_DIR` in this process, stopped where runs would start unless `run`;
    anything but an exit code or `Planned` propagates (a traceback: the test fails on it)."""
    out, err = io.StringIO(), io.StringIO()
    began = time.monotonic()
    stopped = contextlib.nullcontext() if run else nothing_runs()
    with stopped, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | str = main([*argv, "--out", str(out_dir), "-q"])
        except SystemExit as done:  # argparse: exit 2 on a bad option, 0 after --help
            code = done.code if isinstance(done.code, int) else 2
        except Planned:
            code = "planned"
    return Outcome(code, out.getvalue(), err.getvalue(), time.monotonic() - began)


def verdict(argv: list[str], outcome: Outcome, out_dir: Path) -> tuple[str, str | None]:
    """(the outcome of the reliability tally, what is wrong or None): accepted, or exit 2 with one
    bounded error; never a traceback, never slow."""
    shown = f"abm {' '.join(a[:60] for a in argv)[:300]}\n{outcome.err[-2000:]}"
    if "Traceback" in outcome.err + outcome.out:
        return TRACEBACK, shown
    if outcome.seconds >= SECONDS:
        return HANG, f"{outcome.seconds:.1f} s: {shown}"
    if outcome.code not in (0, 2, "planned"):
        return OTHER, f"exit {outcome.code}: {shown}"
    if outcome.code != 2:
        return ACCEPTED, None
    lines = outcome.err.rstrip("\n").splitlines()
    head = f"abm {argv[0]}: error: "
    starts = [i for i, line in enumerate(lines) if line.startswith(head)]
    if len(starts) != 1:
        return OTHER, f"not one error: {shown}"
    before, message = lines[: starts[0]], lines[starts[0] :]
    # Before the error: argparse's usage, or the command's own lines (announcement, warnings).
    if not all(line.startswith(("usage: ", " ", f"abm {argv[0]}")) for line in before):
        return OTHER, shown
    if len(message) > MAX_PROBLEMS_SHOWN or len("\n".join(message)) > MESSAGE_CHARS:
        return OTHER, shown
    if outcome.out or out_dir.exists():
        return OTHER, shown
    return REFUSED, None


def check(argv: list[str], outcome: Outcome, out_dir: Path, area: str = VALUES) -> None:
    """Accepted, or exit 2 with one bounded error; never a traceback, never slow (one trial of `area`)."""
    kind, wrong = verdict(argv, outcome, out_dir)
    record(area, kind)
    assert wrong is None, wrong


FAST = settings(
    max_examples=200,
    deadline=None,  # `check` bounds each command's time itself (the first one imports the analyses)
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
LONG = settings(FAST, max_examples=3000)

# Inputs that gave a traceback before their fix (or a message without bound), and the issue's cases.
SET = BASES["run"]
SWEEP = ["sweep", B, *RUNS]
BEFORE_FIX = [
    [*SET, "--set", "us.doctrine=!!timestamp x"],  # AttributeError in PyYAML's timestamp constructor
    [*SET, "--set", "us.doctrine=!!bool x"],  # KeyError
    [*SET, "--set", "us.doctrine=!!int ''"],  # IndexError
    [*SET, "--set", "us.doctrine={? [a, b] : 1}"],  # TypeError: a list as a key (the duplicate-key check)
    [*SWEEP, "--grid", "us.doctrine={{a: 1}: 2}"],  # TypeError: a mapping as a key
    [*SWEEP, "--grid", "us.doctrine=!!set [a]"],  # TypeError in the duplicate-key check
    [*SET, "--set", "history=[" + ", ".join(["{}"] * 200) + "]"],  # 600 lines of message
    [*SET, "--set", "states.us.reach=" + str(list(range(400)))],  # 400 lines
    [*SET, "--set", "states.us.reach." + "9" * 5000 + "=x"],  # ValueError: int() of a 5,000-digit index
    [*SET, "--set", "history.²=x"],  # ValueError: '²'.isdigit() but int('²') fails
    [*SET, "--set", "iran.advance_warning=" + "9" * 309],  # OverflowError: math.isfinite() of an int > 1.8e308
    ["validate", *RUNS, "--case", "[" * 60_000],  # "File name too long: " and the 60,000 characters
    ["run", "[" * 60_000, *RUNS],  # the same
    ["hindcast", *RUNS, "--timeline", TIMELINE, "--dates", "[" * 60_000],  # the 60,000 characters quoted
]
ISSUE = [
    [*SWEEP, "--grid", "us.sanctions_level=2020-13-01"],
    [*SET[:2], "--runs", "9" * 5000],
    [*SET, "--set", "us.doctrine=" + "9" * 5000],
    [*SET, "--set", "us.doctrine=" + "[" * 60_000],
    [*SWEEP, "--grid", "us.doctrine=[" + ",".join(["&a [1]"] + ["*a"] * 8) + "]"],
    [*SWEEP, "--grid", "us.doctrine=massive", "--set", "us.doctrine=proportional"],
    ["hindcast", "--runs", str(10**12)],
    ["sensitivity", B, "--param", "world.militia_attack_rate=0.02:0.1", "--method", "sobol", "--samples", str(10**12)],
]


def with_examples(cases: list[list[str]]) -> Any:
    def decorate(test: Any) -> Any:
        for argv in reversed(cases):
            test = example(argv=argv)(test)
        return test

    return decorate


@with_examples(BEFORE_FIX + ISSUE)
@FAST
@given(argv=command_lines())
def test_hostile_command_lines_exit_2_or_are_accepted(workdir, argv) -> None:
    out_dir = workdir / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    outcome = invoke(argv, out_dir)
    check(argv, outcome, out_dir)
    event(f"exit {outcome.code}" if outcome.code != "planned" else "accepted")


@pytest.mark.slow
@LONG
@given(argv=command_lines())
def test_many_hostile_command_lines(workdir, argv) -> None:
    out_dir = workdir / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    outcome = invoke(argv, out_dir)
    check(argv, outcome, out_dir)
    event(f"exit {outcome.code}" if outcome.code != "planned" else "accepted")


@pytest.mark.parametrize(
    "argv",
    [
        [*SET, "--set", "x" * 20_000],
        [*SET, "--set", "states.us.reach." + "9" * 5000 + "=x"],
        [*SET, "--set", "us.doctrine=massive", "us.doctrine=" + "x" * 9000],
        [*SET, "--max-failure-share", "x" * 20_000],
        [*SET, "--run-timeout", "x" * 20_000],
    ],
    ids=["no =", "a list index", "given twice", "a share", "seconds"],
)
def test_a_long_value_is_shortened_in_the_message(workdir, argv) -> None:
    """Before: these messages quoted the whole key or value (9,000 to 20,000 characters on one line)."""
    out_dir = workdir / "out"
    outcome = invoke(argv, out_dir)
    check(argv, outcome, out_dir)
    assert outcome.code == 2 and len(outcome.err.splitlines()[-1]) < 500, outcome.err[:300]


# --- config files: one key or value of the baseline replaced by hostile text ----------------------

TEXT = BASELINE.read_text(encoding="utf-8").splitlines()
LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_]\w*):(?P<gap>\s+)(?P<value>[^#\s][^#]*?)(?P<note>\s*#.*)?$")
KEY_LINES = [i for i, line in enumerate(TEXT) if LINE.match(line)]
FIRST = {LINE.match(TEXT[i])["key"]: i for i in reversed(KEY_LINES)}  # type: ignore[index]
assert len(KEY_LINES) > 100 and {"start_date", "horizon_days", "doctrine"} <= set(FIRST)

file_values = values.filter(lambda v: not any(0xD800 <= ord(c) <= 0xDFFF for c in v))  # not writable as UTF-8
file_keys = keys.filter(lambda k: not any(0xD800 <= ord(c) <= 0xDFFF for c in k))


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, int, str]:
    """(what, line, text): a line's value or key replaced, or a key added after it (same indent)."""
    what = draw(st.sampled_from(["value", "value", "key", "add"]))
    line = draw(st.sampled_from(KEY_LINES))
    return what, line, draw(file_values if what == "value" else file_keys)


def mutated(what: str, line: int, text: str) -> str:
    lines = list(TEXT)
    found = LINE.match(lines[line])
    assert found is not None
    indent, key, gap, value = found["indent"], found["key"], found["gap"], found["value"]
    if what == "value":
        lines[line] = f"{indent}{key}:{gap}{text}"
    elif what == "key":
        lines[line] = f"{indent}{text}:{gap}{value}"
    elif what == "add":
        lines.insert(line + 1, f"{indent}{text}: 1")
    else:  # "line": written as given (an example of the issue)
        lines.insert(line + 1, text)
    return "\n".join(lines) + "\n"


FILE_EXAMPLES = [
    ("line", FIRST["horizon_days"], "? [a, b]\n: 1"),  # the issue's key: a TypeError before the fix
    ("key", FIRST["doctrine"], "? [a, b]"),
    ("value", FIRST["doctrine"], "{? [a, b] : 1}"),
    ("value", FIRST["doctrine"], "!!timestamp x"),  # AttributeError
    ("value", FIRST["doctrine"], "!!set [a]"),  # TypeError
    ("value", FIRST["horizon_days"], "!!int ''"),  # IndexError
    ("value", FIRST["advance_warning"], "9" * 309),  # OverflowError in the schema's validator
    ("value", FIRST["horizon_days"], "9" * 5000),
    ("value", FIRST["horizon_days"], "[" * 60_000),
    ("value", FIRST["start_date"], "2020-13-01"),
    ("value", FIRST["doctrine"], "&a [1]"),
]


def file_examples(test: Any) -> Any:
    for mutation in reversed(FILE_EXAMPLES):
        test = example(mutation=mutation)(test)
    return test


def run_file(workdir: Path, mutation: tuple[str, int, str]) -> None:
    config = workdir / "mutated.yaml"
    config.write_text(mutated(*mutation), encoding="utf-8")
    out_dir = workdir / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    argv = ["run", str(config), *RUNS]
    outcome = invoke(argv, out_dir)
    check(argv, outcome, out_dir, FILES)
    event(f"exit {outcome.code}" if outcome.code != "planned" else "accepted")


@file_examples
@settings(FAST, max_examples=100)
@given(mutation=mutations())
def test_hostile_config_files_exit_2_or_are_accepted(workdir, mutation) -> None:
    run_file(workdir, mutation)


@pytest.mark.slow
@settings(FAST, max_examples=2000)
@given(mutation=mutations())
def test_many_hostile_config_files(workdir, mutation) -> None:
    run_file(workdir, mutation)


# --- accepted inputs, run for real ----------------------------------------------------------------


# Values a real key could take (numbers in and out of range, the words of its enums, empty
# containers), mixed with the hostile ones, so that a fair share of inputs is accepted and run.
PLAUSIBLE = ["massive", "proportional", "lethal_red_line", "choose", "forward", "consolidated", "maximal"]
PLAUSIBLE += ["nuclear_only", "true", "false", "null", "[]", "{}", "0", "1", "0.5", "-0.5", "2", "31", "180", "3651"]
plausible = st.one_of(
    st.sampled_from(PLAUSIBLE),
    st.floats(-1, 2, allow_nan=False).map(repr),
    st.integers(-5, 5000).map(str),
    file_values,
)


@pytest.mark.slow
@settings(FAST, max_examples=300)
@given(key=st.sampled_from(KEYS), value=plausible, line=st.sampled_from(KEY_LINES), text=plausible)
def test_accepted_inputs_also_run(workdir, key, value, line, text) -> None:
    """What passes the checks runs: one real run of the model on the serial backend gives exit 0,
    never a failed run (exit 1: a value the checks let through that the model cannot take)."""
    config = workdir / "mutated_real.yaml"
    config.write_text(mutated("value", line, text), encoding="utf-8")
    for argv in (["run", B, "--set", f"{key}={value}"], ["run", str(config)]):
        out_dir = workdir / "out_real"
        shutil.rmtree(out_dir, ignore_errors=True)
        outcome = invoke([*argv, "--runs", "1", "--backend", "serial"], out_dir, run=True)
        shown = f"abm {' '.join(a[:60] for a in argv)[:300]}\n{outcome.err[-2000:]}"
        # exit 1: a value the checks let through that the model cannot take (a silent acceptance)
        kind = {0: ACCEPTED, 2: REFUSED, 1: SILENT}.get(outcome.code, OTHER)
        kind = TRACEBACK if "Traceback" in outcome.err + outcome.out else HANG if outcome.seconds >= 60 else kind
        record(VALUES if len(argv) > 2 else FILES, kind)
        assert "Traceback" not in outcome.err + outcome.out and outcome.seconds < 60, shown
        assert outcome.code in (0, 2), f"exit {outcome.code}: {shown}"
        event(f"{'--set' if len(argv) > 2 else 'file'}: exit {outcome.code}")
