"""Benchmarks: `python -m bench` times a month of availability on a busy demo clinic against the cheapest JSON
endpoint of the same app, measured in the same run, and prints the ratios (no absolute-time thresholds)."""
