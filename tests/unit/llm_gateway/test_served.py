"""Routing a request to a model by the name it gives, in-process."""

from __future__ import annotations

import pytest

from llm_gateway.errors import ModelNotFound
from llm_gateway.metrics import GatewayMetrics
from llm_gateway.models import ModelConfig
from llm_gateway.served import Catalog, ServedModel


def catalog(*configs: ModelConfig) -> Catalog:
    metrics = GatewayMetrics()
    return Catalog([ServedModel(config, metrics) for config in configs])


BIG = ModelConfig(
    name="big", backend="vllm", base_urls=("http://a/v1",), upstream_model="org/Big-8B"
)
SMALL = ModelConfig(name="small", backend="tgi", base_urls=("http://b",))


def test_a_request_goes_to_the_model_it_names_or_the_first() -> None:
    models = catalog(BIG, SMALL)
    assert models.route("small").config is SMALL
    assert models.route(None).config is BIG
    assert models.route("org/Big-8B").config is BIG  # its upstream's own name too


def test_an_unknown_name_is_model_not_found_naming_the_models() -> None:
    with pytest.raises(ModelNotFound, match="'gpt-4o' does not exist; the models are: big, small"):
        catalog(BIG, SMALL).route("gpt-4o")


def test_the_one_model_shortcut_takes_any_name() -> None:
    shortcut = ModelConfig(name=None, backend="vllm", base_urls=("http://a/v1",), catch_all=True)
    assert catalog(shortcut).route("whatever").config is shortcut
    with pytest.raises(ModelNotFound):
        catalog(BIG).route("whatever")


def test_a_model_is_available_while_an_upstream_is_in_rotation() -> None:
    two = ModelConfig(name="two", backend="vllm", base_urls=("http://a/v1", "http://b/v1"))
    [model] = catalog(two).models
    first, second = model.pool.upstreams
    for _ in range(two.upstream.failures_to_eject):
        model.pool.failed(first)
    assert model.available
    for _ in range(two.upstream.failures_to_eject):
        model.pool.failed(second)
    assert not model.available
