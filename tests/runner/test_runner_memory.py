"""Memory stays flat however many runs: chunks stream to disk, nothing accumulates in the parent."""

from __future__ import annotations

import psutil

from abm.runner import run_experiment, single_experiment
from abm.runner.progress import Progress


class RssProbe(Progress):
    """A silent progress display that samples the parent's resident memory."""

    def __init__(self, total: int) -> None:
        super().__init__(total, enabled=False)
        self.samples: list[tuple[int, int]] = []
        self._proc = psutil.Process()

    def update(self, runs: int, failures: int = 0) -> None:
        super().update(runs, failures)
        self.samples.append((self.done, self._proc.memory_info().rss))


def test_parent_memory_is_flat_over_many_chunks(tmp_path, short_baseline, fake) -> None:
    runs = 40_000
    probe = RssProbe(runs)
    result = run_experiment(
        single_experiment(short_baseline, runs, 1, events=True),
        tmp_path,
        backend="serial",
        chunk_size=200,
        progress=probe,
        simulator=fake,
    )
    assert result.status == "complete"
    early = max(rss for done, rss in probe.samples if runs * 0.2 <= done <= runs * 0.3)
    late = max(rss for done, rss in probe.samples if done >= runs * 0.9)
    assert late - early < 20 * 2**20, f"parent grew {(late - early) / 2**20:.1f} MB"
    print(f"RSS growth from 25% to 100%: {(late - early) / 2**20:.2f} MB")
