"""Benchmarks: `make bench` runs them all; see docs/reports/benchmarks.md."""
