"""Prometheus metrics of the receiver, plus queue gauges read from the store at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from amo_bridge.inbox import Inbox

log = logging.getLogger(__name__)

ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


class ReceiverMetrics:
    """Counters of one app, in the app's own registry (tests may build many apps)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.received = Counter(
            "amo_bridge_webhook_received_total", "Webhook deliveries received", registry=registry
        )
        self.stored = Counter(
            "amo_bridge_webhook_events_stored_total", "Events stored in the inbox", registry=registry
        )
        self.duplicates = Counter(
            "amo_bridge_webhook_events_duplicate_total",
            "Events not stored because the inbox already had them",
            registry=registry,
        )
        self.unparseable = Counter(
            "amo_bridge_webhook_unparseable_total",
            "Deliveries stored as unparseable",
            ["reason"],
            registry=registry,
        )
        self.rejected = Counter(
            "amo_bridge_webhook_rejected_total",
            "Deliveries refused (secret, account, size, store down)",
            ["reason"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "amo_bridge_webhook_ack_seconds",
            "Time from request to answer of the webhook endpoint",
            buckets=ACK_BUCKETS,
            registry=registry,
        )


class QueueCollector(Collector):
    """``amo_bridge_inbox_rows{state}`` and the age of the oldest unprocessed row, read per scrape."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def collect(self) -> Iterator[Metric]:
        try:
            stats = self.inbox.stats()
        except Exception:  # the store is down: the scrape still answers, without queue gauges
            log.warning("queue metrics unavailable: store unreachable", exc_info=True)
            up = GaugeMetricFamily("amo_bridge_store_up", "1 if the store answered this scrape")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("amo_bridge_store_up", "1 if the store answered this scrape")
        up.add_metric([], 1)
        yield up
        rows = GaugeMetricFamily("amo_bridge_inbox_rows", "Inbox rows by state", labels=["state"])
        for state, count in stats.by_state.items():
            rows.add_metric([state], count)
        yield rows
        depth = GaugeMetricFamily("amo_bridge_inbox_depth", "Events received, failed or processing")
        depth.add_metric([], stats.depth)
        yield depth
        oldest = GaugeMetricFamily(
            "amo_bridge_inbox_oldest_unprocessed_seconds", "Age of the oldest event not yet processed"
        )
        oldest.add_metric([], stats.oldest_unprocessed_age or 0.0)
        yield oldest


def exposition(registry: CollectorRegistry) -> bytes:
    """The app's metrics, then the process-wide ones (worker metrics when a worker runs here)."""
    return generate_latest(registry) + generate_latest(REGISTRY)
