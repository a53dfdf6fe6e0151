"""The endpoint's JSON: orjson, and `json` for what orjson refuses."""

from __future__ import annotations

import json

from graphql_api.schema import build_schema
from graphql_api.schema.view import GraphQLView
from tests.unit.graphql_api.conftest import unit_settings


def view(max_response_bytes: int = 1 << 20) -> GraphQLView:
    return GraphQLView(build_schema(unit_settings()), max_response_bytes=max_response_bytes)


def test_an_integer_past_64_bits_echoed_in_an_error_is_still_encoded() -> None:
    data = {"errors": [{"message": "too big", "extensions": {"given": 10**40}}]}
    assert json.loads(view().encode_json(data)) == data


def test_text_is_sent_as_utf_8_and_the_limit_counts_bytes() -> None:
    data = {"data": {"body": "é" * 10}}
    assert view().encode_json(data) == '{"data":{"body":"' + "é" * 10 + '"}}'
    refused = json.loads(view(max_response_bytes=30).encode_json(data))
    assert refused["errors"][0]["extensions"]["reason"] == "response_too_large"
