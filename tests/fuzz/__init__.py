"""Fuzzing with hypothesis: generated programs (strategies.py) and mutations of real scripts
(mutations.py), checked in worker processes (harness.py, worker.py). docs/testing.md, "Fuzzing"."""
