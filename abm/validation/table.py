"""The validation report: one row per case, as a DataFrame, a terminal table and Markdown.

Cases come in two samples (`Case.sample`): in-sample (the model was built or calibrated with
them in view) and out-of-sample (crises it was not built on). The frame lists in-sample rows
first; the terminal table and the Markdown show each sample as a block of its own, with its own
pass count, and a total.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from abm.validation.run import CaseResult

COLUMNS = (
    "case", "sample", "pattern", "status", "estimate", "ci_low", "ci_high", "band_low", "band_high", "rule", "n",
    "runs", "failures", "method", "quantity", "scenario", "versus", "source", "note", "description", "file",
)  # fmt: skip
CSV_FILE, MD_FILE = "validation.csv", "validation.md"
MARK = {"pass": "PASS", "fail": "FAIL", "no data": "NO DATA"}
SAMPLES = ("in-sample", "out-of-sample")  # the values of `abm.validation.cases.Sample`, in report order
TITLE = {"in-sample": "In-sample", "out-of-sample": "Out-of-sample"}
ABOUT = {
    "in-sample": "the model was built or calibrated with them in view",
    "out-of-sample": "crises the model was not built on; calibration never reads them",
}
RULE_NOTE = "a case passes by its rule, default: the estimate lies in the band; intervals are 95%"


def num(x: float) -> str:
    """Whole numbers as such, shares and small numbers with 3 decimals, larger ones with 1; "-" if missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if abs(x) > 1 and float(x).is_integer():
        return f"{x:.0f}"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def _rank(sample: Any) -> int:
    return SAMPLES.index(sample) if sample in SAMPLES else len(SAMPLES)


