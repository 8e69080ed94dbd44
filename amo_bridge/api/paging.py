"""Lazy paging over amoCRM's HAL lists: follow ``_links.next`` until it is absent; ``204`` is empty."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

MAX_LIMIT = 250

# fetch(path_or_url, params) -> parsed JSON body, or None for 204 No Content
Fetch = Callable[[str, Mapping[str, Any] | None], Any]


def embedded(page: Any, key: str) -> list[dict[str, Any]]:
    """The entities under ``_embedded[key]`` of one page (``[]`` for an empty or odd page)."""
    if not isinstance(page, dict):
        return []
    items = (page.get("_embedded") or {}).get(key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def next_link(page: Any) -> str | None:
    if not isinstance(page, dict):
        return None
    href = ((page.get("_links") or {}).get("next") or {}).get("href")
    return href if isinstance(href, str) and href else None


def iterate(
    fetch: Fetch,
    path: str,
    key: str,
    params: Mapping[str, Any] | None = None,
    *,
    limit: int = MAX_LIMIT,
    max_pages: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every entity of a list, one page request at a time, only as the caller consumes them.

    ``limit`` is clamped to 1..250. The ``next`` link already carries the filters and the page number,
    so it is fetched without extra params.
    """
    query = {**(params or {}), "limit": max(1, min(int(limit), MAX_LIMIT))}
    page = fetch(path, query)
    pages = 1
    seen: set[str] = set()
    while True:
        yield from embedded(page, key)
        href = next_link(page)
        if href is None or href in seen or (max_pages is not None and pages >= max_pages):
            return
        seen.add(href)  # a server echoing the same next link must not loop us forever
        page = fetch(href, None)
        pages += 1
