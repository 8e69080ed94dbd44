"""The record of every run: ``job_runs`` rows, written at the start and at the end of a run."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from amo_bridge.store import Store
from amo_bridge.store.schema import job_runs

STATUSES = ("running", "succeeded", "partial", "failed", "skipped", "abandoned")


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    job: str
    origin: str
    dry_run: bool
    host: str
    started_at: float
    finished_at: float | None
    status: str
    seen: int
    changed: int
    failed: int
    error: str | None


class RunHistory:
    def __init__(self, store: Store) -> None:
        self._store = store

    def start(self, run_id: str, job: str, origin: str, dry_run: bool, host: str, now: float) -> None:
        with self._store.begin() as conn:
            conn.execute(
                job_runs.insert().values(
                    run_id=run_id,
                    job=job,
                    origin=origin,
                    dry_run=dry_run,
                    host=host,
                    started_at=now,
                    finished_at=None,
                    status="running",
                    seen=0,
                    changed=0,
                    failed=0,
                    error=None,
                )
            )

    def finish(
        self,
        run_id: str,
        status: str,
        now: float,
        *,
        seen: int = 0,
        changed: int = 0,
        failed: int = 0,
        error: str | None = None,
    ) -> None:
        assert status in STATUSES
        with self._store.begin() as conn:
            conn.execute(
                update(job_runs)
                .where(job_runs.c.run_id == run_id)
                .values(
                    status=status,
                    finished_at=now,
                    seen=seen,
                    changed=changed,
                    failed=failed,
                    error=error[:4000] if error else None,
                )
            )

    def abandon_stale(self, job: str, live_run_id: str, now: float) -> int:
        """Mark ``running`` rows of ``job`` as ``abandoned``: called by the run that holds the job's lease,
        so any other run still marked running died without recording its end."""
        with self._store.begin() as conn:
            result = conn.execute(
                update(job_runs)
                .where(
                    job_runs.c.job == job,
                    job_runs.c.status == "running",
                    job_runs.c.dry_run.is_(False),
                    job_runs.c.run_id != live_run_id,
                )
                .values(
                    status="abandoned", finished_at=now, error="the run stopped without recording its end"
                )
            )
            return int(result.rowcount)

    def list(self, job: str | None = None, limit: int = 20) -> list[RunRecord]:
        statement = select(job_runs).order_by(job_runs.c.started_at.desc(), job_runs.c.run_id).limit(limit)
        if job is not None:
            statement = statement.where(job_runs.c.job == job)
        with self._store.read() as conn:
            rows = conn.execute(statement).all()
        return [RunRecord(**row._mapping) for row in rows]

    def last_started(self, job: str) -> float | None:
        """When the latest real (not dry) run of ``job`` started, skipped runs included."""
        statement = select(func.max(job_runs.c.started_at)).where(
            job_runs.c.job == job, job_runs.c.dry_run.is_(False)
        )
        with self._store.read() as conn:
            value = conn.execute(statement).scalar_one_or_none()
        return float(value) if value is not None else None

    def get(self, run_id: str) -> RunRecord | None:
        with self._store.read() as conn:
            row = conn.execute(select(job_runs).where(job_runs.c.run_id == run_id)).first()
        return RunRecord(**row._mapping) if row is not None else None
