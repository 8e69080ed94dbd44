"""``/api/v4/leads/pipelines`` with their statuses; finding the unsorted, won and lost stages."""

from __future__ import annotations

from amo_bridge.api.errors import NotFound
from amo_bridge.api.models import Pipeline, Status
from amo_bridge.api.paging import embedded
from amo_bridge.api.resources.base import Resource


class PipelinesResource(Resource):
    def list(self) -> list[Pipeline]:
        body = self._client.get("/api/v4/leads/pipelines")
        return [Pipeline.from_api(row) for row in embedded(body, "pipelines")]

    def get(self, pipeline_id: int) -> Pipeline:
        return Pipeline.from_api(self._client.get(f"/api/v4/leads/pipelines/{int(pipeline_id)}") or {})

    def find(self, *, name: str | None = None, main: bool = False) -> Pipeline:
        for pipeline in self.list():
            if (name is not None and pipeline.name.strip().casefold() == name.strip().casefold()) or (
                main and pipeline.is_main
            ):
                return pipeline
        raise NotFound(f"no pipeline {'main' if main else repr(name)} in the account")

    def unsorted_status(self, pipeline_id: int) -> Status:
        status = self.get(pipeline_id).unsorted_status
        if status is None:
            raise NotFound(f"pipeline {pipeline_id} has no unsorted (type 1) status")
        return status
