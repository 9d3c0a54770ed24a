"""Test-wide settings."""

from hypothesis import settings

# Property tests check values, not speed: on a loaded 2-core CI machine hypothesis's default
# 200 ms deadline fails examples that are merely descheduled. Tests that do care about time
# (the config fuzzer) set their own deadline.
settings.register_profile("abm", deadline=None)
settings.load_profile("abm")
