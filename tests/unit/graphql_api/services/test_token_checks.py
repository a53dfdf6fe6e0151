"""Tokens: a signature verified once is remembered, its expiry and revocation are not."""

from __future__ import annotations

import time

import jwt
import pytest

from graphql_api import security
from graphql_api.security import InvalidToken
from graphql_api.services.accounts import VERIFIED_TOKENS_KEPT, Accounts
from tests.unit.graphql_api.conftest import unit_settings


def test_a_remembered_token_still_expires() -> None:
    settings = unit_settings()
    accounts = Accounts(settings)
    token, claims = security.issue_token(7, settings, ttl_seconds=1)
    assert accounts.authenticate(token) == claims  # verified, and remembered
    time.sleep(max(0.0, claims.expires_at - time.time()) + 0.05)
    with pytest.raises(InvalidToken):
        accounts.authenticate(token)


def test_a_remembered_token_is_still_refused_once_revoked() -> None:
    settings = unit_settings()
    accounts = Accounts(settings)
    token, claims = security.issue_token(7, settings)
    assert accounts.authenticate(token) == claims
    accounts.revoked.add(claims.jti, claims.expires_at)
    with pytest.raises(InvalidToken):
        accounts.authenticate(token)


def test_a_forged_token_is_never_remembered() -> None:
    settings = unit_settings()
    accounts = Accounts(settings)
    forged = jwt.encode(
        {"sub": "1", "jti": "x", "iat": 1, "exp": 2**40}, "not the secret of this server, " * 2
    )
    for _ in range(2):
        with pytest.raises(InvalidToken):
            accounts.authenticate(forged)


def test_the_remembered_tokens_are_bounded() -> None:
    settings = unit_settings()
    accounts = Accounts(settings)
    first, _ = security.issue_token(1, settings)
    accounts.authenticate(first)
    for user in range(VERIFIED_TOKENS_KEPT):
        accounts.authenticate(security.issue_token(user + 2, settings)[0])
    assert len(accounts._verified) == VERIFIED_TOKENS_KEPT
    assert first not in accounts._verified
