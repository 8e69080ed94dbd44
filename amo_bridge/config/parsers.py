"""Parsers for environment values: ``str -> T`` or ``ValueError("what was expected")``.

The text of the ``ValueError`` completes the sentence "expected ...", so the loader can report
``AMO_RATE_LIMIT='fast': expected a number greater than 0 (requests per second), e.g. 7``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from amo_bridge.secrets import Secret, register_secret

Parser = Callable[[str], object]


def text(value: str) -> str:
    return value.strip()


def secret(value: str) -> Secret:
    return Secret(value.strip())


def positive_int(value: str) -> int:
    try:
        parsed = int(value.strip())
    except ValueError:
        raise ValueError("a whole number greater than 0") from None
    if parsed <= 0:
        raise ValueError("a whole number greater than 0")
    return parsed


def non_negative_int(value: str) -> int:
    try:
        parsed = int(value.strip())
    except ValueError:
        raise ValueError("a whole number, 0 or more") from None
    if parsed < 0:
        raise ValueError("a whole number, 0 or more")
    return parsed


def positive_float(value: str) -> float:
    try:
        parsed = float(value.strip())
    except ValueError:
        raise ValueError("a number greater than 0") from None
    if not parsed > 0 or parsed == float("inf"):
        raise ValueError("a number greater than 0")
    return parsed


def bounded_float(low: float, high: float, unit: str) -> Callable[[str], float]:
    def parse(value: str) -> float:
        expected = f"a number of {unit} greater than {low:g} and at most {high:g}"
        try:
            parsed = float(value.strip())
        except ValueError:
            raise ValueError(expected) from None
        if not (low < parsed <= high):
            raise ValueError(expected)
        return parsed

    return parse


def boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("true or false (also 1/0, yes/no, on/off)")


def choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in options:
            raise ValueError("one of " + ", ".join(options))
        return lowered

    return parse


def timezone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone name such as Europe/Moscow") from None


def http_url(value: str) -> str:
    """An absolute http(s) URL without a trailing slash."""
    stripped = value.strip()
    expected = "an absolute http:// or https:// URL such as https://example.amocrm.ru"
    try:
        parts = urlsplit(stripped)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ValueError(expected) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or " " in stripped:
        raise ValueError(expected)
    return stripped.rstrip("/")


def subdomain(value: str) -> str:
    stripped = value.strip().lower()
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    if not stripped or not set(stripped) <= allowed or stripped.startswith("-"):
        raise ValueError("the account's subdomain: letters, digits and '-', e.g. mycompany")
    return stripped


def log_level(value: str) -> str:
    upper = value.strip().upper()
    if upper not in logging.getLevelNamesMapping() or upper == "NOTSET":
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return upper


def database_url(value: str) -> str:
    """A SQLAlchemy URL for SQLite or PostgreSQL; ``postgres://`` forms are normalised to psycopg 3."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    expected = "sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/dbname"
    stripped = value.strip()
    for prefix in ("postgres://", "postgresql://"):
        if stripped.startswith(prefix):
            stripped = "postgresql+psycopg://" + stripped[len(prefix) :]
    try:
        url = make_url(stripped)
    except ArgumentError:
        raise ValueError(expected) from None
    if url.drivername not in {"sqlite", "sqlite+pysqlite", "postgresql+psycopg"}:
        raise ValueError(expected)
    if url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:"):
        raise ValueError(expected + " (an in-memory SQLite database cannot be shared by processes)")
    if url.password:
        register_secret(str(url.password))
    return stripped


def redis_url(value: str) -> str:
    stripped = value.strip()
    parts = urlsplit(stripped)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ValueError("a redis:// URL such as redis://127.0.0.1:6379/0")
    if parts.password:
        register_secret(parts.password)
    return stripped


def origins(value: str) -> tuple[str, ...]:
    """Comma-separated web origins (scheme://host[:port]), e.g. for CORS."""
    expected = "comma-separated origins such as https://mycompany.amocrm.ru,https://mycompany.kommo.com"
    found: list[str] = []
    for item in value.split(","):
        stripped = item.strip().rstrip("/")
        if not stripped:
            continue
        parts = urlsplit(stripped)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path or parts.query:
            raise ValueError(expected)
        found.append(stripped)
    if not found:
        raise ValueError(expected)
    return tuple(found)


def phone_region(value: str) -> str:
    import phonenumbers

    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("a two-letter region code such as RU, KZ or BY")
    return region
