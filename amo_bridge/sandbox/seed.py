"""A realistic, deterministic account: users in three departments, four pipelines, custom fields,
task types, a few hundred contacts and companies (phones in varied formats, some duplicates) and
two months of history. The same seed always gives the same account, ids included.
"""

from __future__ import annotations

import random
from typing import Any

from amo_bridge.sandbox.records import LOST, UNSORTED_TYPE, WON, Record
from amo_bridge.sandbox.state import SandboxState

DAY = 86_400

# Fixed ids, so tests and configuration examples can name them.
GROUP_LEAD_MANAGERS = 411_001
GROUP_CLOSERS = 411_002
GROUP_ACCOUNT_MANAGERS = 411_003

PIPELINE_LEAD_EXCHANGE = 7_100_001
PIPELINE_MAIN = 7_100_002
PIPELINE_WARM_UP = 7_100_003
PIPELINE_RETENTION = 7_100_004

# Lead exchange ("Биржа лидов")
ST_LX_UNSORTED = 61_000_101
ST_LX_NEW = 61_000_102
ST_LX_IN_WORK = 61_000_103
ST_LX_QUALIFIED = 61_000_104
ST_LX_WARM_UP = 61_000_105
ST_LX_NON_TARGET = 61_000_106
ST_LX_DUPLICATE = 61_000_107
# Main ("Основная воронка")
ST_MAIN_FIRST_CONTACT = 61_000_201
ST_MAIN_NEGOTIATION = 61_000_202
ST_MAIN_DECISION = 61_000_203
ST_MAIN_CONTRACT = 61_000_204
# Warm-up ("Прогрев")
ST_WU_NEW = 61_000_301
ST_WU_TOUCH_1 = 61_000_302
ST_WU_TOUCH_2 = 61_000_303
ST_WU_READY = 61_000_304
# Retention ("Сопровождение")
ST_RT_NEW_CLIENT = 61_000_401
ST_RT_ACTIVE = 61_000_402
ST_RT_AT_RISK = 61_000_403
ST_RT_SLEEPING = 61_000_404

CF_LEAD_SOURCE = 880_001
CF_MISSED_SESSIONS = 880_002
CF_LAST_PURCHASE = 880_003
CF_PRODUCT = 880_004
CF_PHONE = 880_101
CF_EMAIL = 880_102
CF_BIRTHDAY = 880_103
CF_POSITION = 880_104
CF_COMPANY_PHONE = 880_201
CF_COMPANY_INN = 880_202

TASK_CALL = 1
TASK_MEETING = 2
TASK_REPEAT_PURCHASE = 2_901
TASK_MISSED_SESSIONS = 2_902
TASK_BIRTHDAY = 2_903

LEAD_SOURCES = ["Сайт", "Звонок", "Чат", "Реклама VK", "Партнёр", "Рекомендация"]
PRODUCTS = [
    "Абонемент 8 занятий",
    "Абонемент 12 занятий",
    "Безлимит месяц",
    "Персональные тренировки",
    "Годовая карта",
]

FIRST_NAMES = [
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Ирина",
    "Татьяна",
    "Светлана",
    "Юлия",
    "Ксения",
    "Алексей",
    "Дмитрий",
    "Сергей",
    "Андрей",
    "Михаил",
    "Иван",
    "Павел",
    "Николай",
    "Артём",
    "Егор",
]
LAST_NAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
]
COMPANY_WORDS = [
    "Альфа",
    "Вектор",
    "Гранит",
    "Север",
    "Ритм",
    "Бриз",
    "Орбита",
    "Импульс",
    "Кедр",
    "Меридиан",
]
COMPANY_KINDS = ["ООО", "АО", "ИП", "ООО ТД"]

