"""docs/RELIABILITY.md's tally is the test suite's, and reads 0 tracebacks, 0 silent acceptances, 0 hangs,
0 rows lost, 0 orphans, 0 other failures (issue 17, item 9).

The table between the markers is pasted by `python -m tests.reliability` (`make reliability`) from what
the tests of `tests.reliability.MODULES` recorded; this test reads the committed document, not the
output of a run: its structure (every area and the total, whole numbers that add up), a complete run
(slow tests included, no failed test), and the zeros. `tests/test_reliability_tally.py` shows that each
of these checks can fail.
"""

from __future__ import annotations

from tests import reliability


def test_the_reliability_tally_is_complete_and_clean() -> None:
    block = reliability.doc_block(reliability.DOC.read_text(encoding="utf-8"))
    assert reliability.check_table(block) == [], block


def test_the_tally_names_every_area_and_what_was_tried() -> None:
    block = reliability.doc_block(reliability.DOC.read_text(encoding="utf-8"))
    for area, tried in reliability.AREAS.items():
        assert f"* **{area}**: {tried}" in block, area
