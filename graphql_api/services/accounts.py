"""Accounts: sign-up, login with throttling, logout, and the revoked-token registry.

accounts = Accounts(settings)
user, token, claims = await accounts.login("alice", "correct horse", address="10.0.0.7")
user_id = accounts.authenticate(token)      # no database round trip
await accounts.logout(claims)               # the token stops working at once
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from graphql_api import security
from graphql_api.errors import BadUserInput, RateLimited, Unauthenticated
from graphql_api.models import Session, User
from graphql_api.security import InvalidToken, TokenClaims
from graphql_api.services.broker import Broker
from graphql_api.services.limits import SlidingWindow
from graphql_api.services.text import check_text
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
# Failed logins after the first are answered this much slower, doubling, up to the cap.
FIRST_FAILURE_DELAY = 0.25
MAX_FAILURE_DELAY = 2.0
# How often each process re-reads revocations made by other processes (logout elsewhere,
# a password reset from the command line).
REVOCATION_POLL_SECONDS = 1.0


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: the same on SQLite as under MariaDB's collation."""
    return unicodedata.normalize("NFKC", username).strip().lower()


def validate_credentials(username: str, password: str) -> str:
    check_text(password, "password", max_chars=MAX_PASSWORD_CHARS)
    name = normalize_username(check_text(username, "username", max_chars=256))
    if not USERNAME_PATTERN.fullmatch(name):
        raise BadUserInput(
            "username must be 3 to 64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise BadUserInput(
            f"password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )
    return name


class RevokedTokens:
    """The `jti`s of revoked, unexpired tokens, kept in memory so checks cost no query."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._seen_until = datetime.fromtimestamp(0, UTC)

    def __contains__(self, jti: str) -> bool:
        return jti in self._expiry

    def add(self, jti: str, expires_at: float) -> None:
        self._expiry[jti] = expires_at

    async def refresh(self) -> None:
        """Load revocations made since the last refresh (by any process)."""
        now = datetime.now(UTC)
        # Overlap the previous read a little: a row committed late must not be missed.
        since = self._seen_until - timedelta(seconds=5)
        rows = await Session.filter(revoked_at__gte=since, expires_at__gt=now).values_list(
            "jti", "expires_at"
        )
        for jti, expires_at in rows:
            self._expiry[jti] = expires_at.timestamp()
        self._seen_until = now
        cutoff = now.timestamp()
        for jti in [jti for jti, expiry in self._expiry.items() if expiry <= cutoff]:
            del self._expiry[jti]

    async def poll(self) -> None:
        """Refresh forever; run as a background task."""
        while True:
            await asyncio.sleep(REVOCATION_POLL_SECONDS)
            try:
                await self.refresh()
            except Exception:
                log.warning("could not refresh revoked tokens", exc_info=True)


class Accounts:
    def __init__(self, settings: Settings, broker: Broker | None = None) -> None:
        self.settings = settings
        self.broker = broker or Broker()
        self.revoked = RevokedTokens()
        self._failures = SlidingWindow(window=settings.login_lockout_seconds)
        self._address_failures = SlidingWindow(window=settings.login_lockout_seconds)
        # One hash at a time: each already uses several threads (argon2's parallelism), and a
        # burst of logins must not take every core from the answers being streamed.
        self._hashing = asyncio.Semaphore(1)

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await security.hash_password(password)

    async def _verify(self, digest: str | None, password: str) -> bool:
        async with self._hashing:
            return await security.verify_password(digest, password)

    async def register(self, username: str, password: str) -> tuple[User, str, TokenClaims]:
        if not self.settings.allow_signup:
            raise BadUserInput("sign-up is disabled on this server")
        user = await self.create_user(username, password)
        token, claims = await self._open_session(user)
        return user, token, claims

    async def create_user(self, username: str, password: str) -> User:
        name = validate_credentials(username, password)
        digest = await self._hash(password)
        try:
            return await User.create(username=name, password_hash=digest)
        except IntegrityError:
            raise BadUserInput("that username is taken") from None

    async def login(
        self, username: str, password: str, address: str = "unknown"
    ) -> tuple[User, str, TokenClaims]:
        """Failed logins are counted per account and per client address; past either limit
        the answer is RATE_LIMITED, even for the right password."""
        check_text(password, "password", max_chars=MAX_PASSWORD_CHARS)
        name = normalize_username(check_text(username, "username", max_chars=256))[:64]
        wait = max(
            self._failures.retry_after(name, self.settings.login_max_failures),
            self._address_failures.retry_after(
                address, self.settings.login_max_failures_per_address
            ),
        )
        if wait > 0:
            raise RateLimited("too many failed logins; try again later", retry_after=wait)
        user = await User.get_or_none(username=name)
        ok = await self._verify(user.password_hash if user else None, password)
        if not ok or user is None:
            self._address_failures.hit(address)
            failures = self._failures.hit(name)
            if failures >= 2:
                await asyncio.sleep(
                    min(FIRST_FAILURE_DELAY * 2 ** (failures - 2), MAX_FAILURE_DELAY)
                )
            raise Unauthenticated("wrong username or password")
        self._failures.reset(name)
        token, claims = await self._open_session(user)
        return user, token, claims

    async def _open_session(self, user: User) -> tuple[str, TokenClaims]:
        token, claims = security.issue_token(user.id, self.settings)
        await Session.create(
            jti=claims.jti,
            user_id=user.id,
            expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        )
        return token, claims

    def authenticate(self, token: str) -> TokenClaims:
        claims = security.decode_token(token, self.settings)
        if claims.jti in self.revoked:
            raise InvalidToken("token revoked")
        return claims

    async def logout(self, claims: TokenClaims) -> None:
        self.revoked.add(claims.jti, claims.expires_at)
        await Session.filter(jti=claims.jti).update(revoked_at=datetime.now(UTC))
        await self.broker.announce_revocation(claims.jti, claims.expires_at)

    async def set_password(self, username: str, password: str) -> User:
        """Reset a password (command line) and revoke every session of that user."""
        name = normalize_username(username)
        validate_credentials(name, password)
        user = await User.get_or_none(username=name)
        if user is None:
            raise BadUserInput(f"no user named {name!r}")
        user.password_hash = await self._hash(password)
        await user.save(update_fields=["password_hash"])
        await Session.filter(user_id=user.id, revoked_at=None).update(revoked_at=datetime.now(UTC))
        return user
