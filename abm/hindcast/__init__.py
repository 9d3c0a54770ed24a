"""Scored hindcasts: condition the model on an observed record, forecast, resolve, score.

* `record`: load and check a record file (`configs/history/*.yaml`), cut it at a date, replay it;
* `questions`: the question table (event, window) and how questions resolve on event rows;
* `scoring`: Brier, log score, skill, bootstrap intervals, reliability table (pure functions);
* `baselines`: climatology from generic base rates, persistence;
* `figures`: reliability diagram, forecast timelines;
* `run`: orchestration (`run_hindcast`) and the output files.
"""

from abm.hindcast.questions import QUESTION_TABLE, QUESTIONS, WINDOWS
from abm.hindcast.record import DEFAULT_RECORDS, Record, forecast_dates, load_record
from abm.hindcast.run import HindcastResult, Settings, forecast_record, run_hindcast, score_forecasts

__all__ = [
    "DEFAULT_RECORDS",
    "QUESTIONS",
    "QUESTION_TABLE",
    "WINDOWS",
    "HindcastResult",
    "Record",
    "Settings",
    "forecast_dates",
    "forecast_record",
    "load_record",
    "run_hindcast",
    "score_forecasts",
]
