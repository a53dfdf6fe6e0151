"""An OpenID Connect provider on loopback, speaking the standard: discovery, JWKS (a real
RSA key), the authorization endpoint (which signs in whoever the test says, at once) and the
token endpoint (codes used once, PKCE S256 checked, client authenticated), RS256 ID tokens.

    with OIDCProviderStandin(client_id="chat", client_secret="s3cret") as provider:
        provider.redirect_uris.add("http://127.0.0.1:8000/auth/oidc/callback")
        provider.person = Person(sub="u-1", email="ana@example.com", preferred_username="ana")
        provider.forge_next(Forgery(claims={"aud": "someone-else"}))   # the next ID token
        provider.issued                    # every ID token's claims, in order
        provider.authorizations            # the query of every authorization request

A `Forgery` changes the next ID token the way an attacker (or a broken provider) would:
other claims, claims removed, or another signer: `"stranger"` (an RSA key the JWKS does not
publish, under the same key id), `"none"` (unsigned) or `"hs256"` (keyed with the client
secret).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode

from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.standins.server import Standin

KEY_ID = "standin-key-1"
# Long enough to key HS256 (the "hs256" forgery).
SECRET = "standin-client-secret-" + "s" * 32


@dataclass
class Person:
    """Who the provider says signed in."""

    sub: str = "person-1"
    email: str | None = "person@example.com"
    email_verified: bool = True
    preferred_username: str | None = "person"
    name: str | None = "A Person"


@dataclass
class Forgery:
    claims: dict[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    signer: Literal["own", "stranger", "none", "hs256"] = "own"


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    person: Person
    used: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OIDCProviderStandin(Standin):
    def __init__(self, *, client_id: str = "chat", client_secret: str = SECRET) -> None:
        super().__init__(model="oidc-provider")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris: set[str] = set()
        self.person = Person()
        self.key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig"})
        self.stranger_key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig"})
        self.id_token_ttl = 300
        # What the discovery document calls the issuer (a test may make it lie).
        self.issuer_override: str | None = None
        # What the discovery document says ID tokens are signed with.
        self.signing_algorithms = ["RS256"]
        self.issued: list[dict[str, Any]] = []
        self.authorizations: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self._grants: dict[str, _Grant] = {}
        self._forgeries: list[Forgery] = []

    @property
    def issuer(self) -> str:
        return self.url

    def forge_next(self, forgery: Forgery) -> None:
        self._forgeries.append(forgery)

    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    async def _discovery(self, request: Request) -> Response:
        base = self.url
        return JSONResponse(
            {
                "issuer": self.issuer_override or self.issuer,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": self.signing_algorithms,
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["openid", "email", "profile"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.authorizations.append(query)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            # Never redirect to an unregistered address (RFC 6749 4.1.2.1).
            return PlainTextResponse("unknown client or redirect_uri", status_code=400)
        if (
            query.get("response_type") != "code"
            or "openid" not in query.get("scope", "").split()
            or query.get("code_challenge_method") != "S256"
            or not query.get("code_challenge")
        ):
            error = {"error": "invalid_request", "state": query.get("state", "")}
            return RedirectResponse(f"{redirect_uri}?{urlencode(error)}", status_code=302)
        code = secrets.token_urlsafe(24)
        self._grants[code] = _Grant(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            challenge=query["code_challenge"],
            nonce=query.get("nonce"),
            person=self.person,
        )
        answer = {"code": code, "state": query.get("state", "")}
        return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)

    def _client_authenticated(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (unquote(user), unquote(password)) == (self.client_id, self.client_secret)

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        self.token_requests.append(form)
        if not self._client_authenticated(request):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self._grants.get(form.get("code", ""))
        if grant is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if grant.used:
            return JSONResponse({"error": "invalid_grant", "error_description": "code reused"}, 400)
        grant.used = True
        verifier = form.get("code_verifier", "")
        if _b64(hashlib.sha256(verifier.encode()).digest()) != grant.challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access_token = secrets.token_urlsafe(24)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": self._id_token(grant),
            },
            headers={"cache-control": "no-store"},
        )

    def _id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        person = grant.person
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": person.sub,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + self.id_token_ttl,
            "auth_time": now,
            "email": person.email,
            "email_verified": person.email_verified,
            "preferred_username": person.preferred_username,
            "name": person.name,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims = {key: value for key, value in claims.items() if value is not None}
        forgery = self._forgeries.pop(0) if self._forgeries else Forgery()
        claims.update(forgery.claims)
        for name in forgery.remove:
            claims.pop(name, None)
        self.issued.append(claims)
        if forgery.signer == "none":
            header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            return f"{header}.{_b64(json.dumps(claims).encode())}."
        if forgery.signer == "hs256":
            secret = OctKey.import_key(self.client_secret.encode())
            return jwt.encode({"alg": "HS256", "kid": KEY_ID}, claims, secret)
        key = self.stranger_key if forgery.signer == "stranger" else self.key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)
