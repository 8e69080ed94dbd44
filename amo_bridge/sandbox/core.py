"""The :class:`Sandbox`: one emulated amoCRM account with its clock, state, OAuth registry, limits,
faults, webhook dispatcher and request log. The Flask app (:mod:`amo_bridge.sandbox.app`) and the
scenario both drive it; tests reach it through ``SandboxServer.sandbox``."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.sandbox.auth import AuthRegistry
from amo_bridge.sandbox.clock import SandboxClock
from amo_bridge.sandbox.faults import Faults
from amo_bridge.sandbox.hooks.delivery import Dispatcher, Transport, requests_transport
from amo_bridge.sandbox.limits import RateLimiter
from amo_bridge.sandbox.records import Record
from amo_bridge.sandbox.seed import ADMIN_USER_ID, seed_account
from amo_bridge.sandbox.state import SandboxState


@dataclass
class SandboxConfig:
    seed: int = 1
    account_id: int = 31_415_926
    subdomain: str = "sandbox"
    client_id: str = "sandbox-integration"
    client_secret: str = "sandbox-secret"  # noqa: S105 - the sandbox's own development credential
    redirect_uri: str | None = None
    long_lived_token: str | None = None
    rate_limit: int = 7
    webhook_time_scale: float = 1.0
    deliver_webhooks: bool = True  # background delivery thread; False: tests call run_webhooks()
    contacts: int = 300
    companies: int = 60
    faults: dict[str, str] = field(default_factory=dict)
    request_log_size: int = 100_000


class Sandbox:
    def __init__(
        self, config: SandboxConfig, *, clock: Clock = SYSTEM_CLOCK, transport: Transport = requests_transport
    ) -> None:
        self.config = config
        self.clock = clock if isinstance(clock, SandboxClock) else SandboxClock(clock)
        self.state = SandboxState(self.clock, account_id=config.account_id, subdomain=config.subdomain)
        self.base_url = f"https://{config.subdomain}.amocrm.ru"
        self.auth = AuthRegistry(
            self.clock, api_domain="", account_id=config.account_id, user_id=ADMIN_USER_ID
        )
        self.auth.add_integration(config.client_id, config.client_secret, config.redirect_uri)
        if config.long_lived_token:
            self.auth.add_long_lived(config.long_lived_token, config.client_id)
        self.faults = Faults()
        self.faults.update(config.faults)
        self.limiter = RateLimiter(per_second=config.rate_limit, block_after=self.faults.block_after)
        self.fault_rng = random.Random(config.seed ^ 0x5A5A)
        self.fault_lock = threading.Lock()
        self.dispatcher = Dispatcher(
            clock=self.clock,
            webhooks=lambda: self.state.webhooks,
            account=lambda: self.state.account,
            base_url=lambda: self.base_url,
            faults=self.faults,
            transport=transport,
            time_scale=config.webhook_time_scale,
            seed=config.seed,
        )
        self.state.listeners.append(self.dispatcher.on_change)
        self.request_log: deque[Record] = deque(maxlen=config.request_log_size)
        self.reset(config.seed)
        if config.deliver_webhooks:
            self.dispatcher.start()

    def set_base_url(self, url: str) -> None:
        """Where the sandbox is reachable: ``_links`` in webhooks and the token's ``api_domain``."""
        self.base_url = url.rstrip("/")
        self.auth.api_domain = self.base_url.split("://", 1)[-1]

    def reset(self, seed: int | None = None) -> None:
        """A fresh account for ``seed`` (same seed, same account). Webhook subscriptions and tokens
        survive: the integration stays installed."""
        seed = self.config.seed if seed is None else seed
        with self.state.lock:
            subscriptions = dict(self.state.webhooks)
            self.state.clear()
            self.state.webhooks.update(subscriptions)
            if subscriptions:
                self.state.bump_id("webhook", max(subscriptions))
            seed_account(self.state, seed, contacts=self.config.contacts, companies=self.config.companies)
            self.state.ground_truth["seed"] = seed
        self.dispatcher.clear()
        self.limiter.reset()
        self.limiter.block_after = self.faults.block_after
        self.request_log.clear()
        self.fault_rng.seed(seed ^ 0x5A5A)

    def set_faults(self, values: dict[str, object]) -> None:
        with self.fault_lock:
            self.faults.update(dict(values))
            self.limiter.block_after = self.faults.block_after

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self.fault_lock:
            return self.fault_rng.random() < rate

    def take_forced_429(self) -> bool:
        with self.fault_lock:
            if self.faults.force_429 > 0:
                self.faults.force_429 -= 1
                return True
            return False

    def close(self) -> None:
        self.dispatcher.stop()
