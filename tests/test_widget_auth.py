"""The widget token and the signed links: pure checks, and the replay memory on a real store."""

from __future__ import annotations

import pytest

from amo_bridge.clock import FakeClock
from amo_bridge.secrets import Secret
from amo_bridge.store import Store
from amo_bridge.widget import links
from amo_bridge.widget.auth import StoreReplayGuard, WidgetAuthError, verify_widget_token
from tests.widget_helpers import ACCOUNT_ID, CLIENT_ID, NOW, SECRET, make_token


def verify(token: str, now: float = NOW) -> object:
    return verify_widget_token(
        token, secret=Secret(SECRET), account_id=ACCOUNT_ID, client_uuid=CLIENT_ID, now=now, leeway=30
    )


def test_valid_token_names_the_user() -> None:
    user = verify(make_token(user_id=42, is_admin=False))
    assert user.user_id == 42  # type: ignore[attr-defined]
    assert user.is_admin is False  # type: ignore[attr-defined]
    assert user.account_id == ACCOUNT_ID  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (make_token(NOW - 3600), "expired"),
        (make_token(NOW, secret="another-secret-of-some-other-integration"), "InvalidSignatureError"),
        (make_token(account_id=999), "another account"),
        (make_token(client_uuid="00000000-0000-0000-0000-000000000000"), "another integration"),
        (make_token(nbf=int(NOW) + 600), "not yet valid"),
        (make_token(iat=int(NOW) + 600), "future"),
        (make_token(jti=None), "MissingRequiredClaimError"),
        (make_token(exp=None), "MissingRequiredClaimError"),
        (make_token(account_id="31415926x"), "another account"),
        ("not.a.jwt", "DecodeError"),
        ("", "missing"),
    ],
    ids=[
        "expired",
        "wrong-signature",
        "wrong-account",
        "wrong-client-uuid",
        "nbf-in-future",
        "iat-in-future",
        "no-jti",
        "no-exp",
        "junk-account",
        "garbage",
        "empty",
    ],
)
def test_bad_tokens_are_refused_with_a_reason(token: str, reason: str) -> None:
    with pytest.raises(WidgetAuthError, match=reason):
        verify(token)


def test_leeway_tolerates_small_skew_only() -> None:
    token = make_token(NOW - 1800 - 20)  # expired 20 s ago, leeway 30 s
    verify(token)
    with pytest.raises(WidgetAuthError, match="expired"):
        verify(token, now=NOW + 20)


def test_none_algorithm_is_refused() -> None:
    import jwt

    unsigned = jwt.encode({"exp": int(NOW) + 60}, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(WidgetAuthError):
        verify(unsigned)


def test_replay_guard_accepts_each_jti_once_within_its_lifetime(store: Store) -> None:
    clock = FakeClock(NOW)
    guard = StoreReplayGuard(store, clock=clock, leeway=30)
    other_process = StoreReplayGuard(store, clock=clock, leeway=30)
    assert guard.first_use("jti-1", NOW + 1800)
    assert not guard.first_use("jti-1", NOW + 1800)
    assert not other_process.first_use("jti-1", NOW + 1800)
    assert other_process.first_use("jti-2", NOW + 1800)
    clock.advance(1800 + 31)  # the token itself is now expired: its id may be forgotten
    assert guard.first_use("jti-1", NOW + 1800)


def test_replay_guard_purges_expired_ids(store: Store) -> None:
    from sqlalchemy import func, select

    from amo_bridge.store.schema import locks

    clock = FakeClock(NOW)
    guard = StoreReplayGuard(store, clock=clock, leeway=0)
    for n in range(5):
        assert guard.first_use(f"old-{n}", NOW + 10)
    clock.advance(3600)
    assert guard.first_use("new", NOW + 3600 + 1800)
    with store.read() as conn:
        names = conn.execute(select(locks.c.name)).scalars().all()
        assert conn.execute(select(func.count()).select_from(locks)).scalar_one() == 1
    assert names == ["widget.jti:new"]


def test_signed_link_round_trip_and_refusals() -> None:
    key = links.link_key(Secret(SECRET))
    params = links.link_params(key, now=NOW, ttl=600, lang="en")
    assert links.verify_link(key, params, now=NOW + 599) == int(NOW) + 600
    with pytest.raises(WidgetAuthError, match="expired"):
        links.verify_link(key, params, now=NOW + 600)
    with pytest.raises(WidgetAuthError, match="signature"):
        links.verify_link(key, {**params, "exp": str(int(NOW) + 10**6)}, now=NOW)
    other = links.link_key(Secret("some-other-dashboard-secret"))
    with pytest.raises(WidgetAuthError, match="signature"):
        links.verify_link(other, params, now=NOW)
    with pytest.raises(WidgetAuthError, match="without"):
        links.verify_link(key, {"exp": params["exp"]}, now=NOW)
    url = links.dashboard_url("https://bridge.example.com/", params)
    assert url.startswith("https://bridge.example.com/widget/dashboard?exp=")
    assert key != SECRET.encode()
