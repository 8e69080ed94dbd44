"""Who may see the dashboard: a widget token, or a signed link. Framework-free; the blueprint calls it.

Configuration that is missing fails closed: without ``AMO_CLIENT_SECRET``, ``AMO_ACCOUNT_ID`` and
``AMO_CLIENT_ID`` no token is accepted, and without a link secret no link is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config.settings import AmoSettings, WidgetSettings
from amo_bridge.widget import links
from amo_bridge.widget.auth import ReplayGuard, WidgetAuthError, WidgetUser, verify_widget_token

log = logging.getLogger(__name__)


class WidgetAccess:
    def __init__(
        self,
        amo: AmoSettings,
        widget: WidgetSettings,
        guard: ReplayGuard,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._amo = amo
        self._widget = widget
        self._guard = guard
        self._clock = clock
        secret = widget.link_secret(amo)
        self._link_key = links.link_key(secret) if secret else None

    def from_token(self, token: str) -> WidgetUser:
        """Verify an ``X-Auth-Token`` and consume its ``jti``; :class:`WidgetAuthError` otherwise."""
        amo = self._amo
        if not (amo.client_secret and amo.account_id and amo.client_id):
            raise WidgetAuthError("AMO_CLIENT_SECRET, AMO_ACCOUNT_ID and AMO_CLIENT_ID are needed")
        user = verify_widget_token(
            token,
            secret=amo.client_secret,
            account_id=amo.account_id,
            client_uuid=amo.client_id,
            now=self._clock.now(),
            leeway=self._widget.token_leeway,
        )
        assert user.jti is not None
        assert user.expires_at is not None
        if not self._guard.first_use(user.jti, user.expires_at):
            raise WidgetAuthError("token replayed")
        return user

    def from_link(self, params: Mapping[str, str]) -> WidgetUser:
        """Verify a signed link's ``exp`` and ``sig``: a read-only viewer, never an admin."""
        if self._link_key is None:
            raise WidgetAuthError("no DASHBOARD_SECRET or AMO_CLIENT_SECRET to check links with")
        exp = links.verify_link(self._link_key, params, now=self._clock.now())
        return WidgetUser(account_id=self._amo.account_id, user_id=None, is_admin=False, expires_at=exp)

    def session_link(self, lang: str | None) -> dict[str, str]:
        """Query parameters of a short-lived link for the widget's iframe."""
        if self._link_key is None:
            raise WidgetAuthError("no DASHBOARD_SECRET or AMO_CLIENT_SECRET to sign links with")
        return links.link_params(
            self._link_key, now=self._clock.now(), ttl=self._widget.session_ttl, lang=lang
        )
