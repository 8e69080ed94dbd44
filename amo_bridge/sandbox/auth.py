"""OAuth 2.0 as amoCRM does it: single-use 20-minute codes, 24 h access tokens (JWTs carrying
``api_domain``), single-use rotating refresh tokens (reuse -> "Token has been revoked"), and a
configured long-lived token. Times are the sandbox clock's *contract* time (:meth:`SandboxClock.wall`).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

import jwt

from amo_bridge.sandbox.clock import SandboxClock

ACCESS_TTL = 86_400
REFRESH_TTL = 90 * 86_400
CODE_TTL = 20 * 60


class OAuthProblem(Exception):
    """A refused token request: the HTTP status and the problem+json ``detail``."""

    def __init__(self, status: int, detail: str, hint: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.hint = hint


@dataclass
class Grant:
    client_id: str
    expires_at: float
    used: bool = False
    redirect_uri: str | None = None


@dataclass
class AccessToken:
    client_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class Integration:
    client_id: str
    client_secret: str
    redirect_uri: str | None = None


@dataclass
class Identity:
    """Who a request is from: the integration (rate limits are per integration) and the user."""

    client_id: str
    user_id: int
    long_lived: bool = False


@dataclass
class AuthRegistry:
    clock: SandboxClock
    api_domain: str
    account_id: int
    user_id: int
    integrations: dict[str, Integration] = field(default_factory=dict)
    long_lived_tokens: dict[str, str] = field(default_factory=dict)  # token -> client_id
    codes: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)  # jti -> token
    lock: threading.Lock = field(default_factory=threading.Lock)
    _signing_key: str = field(default_factory=lambda: secrets.token_hex(32))

    def add_integration(self, client_id: str, client_secret: str, redirect_uri: str | None = None) -> None:
        self.integrations[client_id] = Integration(client_id, client_secret, redirect_uri)

    def add_long_lived(self, token: str, client_id: str = "long-lived") -> None:
        self.long_lived_tokens[token] = client_id

    def issue_code(self, client_id: str) -> str:
        if client_id not in self.integrations:
            raise OAuthProblem(400, "Client authentication failed", "Unknown client_id")
        code = "def50200" + secrets.token_hex(48)
        with self.lock:
            self.codes[code] = Grant(client_id, self.clock.wall() + CODE_TTL)
        return code

    def exchange(self, body: dict[str, object]) -> dict[str, object]:
        """Handle ``POST /oauth2/access_token``; raise :class:`OAuthProblem` when refused."""
        client_id = str(body.get("client_id") or "")
        integration = self.integrations.get(client_id)
        if integration is None or integration.client_secret != str(body.get("client_secret") or ""):
            raise OAuthProblem(401, "Client authentication failed")
        grant_type = body.get("grant_type")
        now = self.clock.wall()
        with self.lock:
            if grant_type == "authorization_code":
                code = str(body.get("code") or "")
                grant = self.codes.get(code)
                if grant is None or grant.client_id != client_id:
                    raise OAuthProblem(
                        400, "Authorization code is invalid", "Authorization code has been revoked"
                    )
                if grant.used:
                    raise OAuthProblem(
                        400, "Authorization code has been revoked", "Authorization code has been revoked"
                    )
                if grant.expires_at <= now:
                    raise OAuthProblem(
                        400, "Authorization code has expired", "Authorization code has expired"
                    )
                grant.used = True
            elif grant_type == "refresh_token":
                token = str(body.get("refresh_token") or "")
                grant = self.refresh_tokens.get(token)
                if grant is None or grant.client_id != client_id:
                    raise OAuthProblem(401, "Token has been revoked", "Token has been revoked")
                if grant.used:
                    raise OAuthProblem(401, "Token has been revoked", "Token has been revoked")
                if grant.expires_at <= now:
                    raise OAuthProblem(401, "Token has expired", "Token has expired")
                grant.used = True  # single use: dead at once, whatever happens next
            else:
                raise OAuthProblem(
                    400, "The authorization grant type is not supported by the authorization server."
                )
            access, jti = self._access_token(client_id, now)
            refresh = "def50200" + secrets.token_hex(96)
            self.access_tokens[jti] = AccessToken(client_id, now + ACCESS_TTL)
            self.refresh_tokens[refresh] = Grant(client_id, now + REFRESH_TTL)
        return {
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "server_time": int(now),
            "access_token": access,
            "refresh_token": refresh,
        }

    def _access_token(self, client_id: str, now: float) -> tuple[str, str]:
        jti = secrets.token_hex(20)
        claims = {
            "aud": client_id,
            "jti": jti,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + ACCESS_TTL,
            "sub": str(self.user_id),
            "account_id": self.account_id,
            "base_domain": "amocrm.ru",
            "api_domain": self.api_domain,
            "scopes": ["crm", "notifications"],
            "version": 2,
        }
        return jwt.encode(claims, self._signing_key, algorithm="HS256"), jti

    def identify(self, authorization: str | None) -> Identity:
        """The identity behind an ``Authorization`` header; raise :class:`OAuthProblem` (401) if none."""
        if not authorization or not authorization.startswith("Bearer "):
            raise OAuthProblem(401, "Authorization header is missing or malformed")
        token = authorization[len("Bearer ") :].strip()
        if token in self.long_lived_tokens:
            return Identity(self.long_lived_tokens[token], self.user_id, long_lived=True)
        try:
            claims = jwt.decode(
                token,
                self._signing_key,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            raise OAuthProblem(401, "Token is invalid") from None
        with self.lock:
            record = self.access_tokens.get(str(claims.get("jti")))
        if record is None or record.revoked:
            raise OAuthProblem(401, "Token has been revoked")
        if record.expires_at <= self.clock.wall():
            raise OAuthProblem(401, "Token has expired")
        return Identity(record.client_id, self.user_id)

    def expire_access_tokens(self, token: str | None = None) -> int:
        """Fault: make one access token (or all) expire now. Returns how many were touched."""
        now = self.clock.wall()
        count = 0
        with self.lock:
            if token is not None:
                try:
                    jti = jwt.decode(
                        token,
                        self._signing_key,
                        algorithms=["HS256"],
                        options={"verify_exp": False, "verify_aud": False},
                    )["jti"]
                except jwt.PyJWTError:
                    return 0
                targets = [self.access_tokens[jti]] if jti in self.access_tokens else []
            else:
                targets = list(self.access_tokens.values())
            for record in targets:
                record.expires_at = min(record.expires_at, now)
                count += 1
        return count

    def revoke_all(self, client_id: str) -> None:
        """The integration was removed from the account: every token and grant dies."""
        with self.lock:
            for record in self.access_tokens.values():
                if record.client_id == client_id:
                    record.revoked = True
            for grant in self.refresh_tokens.values():
                if grant.client_id == client_id:
                    grant.used = True
