"""Scored hindcasts: condition the model on an observed record, forecast, resolve, score.

* `record`: load and check a record file (`configs/history/*.yaml`), find the shipped ones, cut
  a record at a date, replay it;
* `questions`: the question table (event, its windows) and how questions resolve on event rows;
* `scoring`: Brier, log score, skill, bootstrap intervals, reliability table (pure functions);
* `baselines`: climatology from generic base rates, persistence;
* `figures`: reliability diagram (a panel per sample), forecast timelines;
* `run`: orchestration (`run_hindcast`) and the output files.
"""

from abm.hindcast.questions import ALL_WINDOWS, QUESTION_TABLE, QUESTIONS, RENAMED
from abm.hindcast.record import RECORDS_DIR, SAMPLES, Record, forecast_dates, load_record, shipped_records
from abm.hindcast.run import HindcastResult, Settings, forecast_record, run_hindcast, score_forecasts

__all__ = [
    "ALL_WINDOWS",
    "QUESTIONS",
    "QUESTION_TABLE",
    "RECORDS_DIR",
    "RENAMED",
    "SAMPLES",
    "HindcastResult",
    "Record",
    "Settings",
    "forecast_dates",
    "forecast_record",
    "load_record",
    "run_hindcast",
    "score_forecasts",
    "shipped_records",
]
