"""How the KPI code reaches amoCRM: small protocols, implemented by adapters over ``amo_bridge.api``.

Pure data crosses these ports (dicts in the /api/v4 shape for events, small dataclasses for the
rest), so the job logic runs the same against an adapter, the sandbox or an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

FieldValue = float | str | None


@dataclass(frozen=True)
class LeadSnapshot:
    """A lead as ``GET /api/v4/leads?with=contacts`` returns it (the fields KPIs need)."""

    id: int
    created_at: int
    updated_at: int
    status_id: int
    pipeline_id: int
    responsible_user_id: int | None = None
    price: float | None = None
    closed_at: int | None = None
    main_contact_id: int | None = None


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    group_id: int | None = None
    is_active: bool = True


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    sort: int


@dataclass(frozen=True)
class PipelineInfo:
    id: int
    name: str
    stages: tuple[StageInfo, ...] = ()


@dataclass(frozen=True)
class CatalogElement:
    id: int
    name: str
    values: Mapping[int, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True)
class RetentionLead:
    """An open lead of the retention pipeline with the current values of the KPI fields on it."""

    id: int
    client_id: int | None
    values: Mapping[int, FieldValue] = field(default_factory=dict)


class EventSource(Protocol):
    """``GET /api/v4/events`` paged.

    ``pages(since)`` yields lists of event dicts (``id, type, entity_id, entity_type, created_by,
    created_at, value_before, value_after, account_id``) with ``created_at >= since``, in ascending
    ``created_at`` order across pages (an adapter over an API that answers newest first walks
    ``filter[created_at]`` windows forward). The sync commits each page with its watermark.
    """

    def pages(self, since: int) -> Iterator[Sequence[Mapping[str, Any]]]: ...


class LeadSource(Protocol):
    """``GET /api/v4/leads?with=contacts&filter[updated_at][from]=...`` paged."""

    def leads(self, updated_since: int) -> Iterator[LeadSnapshot]: ...


class Directory(Protocol):
    """``GET /api/v4/users?with=group`` and ``GET /api/v4/leads/pipelines``."""

    def users(self) -> Iterable[UserInfo]: ...

    def pipelines(self) -> Iterable[PipelineInfo]: ...


class CatalogPort(Protocol):
    """``/api/v4/catalogs``, its custom fields and ``/api/v4/catalogs/{id}/elements``."""

    def find_catalog(self, name: str) -> int | None: ...

    def create_catalog(self, name: str) -> int: ...

    def fields(self, catalog_id: int) -> Mapping[str, int]:
        """Custom field name -> field id."""
        ...

    def create_field(self, catalog_id: int, name: str, kind: str) -> int:
        """``kind``: ``numeric`` or ``text``."""
        ...

    def find_elements(self, catalog_id: int, query: str) -> Sequence[CatalogElement]:
        """Elements whose name contains ``query`` (``GET .../elements?query=``)."""
        ...

    def create_element(self, catalog_id: int, name: str, values: Mapping[int, FieldValue]) -> int: ...

    def update_element(
        self, catalog_id: int, element_id: int, name: str, values: Mapping[int, FieldValue]
    ) -> None: ...


class RetentionPort(Protocol):
    """Open leads of the retention pipeline and ``PATCH /api/v4/leads`` of custom field values."""

    def open_leads(self, pipeline_id: int) -> Iterable[RetentionLead]: ...

    def update_leads(self, updates: Sequence[tuple[int, Mapping[int, FieldValue]]]) -> None: ...
