"""How far each run of the warning analysis climbed, and who struck whom, per arm.

Reads the runs of `abm compare` folders (one per US doctrine) and writes one row per arm and
measure: shares of runs with a Wilson 95% interval, means and medians without one. The
columns it reads are the per-run columns of the README's "Outputs" (`max_stage`,
`exchange_day`, `direct_strikes_by_state`, `deaths_by_state`, ...).

    .venv/bin/python experiments/warning_analysis/stages.py results/warning_analysis \\
        results/warning_analysis_proportional results/warning_analysis_massive \\
        --out experiments/warning_analysis/report/stages.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from abm.stats import wilson
from abm.analysis.report import markdown_table
from abm.config import load_config

ROOT = Path(__file__).resolve().parents[2]
LEVER = "iran.advance_warning"


def _tally(column: pd.Series) -> pd.DataFrame:
    """JSON-text tallies ({"iran>us": 1}) as columns, 0 where a run has none."""
    rows = [json.loads(text) if isinstance(text, str) and text else {} for text in column]
    return pd.DataFrame(rows, index=column.index).fillna(0)


def doctrine_of(folder: Path) -> str:
    spec = json.loads((folder / "compare.json").read_text())
    if "us.doctrine" in spec.get("set", {}):
        return str(spec["set"]["us.doctrine"])
    return str(load_config(ROOT / "configs" / "baseline_jan2020.yaml", {}).states["us"].doctrine)


def measures(runs: pd.DataFrame) -> list[tuple[str, float, float | None, float | None]]:
    """(measure, value, ci_low, ci_high) for one arm's good runs."""
    n = len(runs)
    strikes = _tally(runs["direct_strikes_by_state"])
    deaths = _tally(runs["deaths_by_state"])
    stage = runs["max_stage"]
    spirals = runs[runs["outcome"].eq("spiral")]
    calm = runs[runs["outcome"].eq("deescalation")]

    def share(mask: pd.Series, name: str) -> tuple[str, float, float, float]:
        count = int(mask.sum())
        low, high = wilson(count, n)
        return name, count / n, low, high

    def get(frame: pd.DataFrame, key: str) -> pd.Series:
        return frame[key] if key in frame else pd.Series(0.0, index=runs.index)

    def median(values: pd.Series) -> float:
        return float(values.median()) if len(values) else float("nan")

    return [
        ("n", float(n), None, None),
        share(get(strikes, "iran>us").ge(1), "p_iran_strikes_us"),
        share(stage.ge(3), "p_direct_exchange (max_stage >= 3)"),
        share(get(strikes, "us>iran").ge(1), "p_us_strikes_iran"),
        share(get(strikes, "iran>us").ge(2), "p_iran_strikes_us_again"),
        share(stage.eq(4), "p_war (max_stage 4 = spiral)"),
        share(runs["outcome"].eq("spiral") & runs["days"].le(30), "p_war_by_day_30"),
        ("median_exchange_day", float(runs["exchange_day"].median()), None, None),
        ("median_spiral_day", median(spirals["days"]), None, None),
        ("median_last_hot_day (de-escalated runs)", median(calm["days"]), None, None),
        ("mean_us_deaths", float(get(deaths, "us").mean()), None, None),
        ("mean_iran_deaths", float(get(deaths, "iran").mean()), None, None),
        ("mean_state_deaths", float(runs["state_deaths"].mean()), None, None),
        ("mean_militia_deaths", float(runs["militia_deaths"].mean()), None, None),
        ("mean_n_direct_strikes", float(runs["n_direct_strikes"].mean()), None, None),
        ("mean_n_militia_attacks", float(runs["n_militia_attacks"].mean()), None, None),
        share(runs["proxy_active"].astype(bool), "p_proxy_active"),
        share(runs["expulsion_vote"].astype(bool), "p_expulsion_vote"),
        share(runs["expelled"].astype(bool), "p_expelled"),
        ("mean_warned_share", float(runs["warned_share"].mean()), None, None),
    ]


def stage_table(folders: list[Path]) -> pd.DataFrame:
    rows = []
    for folder in folders:
        doctrine = doctrine_of(folder)
        runs = pd.read_parquet(folder / "runs")
        runs = runs[runs["error"].isna()]
        for value, arm in runs.groupby(LEVER, sort=True):
            for name, v, low, high in measures(arm):
                rows.append(
                    {"us.doctrine": doctrine, LEVER: value, "measure": name, "value": v, "ci_low": low, "ci_high": high}
                )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="abm compare folders over iran.advance_warning")
    parser.add_argument("--out", type=Path, help="write the long table here (CSV)")
    args = parser.parse_args(argv)
    table = stage_table(args.folders)
    wide = table.pivot_table(index="measure", columns=["us.doctrine", LEVER], values="value", sort=False)
    wide.columns = [f"{d} {w}" for d, w in wide.columns]
    print(markdown_table(wide.reset_index(), None, digits=4))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
