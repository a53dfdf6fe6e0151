"""The Kubernetes manifests (deploy/kubernetes): every overlay built with `kubectl kustomize`,
validated against Kubernetes' own schemas offline (kubernetes-validate), and read for the
rules the deployment promises: probes, resources, no secret in a manifest, network
policies whose selectors match real pods and let in only the callers named."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from graphql_api.settings import Settings
from llm_gateway.settings import GatewaySettings
from tests.deploy.test_compose import SECRET_NAME

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(path.name for path in (KUBERNETES / "overlays").iterdir() if path.is_dir())
MODEL_SERVERS = {"vllm": "vllm", "tgi": "tgi"}
KUBERNETES_VERSION = "1.32"
WORKLOADS = {"Deployment", "StatefulSet"}
OURS = {"graphql-api": Settings, "llm-gateway": GatewaySettings}
SECRET_VALUE = re.compile(r"(password|secret|token)[^/]*@|://[^/:@]+:[^/@]+@", re.IGNORECASE)


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is not installed and CI is set")
        pytest.skip("kubectl is not installed")
    return found


@cache
def build(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(KUBERNETES / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    )
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    [found] = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    return found


def workloads(docs: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] in WORKLOADS]


def containers(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    for workload in workloads(docs):
        spec = workload["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield workload["metadata"]["name"], container


def pod_labels(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, str]]:
    """Each workload's name and the labels of its pods."""
    return {
        workload["metadata"]["name"]: workload["spec"]["template"]["metadata"]["labels"]
        for workload in workloads(docs)
    }


def selected(docs: tuple[dict[str, Any], ...], selector: dict[str, Any]) -> set[str]:
    """The workloads whose pods a label selector (matchLabels only) picks."""
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors are read here"
    wanted = selector.get("matchLabels", {})
    return {
        name
        for name, labels in pod_labels(docs).items()
        if all(labels.get(key) == value for key, value in wanted.items())
    }


def callers(docs: tuple[dict[str, Any], ...], target: str) -> set[str] | None:
    """Who the network policies let reach `target`: workload names, or None for anyone."""
    allowed: set[str] = set()
    for policy in of_kind(docs, "NetworkPolicy"):
        if target not in selected(docs, policy["spec"]["podSelector"]):
            continue
        for rule in policy["spec"].get("ingress", []):
            if "from" not in rule:
                return None
            for source in rule["from"]:
                assert set(source) == {"podSelector"}, source
                allowed |= selected(docs, source["podSelector"])
    return allowed


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_there_is_an_overlay_for_vllm_and_for_tgi() -> None:
    assert sorted(MODEL_SERVERS) == OVERLAYS


def test_every_overlay_builds_and_is_valid_against_the_kubernetes_schemas(overlay: str) -> None:
    docs = build(overlay)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_everything_is_in_the_one_namespace_its_network_policies_guard(overlay: str) -> None:
    docs = build(overlay)
    [namespace] = of_kind(docs, "Namespace")
    for doc in docs:
        if doc["kind"] != "Namespace":
            where = (doc["kind"], doc["metadata"]["name"])
            assert doc["metadata"].get("namespace") == namespace["metadata"]["name"], where


