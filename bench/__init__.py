"""Benchmark harness: demo data at several sizes, rebuild stage timings, peak memory, floor."""
