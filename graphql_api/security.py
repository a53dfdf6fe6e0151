"""Password hashing and access tokens; the only module that knows either.

passwords = PasswordHashing.from_settings(settings)
digest = await passwords.hash("s3cret")            # argon2id, in a bounded pool of threads
check = await passwords.verify(digest, "s3cret")   # check.ok, check.needs_rehash
token, claims = issue_token(user_id=7, settings=settings)
decode_token(token, settings).user_id              # 7; raises InvalidToken otherwise
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from graphql_api.settings import Settings

ALGORITHM = "HS256"
T = TypeVar("T")


class HashingBusy(Exception):
    """Every hashing thread is busy and the queue is full: try again in a moment."""


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    # The digest was made with other parameters than today's: store a new one.
    needs_rehash: bool = False


class PasswordHashing:
    """argon2id in a pool of `threads` threads (argon2-cffi releases the GIL, so they run
    in parallel), with at most `max_queue` more waiting: beyond that, `HashingBusy` at once
    rather than a wait of minutes behind a flood."""

    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, threads: int, max_queue: int
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Verified for unknown usernames, so that rejecting one costs as long as a wrong
        # password and the timing does not tell which accounts exist.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="password-hash")
        self._capacity = threads + max_queue
        self._pending = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHashing:
        return cls(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
            threads=settings.password_hash_threads or os.cpu_count() or 2,
            max_queue=settings.password_hash_queue,
        )

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, digest: str | None, password: str) -> PasswordCheck:
        """Check a password against its digest; with no digest, burn the same time and fail."""
        return await self._run(self._verify, digest, password)

    def _verify(self, digest: str | None, password: str) -> PasswordCheck:
        try:
            self._hasher.verify(digest or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return PasswordCheck(ok=False)
        if digest is None:
            return PasswordCheck(ok=False)
        return PasswordCheck(ok=True, needs_rehash=self._hasher.check_needs_rehash(digest))

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        if self._pending >= self._capacity:
            raise HashingBusy
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self._pending -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class InvalidToken(Exception):
    """The token is malformed, forged, expired, or revoked."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    jti: str
    issued_at: int
    expires_at: int
    # Set when the caller is a program holding an API key, not a password session.
    api_key_id: int | None = None
    # Its user had to choose a new password when it was made (an admin's reset).
    password_change_required: bool = False


def issue_token(
    user_id: int,
    settings: Settings,
    ttl_seconds: int | None = None,
    password_change_required: bool = False,
) -> tuple[str, TokenClaims]:
    """A signed access token for a new session, for `ttl_seconds` (JWT_TTL_SECONDS if not
    given)."""
    now = int(time.time())
    claims = TokenClaims(
        user_id=user_id,
        jti=secrets.token_hex(16),
        issued_at=now,
        expires_at=now + (ttl_seconds or settings.jwt_ttl_seconds),
        password_change_required=password_change_required,
    )
    payload: dict[str, object] = {
        "sub": str(user_id),
        "jti": claims.jti,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }
    if password_change_required:
        payload["pcr"] = True
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
            password_change_required=payload.get("pcr") is True,
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
