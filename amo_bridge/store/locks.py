"""Named leases shared by every process on one database.

A lock is a row ``(name, owner, expires_at)``. Taking it is one atomic upsert that succeeds when the
row is absent, expired, or already ours, so the same code is correct on SQLite and PostgreSQL and a
holder that dies (even by SIGKILL) loses the lock when its lease runs out. Holders of long sections
renew their lease (:meth:`Lease.keep_alive`); a holder whose renewal fails learns it has lost the
lock (:attr:`Lease.lost`) and must stop work that needs it.

Times come from the injected clock (Unix seconds). Hosts sharing a database need clocks in sync
(NTP) to within a small fraction of the lease ``ttl``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import case, delete, or_, select, update

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.errors import LockNotAcquired
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import locks

if TYPE_CHECKING:
    from amo_bridge.store.store import Store

log = logging.getLogger(__name__)


def default_owner() -> str:
    """An owner id unique to this process and call: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LockInfo:
    name: str
    owner: str
    acquired_at: float
    expires_at: float


class Locks:
    def __init__(self, store: Store, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._store = store
        self._clock = clock

    def try_acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take or extend the lease on ``name`` for ``ttl`` seconds; ``False`` if another owner holds it."""
        now = self._clock.now()
        insert = upsert(self._store.dialect, locks).values(
            name=name, owner=owner, acquired_at=now, expires_at=now + ttl
        )
        statement = insert.on_conflict_do_update(
            index_elements=[locks.c.name],
            set_={
                "owner": insert.excluded.owner,
                "acquired_at": case(
                    (locks.c.owner == insert.excluded.owner, locks.c.acquired_at),
                    else_=insert.excluded.acquired_at,
                ),
                "expires_at": insert.excluded.expires_at,
            },
            where=or_(locks.c.expires_at <= now, locks.c.owner == owner),
        ).returning(locks.c.owner)
        with self._store.begin() as conn:
            return conn.execute(statement).first() is not None

    def renew(self, name: str, owner: str, ttl: float) -> bool:
        """Extend a lease we hold; ``False`` if it has passed to another owner."""
        statement = (
            update(locks)
            .where(locks.c.name == name, locks.c.owner == owner)
            .values(expires_at=self._clock.now() + ttl)
        )
        with self._store.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def release(self, name: str, owner: str) -> bool:
        with self._store.begin() as conn:
            statement = delete(locks).where(locks.c.name == name, locks.c.owner == owner)
            return conn.execute(statement).rowcount == 1

    def info(self, name: str) -> LockInfo | None:
        """Who holds ``name`` now (``None`` if free or expired)."""
        with self._store.read() as conn:
            row = conn.execute(select(locks).where(locks.c.name == name)).first()
        if row is None or row.expires_at <= self._clock.now():
            return None
        return LockInfo(row.name, row.owner, row.acquired_at, row.expires_at)

    def acquire(
        self,
        name: str,
        *,
        ttl: float,
        timeout: float,
        owner: str | None = None,
        poll: float = 0.05,
    ) -> Lease:
        """Wait up to ``timeout`` seconds for ``name``; raise :class:`LockNotAcquired` after that."""
        owner = owner or default_owner()
        deadline = self._clock.monotonic() + timeout
        delay = poll
        while True:
            if self.try_acquire(name, owner, ttl):
                return Lease(self, name, owner, ttl)
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                holder = self.info(name)
                held_by = f" (held by {holder.owner})" if holder else ""
                raise LockNotAcquired(f"lock {name!r} not acquired within {timeout:g}s{held_by}")
            self._clock.sleep(min(remaining, delay * (0.5 + random.random())))
            delay = min(delay * 1.5, 1.0)

    @contextlib.contextmanager
    def hold(
        self,
        name: str,
        *,
        ttl: float,
        timeout: float,
        owner: str | None = None,
        poll: float = 0.05,
    ) -> Iterator[Lease]:
        """``with store.locks.hold("x", ttl=30, timeout=10) as lease: ...``; released on exit."""
        lease = self.acquire(name, ttl=ttl, timeout=timeout, owner=owner, poll=poll)
        try:
            yield lease
        finally:
            lease.release()


class Lease:
    """A lock we hold. Renew it before ``ttl`` runs out, or let :meth:`keep_alive` do it."""

    def __init__(self, locks_: Locks, name: str, owner: str, ttl: float) -> None:
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self._locks = locks_
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """True once a renewal found the lock taken by someone else."""
        return self._lost.is_set()

    def renew(self) -> bool:
        ok = self._locks.renew(self.name, self.owner, self.ttl)
        if not ok:
            self._lost.set()
        return ok

    def keep_alive(self, interval: float | None = None) -> None:
        """Renew in a background thread every ``interval`` seconds (default ``ttl / 3``)."""
        period = interval if interval is not None else self.ttl / 3

        def run() -> None:
            while not self._stop.wait(period):
                try:
                    if not self.renew():
                        log.error("lost lock %s (owner %s)", self.name, self.owner)
                        return
                except Exception:
                    # A database hiccup: keep trying until the lease would have run out.
                    log.warning("could not renew lock %s; will retry", self.name, exc_info=True)

        self._thread = threading.Thread(target=run, name=f"lease:{self.name}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if not self._lost.is_set():
            self._locks.release(self.name, self.owner)

    def __repr__(self) -> str:
        return f"Lease(name={self.name!r}, owner={self.owner!r}, lost={self.lost})"
