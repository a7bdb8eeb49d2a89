"""Benchmarks comparing watchkeeper with a real Prometheus 2.42 (run: ``python benchmarks/run.py``)."""
