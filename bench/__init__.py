"""Benchmarks: each module has ``run() -> list[dict]`` and runs alone with ``python -m bench.<name>``."""
