"""A working day (or N days) in the sandbox account, played by its people, deterministic under a seed.

Leads arrive from forms, calls and chats on a daily curve into the lead-exchange unsorted stage; lead
managers call and qualify them (non-target, duplicate, warm-up, qualified); closers work qualified leads
to won (142 with a price) or lost (143); account managers record repeat purchases as new won deals in
"Сопровождение" while silent clients' "missed sessions" tick up.

The scenario never assigns responsible users to new unsorted leads: that is amo-bridge's distributor's
job. With ``assigned_only=True`` (the default) its managers act only on leads assigned to someone of
their department (an unsorted lead is accepted by the user it was assigned to; a qualified lead is
worked once it sits in the main pipeline with a closer). With ``assigned_only=False`` the scenario plays
a department without amo-bridge: managers pick leads themselves and hand them on.

What each actor *intended* goes to ``state.ground_truth`` (see docs/sandbox.md), so end-to-end tests
and benchmarks can check amo-bridge against it. Use :func:`play` (instant, advancing the clock) or
:class:`ScenarioDriver` (real time at a chosen speed).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from amo_bridge.sandbox import seed as S
from amo_bridge.sandbox.problems import EntityNotFound, InvalidInput
from amo_bridge.sandbox.records import LOST, WON, Record
from amo_bridge.sandbox.state import SandboxState

log = logging.getLogger("amo_bridge.sandbox.scenario")

MINUTE = 60
HOUR = 3600
# Relative arrival weight of each working hour, 9:00 .. 18:00.
DAILY_CURVE = {9: 0.6, 10: 1.0, 11: 1.3, 12: 1.2, 13: 0.9, 14: 1.1, 15: 1.2, 16: 1.1, 17: 0.9, 18: 0.6}
CATEGORIES = [("forms", 0.5), ("sip", 0.3), ("chats", 0.2)]
OUTCOMES = [("qualified", 0.45), ("non_target", 0.2), ("warm_up", 0.2), ("duplicate", 0.15)]
POLL = 5 * MINUTE


@dataclass(frozen=True)
class ScenarioConfig:
    seed: int = 1
    days: int = 1
    leads_per_day: int = 60
    assigned_only: bool = True
    day_start_hour: int = 9
    day_end_hour: int = 19
    timezone: str = "Europe/Moscow"
    win_rate: float = 0.4
    repeat_purchase_rate: float = 0.15  # per repeat-buying client per day


def weighted(rng: random.Random, options: list[tuple[str, float]]) -> str:
    roll = rng.random() * sum(w for _, w in options)
    for value, weight in options:
        roll -= weight
        if roll <= 0:
            return value
    return options[-1][0]


class Scenario:
    def __init__(self, state: SandboxState, config: ScenarioConfig) -> None:
        self.state = state
        self.config = config
        self.rng = random.Random(config.seed * 7919 + 17)
        self.tz = ZoneInfo(config.timezone)
        self._queue: list[tuple[float, int, str, Callable[[], None]]] = []
        self._seq = itertools.count()
        now = state.clock.now()
        self.day_starts = [self._next_day_start(now, offset) for offset in range(config.days)]
        self.horizon = self.day_starts[-1] + (config.day_end_hour - config.day_start_hour) * HOUR
        self.truth = state.ground_truth
        self.truth.setdefault("scenario", {}).update(
            {
                "seed": config.seed,
                "days": config.days,
                "assigned_only": config.assigned_only,
                "day_starts": self.day_starts,
                "horizon": self.horizon,
                "leads_per_day": config.leads_per_day,
            }
        )
        self._round_robin: dict[int, int] = {}
        self.actions_run = 0
        for day in self.day_starts:
            self.at(day - MINUTE, "plan day", functools.partial(self._plan_day, day))

    # ------------------------------------------------------------------ queue
    def _next_day_start(self, now: float, offset: int) -> float:
        local = datetime.fromtimestamp(now, self.tz)
        start = local.replace(hour=self.config.day_start_hour, minute=0, second=0, microsecond=0)
        if start.timestamp() < now - 60:
            start += timedelta(days=1)
        return (start + timedelta(days=offset)).timestamp()

    def at(self, when: float, label: str, action: Callable[[], None]) -> None:
        if when <= self.horizon:
            heapq.heappush(self._queue, (when, next(self._seq), label, action))

    def next_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def run_due(self, now: float) -> int:
        count = 0
        while self._queue and self._queue[0][0] <= now:
            _, _, label, action = heapq.heappop(self._queue)
            try:
                action()
            except (EntityNotFound, InvalidInput) as exc:
                log.debug("scenario action %s skipped: %s", label, exc)
            count += 1
        self.actions_run += count
        return count

    @property
    def finished(self) -> bool:
        return not self._queue

    # ------------------------------------------------------------------ people
    def _active(self, group: int) -> list[int]:
        return S.users_of(self.state, group)

    def _pick(self, group: int) -> int:
        people = self._active(group)
        index = self._round_robin.get(group, self.rng.randrange(len(people)))
        self._round_robin[group] = index + 1
        return people[index % len(people)]

    def _in_group(self, user_id: int, group: int) -> bool:
        return user_id in self._active(group)

    # ------------------------------------------------------------------ a day
    def _plan_day(self, day_start: float) -> None:
        hours = list(DAILY_CURVE.items())
        for _ in range(self.config.leads_per_day):
            hour = weighted(self.rng, [(str(h), w) for h, w in hours])
            when = day_start + (int(hour) - self.config.day_start_hour) * HOUR + self.rng.randrange(HOUR)
            plan = self._lead_plan()
            self.at(when, "arrival", functools.partial(self._arrive, plan))
        self._plan_retention(day_start)

    def _lead_plan(self) -> Record:
        rng = self.rng
        category = weighted(rng, CATEGORIES)
        outcome = weighted(rng, OUTCOMES)
        return {
            "category": category,
            "outcome": outcome,
            "won": rng.random() < self.config.win_rate,
            "price": rng.choice([4900, 6900, 9900, 14900, 29900, 59900]),
            "source": {"forms": "Сайт", "sip": "Звонок", "chats": "Чат"}[category]
            if rng.random() < 0.8
            else rng.choice(S.LEAD_SOURCES),
            "first_name": rng.choice(S.FIRST_NAMES),
            "last_name": rng.choice(S.LAST_NAMES),
            "digits": f"9{rng.randrange(10**8, 10**9)}",
            "reuse": rng.random(),
            "delays": [
                rng.randrange(2, 15) * MINUTE,
                rng.randrange(3, 20) * MINUTE,
                rng.randrange(5, 40) * MINUTE,
                rng.randrange(20, 120) * MINUTE,
                rng.randrange(30, 180) * MINUTE,
                rng.randrange(60, 300) * MINUTE,
            ],
            "answered": rng.random() < 0.75,
            "call_duration": rng.randrange(20, 600),
            "loss_reason": rng.choice(S.LOSS_REASON_IDS),
        }

    def _arrive(self, plan: Record) -> None:
        state = self.state
        with state.lock:
            duplicate_of: int | None = None
            contact_id: int
            digits = plan["digits"]
            if plan["outcome"] == "duplicate":
                candidates = sorted(
                    c["id"] for c in state.contacts.values() if c["lead_ids"] and not c["is_deleted"]
                )
                if candidates:
                    original = state.contacts[candidates[int(plan["reuse"] * len(candidates))]]
                    duplicate_of = max(original["lead_ids"])
                    phone = next(
                        v["values"][0]["value"]
                        for v in original["custom_fields_values"]
                        if v["field_code"] == "PHONE"
                    )
                    digits = S.normalise_digits(phone)
                    contact_id = self._new_contact(plan, digits)
                    plan["digits"] = digits
                else:
                    plan["outcome"] = "qualified"
            if duplicate_of is None:
                contact_id = self._new_contact(plan, plan["digits"])
            category = plan["category"]
            name = {"forms": "Заявка с сайта", "sip": "Входящий звонок", "chats": "Сообщение в чате"}[
                category
            ]
            lead_fields = {
                "name": f"{name}: {plan['first_name']}",
                "custom_fields_values": state.normalise_custom_fields(
                    "leads", [S.enum_value(S.CF_LEAD_SOURCE, plan["source"])], None
                ),
            }
            now = int(state.clock.now())
            metadata = self._metadata(category, plan, now)
            record = state.add_unsorted(
                category=category,
                pipeline_id=S.PIPELINE_LEAD_EXCHANGE,
                source_uid=f"src-{now}-{contact_id}",
                source_name={"forms": "Форма на сайте", "sip": "Телефония", "chats": "WhatsApp"}[category],
                lead_fields=lead_fields,
                contact_id=contact_id,
                metadata=metadata,
            )
            if category == "sip":
                state.add_call(
                    {
                        "direction": "inbound",
                        "phone": digits,
                        "duration": plan["call_duration"],
                        "source": "sandbox-pbx",
                        "uniq": f"in-{record['uid'][:12]}",
                        "call_status": 4,
                        "call_result": "Оставил заявку",
                    },
                    by=0,
                )
            lead_id = record["lead_id"]
            self.truth["leads"][str(lead_id)] = {
                "lead_id": lead_id,
                "uid": record["uid"],
                "contact_id": contact_id,
                "arrived_at": now,
                "category": category,
                "source": plan["source"],
                "intended": {
                    "qualification": plan["outcome"],
                    "duplicate_of": duplicate_of,
                    "won": plan["won"] if plan["outcome"] == "qualified" else False,
                    "price": plan["price"] if plan["outcome"] == "qualified" and plan["won"] else None,
                    "loss_reason_id": None if plan["won"] else plan["loss_reason"],
                },
                "happened": [],
            }
        self.at(now + plan["delays"][0], "L1 pickup", lambda: self._l1_pickup(lead_id, plan, 0))

    def _new_contact(self, plan: Record, digits: str) -> int:
        state = self.state
        cfv = state.normalise_custom_fields(
            "contacts",
            [
                {
                    "field_id": S.CF_PHONE,
                    "values": [
                        {
                            "value": S.phone_formats(random.Random(digits + plan["first_name"]), digits),
                            "enum_code": "MOB",
                        }
                    ],
                }
            ],
            None,
        )
        contact = state.add_contact(
            {
                "name": f"{plan['first_name']} {plan['last_name']}",
                "first_name": plan["first_name"],
                "last_name": plan["last_name"],
                "responsible_user_id": self.state.default_user_id,
                "custom_fields_values": cfv,
            }
        )
        return int(contact["id"])

    @staticmethod
    def _metadata(category: str, plan: Record, now: int) -> Record:
        phone = f"+7{plan['digits']}"
        if category == "forms":
            return {
                "form_id": "main-form",
                "form_name": "Запись на пробное занятие",
                "form_page": "https://studio.example/trial",
                "ip": "198.51.100.7",
                "form_sent_at": now,
                "referer": "https://yandex.ru/",
            }
        if category == "sip":
            return {
                "from": phone,
                "phone": phone,
                "called_at": now,
                "duration": plan["call_duration"],
                "link": "",
                "service_code": "sandbox-pbx",
                "is_call_event_needed": True,
                "uniq": f"call-{now}",
            }
        return {
            "service": "WhatsApp",
            "source": "whatsapp",
            "text": "Здравствуйте! Сколько стоит абонемент?",
            "client": {"name": plan["first_name"], "id": f"wa-{plan['digits']}"},
            "origin": {"chat_id": f"chat-{plan['digits']}"},
        }

    def _happened(self, lead_id: int, what: str, /, **details: Any) -> None:
        entry = self.truth["leads"].get(str(lead_id))
        if entry is not None:
            entry["happened"].append({"at": int(self.state.clock.now()), "what": what, **details})

    # ------------------------------------------------------------------ L1: lead managers
    def _l1_pickup(self, lead_id: int, plan: Record, attempt: int) -> None:
        state = self.state
        with state.lock:
            lead = state.leads.get(lead_id)
            if lead is None or lead["is_deleted"]:
                return
            in_unsorted = lead["status_id"] == S.ST_LX_UNSORTED
            owner = lead["responsible_user_id"]
            if self.config.assigned_only:
                if not self._in_group(owner, S.GROUP_LEAD_MANAGERS):
                    self.at(
                        state.clock.now() + POLL,
                        "L1 wait",
                        lambda: self._l1_pickup(lead_id, plan, attempt + 1),
                    )
                    return
                manager = owner
            else:
                manager = (
                    owner
                    if self._in_group(owner, S.GROUP_LEAD_MANAGERS)
                    else self._pick(S.GROUP_LEAD_MANAGERS)
                )
            entry = self.truth["leads"][str(lead_id)]
            duplicate_of = entry["intended"]["duplicate_of"]
            if in_unsorted:
                uid = entry["uid"]
                if (
                    plan["outcome"] == "duplicate"
                    and duplicate_of is not None
                    and state.leads.get(duplicate_of, {}).get("is_deleted") is False
                ):
                    state.link_unsorted(uid, lead_id=duplicate_of, by=manager)
                    self._happened(lead_id, "merged_into", into=duplicate_of, by=manager)
                    return
                state.accept_unsorted(uid, user_id=manager, status_id=S.ST_LX_IN_WORK, by=manager)
                self._happened(lead_id, "accepted", by=manager)
            self._call(lead_id, manager, plan, outgoing=True)
        now = state.clock.now()
        if not plan["answered"]:
            task = state.add_task(
                {
                    "text": "Перезвонить: не взял трубку",
                    "complete_till": int(now + 2 * HOUR),
                    "entity_id": lead_id,
                    "entity_type": "leads",
                    "task_type_id": S.TASK_CALL,
                    "responsible_user_id": manager,
                },
                by=manager,
            )
            self.at(
                now + plan["delays"][1],
                "L1 recall",
                lambda: self._l1_recall(lead_id, manager, plan, task["id"]),
            )
        else:
            self.at(now + plan["delays"][2], "L1 outcome", lambda: self._l1_outcome(lead_id, manager, plan))

    def _call(self, lead_id: int, user_id: int, plan: Record, *, outgoing: bool) -> None:
        state = self.state
        lead = state.leads[lead_id]
        if not lead["contacts"]:
            return
        contact = state.contacts[lead["contacts"][0]["id"]]
        phone = next(
            (
                v["values"][0]["value"]
                for v in contact.get("custom_fields_values") or []
                if v["field_code"] == "PHONE"
            ),
            None,
        )
        if phone is None:
            return
        answered = plan["answered"]
        state.add_call(
            {
                "direction": "outbound" if outgoing else "inbound",
                "phone": phone,
                "duration": plan["call_duration"] if answered else 0,
                "source": "sandbox-pbx",
                "uniq": f"out-{lead_id}-{state.next_id('call-uniq', 0)}",
                "call_status": 4 if answered else 6,
                "call_result": "Разговор" if answered else "Не дозвонились",
                "responsible_user_id": user_id,
            },
            by=user_id,
        )
        self._happened(lead_id, "call", by=user_id, answered=answered)
        plan["answered"] = True  # the next call gets through

    def _l1_recall(self, lead_id: int, manager: int, plan: Record, task_id: int) -> None:
        state = self.state
        with state.lock:
            lead = state.leads.get(lead_id)
            if (
                lead is None
                or lead["is_deleted"]
                or (self.config.assigned_only and lead["responsible_user_id"] != manager)
            ):
                return
            self._call(lead_id, manager, plan, outgoing=True)
            state.update_task(task_id, {"is_completed": True, "result": {"text": "Дозвонились"}}, by=manager)
        self.at(
            state.clock.now() + plan["delays"][2],
            "L1 outcome",
            lambda: self._l1_outcome(lead_id, manager, plan),
        )

    def _l1_outcome(self, lead_id: int, manager: int, plan: Record) -> None:
        state = self.state
        target = {
            "qualified": S.ST_LX_QUALIFIED,
            "non_target": S.ST_LX_NON_TARGET,
            "warm_up": S.ST_LX_WARM_UP,
            "duplicate": S.ST_LX_DUPLICATE,
        }[plan["outcome"]]
        with state.lock:
            lead = state.leads.get(lead_id)
            if lead is None or lead["is_deleted"] or lead["pipeline_id"] != S.PIPELINE_LEAD_EXCHANGE:
                return
            if self.config.assigned_only and lead["responsible_user_id"] != manager:
                return
            state.update_lead(lead_id, {"status_id": target}, by=manager)
            state.add_note(
                "leads", lead_id, "common", {"text": f"Квалификация: {plan['outcome']}"}, by=manager
            )
            self._happened(lead_id, "qualified_as", outcome=plan["outcome"], by=manager)
        now = state.clock.now()
        if plan["outcome"] == "qualified":
            self.at(now + plan["delays"][3], "L2 pickup", lambda: self._l2_pickup(lead_id, plan, 0))
        elif plan["outcome"] == "warm_up" and not self.config.assigned_only:
            with state.lock:
                state.update_lead(
                    lead_id, {"pipeline_id": S.PIPELINE_WARM_UP, "status_id": S.ST_WU_NEW}, by=manager
                )

    # ------------------------------------------------------------------ L2: closers
    def _l2_pickup(self, lead_id: int, plan: Record, attempt: int) -> None:
        state = self.state
        with state.lock:
            lead = state.leads.get(lead_id)
            if lead is None or lead["is_deleted"] or lead["status_id"] in (WON, LOST):
                return
            if self.config.assigned_only:
                if lead["pipeline_id"] != S.PIPELINE_MAIN or not self._in_group(
                    lead["responsible_user_id"], S.GROUP_CLOSERS
                ):
                    self.at(
                        state.clock.now() + POLL,
                        "L2 wait",
                        lambda: self._l2_pickup(lead_id, plan, attempt + 1),
                    )
                    return
                closer = lead["responsible_user_id"]
            else:
                closer = self._pick(S.GROUP_CLOSERS)
                state.update_lead(
                    lead_id,
                    {
                        "pipeline_id": S.PIPELINE_MAIN,
                        "status_id": S.ST_MAIN_FIRST_CONTACT,
                        "responsible_user_id": closer,
                    },
                    by=closer,
                )
            self._call(lead_id, closer, plan, outgoing=True)
            state.update_lead(
                lead_id, {"status_id": S.ST_MAIN_NEGOTIATION, "pipeline_id": S.PIPELINE_MAIN}, by=closer
            )
            self._happened(lead_id, "negotiation", by=closer)
        self.at(
            state.clock.now() + plan["delays"][4], "L2 close", lambda: self._l2_close(lead_id, closer, plan)
        )

    def _l2_close(self, lead_id: int, closer: int, plan: Record) -> None:
        state = self.state
        with state.lock:
            lead = state.leads.get(lead_id)
            if (
                lead is None
                or lead["is_deleted"]
                or lead["pipeline_id"] != S.PIPELINE_MAIN
                or lead["status_id"] in (WON, LOST)
            ):
                return
            if self.config.assigned_only and lead["responsible_user_id"] != closer:
                return
            if plan["won"]:
                state.update_lead(
                    lead_id,
                    {"status_id": WON, "pipeline_id": S.PIPELINE_MAIN, "price": plan["price"]},
                    by=closer,
                )
                self._happened(lead_id, "won", price=plan["price"], by=closer)
            else:
                state.update_lead(
                    lead_id,
                    {
                        "status_id": LOST,
                        "pipeline_id": S.PIPELINE_MAIN,
                        "loss_reason_id": plan["loss_reason"],
                    },
                    by=closer,
                )
                self._happened(lead_id, "lost", loss_reason_id=plan["loss_reason"], by=closer)

    # ------------------------------------------------------------------ L3: retention
    def _plan_retention(self, day_start: float) -> None:
        state = self.state
        clients = self.truth["clients"]
        with state.lock:
            in_retention = sorted(
                lead["id"]
                for lead in state.leads.values()
                if lead["pipeline_id"] == S.PIPELINE_RETENTION
                and lead["status_id"] not in (WON, LOST)
                and not lead["is_deleted"]
            )
        for lead_id in in_retention:
            client = clients.get(str(lead_id))
            if client is None:
                profile = (
                    "silent"
                    if random.Random(lead_id * 31 + self.config.seed).random() < 0.3
                    else "repeat_buyer"
                )
                client = clients[str(lead_id)] = {
                    "lead_id": lead_id,
                    "since": int(day_start),
                    "seeded": False,
                    "profile": profile,
                    "repeat_purchases": [],
                    "missed_sessions": [],
                }
            roll = self.rng.random()
            when = day_start + self.rng.randrange(
                HOUR, (self.config.day_end_hour - self.config.day_start_hour) * HOUR
            )
            if client["profile"] == "repeat_buyer" and roll < self.config.repeat_purchase_rate:
                price = self.rng.choice([4900, 6900, 9900, 14900])
                self.at(when, "repeat purchase", functools.partial(self._repeat_purchase, lead_id, price))
            elif client["profile"] == "silent":
                self.at(when, "missed session", functools.partial(self._missed_session, lead_id))

    def _repeat_purchase(self, lead_id: int, price: int) -> None:
        """The client buys again, recorded as amoCRM users do: a new deal in *Сопровождение* for the
        client's contacts and company, by the account manager, closed as won with the price. The
        retention lead stays open: its last purchase date is set and its missed sessions reset."""
        state = self.state
        with state.lock:
            lead = state.leads.get(lead_id)
            if lead is None or lead["is_deleted"] or lead["pipeline_id"] != S.PIPELINE_RETENTION:
                return
            owner = lead["responsible_user_id"]
            if not self._in_group(owner, S.GROUP_ACCOUNT_MANAGERS):
                if self.config.assigned_only:
                    return
                owner = self._pick(S.GROUP_ACCOUNT_MANAGERS)
            now = int(state.clock.now())
            deal = state.add_lead(
                {
                    "name": f"Повторная покупка: {lead['name']}",
                    "pipeline_id": S.PIPELINE_RETENTION,
                    "responsible_user_id": owner,
                },
                by=owner,
            )
            for contact in lead["contacts"]:
                state.link(
                    "leads", deal["id"], "contacts", contact["id"], is_main=contact["is_main"], by=owner
                )
            if lead["company_id"]:
                state.link("leads", deal["id"], "companies", lead["company_id"], by=owner)
            state.update_lead(deal["id"], {"status_id": WON, "price": price}, by=owner)
            cfv = state.normalise_custom_fields(
                "leads",
                [
                    {"field_id": S.CF_LAST_PURCHASE, "values": [{"value": now}]},
                    {"field_id": S.CF_MISSED_SESSIONS, "values": [{"value": 0}]},
                ],
                lead.get("custom_fields_values"),
            )
            state.update_lead(lead_id, {"custom_fields_values": cfv, "status_id": S.ST_RT_ACTIVE}, by=owner)
            state.add_note(
                "leads",
                lead_id,
                "common",
                {"text": f"Повторная покупка: {price} ₽, сделка #{deal['id']}"},
                by=owner,
            )
            main = next((c["id"] for c in lead["contacts"] if c["is_main"]), None)
            self.truth["clients"][str(lead_id)]["repeat_purchases"].append(
                {"at": now, "price": price, "by": owner, "lead_id": deal["id"], "contact_id": main}
            )

    def _missed_session(self, lead_id: int) -> None:
        state = self.state
        with state.lock:
            lead = state.leads.get(lead_id)
            if lead is None or lead["is_deleted"] or lead["pipeline_id"] != S.PIPELINE_RETENTION:
                return
            current = next(
                (
                    int(float(v["values"][0]["value"]))
                    for v in lead.get("custom_fields_values") or []
                    if v["field_id"] == S.CF_MISSED_SESSIONS and v["values"]
                ),
                0,
            )
            cfv = state.normalise_custom_fields(
                "leads",
                [{"field_id": S.CF_MISSED_SESSIONS, "values": [{"value": current + 1}]}],
                lead.get("custom_fields_values"),
            )
            state.update_lead(lead_id, {"custom_fields_values": cfv}, by=0)  # the studio's booking system
            now = int(state.clock.now())
            self.truth["clients"][str(lead_id)]["missed_sessions"].append({"at": now, "value": current + 1})


def play(
    state: SandboxState, config: ScenarioConfig, *, advance: Callable[[float], None] | None = None
) -> Scenario:
    """Play the whole scenario at once, moving the sandbox clock from action to action."""
    scenario = Scenario(state, config)
    move = advance or state.clock.advance
    while not scenario.finished:
        due = scenario.next_time()
        assert due is not None
        now = state.clock.now()
        if due > now:
            move(due - now)
        scenario.run_due(state.clock.now())
    return scenario


class ScenarioDriver:
    """Plays a scenario in a background thread as the sandbox clock runs (``--simulate --speed N``);
    nights between working days are skipped by advancing the clock."""

    def __init__(
        self, scenario: Scenario, *, poll: float = 0.05, on_done: Callable[[Scenario], None] | None = None
    ) -> None:
        self.scenario = scenario
        self.poll = poll
        self.on_done = on_done
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-scenario", daemon=True)

    def start(self) -> ScenarioDriver:
        self._thread.start()
        return self

    def _run(self) -> None:
        clock = self.scenario.state.clock
        while not self._stop.is_set() and not self.scenario.finished:
            due = self.scenario.next_time()
            now = clock.now()
            if due is not None and due - now > HOUR:
                clock.advance(due - now)  # skip the night
                now = clock.now()
            self.scenario.run_due(now)
            self._stop.wait(self.poll)
        self.done.set()
        if self.on_done is not None:
            self.on_done(self.scenario)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
