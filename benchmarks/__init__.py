"""Benchmark harness of issue 7: measurements of the model and runner, not timed tests.

Run everything with `python -m benchmarks` (or `python benchmarks/run.py`), a subset by name
(`python -m benchmarks throughput profile`), or a smoke pass with `--quick` (under ~2 minutes).
Results go to `benchmarks/RESULTS.md` (and `results.json`, which keeps the latest result of each
benchmark so that re-running one updates only its section). See `python -m benchmarks --help`.
"""