STAFF: list[tuple[int, str, int, bool]] = [
    # id, name, group, active
    (9_001_001, "Администратор Аккаунта", 0, True),
    (9_001_011, "Лидия Лидова", GROUP_LEAD_MANAGERS, True),
    (9_001_012, "Карина Квалова", GROUP_LEAD_MANAGERS, True),
    (9_001_013, "Олег Обзвонов", GROUP_LEAD_MANAGERS, True),
    (9_001_014, "Денис Диспетчеров", GROUP_LEAD_MANAGERS, True),
    (9_001_015, "Вера Уволенная", GROUP_LEAD_MANAGERS, False),
    (9_001_021, "Максим Закрывалов", GROUP_CLOSERS, True),
    (9_001_022, "Елизавета Сделкина", GROUP_CLOSERS, True),
    (9_001_023, "Григорий Продажин", GROUP_CLOSERS, True),
    (9_001_024, "Пётр Ушедший", GROUP_CLOSERS, False),
    (9_001_031, "Алина Сопровождаева", GROUP_ACCOUNT_MANAGERS, True),
    (9_001_032, "Роман Удержанов", GROUP_ACCOUNT_MANAGERS, True),
    (9_001_033, "Софья Лояльная", GROUP_ACCOUNT_MANAGERS, True),
]
ADMIN_USER_ID = STAFF[0][0]


LOSS_REASON_IDS = [551_001, 551_002, 551_003, 551_004]


