"""Test-wide settings, and the hooks of the reliability tally (tests/reliability.py)."""

import pytest
from hypothesis import settings

from tests import reliability

# Property tests check values, not speed: on a loaded 2-core CI machine hypothesis's default
# 200 ms deadline fails examples that are merely descheduled. Tests that do care about time
# (the config fuzzer) set their own deadline.
settings.register_profile("abm", deadline=None)
settings.load_profile("abm")


# The reliability tally: trials recorded by the tests of `reliability.MODULES`, a failure they did not
# classify, tests deselected; written to tests/.reliability/ when the session ends (only what ran).
def pytest_runtest_logstart(nodeid, location) -> None:
    reliability.start_test(nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    reliability.phase_report(report, call.excinfo)
    return report


def pytest_deselected(items) -> None:
    reliability.deselected(items)


def pytest_sessionfinish(session, exitstatus) -> None:
    reliability.session_finished(session, exitstatus)
