"""Run every benchmark and record the figures in docs/benchmarks.md.

Each ``bench/<name>.py`` module exposes ``run() -> list[dict]``: one dict per row of its table.
Benchmarks start what they need on loopback, run bounded, and stop by themselves.
Usage: ``python -m bench [NAME ...]`` (``make bench`` runs them all).
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks.md"


def discover() -> list[str]:
    modules = pkgutil.iter_modules([str(Path(__file__).parent)])
    return sorted(m.name for m in modules if not m.name.startswith("_"))


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)\n"
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def machine() -> str:
    cpus = os.cpu_count()
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
        mem_kb = int(next(ln for ln in meminfo if ln.startswith("MemTotal")).split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown"
    system = f"{platform.system()} {platform.release()}"
    return f"{platform.machine()}, {cpus} cores, {memory} RAM, {system}, Python {platform.python_version()}"


def main(argv: list[str]) -> int:
    names = argv or discover()
    sections: list[str] = []
    failed = 0
    for name in names:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            rows = importlib.import_module(f"bench.{name}").run()
        except Exception:
            failed += 1
            traceback.print_exc()
            sections.append(f"## {name}\n\nFAILED: see the run's output.\n")
            continue
        elapsed = time.monotonic() - started
        rendered = table(rows)
        print(rendered, flush=True)
        doc = (importlib.import_module(f"bench.{name}").__doc__ or "").strip()
        sections.append(f"## {name}\n\n{doc}\n\n{rendered}\n_(ran in {elapsed:.0f} s)_\n")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        "# Benchmarks\n\n"
        f"Last run: {stamp} on {machine()}. Shared, noisy machine: compare ratios within one run.\n"
        "Regenerate with `make bench` (or `python -m bench NAME` for one).\n\n"
    )
    if not argv:  # a partial run must not overwrite the full record
        OUTPUT.write_text(header + "\n".join(sections), encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