def frame(results: Sequence[CaseResult]) -> pd.DataFrame:
    """One row per case: in-sample cases first, then out-of-sample ones, each in the given order."""
    rows = []
    for r in sorted(results, key=lambda r: _rank(r.case.sample)):
        spec, est = r.case.spec, r.estimate
        note = "; ".join(x for x in (est.note, r.error or "") if x)
        rows.append({
            "case": spec.name,
            "sample": r.case.sample,
            "pattern": spec.pattern,
            "status": r.status,
            "estimate": est.value,
            "ci_low": est.low,
            "ci_high": est.high,
            "band_low": spec.band.low,
            "band_high": spec.band.high,
            "rule": spec.rule,
            "n": est.n,
            "runs": r.runs,
            "failures": r.failures,
            "method": est.method,
            "quantity": r.case.quantity.describe(),
            "scenario": r.case.arm.label,
            "versus": r.case.versus.label if r.case.versus else "",
            "source": " ".join(spec.source.split()),
            "note": note,
            "description": " ".join(spec.description.split()),
            "file": str(r.case.path),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _band(row: Mapping[str, Any]) -> str:
    low, high = row["band_low"], row["band_high"]
    low = None if low is None or (isinstance(low, float) and math.isnan(low)) else low
    high = None if high is None or (isinstance(high, float) and math.isnan(high)) else high
    if low is None:
        return f"<= {num(high)}"
    if high is None:
        return f">= {num(low)}"
    return f"[{num(low)}, {num(high)}]"


def _value(row: Mapping[str, Any]) -> str:
    return f"{num(row['estimate'])} [{num(row['ci_low'])}, {num(row['ci_high'])}]"


def samples(table: pd.DataFrame) -> pd.Series:
    """Each row's sample; in-sample where a table has no `sample` column (reports before issue 12)."""
    if "sample" not in table:
        return pd.Series("in-sample", index=table.index)
    return table["sample"].fillna("in-sample")


def blocks(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(sample, its rows) for every sample with at least one row, in-sample first."""
    sample = samples(table)
    return [(name, table[sample == name]) for name in SAMPLES if (sample == name).any()]


def tally(table: pd.DataFrame, sample: str) -> str:
    """`N of M pass` for one sample's rows of `table`, or `none selected`."""
    rows = table[samples(table) == sample]
    if rows.empty:
        return "none selected"
    return f"{int((rows['status'] == 'pass').sum())} of {len(rows)} pass"


def pass_line(table: pd.DataFrame, sample: str) -> str:
    """`N of M in-sample cases pass` (the rows of `sample` in `table`)."""
    rows = table[samples(table) == sample]
    return f"{int((rows['status'] == 'pass').sum())} of {len(rows)} {sample} cases pass"


def ordered(table: pd.DataFrame) -> pd.DataFrame:
    """The rows in report order: in-sample first, each sample in its given order."""
    return table.iloc[samples(table).map(_rank).to_numpy().argsort(kind="stable")]


def total_line(table: pd.DataFrame) -> str:
    """All cases, then each sample: `3 of 5 cases pass; in-sample: 2 of 4 pass; out-of-sample: ...`."""
    passed = int((table["status"] == "pass").sum())
    parts = [f"{passed} of {len(table)} cases pass"]
    parts += [f"{name}: {tally(table, name)}" for name in SAMPLES]
    return "; ".join(parts)


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    records = table.to_dict("records")
    return pd.DataFrame({
        "case": table["case"],
        "target": [_band(r) for r in records],
        "simulated [95% CI]": [_value(r) for r in records],
        "n": table["n"],
        "result": table["status"].map(MARK),
    })  # fmt: skip


def _measures(table: pd.DataFrame) -> list[str]:
    lines = ["What each case measures, and the source of its band:"]
    for row in table.to_dict("records"):
        lines.append(
            f"  {row['case']}: {row['quantity']} in {row['scenario']}"
            + (f" vs {row['versus']}" if row["versus"] else "")
        )
        lines.append(f"    source: {row['source']}")
        if row["note"]:
            lines.append(f"    note: {row['note']}")
    return lines


def format_table(table: pd.DataFrame) -> str:
    """Terminal text: a block per sample (in-sample first; an empty sample is left out), each with
    its cases (target band, simulated value [95% CI], n, result), what they measure and the source
    of their bands, and its pass count; then the total over both samples."""
    table = ordered(table)
    lines: list[str] = []
    if len(table):
        # One rendering of all the rows, so that the columns line up across the blocks.
        header, *body = _shown(table).to_string(index=False).splitlines()
        at = 0
        for name, rows in blocks(table):
            lines += [f"{TITLE[name]} cases ({ABOUT[name]}):", "", header, *body[at : at + len(rows)], ""]
            lines += [*_measures(rows), "", pass_line(rows, name), ""]
            at += len(rows)
    lines += [f"Total: {total_line(table)}", f"({RULE_NOTE})"]
    return "\n".join(lines)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_rows(table: pd.DataFrame) -> list[str]:
    lines = [
        "| case | pattern | target | simulated [95% CI] | n | result | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.to_dict("records"):
        cells = (
            f"`{row['case']}`", row["pattern"], _band(row), _value(row), row["n"], MARK[row["status"]], row["source"]
        )  # fmt: skip
        lines.append("| " + " | ".join(_md_cell(x) for x in cells) + " |")
    return lines


def to_markdown(table: pd.DataFrame, meta: Mapping[str, Any]) -> str:
    """A Markdown report: settings, a section and case table per sample ("In-sample", then
    "Out-of-sample"; an empty sample says so), then each case's quantity and source."""
    head = ["# Validation report", ""]
    head += [f"* {k}: {v}" for k, v in meta.items()]
    head += ["", f"Total: {total_line(table)} ({RULE_NOTE})."]
    table = ordered(table)
    sample = samples(table)
    for name in SAMPLES:
        rows = table[sample == name]
        head += ["", f"## {TITLE[name]}", ""]
        if rows.empty:
            head.append(f"No {name} cases selected ({ABOUT[name]}).")
            continue
        head += [f"{TITLE[name]} cases ({ABOUT[name]}): {tally(rows, name)}.", ""]
        head += _md_rows(rows)
    head += ["", "## What each case measures", ""]
    for name, rows in blocks(table):
        for row in rows.to_dict("records"):
            versus = f" minus the same in `{row['versus']}`" if row["versus"] else ""
            head.append(
                f"* `{row['case']}` ({name}, {row['runs']} runs per config, {row['method']}, rule: {row['rule']}): "
                f"`{row['quantity']}` in `{row['scenario']}`{versus}. {row['description']}"
                + (f" *Note: {row['note']}*" if row["note"] else "")
            )
    return "\n".join(head) + "\n"


def write(out_dir: str | Path, table: pd.DataFrame, meta: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write `validation.csv` and `validation.md` (atomically) into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out / CSV_FILE, out / MD_FILE
    for path, text in ((csv_path, table.to_csv(index=False)), (md_path, to_markdown(table, meta))):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return csv_path, md_path


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
