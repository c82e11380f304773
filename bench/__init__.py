"""Benchmarks: `make bench` runs them side by side and writes docs/benchmarks.md."""
