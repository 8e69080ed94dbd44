"""Reading amoCRM's PHP-bracket query strings into nested data (pure).

``filter[statuses][0][pipeline_id]=1&filter[id][]=5&filter[id][]=6`` becomes
``{"filter": {"statuses": {"0": {"pipeline_id": "1"}}, "id": ["5", "6"]}}``. Numeric keys stay strings
(amoCRM does not promise they are list indices); ``[]`` appends to a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            root[raw_key] = value
            continue
        parts = [match.group(1), *_PART.findall(match.group(2))]
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            nxt = None if last else parts[index + 1]
            if isinstance(node, list):
                if last:
                    node.append(value)
                    break
                child: Any = [] if nxt == "" else {}
                node.append(child)
                node = child
                continue
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                if part not in node or not isinstance(node[part], dict | list):
                    node[part] = [] if nxt == "" else {}
                node = node[part]
    return root


def as_list(value: Any) -> list[str]:
    """A filter value as a list of strings: ``"5"``, ``"5,6"``, ``["5"]`` and ``{"0": "5"}`` all work."""
    if value is None:
        return []
    if isinstance(value, list):
        items = [str(v) for v in value if not isinstance(v, dict | list)]
    elif isinstance(value, dict):
        items = [str(v) for v in value.values() if not isinstance(v, dict | list)]
    else:
        items = str(value).split(",")
    return [item.strip() for item in items if item.strip()]


def as_ints(value: Any) -> list[int]:
    """Integers of a filter value; raises ``ValueError`` on a non-number."""
    return [int(item) for item in as_list(value)]


def as_records(value: Any) -> list[dict[str, Any]]:
    """``filter[statuses][0][...]`` style: a list of dicts from a dict keyed by index or a list."""
    if isinstance(value, dict):
        return [
            v for _, v in sorted(value.items(), key=lambda kv: str(kv[0]).zfill(6)) if isinstance(v, dict)
        ]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def time_range(value: Any) -> tuple[int | None, int | None]:
    """``filter[updated_at][from]=..&[to]=..`` or a bare timestamp (meaning "from")."""
    if isinstance(value, dict):
        low = value.get("from")
        high = value.get("to")
        return (int(low) if low not in (None, "") else None, int(high) if high not in (None, "") else None)
    if value in (None, ""):
        return (None, None)
    return (int(str(value)), None)
