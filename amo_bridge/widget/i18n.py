"""The dashboard's words in Russian and English, and number formatting for each language."""

from __future__ import annotations

from datetime import date

LANGS = ("ru", "en")
DEFAULT_LANG = "ru"

TEXT: dict[str, dict[str, str]] = {
    "ru": {
        "title": "KPI отдела продаж",
        "period": "Период",
        "previous": "← Предыдущий",
        "next": "Следующий →",
        "kpis": "KPI по уровням",
        "L1": "L1 · Лид-менеджеры",
        "L2": "L2 · Закрывающие",
        "L3": "L3 · Аккаунт-менеджеры",
        "plan": "план",
        "fact": "факт",
        "no_plan": "без плана",
        "employees": "Сотрудники",
        "name": "Сотрудник",
        "level": "Уровень",
        "handled": "В работе",
        "succeeded": "Успешно",
        "conversion": "Конверсия",
        "revenue": "Выручка",
        "plan_completion": "План",
        "status": "Статус",
        "active": "в работе",
        "paused": "на паузе",
        "funnel": "Воронка",
        "weakest": "самый слабый этап",
        "distribution": "Распределение лидов",
        "assigned": "Получено",
        "share": "Доля",
        "target": "Цель",
        "trend": "Динамика по дням",
        "empty": "Нет данных за период",
        "preview_notice": "Предпросмотр: демонстрационные данные, а не данные вашего аккаунта.",
        "refused_title": "Доступ запрещён",
        "refused": (
            "Ссылка недействительна или устарела. Откройте панель из amoCRM или запросите новую ссылку."
        ),
        # KPI and funnel keys
        "leads_qualified": "Квалифицировано лидов",
        "first_response_minutes": "Первый ответ, мин",
        "deals_won": "Выиграно сделок",
        "repeat_sales": "Повторные продажи",
        "tasks_done_share": "Задачи выполнены в срок",
        "conversion_qualified": "Конверсия в квалифицированные",
        "first_response_median": "Первый ответ (медиана), мин",
        "sales": "Продажи",
        "avg_check": "Средний чек",
        "upsells": "Повторные продажи",
        "churned": "Ушедшие клиенты",
        "calls": "Звонки",
        "calls_per_day": "Звонков в день",
        "leads_taken": "Лидов взято",
        "sla_misses": "Нарушения SLA",
        "tasks_overdue": "Просроченные задачи",
        "incoming": "Входящие",
        "qualified": "Квалифицированы",
        "meeting": "Встреча / КП",
        "won": "Успешно реализовано",
        "repeat": "Повторная продажа",
    },
    "en": {
        "title": "Sales department KPIs",
        "period": "Period",
        "previous": "← Previous",
        "next": "Next →",
        "kpis": "KPIs by level",
        "L1": "L1 · Lead managers",
        "L2": "L2 · Closers",
        "L3": "L3 · Account managers",
        "plan": "plan",
        "fact": "fact",
        "no_plan": "no plan",
        "employees": "Employees",
        "name": "Employee",
        "level": "Level",
        "handled": "Handled",
        "succeeded": "Succeeded",
        "conversion": "Conversion",
        "revenue": "Revenue",
        "plan_completion": "Plan",
        "status": "Status",
        "active": "active",
        "paused": "paused",
        "funnel": "Funnel",
        "weakest": "weakest stage",
        "distribution": "Lead distribution",
        "assigned": "Assigned",
        "share": "Share",
        "target": "Target",
        "trend": "Daily trend",
        "empty": "No data for this period",
        "preview_notice": "Preview: demonstration data, not your account's.",
        "refused_title": "Access denied",
        "refused": (
            "The link is invalid or has expired. Open the dashboard from amoCRM or ask for a new link."
        ),
        "leads_qualified": "Leads qualified",
        "first_response_minutes": "First response, min",
        "deals_won": "Deals won",
        "repeat_sales": "Repeat sales",
        "tasks_done_share": "Tasks done on time",
        "conversion_qualified": "Conversion to qualified",
        "first_response_median": "First response (median), min",
        "sales": "Sales",
        "avg_check": "Average check",
        "upsells": "Repeat sales",
        "churned": "Churned clients",
        "calls": "Calls",
        "calls_per_day": "Calls per day",
        "leads_taken": "Leads taken",
        "sla_misses": "SLA misses",
        "tasks_overdue": "Overdue tasks",
        "incoming": "Incoming",
        "qualified": "Qualified",
        "meeting": "Meeting / proposal",
        "won": "Won",
        "repeat": "Repeat sale",
    },
}

MONTHS = {
    "ru": (
        "январь",
        "февраль",
        "март",
        "апрель",
        "май",
        "июнь",
        "июль",
        "август",
        "сентябрь",
        "октябрь",
        "ноябрь",
        "декабрь",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}

UNITS = {"ru": {"RUB": "₽", "min": "мин"}, "en": {"RUB": "RUB", "min": "min"}}


def pick_lang(*candidates: str | None) -> str:
    """The first supported language among the candidates (``ru-RU`` counts as ``ru``)."""
    for candidate in candidates:
        if candidate:
            short = candidate.strip().lower()[:2]
            if short in LANGS:
                return short
    return DEFAULT_LANG


def t(lang: str, key: str) -> str:
    """Translate a word or a KPI/stage key; unknown keys are shown as they are."""
    return TEXT.get(lang, TEXT[DEFAULT_LANG]).get(key, key)


def month_label(lang: str, day: date) -> str:
    name = MONTHS.get(lang, MONTHS[DEFAULT_LANG])[day.month - 1]
    return f"{name.capitalize()} {day.year}"


def number(lang: str, value: float, *, digits: int = 0) -> str:
    """``1 234 567`` in Russian (narrow no-break spaces), ``1,234,567`` in English."""
    text = f"{value:,.{digits}f}"
    if lang == "ru":
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def percent(lang: str, ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return number(lang, ratio * 100) + "\u00a0%"


def amount(lang: str, value: float, unit: str) -> str:
    """A KPI value with its unit: ``0.91`` with ``%`` is a share (91 %)."""
    if unit == "%":
        return percent(lang, value)
    digits = 0 if float(value).is_integer() else 1
    shown = number(lang, value, digits=digits)
    suffix = UNITS.get(lang, {}).get(unit, unit)
    return f"{shown}\u00a0{suffix}" if suffix else shown
