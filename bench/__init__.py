"""Benchmarks, each runnable with ``python -m bench.<name>`` from the repo root."""
