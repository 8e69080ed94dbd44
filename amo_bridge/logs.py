"""Logging set-up: text or JSON lines, a correlation id on every line, secrets redacted.

Redaction happens on the final formatted text, so a secret is masked wherever it hides: the message,
its arguments, ``extra`` fields, an exception's text or traceback. Two nets catch secrets:
known values (every :class:`~amo_bridge.secrets.Secret` and every token learned at run time registers
itself) and patterns (``Authorization`` headers, ``access_token``/``refresh_token``/``client_secret``
fields in JSON, form or query strings).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any

from amo_bridge.secrets import registered_secrets

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")

_SENSITIVE_KEYS = r"access_token|refresh_token|client_secret|long_lived_token|code|token|secret|password"
_PATTERNS = [
    # Authorization: Bearer xxx / "Authorization": "Bearer xxx"
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer\s+)?[^\s'\",}]+"), r"\1\2***"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    # JSON: "refresh_token": "xxx"
    (re.compile(rf"(?i)(['\"](?:{_SENSITIVE_KEYS})['\"]\s*:\s*['\"])[^'\"]*"), r"\1***"),
    # form/query: refresh_token=xxx
    (re.compile(rf"(?i)\b((?:{_SENSITIVE_KEYS})=)[^&\s'\"]+"), r"\1***"),
]

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "correlation_id"}


def redact(text: str) -> str:
    """Mask every registered secret value and every sensitive-looking field in ``text``."""
    for value in registered_secrets():
        if value in text:
            text = text.replace(value, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def current_correlation_id() -> str:
    return _correlation.get()


def new_correlation_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def correlation(correlation_id: str | None = None) -> Iterator[str]:
    """Tag every log line inside the block (in this thread or task) with one correlation id."""
    cid = correlation_id or new_correlation_id()
    token = _correlation.set(cid)
    try:
        yield cid
    finally:
        _correlation.reset(token)


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = _correlation.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(correlation_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = _extras(record)
        if extras:
            text += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return redact(text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "correlation_id": getattr(record, "correlation_id", "-"),
            "message": record.getMessage(),
        }
        payload.update(_extras(record))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, ensure_ascii=False, default=str))


JsonFormatter.converter = time.gmtime


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


def setup_logging(level: str = "INFO", fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Configure the root logger once per process (calling it again replaces the handler)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_CorrelationFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_amo_bridge", False):
            root.removeHandler(existing)
    handler._amo_bridge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Quiet libraries that would log request URLs at DEBUG with tokens in them.
    logging.getLogger("urllib3").setLevel(max(logging.getLevelName(level), logging.INFO))
