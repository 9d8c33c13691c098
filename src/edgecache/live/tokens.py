"""Channel tokens: short-lived, HMAC-SHA256-signed (RFC 2104), bound to one channel and role.

    token = "<role>.<expires>.<signature>"
    signature = base64url(HMAC-SHA256(LIVE_SECRET, "<role>\\n<channel>\\n<expires>"))

``role`` is ``sub`` (may subscribe to a ``live: "token"`` route's channel) or ``pub`` (may
``POST /_edge/publish``). Mint one from Python with :func:`mint_token`, or ask the edge
(``POST /_edge/live/token`` with the admin token). Verification is constant-time and
never says which part was wrong: a bad, expired or foreign token is simply not valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["ROLES", "mint_token", "verify_token"]

ROLES = ("sub", "pub")
DEFAULT_TTL = 300
MAX_TTL = 24 * 3600


def _signature(secret: str, role: str, channel: str, expires: int) -> str:
    message = f"{role}\n{channel}\n{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint_token(secret: str, channel: str, now: float, *, role: str = "sub", ttl: int = DEFAULT_TTL) -> str:
    """A token for ``channel`` valid until ``now + ttl`` seconds."""
    if not secret:
        raise ValueError("LIVE_SECRET is empty; set it with `wrangler secret put LIVE_SECRET`")
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if not 1 <= ttl <= MAX_TTL:
        raise ValueError(f"ttl must be 1 to {MAX_TTL} seconds")
    expires = int(now) + ttl
    return f"{role}.{expires}.{_signature(secret, role, channel, expires)}"


def verify_token(secret: str | None, token: str | None, channel: str, now: float, *, role: str = "sub") -> bool:
    """True when ``token`` was minted from ``secret`` for this channel and role and has not expired."""
    if not secret or not token:
        return False
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != role or not parts[1].isdigit():
        return False
    expires = int(parts[1])
    if expires < now:
        return False
    return hmac.compare_digest(parts[2], _signature(secret, role, channel, expires))
