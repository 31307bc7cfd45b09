"""Metrics and benchmarks: compare estimates with references."""
