"""API keys: a program's credential, acting as its user short of what needs a password.

    secret, record = await api_keys.create(user_id, "backup script")   # `e2c_...`, shown once
    await api_keys.load(secret, address)   # before a request: a database read only on a miss
    claims = api_keys.authenticate(secret)        # no database round trip
    await api_keys.revoke(user_id, "7")           # refused at once on every process

A key is stored as its SHA-256 only. Each process keeps the keys in use in memory (read again
from the database after `CACHE_SECONDS`, so a change made where no signal reaches is seen
within that); a revoked key goes out on the same channel as a logout (`apikey:<id>` among
the revoked tokens), and each process also re-reads revocations every second, as it does
sessions. A disabled user's keys are suspended the same way: every process drops them, and
reading them again finds the account disabled. A user whose password an admin reset has
their keys read again the same way, and refused (FORBIDDEN) until they choose their own: a
key of such a user is read from the database on each use, so the change counts at once. A
key just revoked here is remembered as
refused for a while (a burst with it costs no query), and the keys an address tries that
exist nowhere are counted: past `API_KEY_MISSES_PER_MINUTE`, RATE_LIMITED before any query.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from graphql_api.errors import BadUserInput, NotFound, RateLimited
from graphql_api.models import ApiKey
from graphql_api.records import ApiKeyRecord
from graphql_api.security import InvalidToken, TokenClaims
from graphql_api.services.accounts import Accounts
from graphql_api.services.limits import LimitReached, Window, address_key
from graphql_api.services.ownership import parse_id
from graphql_api.services.text import check_text

log = logging.getLogger(__name__)

PREFIX = "e2c_"
SECRET_BYTES = 32  # 256 bits
MAX_NAME_CHARS = 100
MAX_KEYS_PER_USER = 50
# A key in memory is read again from the database after this long.
CACHE_SECONDS = 60.0
KEYS_KEPT = 10_000
# How long a revocation stays among the revoked tokens: past it, a key is refused because
# the database says so (it has left every cache by then).
REVOKED_KEEP_SECONDS = 2 * CACHE_SECONDS + 3600
POLL_SECONDS = 1.0
# `last_used_at` is written at most this often per key (not once per request).
LAST_USED_FLUSH_SECONDS = 10.0
JTI_PREFIX = "apikey:"
# Announced beside the revocations: read the keys of this user again (`<prefix><user id>:`).
RELOAD_PREFIX = "apikeys-of:"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_key(token: str) -> bool:
    return token.startswith(PREFIX)


def key_jti(key_id: int) -> str:
    """The name a key goes by among the revoked tokens (and its WebSockets)."""
    return f"{JTI_PREFIX}{key_id}"


@dataclass(frozen=True, slots=True)
class _Cached:
    key_id: int
    user_id: int
    loaded_at: float
    # Its user must choose a new password: refused, and read again on each use.
    password_change_required: bool = False


def _record(key: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=key.id, name=key.name, created_at=key.created_at, last_used_at=key.last_used_at
    )


class ApiKeys:
    def __init__(self, accounts: Accounts, misses: Window, misses_per_minute: int) -> None:
        self.accounts = accounts
        self._misses = misses
        self._misses_per_minute = misses_per_minute
        self._cache: dict[str, _Cached] = {}
        # Digests of keys just revoked or suspended here: refused with no query until then.
        self._refused: dict[str, float] = {}
        # One database read per digest at a time, however many requests bring it at once.
        self._loading: dict[str, asyncio.Future[None]] = {}
        self._used: dict[int, datetime] = {}
        # Keys revoked before this process started are refused by the database.
        self._seen_until = datetime.now(UTC)
        accounts.revocation_listeners.append(self._forget)

    async def create(self, user_id: int, name: str) -> tuple[str, ApiKeyRecord]:
        name = check_text(name, "name", max_chars=MAX_NAME_CHARS, allow_empty=False).strip()
        if not name:
            raise BadUserInput("give the key a name", reason="api_key_name")
        if await ApiKey.filter(user_id=user_id, revoked_at=None).count() >= MAX_KEYS_PER_USER:
            raise RateLimited(
                f"you have {MAX_KEYS_PER_USER} keys; revoke one first",
                retry_after=1,
                reason="too_many_api_keys",
                limit=MAX_KEYS_PER_USER,
            )
        secret = PREFIX + secrets.token_urlsafe(SECRET_BYTES)
        key = await ApiKey.create(user_id=user_id, name=name, key_hash=digest(secret))
        return secret, _record(key)

    async def list(self, user_id: int) -> list[ApiKeyRecord]:
        """The user's keys not revoked, newest first."""
        keys = await ApiKey.filter(user_id=user_id, revoked_at=None).order_by("-id")
        records = []
        for key in keys:
            used = self._used.get(key.id)
            if used is not None and (key.last_used_at is None or used > key.last_used_at):
                key.last_used_at = used
            records.append(_record(key))
        return records

    async def revoke(self, user_id: int, key_id: str) -> None:
        """End one of the user's own keys for good; another user's is NOT_FOUND."""
        number = parse_id(key_id)
        if number is None:
            raise NotFound("API key")
        updated = await ApiKey.filter(id=number, user_id=user_id, revoked_at=None).update(
            revoked_at=datetime.now(UTC)
        )
        if not updated:
            raise NotFound("API key")
        await self._announce(number)

    async def suspend_user(self, user_id: int) -> None:
        """A disabled user: their keys stop on every process at once (they work again if
        the account is enabled again)."""
        for row in await ApiKey.filter(user_id=user_id, revoked_at=None).values("id"):
            await self._announce(int(row["id"]), keep=2 * CACHE_SECONDS)

    async def reload_user(self, user_id: int) -> None:
        """Every process reads the user's keys from the database again on their next use
        (an admin reset their password), without refusing them meanwhile."""
        announced = f"{RELOAD_PREFIX}{user_id}:{secrets.token_hex(8)}"
        expires_at = time.time() + 2 * CACHE_SECONDS
        self.accounts.revoked.add(announced, expires_at)
        try:
            await self.accounts.broker.announce_revocation(announced, expires_at)
        except Exception:
            # The others read the keys again within CACHE_SECONDS.
            log.warning("could not announce a password reset to the API keys", exc_info=True)

    async def _announce(self, key_id: int, keep: float = REVOKED_KEEP_SECONDS) -> None:
        jti = key_jti(key_id)
        expires_at = time.time() + keep
        self.accounts.revoked.add(jti, expires_at)
        try:
            await self.accounts.broker.announce_revocation(jti, expires_at)
        except Exception:
            # The others re-read revocations from the database each second.
            log.warning("could not announce a revoked API key", exc_info=True)

    def _forget(self, jti: str) -> None:
        if jti.startswith(RELOAD_PREFIX):
            user_id = int(jti[len(RELOAD_PREFIX) :].split(":")[0])
            for hashed in [h for h, cached in self._cache.items() if cached.user_id == user_id]:
                del self._cache[hashed]
            return
        if not jti.startswith(JTI_PREFIX):
            return
        key_id = int(jti[len(JTI_PREFIX) :])
        now = time.monotonic()
        for hashed in [h for h, cached in self._cache.items() if cached.key_id == key_id]:
            del self._cache[hashed]
            if len(self._refused) >= KEYS_KEPT:
                self._refused.pop(next(iter(self._refused)))
            self._refused[hashed] = now + CACHE_SECONDS

    async def load(self, secret: str, address: str = "unknown") -> None:
        """Read a key from the database unless it is in memory and fresh (before
        `authenticate`, which cannot wait); RATE_LIMITED for an address that has tried too
        many keys that exist nowhere."""
        hashed = digest(secret)
        now = time.monotonic()
        cached = self._cache.get(hashed)
        if (
            cached is not None
            and now - cached.loaded_at < CACHE_SECONDS
            and not cached.password_change_required
        ):
            return
        refused_until = self._refused.get(hashed)
        if refused_until is not None:
            if now < refused_until:
                return
            del self._refused[hashed]
        loading = self._loading.get(hashed)
        if loading is not None:
            await asyncio.shield(loading)
            return
        future = self._loading[hashed] = asyncio.get_running_loop().create_future()
        try:
            await self._read(hashed, address)
        finally:
            del self._loading[hashed]
            future.set_result(None)

    async def _read(self, hashed: str, address: str) -> None:
        try:
            ticket = await self._misses.admit(address_key(address), self._misses_per_minute)
        except LimitReached as full:
            raise RateLimited(
                "too many wrong API keys were tried from your address; try again later",
                retry_after=full.retry_after,
                reason="too_many_api_key_misses",
            ) from None
        self._cache.pop(hashed, None)
        found = await ApiKey.filter(
            key_hash=hashed, revoked_at=None, user__disabled_at=None
        ).values_list("id", "user_id", "user__password_change_required")
        if not found:
            return
        key_id, user_id, password_change_required = found[0]
        await self._misses.release(ticket)
        if key_jti(key_id) in self.accounts.revoked:
            return
        if len(self._cache) >= KEYS_KEPT:
            self._cache.pop(next(iter(self._cache)))
        self._cache[hashed] = _Cached(
            key_id, user_id, time.monotonic(), bool(password_change_required)
        )

    def authenticate(self, secret: str) -> TokenClaims:
        """The claims a loaded key acts under; InvalidToken for any other."""
        cached = self._cache.get(digest(secret))
        if cached is None or key_jti(cached.key_id) in self.accounts.revoked:
            raise InvalidToken("unknown or revoked API key")
        self._used[cached.key_id] = datetime.now(UTC)
        now = int(time.time())
        return TokenClaims(
            user_id=cached.user_id,
            jti=key_jti(cached.key_id),
            issued_at=now,
            expires_at=now + int(REVOKED_KEEP_SECONDS),
            api_key_id=cached.key_id,
            password_change_required=cached.password_change_required,
        )

    async def watch(self) -> None:
        """For as long as the process runs: learn of keys revoked elsewhere (each second)
        and write when keys were last used (every few seconds)."""
        flushed_at = time.monotonic()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.refresh()
                if time.monotonic() - flushed_at >= LAST_USED_FLUSH_SECONDS:
                    await self.flush_last_used()
                    flushed_at = time.monotonic()
            except Exception:
                log.warning("could not refresh the API keys", exc_info=True)

    async def refresh(self) -> None:
        now = datetime.now(UTC)
        since = self._seen_until - timedelta(seconds=5)
        for row in await ApiKey.filter(revoked_at__gte=since).values("id"):
            jti = key_jti(int(row["id"]))
            if jti not in self.accounts.revoked:
                self.accounts.revoked.add(jti, time.time() + REVOKED_KEEP_SECONDS)
        self._seen_until = now

    async def flush_last_used(self) -> None:
        used, self._used = self._used, {}
        for key_id, when in used.items():
            await ApiKey.filter(id=key_id).update(last_used_at=when)