def normalise_digits(phone: str) -> str:
    """The ten digits after the country code of a Russian number typed any way."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[-10:]


def phone_formats(rng: random.Random, digits10: str) -> str:
    """The same number the way people type it: +7 (912) 345-67-89, 89123456789, 912 345 67 89 ..."""
    a, b, c, d = digits10[:3], digits10[3:6], digits10[6:8], digits10[8:]
    return rng.choice(
        [
            f"+7 ({a}) {b}-{c}-{d}",
            f"8{digits10}",
            f"+7{digits10}",
            f"8 ({a}) {b}-{c}-{d}",
            f"7{digits10}",
            f"+7 {a} {b} {c} {d}",
            f"8-{a}-{b}-{c}-{d}",
        ]
    )


def _status(sid: int, name: str, sort: int, color: str, type_: int = 0) -> Record:
    return {
        "id": sid,
        "name": name,
        "sort": sort,
        "is_editable": sid not in (WON, LOST) and type_ != UNSORTED_TYPE,
        "color": color,
        "type": type_,
        "account_id": 0,
        "description": None,
    }


def _pipeline(
    pid: int, name: str, sort: int, is_main: bool, stages: list[tuple[int, str]], unsorted_id: int | None
) -> Record:
    statuses: list[Record] = []
    if unsorted_id is not None:
        statuses.append(_status(unsorted_id, "Неразобранное", 10, "#c1c1c1", UNSORTED_TYPE))
    for index, (sid, sname) in enumerate(stages):
        statuses.append(_status(sid, sname, 20 + index * 10, "#99ccff"))
    statuses.append(_status(WON, "Успешно реализовано", 10000, "#CCFF66"))
    statuses.append(_status(LOST, "Закрыто и не реализовано", 11000, "#D5D8DB"))
    for status in statuses:
        status["pipeline_id"] = pid
    return {
        "id": pid,
        "name": name,
        "sort": sort,
        "is_main": is_main,
        "is_unsorted_on": unsorted_id is not None,
        "is_archive": False,
        "account_id": 0,
        "statuses": statuses,
    }


def _select(fid: int, name: str, options: list[str], base: int) -> Record:
    return {
        "id": fid,
        "name": name,
        "type": "select",
        "code": None,
        "sort": 500,
        "is_api_only": False,
        "enums": [{"id": base + i, "value": v, "sort": (i + 1) * 10} for i, v in enumerate(options)],
    }


def _field(
    fid: int, name: str, type_: str, code: str | None = None, enums: list[Record] | None = None
) -> Record:
    return {
        "id": fid,
        "name": name,
        "type": type_,
        "code": code,
        "sort": 500,
        "is_api_only": False,
        "enums": enums,
    }


def build_structure(state: SandboxState) -> None:
    account_id = state.account["id"]
    state.default_user_id = ADMIN_USER_ID
    state.groups = [
        {"id": 0, "name": "Отдел продаж", "uuid": None},
        {"id": GROUP_LEAD_MANAGERS, "name": "Лидменеджеры", "uuid": None},
        {"id": GROUP_CLOSERS, "name": "Клоузеры", "uuid": None},
        {"id": GROUP_ACCOUNT_MANAGERS, "name": "Аккаунт-менеджеры", "uuid": None},
    ]
    for uid, name, group, active in STAFF:
        login = f"user{uid % 1000}@sandbox.example"
        state.users[uid] = {
            "id": uid,
            "name": name,
            "email": login,
            "lang": "ru",
            "rights": {
                "leads": {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"},
                "contacts": {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"},
                "companies": {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"},
                "tasks": {"edit": "A", "delete": "A"},
                "mail_access": False,
                "catalog_access": True,
                "is_admin": group == 0,
                "is_free": False,
                "is_active": active,
                "group_id": group or None,
                "role_id": None,
                "status_rights": [],
            },
        }
    state.pipelines = {
        PIPELINE_LEAD_EXCHANGE: _pipeline(
            PIPELINE_LEAD_EXCHANGE,
            "Биржа лидов",
            1,
            False,
            [
                (ST_LX_NEW, "Новый лид"),
                (ST_LX_IN_WORK, "Взят в работу"),
                (ST_LX_QUALIFIED, "Квалифицирован"),
                (ST_LX_WARM_UP, "Прогрев"),
                (ST_LX_NON_TARGET, "Не целевой"),
                (ST_LX_DUPLICATE, "Дубль"),
            ],
            ST_LX_UNSORTED,
        ),
        PIPELINE_MAIN: _pipeline(
            PIPELINE_MAIN,
            "Основная воронка",
            2,
            True,
            [
                (ST_MAIN_FIRST_CONTACT, "Первичный контакт"),
                (ST_MAIN_NEGOTIATION, "Переговоры"),
                (ST_MAIN_DECISION, "Принимают решение"),
                (ST_MAIN_CONTRACT, "Согласование договора"),
            ],
            None,
        ),
        PIPELINE_WARM_UP: _pipeline(
            PIPELINE_WARM_UP,
            "Прогрев",
            3,
            False,
            [
                (ST_WU_NEW, "Новые"),
                (ST_WU_TOUCH_1, "Касание 1"),
                (ST_WU_TOUCH_2, "Касание 2"),
                (ST_WU_READY, "Готов вернуться"),
            ],
            None,
        ),
        PIPELINE_RETENTION: _pipeline(
            PIPELINE_RETENTION,
            "Сопровождение",
            4,
            False,
            [
                (ST_RT_NEW_CLIENT, "Новый клиент"),
                (ST_RT_ACTIVE, "Активный"),
                (ST_RT_AT_RISK, "Риск оттока"),
                (ST_RT_SLEEPING, "Спящий"),
            ],
            None,
        ),
    }
    for pipeline in state.pipelines.values():
        pipeline["account_id"] = account_id
        for status in pipeline["statuses"]:
            status["account_id"] = account_id
    state.custom_fields = {
        "leads": [
            _select(CF_LEAD_SOURCE, "Источник", LEAD_SOURCES, 990_100),
            _field(CF_MISSED_SESSIONS, "Пропущенные занятия", "numeric"),
            _field(CF_LAST_PURCHASE, "Дата последней покупки", "date"),
            _select(CF_PRODUCT, "Продукт", PRODUCTS, 990_200),
        ],
        "contacts": [
            _field(CF_PHONE, "Телефон", "multitext", "PHONE"),
            _field(CF_EMAIL, "Email", "multitext", "EMAIL"),
            _field(CF_BIRTHDAY, "День рождения", "birthday"),
            _field(CF_POSITION, "Должность", "text", "POSITION"),
        ],
        "companies": [
            _field(CF_COMPANY_PHONE, "Телефон", "multitext", "PHONE"),
            _field(CF_COMPANY_INN, "ИНН", "text"),
        ],
    }
    state.task_types = [
        {"id": TASK_CALL, "name": "Связаться", "color": None, "icon_id": None, "code": "FOLLOW_UP"},
        {"id": TASK_MEETING, "name": "Встреча", "color": None, "icon_id": None, "code": "MEETING"},
        {
            "id": TASK_REPEAT_PURCHASE,
            "name": "Повторная покупка",
            "color": "#ffc8c8",
            "icon_id": 5,
            "code": None,
        },
        {
            "id": TASK_MISSED_SESSIONS,
            "name": "Пропущенные занятия",
            "color": "#ffdc7f",
            "icon_id": 9,
            "code": None,
        },
        {"id": TASK_BIRTHDAY, "name": "День рождения", "color": "#c8ffc8", "icon_id": 3, "code": None},
    ]
    state.loss_reasons = [
        {"id": 551_001, "name": "Дорого", "sort": 1},
        {"id": 551_002, "name": "Выбрал конкурента", "sort": 2},
        {"id": 551_003, "name": "Не дозвонились", "sort": 3},
        {"id": 551_004, "name": "Передумал", "sort": 4},
    ]


def users_of(state: SandboxState, group: int, *, active_only: bool = True) -> list[int]:
    return sorted(
        u["id"]
        for u in state.users.values()
        if u["rights"]["group_id"] == group and (u["rights"]["is_active"] or not active_only)
    )


def enum_value(field: int, value: str) -> Record:
    return {"field_id": field, "values": [{"value": value}]}


def contact_fields(rng: random.Random, digits10: str, *, birthday: int | None) -> list[Record]:
    fields: list[Record] = [
        {"field_id": CF_PHONE, "values": [{"value": phone_formats(rng, digits10), "enum_code": "MOB"}]}
    ]
    if rng.random() < 0.6:
        fields.append(
            {
                "field_id": CF_EMAIL,
                "values": [{"value": f"client{digits10[-5:]}@mail.example", "enum_code": "WORK"}],
            }
        )
    if birthday is not None:
        fields.append({"field_id": CF_BIRTHDAY, "values": [{"value": birthday}]})
    return fields


def seed_account(
    state: SandboxState, seed: int, *, contacts: int = 300, companies: int = 60, history_days: int = 60
) -> None:
    """Fill ``state`` with the account for ``seed`` (quietly: no webhooks for the seed itself)."""
    rng = random.Random(seed)
    now = state.now()
    state.quiet = True
    try:
        build_structure(state)
        state.ground_truth["seed"] = seed
        lead_managers = users_of(state, GROUP_LEAD_MANAGERS, active_only=False)
        closers = users_of(state, GROUP_CLOSERS, active_only=False)
        account_managers = users_of(state, GROUP_ACCOUNT_MANAGERS)
        company_ids: list[int] = []
        for index in range(companies):
            name = f"{rng.choice(COMPANY_KINDS)} «{rng.choice(COMPANY_WORDS)}-{index + 1}»"
            digits = f"9{rng.randrange(10**8, 10**9)}"
            cfv = state.normalise_custom_fields(
                "companies",
                [
                    {
                        "field_id": CF_COMPANY_PHONE,
                        "values": [{"value": phone_formats(rng, digits), "enum_code": "WORK"}],
                    },
                    {"field_id": CF_COMPANY_INN, "values": [{"value": str(rng.randrange(10**9, 10**10))}]},
                ],
                None,
            )
            company = state.add_contact(
                {
                    "name": name,
                    "responsible_user_id": rng.choice(account_managers + closers),
                    "custom_fields_values": cfv,
                    "created_at": now - rng.randrange(30, 400) * DAY,
                },
                company=True,
            )
            company_ids.append(company["id"])
        contact_ids: list[int] = []
        phones: list[str] = []
        for index in range(contacts):
            duplicate = index > 20 and rng.random() < 0.07
            digits = rng.choice(phones) if duplicate else f"9{rng.randrange(10**8, 10**9)}"
            phones.append(digits)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if first.endswith("а") or first.endswith("я"):
                last += "а"
            birthday = int(now - rng.randrange(18 * 365, 60 * 365) * DAY) if rng.random() < 0.5 else None
            cfv = state.normalise_custom_fields(
                "contacts", contact_fields(rng, digits, birthday=birthday), None
            )
            contact = state.add_contact(
                {
                    "name": f"{first} {last}",
                    "first_name": first,
                    "last_name": last,
                    "responsible_user_id": rng.choice(lead_managers + closers),
                    "custom_fields_values": cfv,
                    "created_at": now - rng.randrange(1, 400) * DAY,
                }
            )
            contact_ids.append(contact["id"])
            if rng.random() < 0.2 and company_ids:
                state.link("contacts", contact["id"], "companies", rng.choice(company_ids))
        _seed_history(state, rng, now, contact_ids, history_days, lead_managers, closers, account_managers)
        state.ground_truth["seeded_contacts"] = len(contact_ids)
    finally:
        state.quiet = False


def _seed_history(
    state: SandboxState,
    rng: random.Random,
    now: int,
    contact_ids: list[int],
    history_days: int,
    lead_managers: list[int],
    closers: list[int],
    account_managers: list[int],
) -> None:
    """Past leads with events: closed deals in main, warm-up leads, retention clients."""
    clients = state.ground_truth["clients"]
    for index, contact_id in enumerate(rng.sample(contact_ids, k=min(len(contact_ids), 160))):
        created = now - rng.randrange(2, history_days) * DAY - rng.randrange(9 * 3600, 19 * 3600) % DAY
        source = rng.choice(LEAD_SOURCES)
        contact = state.contacts[contact_id]
        fields: dict[str, Any] = {
            "name": f"Заявка: {contact['name']}",
            "created_at": created,
            "custom_fields_values": state.normalise_custom_fields(
                "leads", [enum_value(CF_LEAD_SOURCE, source)], None
            ),
        }
        roll = rng.random()
        if roll < 0.45:  # a retention client
            price = rng.choice([4900, 6900, 9900, 14900, 29900, 59900])
            last_purchase = created + rng.randrange(1, 20) * DAY
            last_purchase = min(last_purchase, now - DAY)
            missed = rng.choice([0, 0, 0, 1, 2, 3, 5])
            stage = ST_RT_ACTIVE if missed < 3 else ST_RT_AT_RISK
            fields["custom_fields_values"] = state.normalise_custom_fields(
                "leads",
                [
                    enum_value(CF_PRODUCT, rng.choice(PRODUCTS)),
                    {"field_id": CF_LAST_PURCHASE, "values": [{"value": int(last_purchase)}]},
                    {"field_id": CF_MISSED_SESSIONS, "values": [{"value": missed}]},
                ],
                fields["custom_fields_values"],
            )
            lead = state.add_lead(
                {
                    **fields,
                    "pipeline_id": PIPELINE_RETENTION,
                    "status_id": stage,
                    "price": price,
                    "responsible_user_id": rng.choice(account_managers),
                    "updated_at": last_purchase,
                },
                at=created,
            )
            clients[str(lead["id"])] = {
                "lead_id": lead["id"],
                "since": created,
                "seeded": True,
                "profile": "silent" if rng.random() < 0.3 else "repeat_buyer",
                "repeat_purchases": [],
                "missed_sessions": [{"at": created, "value": missed}],
            }
        elif roll < 0.75:  # a closed deal in the main pipeline
            won = rng.random() < 0.45
            lead = state.add_lead(
                {
                    **fields,
                    "pipeline_id": PIPELINE_MAIN,
                    "status_id": WON if won else LOST,
                    "price": rng.choice([9900, 14900, 29900]) if won else 0,
                    "loss_reason_id": None if won else rng.choice(state.loss_reasons)["id"],
                    "responsible_user_id": rng.choice(closers),
                },
                at=created,
            )
            state.add_event(
                "lead_status_changed",
                "leads",
                lead["id"],
                by=lead["responsible_user_id"],
                at=created + 3 * DAY,
                before=[{"lead_status": {"id": ST_MAIN_NEGOTIATION, "pipeline_id": PIPELINE_MAIN}}],
                after=[{"lead_status": {"id": lead["status_id"], "pipeline_id": PIPELINE_MAIN}}],
            )
        elif roll < 0.88:  # warming up
            lead = state.add_lead(
                {
                    **fields,
                    "pipeline_id": PIPELINE_WARM_UP,
                    "status_id": rng.choice([ST_WU_NEW, ST_WU_TOUCH_1, ST_WU_TOUCH_2]),
                    "responsible_user_id": rng.choice(lead_managers),
                },
                at=created,
            )
        else:  # qualified out long ago
            lead = state.add_lead(
                {
                    **fields,
                    "pipeline_id": PIPELINE_LEAD_EXCHANGE,
                    "status_id": ST_LX_NON_TARGET,
                    "responsible_user_id": rng.choice(lead_managers),
                },
                at=created,
            )
        state.link("leads", lead["id"], "contacts", contact_id, is_main=True)
        if index % 3 == 0:
            state.add_note(
                "leads",
                lead["id"],
                "common",
                {"text": "Клиент просил перезвонить"},
                by=lead["responsible_user_id"],
                at=created + 3600,
            )
