"""Password hashing and access tokens; the only module that knows either.

digest = await hash_password("s3cret")            # argon2id, off the event loop
await verify_password(digest, "s3cret")           # True
token, claims = issue_token(user_id=7, settings=settings)
decode_token(token, settings).user_id              # 7; raises InvalidToken otherwise
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from graphql_api.settings import Settings

ALGORITHM = "HS256"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified for unknown usernames, so that rejecting one costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class InvalidToken(Exception):
    """The token is malformed, forged, expired, or revoked."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    jti: str
    issued_at: int
    expires_at: int


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(digest: str | None, password: str) -> bool:
    """Check a password against its digest; with no digest, burn the same time and fail."""
    return await asyncio.to_thread(_verify, digest, password)


def _verify(digest: str | None, password: str) -> bool:
    try:
        return _hasher.verify(digest or _DUMMY_HASH, password) and digest is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(user_id: int, settings: Settings) -> tuple[str, TokenClaims]:
    now = int(time.time())
    claims = TokenClaims(
        user_id=user_id,
        jti=secrets.token_hex(16),
        issued_at=now,
        expires_at=now + settings.jwt_ttl_seconds,
    )
    payload = {
        "sub": str(user_id),
        "jti": claims.jti,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=ALGORITHM), claims


def decode_token(token: str, settings: Settings) -> TokenClaims:
    """Verify signature, algorithm and lifetime; revocation is the caller's check."""
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        return TokenClaims(
            user_id=int(payload["sub"]),
            jti=str(payload["jti"]),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
