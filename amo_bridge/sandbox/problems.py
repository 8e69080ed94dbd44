"""What the sandbox raises when a request cannot be served: a missing entity, invalid input."""

from __future__ import annotations

FieldError = dict[str, str]


class EntityNotFound(LookupError):
    pass


class InvalidInput(ValueError):
    """Validation errors of one entity: ``[{"code", "path", "detail"}]``."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['detail']}" for e in errors))
        self.errors = errors


def error(code: str, path: str, detail: str) -> FieldError:
    return {"code": code, "path": path, "detail": detail}
