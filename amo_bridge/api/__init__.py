"""amoCRM API v4 client: OAuth with rotating tokens, a limiter shared by every process, retries as
data, lazy paging, chunked batches, typed entities. Start with :meth:`AmoClient.from_settings`."""

from amo_bridge.api.client import AmoClient
from amo_bridge.api.errors import (
    AccountBlocked,
    AmoApiError,
    ApiConnectionError,
    AuthorizationRevoked,
    Forbidden,
    NotConnected,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    Unauthorized,
    Unprocessable,
    ValidationError,
)
from amo_bridge.api.oauth import AuthStatus, auth_status, disconnect, exchange_code
from amo_bridge.api.tokens import TokenPair

__all__ = [
    "AccountBlocked",
    "AmoApiError",
    "AmoClient",
    "ApiConnectionError",
    "AuthStatus",
    "AuthorizationRevoked",
    "Forbidden",
    "NotConnected",
    "NotFound",
    "PaymentRequired",
    "RateLimited",
    "ServerError",
    "TokenPair",
    "Unauthorized",
    "Unprocessable",
    "ValidationError",
    "auth_status",
    "disconnect",
    "exchange_code",
]
