"""Test-suite wide settings."""

from hypothesis import settings

# Property tests draw the same examples on every run, so CI cannot turn red on a case nobody
# has seen before; search wider by hand (raise max_examples) when changing the statistics.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.load_profile("deterministic")
