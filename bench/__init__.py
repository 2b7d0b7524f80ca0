"""Benchmarks: `make bench` runs them all; see docs/benchmarks.md."""
