"""Benchmarks: each module has ``run() -> list[dict]`` and runs as ``python -m bench.<name>``."""