def test_the_schema_validation_refuses_a_broken_manifest() -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_each_overlay_runs_its_model_server_on_a_gpu_and_points_the_gateway_at_it(
    overlay: str,
) -> None:
    docs = build(overlay)
    server = named(docs, "Deployment", MODEL_SERVERS[overlay])
    [container] = server["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert server["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == (
        "model-server"
    )
    [config] = [
        doc["data"]
        for doc in of_kind(docs, "ConfigMap")
        if doc["metadata"]["name"].startswith("llm-gateway-config")
    ]
    assert config["LLM_BACKEND"] == overlay
    service = named(docs, "Service", MODEL_SERVERS[overlay])
    port = service["spec"]["ports"][0]["port"]
    assert config["LLM_BASE_URL"].startswith(f"http://{service['metadata']['name']}:{port}")
    # The other model server is not there.
    others = set(MODEL_SERVERS.values()) - {MODEL_SERVERS[overlay]}
    assert not others & set(pod_labels(docs))


def test_the_api_and_the_gateway_are_probed_on_readyz_and_healthz(overlay: str) -> None:
    docs = build(overlay)
    for name in OURS:
        [container] = named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_every_container_has_probes_and_resource_requests_and_limits(overlay: str) -> None:
    for workload, container in containers(build(overlay)):
        where = f"{workload}/{container['name']}"
        assert "readinessProbe" in container, where
        assert "livenessProbe" in container, where
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
        assert "memory" in container["resources"]["limits"], where


def test_the_api_scales_out_on_cpu(overlay: str) -> None:
    docs = build(overlay)
    [autoscaler] = of_kind(docs, "HorizontalPodAutoscaler")
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "graphql-api")
    [metric] = autoscaler["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert autoscaler["spec"]["minReplicas"] >= 2
    # Utilization is measured against the request: without one the autoscaler does nothing.
    api = named(docs, "Deployment", "graphql-api")
    assert api["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    config = next(
        doc["data"]
        for doc in of_kind(docs, "ConfigMap")
        if doc["metadata"]["name"].startswith("graphql-api-config")
    )
    assert "REDIS_URL" in config, "API pods share stop, re-attach and limits through Redis"


def test_disruption_budgets_keep_an_api_and_a_gateway_pod_running(overlay: str) -> None:
    docs = build(overlay)
    covered = set()
    for budget in of_kind(docs, "PodDisruptionBudget"):
        assert budget["spec"]["minAvailable"] >= 1
        chosen = selected(docs, budget["spec"]["selector"])
        assert chosen, f"{budget['metadata']['name']} selects no pod"
        covered |= chosen
    assert {"graphql-api", "llm-gateway"} <= covered


def test_no_secret_is_written_in_a_manifest(overlay: str) -> None:
    docs = build(overlay)
    assert not of_kind(docs, "Secret")
    for workload, container in containers(docs):
        for variable in container.get("env", []):
            sensitive = SECRET_NAME.search(variable["name"]) or variable["name"] in (
                "DATABASE_URL",
                "HF_TOKEN",
            )
            if sensitive:
                assert "secretKeyRef" in variable.get("valueFrom", {}), (workload, variable)
            assert not SECRET_VALUE.search(str(variable.get("value", ""))), (workload, variable)
    for config in of_kind(docs, "ConfigMap"):
        for key, value in config["data"].items():
            assert not SECRET_NAME.search(key), (config["metadata"]["name"], key)
            assert not SECRET_VALUE.search(value), (config["metadata"]["name"], key)


def test_the_settings_named_in_the_manifests_are_ones_the_services_read(overlay: str) -> None:
    docs = build(overlay)
    for name, settings in OURS.items():
        known = {field.upper() for field in settings.model_fields}
        [container] = named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        names = {variable["name"] for variable in container.get("env", [])}
        for source in container.get("envFrom", []):
            config_name = source["configMapRef"]["name"]
            names |= set(named(docs, "ConfigMap", config_name)["data"])
        assert names, name
        assert names <= known, (name, names - known)


def test_network_policies_select_real_pods(overlay: str) -> None:
    docs = build(overlay)
    for policy in of_kind(docs, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"]
        if selector:
            assert selected(docs, selector), f"{policy['metadata']['name']} selects no pod"
        for rule in policy["spec"].get("ingress", []):
            for source in rule.get("from", []):
                assert selected(docs, source["podSelector"]), policy["metadata"]["name"]


def test_network_policies_let_in_only_the_callers_each_service_has(overlay: str) -> None:
    docs = build(overlay)
    [deny] = [
        policy for policy in of_kind(docs, "NetworkPolicy") if policy["spec"]["podSelector"] == {}
    ]
    assert deny["spec"]["policyTypes"] == ["Ingress"]
    assert not deny["spec"].get("ingress")
    assert callers(docs, "llm-gateway") == {"graphql-api"}
    assert callers(docs, MODEL_SERVERS[overlay]) == {"llm-gateway"}
    assert callers(docs, "mariadb") == {"graphql-api"}
    assert callers(docs, "redis") == {"graphql-api"}
    assert callers(docs, "graphql-api") is None  # the way in


def test_network_policy_ports_are_ports_the_pods_declare(overlay: str) -> None:
    docs = build(overlay)
    declared = {
        workload: {port.get("name") for port in container.get("ports", [])}
        | {port["containerPort"] for port in container.get("ports", [])}
        for workload, container in containers(docs)
    }
    for policy in of_kind(docs, "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                for workload in selected(docs, policy["spec"]["podSelector"]):
                    assert port["port"] in declared[workload], (policy["metadata"]["name"], port)
