"""PHP-style bracket form encoding, as amoCRM posts its webhooks (pure functions).

``{"leads": {"status": [{"id": 1}]}}`` becomes ``leads[status][0][id]=1``. Lists use their index as
the key; ``None`` becomes an empty string; booleans become ``1``/``0``, as PHP's ``http_build_query``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """The ``(key, value)`` pairs of a nested structure, in order."""
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    else:
        return [(prefix, scalar(value))]
    for key, child in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(flatten(child, name))
    return pairs


def scalar(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def encode(value: Mapping[str, Any]) -> str:
    """The ``application/x-www-form-urlencoded`` body for ``value``."""
    return urlencode(flatten(value))
