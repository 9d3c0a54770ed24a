"""Progress display: a tqdm bar on a terminal, plain periodic log lines otherwise.

Shows runs done, runs/s, ETA and failures. Written to stderr so stdout stays the results.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

LOG_EVERY_SECONDS = 10.0


class Progress:
    """Counts runs; `total` may grow (sequential stopping adds batches)."""

    def __init__(
        self,
        total: int,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        every: float = LOG_EVERY_SECONDS,
        label: str = "abm",
    ) -> None:
        self.stream = stream or sys.stderr
        self.total, self.done, self.failures = total, 0, 0
        self.enabled, self.every, self.label = enabled, every, label
        self._start = self._last = time.monotonic()
        self._base = 0  # runs already done before this session (resume): excluded from the rate
        self._bar = None
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="run", file=self.stream, dynamic_ncols=True, smoothing=0.1)

    def skip(self, runs: int, failures: int = 0) -> None:
        """Count runs finished in an earlier session (resume): shown as done, not in the rate."""
        self.done += runs
        self.failures += failures
        self._base += runs
        if self._bar is not None:
            self._bar.update(runs)
            self._bar.set_postfix(failures=self.failures, refresh=False)

    def grow(self, extra: int) -> None:
        self.total += extra
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def update(self, runs: int, failures: int = 0) -> None:
        self.done += runs
        self.failures += failures
        if self._bar is not None:
            self._bar.update(runs)
            self._bar.set_postfix(failures=self.failures, refresh=False)
        elif self.enabled and time.monotonic() - self._last >= self.every:
            self._log()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = (self.done - self._base) / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = time.strftime("%H:%M:%S", time.gmtime(left)) if left == left else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (
            f"{self.label}: {self.done}/{self.total} runs ({pct:.0f}%), {rate:.1f} runs/s, "
            f"ETA {eta}, {self.failures} failed"
        )

    def _log(self) -> None:
        self._last = time.monotonic()
        print(self.line(), file=self.stream, flush=True)

    def note(self, message: str) -> None:
        """A message for the user (shown even with the display off: it reports a fault)."""
        text = f"abm: {message}"
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled:
            self._log()
