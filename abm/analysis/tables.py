"""Report tables: outcome shares with Wilson intervals, metric means, and their Markdown / LaTeX / xlsx forms.

The CSV form of each table is long (one row per group and outcome or metric: for machines); the
Markdown and LaTeX forms are wide (one row per group, one `p [low, high]` cell per outcome: for
readers). Markdown is rendered here (pandas' `to_markdown` needs `tabulate`, not a dependency).
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.analysis.compare import METRICS
from abm.analysis.errors import AnalysisError
from abm.analysis.summary import _ordered_labels, summarize
from abm.defaults import TABLE_FORMATS as FORMATS
from abm.stats import t_half_width

MAX_MD_ROWS = 40


def short(value: Any) -> str:
    """A parameter value for labels: 3 significant digits for floats, YAML spelling for booleans."""
    if isinstance(value, float) and not math.isnan(value):
        return f"{value:.3g}"
    return str(value).lower() if isinstance(value, bool | np.bool_) else str(value)


def outcome_table(runs: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Long table: by..., outcome, count, n, p, ci_low, ci_high (95% Wilson); failed runs as `error`."""
    table = summarize(runs, list(by))
    n = table.groupby(list(by), dropna=False, sort=False)["count"].transform("sum") if by else table["count"].sum()
    table.insert(len(by) + 2, "n", n)
    return table


def wide_outcomes(long: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One row per group, one `p [low, high]` column per outcome: for reading, not for machines."""
    cell = long.assign(
        cell=[
            f"{p:.3f} [{lo:.3f}, {hi:.3f}]"
            for p, lo, hi in zip(long["p"], long["ci_low"], long["ci_high"], strict=True)
        ]
    )
    order = _ordered_labels(long["outcome"].unique())
    if not by:
        row = {"n": int(long["n"].iloc[0]), **dict(zip(cell["outcome"], cell["cell"], strict=True))}
        return pd.DataFrame([row])[["n", *[o for o in order if o in row]]]
    keys = list(by)
    cell["_group"] = pd.factorize(pd.MultiIndex.from_frame(cell[keys].astype(str)))[0]
    wide = cell.pivot(index="_group", columns="outcome", values="cell")
    first = cell.drop_duplicates("_group").set_index("_group")[[*keys, "n"]]
    frame = first.join(wide[[o for o in order if o in wide.columns]]).reset_index(drop=True)
    return frame.fillna("-")


def metric_table(runs: pd.DataFrame, by: Sequence[str] = (), metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """by..., metric, n, mean, ci_low, ci_high (95% t-interval), median, over finished runs."""
    ok = runs[runs["error"].isna()] if "error" in runs else runs
    groups = ok.groupby(list(by), dropna=False, sort=True) if by else [((), ok)]
    rows = []
    for key, frame in groups:
        key = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            x = frame[metric].dropna().to_numpy(dtype=float)
            n = len(x)
            mean = float(x.mean()) if n else math.nan
            half = t_half_width(x)
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "metric": metric,
                    "n": n,
                    "mean": mean,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                    "median": float(np.median(x)) if n else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=[*by, "metric", "n", "mean", "ci_low", "ci_high", "median"])


def wide_metrics(long: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One row per group, one `mean [low, high]` column per metric."""
    cell = long.assign(
        cell=[
            f"{m:.3g} [{lo:.3g}, {hi:.3g}]" if math.isfinite(m) else "-"
            for m, lo, hi in zip(long["mean"], long["ci_low"], long["ci_high"], strict=True)
        ]
    )
    if not by:
        return pd.DataFrame([dict(zip(cell["metric"], cell["cell"], strict=True))])
    keys = list(by)
    cell["_group"] = pd.factorize(pd.MultiIndex.from_frame(cell[keys].astype(str)))[0]
    wide = cell.pivot(index="_group", columns="metric", values="cell")
    first = cell.drop_duplicates("_group").set_index("_group")[keys]
    return first.join(wide[[m for m in dict.fromkeys(long["metric"])]]).reset_index(drop=True)


def markdown_table(frame: pd.DataFrame, max_rows: int | None = MAX_MD_ROWS, digits: int = 3) -> str:
    """GitHub Markdown table (no `tabulate` dependency); long tables are cut with a note."""
    shown = frame if max_rows is None else frame.head(max_rows)

    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            text = "" if math.isnan(v) else f"{v:.{digits}f}" if abs(v) < 1e4 else f"{v:.4g}"
        else:
            text = short(v)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(str, shown.columns)) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    if max_rows is not None and len(frame) > max_rows:
        lines.append(f"\n({len(frame) - max_rows} more rows in the CSV file)")
    return "\n".join(lines)


# LaTeX's special characters and what stands for each in text (a bare % starts a comment, so a
# caption like "95% Wilson interval" cut the table short before this table existed). < and > are
# not special, but in the default OT1 font encoding they print as ¡ and ¿ ("<0.001" p-values).
LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """`text` with every LaTeX special character escaped, for captions and other plain text."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in text)


def latex_cell(value: Any) -> str:
    """A table cell for LaTeX: floats to 3 decimals, everything else as text with `latex_escape`."""
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    return latex_escape(str(value))


def latex_table(frame: pd.DataFrame, caption: str) -> str:
    """LaTeX tabular via pandas Styler (booktabs rules); every cell, header and the caption go through
    `latex_escape` (pandas' own escape leaves < and > alone), missing values are empty cells."""
    styler = frame.style.hide(axis="index").format(latex_cell, na_rep="")
    styler = styler.format_index(lambda v: latex_escape(str(v)), axis=1)
    return styler.to_latex(hrules=True, caption=latex_escape(caption))


def check_formats(formats: Sequence[str]) -> list[str]:
    """Validate requested formats up front (xlsx needs openpyxl: the optional extra `abm[xlsx]`)."""
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise AnalysisError(f"--format: got {bad[0]!r}; allowed: {', '.join(FORMATS)} (comma-separated)")
    if "xlsx" in formats and importlib.util.find_spec("openpyxl") is None:
        raise AnalysisError(
            "--format xlsx needs the openpyxl package: pip install 'abm[xlsx]' (or pip install "
            "openpyxl), or leave xlsx out"
        )
    return list(dict.fromkeys(formats))


def write_text(path: Path, text: str) -> Path:
    """Write text atomically (temporary file, then `os.replace`)."""
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_tables(
    tables: dict[str, tuple[pd.DataFrame, pd.DataFrame, str]], report_dir: Path, formats: Sequence[str]
) -> dict[str, list[Path]]:
    """Each table as name.csv (machine, long) / name.md, name.tex (reader, wide) / report.xlsx sheets."""
    written: dict[str, list[Path]] = {}
    for name, (long, wide, caption) in tables.items():
        paths = written.setdefault(name, [])
        if "csv" in formats:
            long.to_csv(report_dir / f"{name}.csv", index=False)
            paths.append(report_dir / f"{name}.csv")
        if "md" in formats:
            paths.append(write_text(report_dir / f"{name}.md", f"{caption}\n\n{markdown_table(wide, None)}\n"))
        if "latex" in formats:
            paths.append(write_text(report_dir / f"{name}.tex", latex_table(wide, caption)))
    if "xlsx" in formats:
        with pd.ExcelWriter(report_dir / "report.xlsx", engine="openpyxl") as xl:
            for name, (long, _, _) in tables.items():
                long.to_excel(xl, sheet_name=name[:31], index=False)
        written.setdefault("xlsx", []).append(report_dir / "report.xlsx")
    return written
