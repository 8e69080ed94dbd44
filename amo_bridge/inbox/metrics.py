"""Prometheus metrics of the workers (the receiver's own live in ``webhooks/metrics.py``).

A worker process exposes them with ``amo-bridge worker --metrics-port N``; the receiver's
``/metrics`` adds the queue gauges read from the store at scrape time.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

PROCESSED = Counter("amo_bridge_inbox_processed_total", "Inbox events processed successfully", ["kind"])
FAILED = Counter("amo_bridge_inbox_failed_total", "Failed processing attempts (retry scheduled)", ["kind"])
DEAD = Counter("amo_bridge_inbox_dead_total", "Inbox events moved to dead after the last attempt", ["kind"])
RECLAIMED = Counter("amo_bridge_inbox_reclaimed_total", "Rows whose lease expired and were requeued")
HANDLER_SECONDS = Histogram(
    "amo_bridge_inbox_handler_seconds",
    "Time spent in the handlers of one event",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
END_TO_END_SECONDS = Histogram(
    "amo_bridge_inbox_end_to_end_seconds",
    "From receipt of the webhook to its event being done",
    buckets=LATENCY_BUCKETS,
)
