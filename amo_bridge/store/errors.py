"""Recognising database errors that a retry of the whole transaction can cure."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

_PG_TRANSIENT = {"40001", "40P01", "55P03", "57P01", "08006", "08001", "08003"}


def is_transient(exc: BaseException) -> bool:
    """Serialization failures, deadlocks, lock timeouts, a busy SQLite file, a dropped connection."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _PG_TRANSIENT:
        return True
    if isinstance(exc, OperationalError):
        text = str(orig).lower()
        return "database is locked" in text or "database is busy" in text
    return False
