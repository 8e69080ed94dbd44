"""Typed, frozen views of amoCRM entities: amoCRM's names are translated here, once.

Each ``from_api`` takes one entity as amoCRM returns it (API v4 JSON) and keeps the raw dict in ``raw``
(excluded from comparisons and reprs) for fields not modelled here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

UNSORTED_STATUS_TYPE = 1
WON_STATUS_ID = 142
LOST_STATUS_ID = 143


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _opt_int(value: Any) -> int | None:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _embedded(raw: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    items = (raw.get("_embedded") or {}).get(key) or []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _ids(raw: Mapping[str, Any], key: str) -> tuple[int, ...]:
    return tuple(_int(i.get("id")) for i in _embedded(raw, key) if i.get("id") is not None)


def _raw_field() -> Any:
    return field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class CustomFieldValue:
    field_id: int
    code: str | None
    values: tuple[Any, ...]

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CustomFieldValue:
        values = tuple(
            (v.get("value") if isinstance(v, dict) and "value" in v else v) for v in raw.get("values") or []
        )
        return cls(_int(raw.get("field_id")), raw.get("field_code"), values)


def _custom_fields(raw: Mapping[str, Any]) -> tuple[CustomFieldValue, ...]:
    return tuple(
        CustomFieldValue.from_api(v) for v in raw.get("custom_fields_values") or [] if isinstance(v, dict)
    )


@dataclass(frozen=True)
class Status:
    id: int
    name: str
    pipeline_id: int
    sort: int
    type: int  # 0 regular, 1 unsorted ("Неразобранное")
    is_editable: bool
    raw: dict[str, Any] = _raw_field()

    @property
    def is_unsorted(self) -> bool:
        return self.type == UNSORTED_STATUS_TYPE

    @property
    def is_won(self) -> bool:
        return self.id == WON_STATUS_ID

    @property
    def is_lost(self) -> bool:
        return self.id == LOST_STATUS_ID

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Status:
        return cls(
            id=_int(raw.get("id")),
            name=str(raw.get("name", "")),
            pipeline_id=_int(raw.get("pipeline_id")),
            sort=_int(raw.get("sort")),
            type=_int(raw.get("type")),
            is_editable=bool(raw.get("is_editable", True)),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Pipeline:
    id: int
    name: str
    sort: int
    is_main: bool
    is_archive: bool
    statuses: tuple[Status, ...]
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Pipeline:
        return cls(
            id=_int(raw.get("id")),
            name=str(raw.get("name", "")),
            sort=_int(raw.get("sort")),
            is_main=bool(raw.get("is_main")),
            is_archive=bool(raw.get("is_archive")),
            statuses=tuple(Status.from_api(s) for s in _embedded(raw, "statuses")),
            raw=dict(raw),
        )

    def status(self, status_id: int) -> Status | None:
        return next((s for s in self.statuses if s.id == status_id), None)

    def status_named(self, name: str) -> Status | None:
        wanted = name.strip().casefold()
        return next((s for s in self.statuses if s.name.strip().casefold() == wanted), None)

    @property
    def unsorted_status(self) -> Status | None:
        """The "Неразобранное" stage (status type 1), if the pipeline has one."""
        return next((s for s in self.statuses if s.is_unsorted), None)

    @property
    def first_working_status(self) -> Status:
        """The first stage after the unsorted one that is neither won nor lost (``ValueError`` if none)."""
        working = [s for s in self.statuses if not (s.is_unsorted or s.is_won or s.is_lost)]
        if not working:
            raise ValueError(f"pipeline {self.id} has no working stage")
        return min(working, key=lambda s: (s.sort, s.id))

    @property
    def won_status(self) -> Status:
        """142 "Успешно реализовано": present in every pipeline (send ``pipeline_id`` with it)."""
        return self.status(WON_STATUS_ID) or Status(
            WON_STATUS_ID, "Успешно реализовано", self.id, 10000, 0, False
        )

    @property
    def lost_status(self) -> Status:
        """143 "Закрыто и не реализовано": present in every pipeline."""
        return self.status(LOST_STATUS_ID) or Status(
            LOST_STATUS_ID, "Закрыто и не реализовано", self.id, 11000, 0, False
        )


@dataclass(frozen=True)
class TaskType:
    id: int
    name: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> TaskType:
        return cls(_int(raw.get("id")), str(raw.get("name", "")))


@dataclass(frozen=True)
class CustomField:
    id: int
    name: str
    type: str
    code: str | None
    entity_type: str | None
    enums: tuple[tuple[int, str], ...]

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CustomField:
        enums = tuple(
            (_int(e.get("id")), str(e.get("value", "")))
            for e in raw.get("enums") or []
            if isinstance(e, dict)
        )
        return cls(
            _int(raw.get("id")),
            str(raw.get("name", "")),
            str(raw.get("type", "")),
            raw.get("code"),
            raw.get("entity_type"),
            enums,
        )


@dataclass(frozen=True)
class UserGroup:
    """A group of users (a department: L1, L2, L3)."""

    id: int
    name: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> UserGroup:
        return cls(_int(raw.get("id")), str(raw.get("name", "")))


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    subdomain: str
    country: str | None
    currency: str | None
    current_user_id: int | None
    task_types: tuple[TaskType, ...]
    user_groups: tuple[UserGroup, ...]
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Account:
        return cls(
            id=_int(raw.get("id")),
            name=str(raw.get("name", "")),
            subdomain=str(raw.get("subdomain", "")),
            country=raw.get("country"),
            currency=raw.get("currency"),
            current_user_id=_opt_int(raw.get("current_user_id")),
            task_types=tuple(TaskType.from_api(t) for t in _embedded(raw, "task_types")),
            user_groups=tuple(UserGroup.from_api(g) for g in _embedded(raw, "users_groups")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str | None
    is_active: bool
    is_admin: bool
    group_id: int | None
    role_id: int | None
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> User:
        rights = raw.get("rights") or {}
        return cls(
            id=_int(raw.get("id")),
            name=str(raw.get("name", "")),
            email=raw.get("email"),
            is_active=bool(rights.get("is_active", True)),
            is_admin=bool(rights.get("is_admin", False)),
            group_id=_opt_int(rights.get("group_id")),
            role_id=_opt_int(rights.get("role_id")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Lead:
    id: int
    name: str
    price: int
    responsible_user_id: int | None
    group_id: int | None
    status_id: int
    pipeline_id: int
    loss_reason_id: int | None
    created_by: int | None
    updated_by: int | None
    created_at: int
    updated_at: int
    closed_at: int | None
    closest_task_at: int | None
    is_deleted: bool
    account_id: int | None
    custom_fields: tuple[CustomFieldValue, ...]
    tag_names: tuple[str, ...]
    contact_ids: tuple[int, ...]
    company_ids: tuple[int, ...]
    raw: dict[str, Any] = _raw_field()

    @property
    def is_won(self) -> bool:
        return self.status_id == WON_STATUS_ID

    @property
    def is_lost(self) -> bool:
        return self.status_id == LOST_STATUS_ID

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Lead:
        return cls(
            id=_int(raw.get("id")),
            name=str(raw.get("name") or ""),
            price=_int(raw.get("price")),
            responsible_user_id=_opt_int(raw.get("responsible_user_id")),
            group_id=_opt_int(raw.get("group_id")),
            status_id=_int(raw.get("status_id")),
            pipeline_id=_int(raw.get("pipeline_id")),
            loss_reason_id=_opt_int(raw.get("loss_reason_id")),
            created_by=_opt_int(raw.get("created_by")),
            updated_by=_opt_int(raw.get("updated_by")),
            created_at=_int(raw.get("created_at")),
            updated_at=_int(raw.get("updated_at")),
            closed_at=_opt_int(raw.get("closed_at")),
            closest_task_at=_opt_int(raw.get("closest_task_at")),
            is_deleted=bool(raw.get("is_deleted")),
            account_id=_opt_int(raw.get("account_id")),
            custom_fields=_custom_fields(raw),
            tag_names=tuple(str(t.get("name", "")) for t in _embedded(raw, "tags")),
            contact_ids=_ids(raw, "contacts"),
            company_ids=_ids(raw, "companies"),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class UnsortedEntry:
    uid: str
    source_uid: str | None
    source_name: str | None
    category: str
    pipeline_id: int
    created_at: int
    metadata: dict[str, Any]
    lead_ids: tuple[int, ...]
    contact_ids: tuple[int, ...]
    company_ids: tuple[int, ...]
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> UnsortedEntry:
        return cls(
            uid=str(raw.get("uid", "")),
            source_uid=raw.get("source_uid"),
            source_name=raw.get("source_name"),
            category=str(raw.get("category", "")),
            pipeline_id=_int(raw.get("pipeline_id")),
            created_at=_int(raw.get("created_at")),
            metadata=dict(raw.get("metadata") or {}),
            lead_ids=_ids(raw, "leads"),
            contact_ids=_ids(raw, "contacts"),
            company_ids=_ids(raw, "companies"),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    first_name: str
    last_name: str
    responsible_user_id: int | None
    group_id: int | None
    created_at: int
    updated_at: int
    custom_fields: tuple[CustomFieldValue, ...]
    lead_ids: tuple[int, ...]
    company_ids: tuple[int, ...]
    raw: dict[str, Any] = _raw_field()

    def field_values(self, code: str) -> tuple[Any, ...]:
        """Values of a field by code (``PHONE``, ``EMAIL``, ...)."""
        return tuple(v for f in self.custom_fields if f.code == code for v in f.values)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Contact:
        return cls(
            id=_int(raw.get("id")),
            name=str(raw.get("name") or ""),
            first_name=str(raw.get("first_name") or ""),
            last_name=str(raw.get("last_name") or ""),
            responsible_user_id=_opt_int(raw.get("responsible_user_id")),
            group_id=_opt_int(raw.get("group_id")),
            created_at=_int(raw.get("created_at")),
            updated_at=_int(raw.get("updated_at")),
            custom_fields=_custom_fields(raw),
            lead_ids=_ids(raw, "leads"),
            company_ids=_ids(raw, "companies"),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    responsible_user_id: int | None
    group_id: int | None
    created_at: int
    updated_at: int
    custom_fields: tuple[CustomFieldValue, ...]
    lead_ids: tuple[int, ...]
    contact_ids: tuple[int, ...]
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Company:
        return cls(
            id=_int(raw.get("id")),
            name=str(raw.get("name") or ""),
            responsible_user_id=_opt_int(raw.get("responsible_user_id")),
            group_id=_opt_int(raw.get("group_id")),
            created_at=_int(raw.get("created_at")),
            updated_at=_int(raw.get("updated_at")),
            custom_fields=_custom_fields(raw),
            lead_ids=_ids(raw, "leads"),
            contact_ids=_ids(raw, "contacts"),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Task:
    id: int
    text: str
    complete_till: int
    entity_id: int | None
    entity_type: str | None
    responsible_user_id: int | None
    task_type_id: int
    is_completed: bool
    result_text: str | None
    created_at: int
    updated_at: int
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Task:
        result = raw.get("result") or {}
        return cls(
            id=_int(raw.get("id")),
            text=str(raw.get("text") or ""),
            complete_till=_int(raw.get("complete_till")),
            entity_id=_opt_int(raw.get("entity_id")),
            entity_type=raw.get("entity_type"),
            responsible_user_id=_opt_int(raw.get("responsible_user_id")),
            task_type_id=_int(raw.get("task_type_id"), 1),
            is_completed=bool(raw.get("is_completed")),
            result_text=result.get("text") if isinstance(result, dict) else None,
            created_at=_int(raw.get("created_at")),
            updated_at=_int(raw.get("updated_at")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    entity_id: int | None
    entity_type: str | None
    created_by: int | None
    created_at: int
    value_before: tuple[dict[str, Any], ...]
    value_after: tuple[dict[str, Any], ...]
    account_id: int | None
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Event:
        def values(name: str) -> tuple[dict[str, Any], ...]:
            items = raw.get(name) or []
            return tuple(i for i in items if isinstance(i, dict)) if isinstance(items, list) else ()

        return cls(
            id=str(raw.get("id", "")),
            type=str(raw.get("type", "")),
            entity_id=_opt_int(raw.get("entity_id")),
            entity_type=raw.get("entity_type"),
            created_by=_opt_int(raw.get("created_by")),
            created_at=_int(raw.get("created_at")),
            value_before=values("value_before"),
            value_after=values("value_after"),
            account_id=_opt_int(raw.get("account_id")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Call:
    id: int
    entity_id: int | None
    entity_type: str | None
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Call:
        return cls(_int(raw.get("id")), _opt_int(raw.get("entity_id")), raw.get("entity_type"), dict(raw))


@dataclass(frozen=True)
class Catalog:
    id: int
    name: str
    type: str
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Catalog:
        return cls(_int(raw.get("id")), str(raw.get("name", "")), str(raw.get("type", "")), dict(raw))


@dataclass(frozen=True)
class CatalogElement:
    id: int
    catalog_id: int
    name: str
    custom_fields: tuple[CustomFieldValue, ...]
    created_at: int
    updated_at: int
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CatalogElement:
        return cls(
            id=_int(raw.get("id")),
            catalog_id=_int(raw.get("catalog_id")),
            name=str(raw.get("name", "")),
            custom_fields=_custom_fields(raw),
            created_at=_int(raw.get("created_at")),
            updated_at=_int(raw.get("updated_at")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Note:
    id: int
    entity_id: int
    note_type: str
    params: dict[str, Any]
    created_by: int | None
    created_at: int
    raw: dict[str, Any] = _raw_field()

    @property
    def text(self) -> str | None:
        value = self.params.get("text")
        return str(value) if value is not None else None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Note:
        return cls(
            id=_int(raw.get("id")),
            entity_id=_int(raw.get("entity_id")),
            note_type=str(raw.get("note_type", "")),
            params=dict(raw.get("params") or {}),
            created_by=_opt_int(raw.get("created_by")),
            created_at=_int(raw.get("created_at")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class WebhookSubscription:
    id: int | None
    destination: str
    settings: tuple[str, ...]
    disabled: bool
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> WebhookSubscription:
        return cls(
            id=_opt_int(raw.get("id")),
            destination=str(raw.get("destination", "")),
            settings=tuple(str(s) for s in raw.get("settings") or []),
            disabled=bool(raw.get("disabled")),
            raw=dict(raw),
        )
