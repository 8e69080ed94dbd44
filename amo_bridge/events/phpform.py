"""Decoding ``application/x-www-form-urlencoded`` bodies with PHP bracket keys into nested data.

amoCRM posts webhooks as PHP would read them: ``leads[status][0][custom_fields][0][values][0][value]=x``.
:func:`decode` rebuilds the nesting the way PHP's ``parse_str`` does, then turns a mapping into a list
only when its keys are exactly ``0 .. n-1`` (numeric-looking keys are not always list indices:
a mapping keyed by custom-field ids stays a mapping).

Rules (following PHP where it matters, total on every input):

- pairs are split on ``&``, name and value on the first ``=``; ``+`` is a space; bad ``%`` escapes
  are kept literally; invalid UTF-8 becomes U+FFFD (callers that care check the bytes first);
- a name is ``base[seg1][seg2]...``; ``[]`` appends; if the first ``[`` has no ``]`` the name is
  literal with that ``[`` read as ``_``; an unbalanced tail after complete segments is dropped
  (PHP does both); a name with an empty base is skipped;
- a later scalar replaces an earlier mapping at the same path and vice versa (the last one wins);
- nesting deeper than :data:`MAX_DEPTH` keeps the remaining brackets as one literal segment.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

MAX_DEPTH = 32

Node = dict[str, Any]


def split_name(name: str) -> list[str | None]:
    """``a[b][][c]`` -> ``["a", "b", None, "c"]`` (``None`` means append)."""
    open_at = name.find("[")
    if open_at < 0:
        return [name] if name else []
    if open_at == 0:
        return []  # PHP skips a name with an empty base
    if name.find("]", open_at) < 0:
        # PHP: an unbalanced first bracket makes the whole name literal, "[" read as "_".
        return [name[:open_at] + "_" + name[open_at + 1 :]]
    base = name[:open_at]
    segments: list[str | None] = [base]
    rest = name[open_at:]
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            return segments  # PHP drops an unbalanced tail after complete segments
        if len(segments) > MAX_DEPTH:
            segments.append(rest)  # too deep: the rest is one literal segment
            return segments
        inner = rest[1:close]
        segments.append(None if inner == "" else inner)
        rest = rest[close + 1 :]
    # PHP ignores anything after the last closing bracket that is not another "[".
    return segments


def pairs(body: str) -> list[tuple[str, str]]:
    """The name/value pairs of a form body, decoded, in order, empty names dropped."""
    out: list[tuple[str, str]] = []
    for chunk in body.split("&"):
        if not chunk:
            continue
        name, _, value = chunk.partition("=")
        decoded = unquote_plus(name, errors="replace")
        if decoded:
            out.append((decoded, unquote_plus(value, errors="replace")))
    return out


def _next_index(node: Node) -> str:
    numeric = [int(k) for k in node if _is_index(k)]
    return str(max(numeric) + 1) if numeric else "0"


def _insert(root: Node, segments: list[str | None], value: str) -> None:
    node = root
    for position, segment in enumerate(segments):
        key = _next_index(node) if segment is None else segment
        if position == len(segments) - 1:
            node[key] = value
            return
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child


def _is_index(key: str) -> bool:
    """``"0"``, ``"17"``: canonical ASCII decimals only (not ``"07"``, ``"²"``, ``"١"``)."""
    return key.isascii() and key.isdigit() and (key == "0" or not key.startswith("0"))


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    keys = list(converted)
    if keys and all(_is_index(k) for k in keys) and {int(k) for k in keys} == set(range(len(keys))):
        return [converted[str(i)] for i in range(len(keys))]
    return converted


def decode(body: str | bytes) -> dict[str, Any]:
    """Decode a form body into nested ``dict``/``list``/``str`` values; never raises."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    root: Node = {}
    for name, value in pairs(text):
        segments = split_name(name)
        if segments:
            _insert(root, segments, value)
    return {key: _listify(value) for key, value in root.items()}
