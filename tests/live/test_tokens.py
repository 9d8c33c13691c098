"""Channel tokens: bound to secret, channel, role and lifetime; verification says only yes or no."""

from __future__ import annotations

import pytest

from edgecache.live import mint_token, verify_token

SECRET = "s3cret-live"


def test_a_minted_token_verifies_for_its_channel_until_it_expires() -> None:
    token = mint_token(SECRET, "api/items/7", 1000.0, ttl=60)
    assert verify_token(SECRET, token, "api/items/7", 1000.0)
    assert verify_token(SECRET, token, "api/items/7", 1060.0)
    assert not verify_token(SECRET, token, "api/items/7", 1061.0)


@pytest.mark.parametrize("secret, channel, role", [
    ("other-secret", "api/items/7", "sub"),
    (SECRET, "api/items/8", "sub"),
    (SECRET, "api/items/7", "pub"),
])
def test_a_token_is_bound_to_secret_channel_and_role(secret: str, channel: str, role: str) -> None:
    token = mint_token(SECRET, "api/items/7", 1000.0)
    assert not verify_token(secret, token, channel, 1000.0, role=role)


@pytest.mark.parametrize("token", [None, "", "sub", "sub.x.y", "sub.999999999999.", "pub.1.a.b"])
def test_malformed_tokens_are_not_valid(token: str | None) -> None:
    assert not verify_token(SECRET, token, "c", 0.0)


def test_a_forged_expiry_breaks_the_signature() -> None:
    role, expires, signature = mint_token(SECRET, "c", 1000.0, ttl=60).split(".")
    forged = f"{role}.{int(expires) + 3600}.{signature}"
    assert not verify_token(SECRET, forged, "c", 1100.0)


def test_no_secret_means_no_token_is_valid_and_none_can_be_minted() -> None:
    assert not verify_token(None, "sub.2000.abc", "c", 1000.0)
    with pytest.raises(ValueError, match="LIVE_SECRET"):
        mint_token("", "c", 1000.0)


@pytest.mark.parametrize("kwargs", [{"role": "admin"}, {"ttl": 0}, {"ttl": 86401}])
def test_minting_checks_role_and_lifetime(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        mint_token(SECRET, "c", 1000.0, **kwargs)
