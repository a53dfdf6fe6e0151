"""The gateway's errors: one class per kind, OpenAI's shape, and what an upstream status
becomes."""

from __future__ import annotations

import json

import pytest

from llm_gateway.errors import (
    BodyTooLarge,
    ConnectTimeout,
    GatewayError,
    ModelNotFound,
    RateLimited,
    UpstreamFailed,
    UpstreamOverloaded,
    UpstreamRefused,
    UpstreamUnavailable,
    from_upstream_status,
)


@pytest.mark.parametrize(
    ("status", "kind", "code", "gateway_status", "retryable", "upstream_fault"),
    [
        (429, UpstreamOverloaded, "upstream_overloaded", 429, True, False),
        (503, UpstreamUnavailable, "upstream_unavailable", 503, True, True),
        (500, UpstreamFailed, "upstream_500", 502, False, True),
        (424, UpstreamRefused, "upstream_424", 424, False, False),
        (401, UpstreamRefused, "upstream_401", 401, False, False),
    ],
)
def test_an_upstream_status_becomes_its_own_kind_of_error(
    status: int,
    kind: type[GatewayError],
    code: str,
    gateway_status: int,
    retryable: bool,
    upstream_fault: bool,
) -> None:
    error = from_upstream_status(status, "no")
    assert type(error) is kind
    assert (error.code, error.status, error.retryable, error.upstream_fault) == (
        code,
        gateway_status,
        retryable,
        upstream_fault,
    )


def test_errors_speak_openais_shape() -> None:
    error = ModelNotFound("the model 'x' does not exist")
    assert json.loads(error.body()) == {
        "error": {
            "message": "the model 'x' does not exist",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    assert error.status == 404
    assert error.event().endswith(b"data: [DONE]\n\n")


def test_kinds_keep_their_status_with_another_code() -> None:
    assert (RateLimited("", code="queue_timeout").status, BodyTooLarge("").status) == (429, 413)
    assert ConnectTimeout("").retryable
    assert ConnectTimeout("").code == "connect_timeout"
