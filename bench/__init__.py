"""Benchmarks: `python -m bench [AREA ...]`; figures go to docs/benchmarks.md by hand."""
