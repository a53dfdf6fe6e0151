"""Single sign-on with an OpenID Connect provider: the authorization code flow with PKCE.

    sign_on = SingleSignOn(settings, accounts)          # settings.oidc_issuer is set
    url, flow = await sign_on.start()                   # redirect there; `flow` in a cookie
    user, token, claims = await sign_on.finish(flow, request.query_params, client)
    await sign_on.aclose()

`start` draws a `state`, a `nonce` and a PKCE verifier, and keeps them in `flow`, a value
signed with the API's secret that lives ten minutes in a cookie of the browser that started:
a callback from any other browser, or with another state, is refused before the code is
exchanged. `finish` exchanges the code (with the verifier) at the provider's token endpoint
and accepts the ID token only when its signature verifies against the provider's JWKS (no
`none`, no shared-secret algorithms), and its issuer, audience, expiry and nonce are right.

People are found by issuer and `sub` (the `identities` table), never by e-mail or name: a
first sign-in creates a new account (when sign-up is allowed) whose username is derived from
what the provider says but never equal to an existing one, so no one can claim an account by
choosing its name or address at their provider.
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
import secrets
import time
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as jose_jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from graphql_api.errors import BadUserInput, ServiceUnavailable, Unauthenticated
from graphql_api.models import Identity, User
from graphql_api.records import UserRecord
from graphql_api.security import TokenClaims
from graphql_api.services.accounts import USERNAME_PATTERN, Accounts, ClientInfo, normalize_username
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

FLOW_SECONDS = 600
FLOW_AUDIENCE = "oidc-flow"
# Algorithms whose keys a JWKS publishes: `none` and the HS family (keyed with the client
# secret, which this side also holds) are never accepted for an ID token.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# Clocks of the provider and of this server may differ this much.
CLOCK_LEEWAY_SECONDS = 60
# A key id the JWKS lacks makes it read again (the provider rotated its keys), at most this often.
JWKS_REFRESH_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 10
USERNAME_TRIES = 10

EXPIRED = "the sign-in expired or was started in another browser; try again"
FAILED = "the sign-in could not be completed; try again"


def _refused(reason: str, message: str = FAILED) -> Unauthenticated:
    return Unauthenticated(message, reason=reason)


class SingleSignOn:
    def __init__(self, settings: Settings, accounts: Accounts) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("single sign-on needs OIDC_ISSUER and OIDC_CLIENT_ID")
        self.settings = settings
        self.accounts = accounts
        self.issuer: str = settings.oidc_issuer
        self.client_id: str = settings.oidc_client_id
        self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_read_at = 0.0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def start(self) -> tuple[str, str]:
        """The provider's authorization URL to send the browser to, and the flow to keep in
        its cookie until the callback."""
        metadata = await self._discover()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 wants 43 to 128
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=self.client_id,
            response_type="code",
            redirect_uri=self.settings.oidc_redirect_uri,
            scope=self.settings.oidc_scopes,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        flow = jwt.encode(
            {
                "state": state,
                "nonce": nonce,
                "verifier": verifier,
                "aud": FLOW_AUDIENCE,
                "exp": int(time.time()) + FLOW_SECONDS,
            },
            self.settings.jwt_secret,
            algorithm="HS256",
        )
        return str(url), flow

    async def finish(
        self, flow: str | None, params: Mapping[str, str], client: ClientInfo
    ) -> tuple[UserRecord, str, TokenClaims]:
        """The account the provider vouched for, signed in with a new session (as short as a
        kept sign-in's: the browser stays signed in through its refresh cookie)."""
        started = self._read_flow(flow)
        if not hmac.compare_digest(params.get("state", "").encode(), started["state"].encode()):
            raise _refused("sso_state_mismatch", EXPIRED)
        # RFC 9207: a provider that names itself in its answer must be ours.
        if "iss" in params and params["iss"] != self.issuer:
            raise _refused("sso_failed")
        error = params.get("error")
        if error:
            log.info("the provider refused a sign-in: %s", error[:100])
            raise _refused("sso_refused", "the sign-in was cancelled or refused by the provider")
        code = params.get("code")
        if not code:
            raise _refused("sso_failed")
        tokens = await self._exchange(code, started["verifier"])
        id_claims = await self._verify_id_token(tokens, started["nonce"])
        user = await self._account_for(id_claims)
        token, claims = await self.accounts.open_session(
            user.id, self.settings.refresh_access_ttl_seconds, client
        )
        return user, token, claims

    def _read_flow(self, flow: str | None) -> dict[str, str]:
        if not flow:
            raise _refused("sso_expired", EXPIRED)
        try:
            started: dict[str, str] = jwt.decode(
                flow,
                self.settings.jwt_secret,
                algorithms=["HS256"],
                audience=FLOW_AUDIENCE,
                options={"require": ["exp", "aud", "state", "nonce", "verifier"]},
            )
        except jwt.PyJWTError:
            raise _refused("sso_expired", EXPIRED) from None
        return started

    async def _discover(self) -> dict[str, Any]:
        """The provider's discovery document, read once; its issuer must be ours exactly."""
        if self._metadata is not None:
            return self._metadata
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            reply = await self._http.get(url)
            reply.raise_for_status()
            metadata = reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("could not read the OpenID provider's discovery document: %s", exc)
            raise ServiceUnavailable(
                "the single sign-on provider cannot be reached; try again later",
                reason="sso_unavailable",
            ) from None
        required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(metadata, dict) or not all(
            isinstance(metadata.get(key), str) for key in required
        ):
            log.error("the OpenID provider's discovery document lacks %s", ", ".join(required))
            raise ServiceUnavailable("single sign-on is misconfigured", reason="sso_unavailable")
        if metadata["issuer"] != self.issuer:
            # OpenID Connect Discovery 4.3: a document naming another issuer is not this one's.
            log.error(
                "OIDC_ISSUER is %r but the provider's document says %r",
                self.issuer,
                metadata["issuer"],
            )
            raise ServiceUnavailable("single sign-on is misconfigured", reason="sso_unavailable")
        self._metadata = metadata
        return metadata

    async def _exchange(self, code: str, verifier: str) -> dict[str, Any]:
        metadata = await self._discover()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.settings.oidc_redirect_uri,
            "code_verifier": verifier,
        }
        secret = self.settings.oidc_client_secret
        headers = {"accept": "application/json"}
        if secret:
            # RFC 6749 2.3.1: both form-encoded before they go into the Basic header.
            pair = f"{quote(self.client_id, safe='')}:{quote(secret, safe='')}"
            headers["authorization"] = f"Basic {base64.b64encode(pair.encode()).decode()}"
        else:
            form["client_id"] = self.client_id
        try:
            reply = await self._http.post(metadata["token_endpoint"], data=form, headers=headers)
            tokens = reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("the OpenID provider's token endpoint failed: %s", exc)
            raise _refused("sso_failed") from None
        if reply.status_code != 200 or not isinstance(tokens, dict):
            error = tokens.get("error") if isinstance(tokens, dict) else None
            log.warning("the OpenID provider refused the code: %s %s", reply.status_code, error)
            raise _refused("sso_failed")
        return tokens

    async def _verify_id_token(self, tokens: dict[str, Any], nonce: str) -> dict[str, Any]:
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            log.warning("the OpenID provider's token response has no id_token")
            raise _refused("sso_failed")
        metadata = await self._discover()
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = sorted(SIGNING_ALGORITHMS.intersection(offered))
        if not algorithms:
            log.error("the OpenID provider signs ID tokens with none of %s", offered)
            raise _refused("sso_failed")
        try:
            try:
                decoded = jose_jwt.decode(id_token, await self._jwks(), algorithms=algorithms)
            except InvalidKeyIdError:
                decoded = jose_jwt.decode(
                    id_token, await self._jwks(refresh=True), algorithms=algorithms
                )
            access_token = tokens.get("access_token")
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": self.issuer},
                    "aud": {"essential": True, "value": self.client_id},
                    "sub": {"essential": True},
                    "exp": {"essential": True},
                    "iat": {"essential": True},
                    "nonce": {"essential": True},
                },
                {
                    "nonce": nonce,
                    "client_id": self.client_id,
                    **({"access_token": access_token} if isinstance(access_token, str) else {}),
                },
            )
            claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            log.warning("an ID token was refused: %s", type(exc).__name__)
            raise _refused("sso_failed") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 255:
            raise _refused("sso_failed")
        return dict(claims)

    async def _jwks(self, refresh: bool = False) -> KeySet:
        now = time.monotonic()
        if self._keys is not None and not (
            refresh and now - self._keys_read_at > JWKS_REFRESH_SECONDS
        ):
            return self._keys
        metadata = await self._discover()
        try:
            reply = await self._http.get(metadata["jwks_uri"])
            reply.raise_for_status()
            self._keys = KeySet.import_key_set(reply.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            log.warning("could not read the OpenID provider's keys: %s", exc)
            raise _refused("sso_failed") from None
        self._keys_read_at = now
        return self._keys

    async def _account_for(self, claims: dict[str, Any]) -> UserRecord:
        """The account linked to this issuer and subject; a new one on a first sign-in."""
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        for _attempt in range(USERNAME_TRIES):
            identity = await Identity.get_or_none(
                issuer=self.issuer, subject=claims["sub"]
            ).select_related("user")
            if identity is not None:
                identity.last_login_at = datetime.now(UTC)
                identity.email = email[:320] if email else None
                await identity.save(update_fields=["last_login_at", "email"])
                return UserRecord.from_model(identity.user)
            if not self.settings.allow_signup:
                raise BadUserInput(
                    "there is no account for you here, and this server does not create "
                    "accounts at sign-in: ask its administrator for one",
                    reason="signup_disabled",
                )
            # Nobody knows this password: the account signs in through its provider only.
            digest = await self.accounts.hash_password(secrets.token_urlsafe(32))
            username = await _free_username(_username_from(claims))
            try:
                async with in_transaction():
                    user = await User.create(username=username, password_hash=digest)
                    await Identity.create(
                        user_id=user.id,
                        issuer=self.issuer,
                        subject=claims["sub"],
                        email=email[:320] if email else None,
                        last_login_at=datetime.now(UTC),
                    )
            except IntegrityError:
                # The name was taken meanwhile, or this person's first sign-in ran twice at
                # once: look again.
                continue
            log.info("a first single sign-on created the account %s", username)
            return UserRecord.from_model(user)
        raise _refused("sso_failed")


def _username_from(claims: dict[str, Any]) -> str:
    """A username like the one the person has at the provider (a suggestion only)."""
    email = claims.get("email")
    local_part = email.split("@", 1)[0] if isinstance(email, str) else None
    for suggestion in (claims.get("preferred_username"), local_part, claims.get("name")):
        if not isinstance(suggestion, str):
            continue
        # Accents dropped (Zoë: zoe), anything else a name cannot hold made a hyphen.
        decomposed = unicodedata.normalize("NFKD", normalize_username(suggestion[:256]))
        plain = "".join(char for char in decomposed if not unicodedata.combining(char))
        name = re.sub(r"[^a-z0-9_.-]+", "-", plain)
        name = name.strip("-_.")[:56]
        if USERNAME_PATTERN.fullmatch(name):
            return name
    return "user"


async def _free_username(base: str) -> str:
    """`base`, or `base-2`, `base-3`...: never a name an account already has."""
    for number in range(1, USERNAME_TRIES):
        candidate = base if number == 1 else f"{base}-{number}"
        if not await User.filter(username=candidate).exists():
            return candidate
    return f"{base}-{secrets.token_hex(4)}"


async def link_identity(username: str, issuer: str, subject: str) -> UserRecord:
    """Let an existing account sign in through a provider (the command line's
    `users link-identity`): the person `subject` at `issuer` is then this account. Refused when
    that person is another account's already; linking twice is no change."""
    user = await User.get_or_none(username=normalize_username(username))
    if user is None:
        raise BadUserInput(f"no user named {username!r}")
    if not subject or len(subject) > 255 or not issuer or len(issuer) > 255:
        raise BadUserInput("the issuer and the subject must be 1 to 255 characters")
    existing = await Identity.get_or_none(issuer=issuer, subject=subject)
    if existing is not None and existing.user_id != user.id:
        raise BadUserInput("that identity is linked to another account already")
    if existing is None:
        try:
            await Identity.create(user_id=user.id, issuer=issuer, subject=subject)
        except IntegrityError:
            raise BadUserInput("that identity is linked to another account already") from None
    return UserRecord.from_model(user)
