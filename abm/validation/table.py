"""The validation report: one row per case, as a DataFrame, a terminal table and Markdown."""

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
    "case", "pattern", "status", "estimate", "ci_low", "ci_high", "band_low", "band_high", "rule", "n", "runs",
    "failures", "method", "quantity", "scenario", "versus", "source", "note", "description", "file",
)  # fmt: skip
CSV_FILE, MD_FILE = "validation.csv", "validation.md"
MARK = {"pass": "PASS", "fail": "FAIL", "no data": "NO DATA"}


def num(x: float) -> str:
    """Whole numbers as such, shares and small numbers with 3 decimals, larger ones with 1; "-" if missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if abs(x) > 1 and float(x).is_integer():
        return f"{x:.0f}"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def frame(results: Sequence[CaseResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        spec, est = r.case.spec, r.estimate
        note = "; ".join(x for x in (est.note, r.error or "") if x)
        rows.append({
            "case": spec.name,
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


def format_table(table: pd.DataFrame) -> str:
    """Terminal text: case, target band, simulated value [95% CI], n, result; then the sources."""
    shown = pd.DataFrame({
        "case": table["case"],
        "target": [_band(r) for r in table.to_dict("records")],
        "simulated [95% CI]": [_value(r) for r in table.to_dict("records")],
        "n": table["n"],
        "result": table["status"].map(MARK),
    })  # fmt: skip
    lines = [shown.to_string(index=False), "", "What each case measures, and the source of its band:"]
    for row in table.to_dict("records"):
        lines.append(
            f"  {row['case']}: {row['quantity']} in {row['scenario']}"
            + (f" vs {row['versus']}" if row["versus"] else "")
        )
        lines.append(f"    source: {row['source']}")
        if row["note"]:
            lines.append(f"    note: {row['note']}")
    passed = int((table["status"] == "pass").sum())
    lines.append(
        f"\n{passed} of {len(table)} cases pass (estimate and 95% interval; rule per case, default: "
        "the estimate lies in the band)"
    )
    return "\n".join(lines)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(table: pd.DataFrame, meta: Mapping[str, Any]) -> str:
    """A Markdown report: settings, the case table and each case's quantity and source."""
    head = ["# Validation report", ""]
    head += [f"* {k}: {v}" for k, v in meta.items()]
    head += [
        "",
        "| case | pattern | target | simulated [95% CI] | n | result | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.to_dict("records"):
        head.append(
            "| "
            + " | ".join(
                _md_cell(x)
                for x in (
                    f"`{row['case']}`",
                    row["pattern"],
                    _band(row),
                    _value(row),
                    row["n"],
                    MARK[row["status"]],
                    row["source"],
                )
            )
            + " |"
        )
    head += ["", "## What each case measures", ""]
    for row in table.to_dict("records"):
        versus = f" minus the same in `{row['versus']}`" if row["versus"] else ""
        head.append(
            f"* `{row['case']}` ({row['runs']} runs per config, {row['method']}, rule: {row['rule']}): "
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
