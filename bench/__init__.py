"""Benchmarks: `make bench` (or `make bench BENCH_QUICK=1`). Never part of `make test`."""
