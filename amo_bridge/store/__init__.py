"""amo-bridge's store: SQLAlchemy Core over SQLite (embedded) or PostgreSQL (production).

The store knows nothing of amoCRM: it offers tables, transactions, a key-value table and leases.
"""

from amo_bridge.store.locks import Lease, LockInfo, Locks, default_owner
from amo_bridge.store.store import Store

__all__ = ["Lease", "LockInfo", "Locks", "Store", "default_owner"]
