"""API usage: amoCRM requests per business operation versus the minimum possible, at the real limit.

Runs amo-bridge's own code (the API client, the hand-off port) against the sandbox over HTTP, both
holding amoCRM's 7 requests per second, and counts each operation's requests in the sandbox's request
log. The minimum is what amoCRM's API allows at best for the same effect (batches of 250, one PATCH
carrying several fields of one lead); 429s are counted too (goal 0). The client batches in chunks of 50
by default (amoCRM refuses a whole batch for one bad item, so smaller chunks lose less); 250 is the
most amoCRM takes. Hand-offs are measured as they are
written today (the pool choice stands in as one PATCH of the responsible user).

Bounded: a fixed number of operations (about a minute at 7 rps). Run: ``python -m bench.api_usage``.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HANDOFFS = 4
BATCH_ITEMS = 500
PAGE = 250


def run() -> list[dict[str, Any]]:
    from amo_bridge.api import AmoClient
    from amo_bridge.api.resources.tasks import new_task
    from amo_bridge.clock import SYSTEM_CLOCK
    from amo_bridge.config import load_settings
    from amo_bridge.handoff.amocrm import AmoHandoffPort
    from amo_bridge.handoff.model import StageChange
    from amo_bridge.handoff.rules import parse_rules
    from amo_bridge.handoff.service import HandoffService
    from amo_bridge.sandbox import seed as sb
    from amo_bridge.sandbox.server import SandboxServer
    from amo_bridge.store import Store

    closer = next(uid for uid, _, group, active in sb.STAFF if group == sb.GROUP_CLOSERS and active)
    manager = next(uid for uid, _, group, active in sb.STAFF if group == sb.GROUP_LEAD_MANAGERS and active)
    rules = parse_rules(
        {
            "outcome": [
                {
                    "name": "qualified",
                    "when": {"pipeline": sb.PIPELINE_LEAD_EXCHANGE, "status": sb.ST_LX_QUALIFIED},
                    "move_to": {"pipeline": sb.PIPELINE_MAIN, "status": "first"},
                    "assign_pool": "L2",
                    "task": {"text": "Квалифицированный лид: связаться с клиентом", "due_minutes": 30},
                    "note": "Квалифицировал менеджер {responsible_user_id}",
                },
                {
                    "name": "non-target",
                    "when": {"pipeline": sb.PIPELINE_LEAD_EXCHANGE, "status": sb.ST_LX_NON_TARGET},
                    "move_to": {"pipeline": sb.PIPELINE_LEAD_EXCHANGE, "status": 143},
                    "loss_reason_id": sb.LOSS_REASON_IDS[0],
                },
            ]
        }
    )
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(seed=1, clock=SYSTEM_CLOCK, deliver_webhooks=False) as sandbox,
    ):
        settings = load_settings({"AMO_BASE_URL": sandbox.url, "AMO_LONG_LIVED_TOKEN": str(sandbox.token)})
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.upgrade()
        client = AmoClient.from_settings(settings, store)

        def assign(lead_id: int, pool: str) -> int:
            client.leads.set_responsible(lead_id, closer)
            return closer

        service = HandoffService(store, AmoHandoffPort(client, assign_from_pool=assign), rules)

        def lead_in(status: int) -> int:
            lead = sandbox.state.add_lead(
                {
                    "name": "Заявка",
                    "pipeline_id": sb.PIPELINE_LEAD_EXCHANGE,
                    "status_id": status,
                    "responsible_user_id": manager,
                }
            )
            return int(lead["id"])

        def measure(operation: str, times: int, minimum: int, action: Callable[[int], None]) -> None:
            sandbox.admin.clear_requests()
            started = time.monotonic()
            for i in range(times):
                action(i)
            elapsed = time.monotonic() - started
            log = [r for r in sandbox.admin.requests() if str(r.get("path", "")).startswith("/api/")]
            throttled = sum(1 for r in log if r.get("status") == 429)
            rows.append(
                {
                    "operation": operation,
                    "times": times,
                    "requests": len(log),
                    "requests per operation": round(len(log) / times, 2),
                    "minimum per operation": minimum,
                    "429s": throttled,
                    "achieved rps": round(len(log) / elapsed, 2) if elapsed > 0 else "",
                }
            )

        def stage_change(status: int) -> Callable[[int], None]:
            def act(i: int) -> None:
                lead_id = lead_in(status)
                service.on_stage_change(
                    StageChange(
                        lead_id, sb.PIPELINE_LEAD_EXCHANGE, status, None, None, manager, 1_767_225_600.0 + i
                    )
                )

            return act

        measure(
            "subscribe the receiver to webhooks",
            1,
            1,
            lambda i: client.webhooks.subscribe("http://127.0.0.1:9/webhooks/amocrm/x", ["add_lead"]),
        )
        # qualified: move + responsible (one PATCH), task, note
        measure("hand-off: qualified -> closer, task, note", HANDOFFS, 3, stage_change(sb.ST_LX_QUALIFIED))
        measure("hand-off: non-target -> lost with reason", HANDOFFS, 1, stage_change(sb.ST_LX_NON_TARGET))
        lead_ids = [lead_in(sb.ST_LX_IN_WORK) for _ in range(BATCH_ITEMS)]
        due = int(time.time()) + 86_400
        measure(
            f"create {BATCH_ITEMS} tasks (default chunks of 50)",
            1,
            math.ceil(BATCH_ITEMS / PAGE),
            lambda i: client.tasks.create_many(
                [
                    new_task(
                        text="Позвонить",
                        complete_till=due,
                        entity_id=x,
                        entity_type="leads",
                        responsible_user_id=manager,
                    )
                    for x in lead_ids
                ]
            ),
        )
        measure(
            f"update {BATCH_ITEMS} leads (default chunks of 50)",
            1,
            math.ceil(BATCH_ITEMS / PAGE),
            lambda i: client.leads.update_many([{"id": x, "price": 1000 + i} for x in lead_ids]),
        )
        measure(
            f"create {BATCH_ITEMS} tasks (chunks of {PAGE})",
            1,
            math.ceil(BATCH_ITEMS / PAGE),
            lambda i: client.tasks.create_many(
                [
                    new_task(
                        text="Перезвонить",
                        complete_till=due,
                        entity_id=x,
                        entity_type="leads",
                        responsible_user_id=manager,
                    )
                    for x in lead_ids
                ],
                chunk_size=PAGE,
            ),
        )
        total = len(sandbox.state.leads)

        def read_all(i: int) -> None:
            for _ in client.leads.list():
                pass

        measure(
            f"read all {total} leads (paged)",
            1,
            math.ceil(total / PAGE),
            read_all,
        )
        client.close()
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
