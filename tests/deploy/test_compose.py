"""compose.yaml and compose.replicas.yaml, read as data: no Docker engine runs here."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import TypeAdapter

from graphql_api.settings import Settings
from llm_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
REPLICAS = ROOT / "compose.replicas.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
OUR_SERVICES = {"graphql_api": Settings, "llm_gateway": GatewaySettings}
SECRET_NAME = re.compile(r"(^|_)(PASSWORD|SECRET|TOKEN|API_KEY)$")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")
VERSION_TAG = re.compile(r"^v?\d+(\.\d+)*([.-][A-Za-z0-9]+)*$")


class ComposeLoader(yaml.SafeLoader):
    """PyYAML plus Compose's `!reset` and `!override` merge tags."""


def _tagged(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


ComposeLoader.add_constructor("!reset", _tagged)
ComposeLoader.add_constructor("!override", _tagged)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=ComposeLoader)  # noqa: S506
    return data


BASE = load(COMPOSE)
OVERRIDE = load(REPLICAS)


def services() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every service definition, from both files (the override's partial ones too)."""
    for data in (BASE, OVERRIDE):
        yield from data["services"].items()


def full_services() -> Iterator[tuple[str, dict[str, Any]]]:
    """Services that the override defines rather than patches, and all of compose.yaml's."""
    yield from BASE["services"].items()
    for name, service in OVERRIDE["services"].items():
        if name not in BASE["services"]:
            yield name, service


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "write environment as a mapping"
    return {name: None if value is None else str(value) for name, value in env.items()}


def setting_names(settings: type[Settings] | type[GatewaySettings]) -> set[str]:
    return {name.upper() for name in settings.model_fields}


def env_example_names() -> dict[str, str]:
    """Each variable `.env.example` documents (set or commented out), with its value."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def interpolated_names() -> set[str]:
    return {
        match["name"]
        for path in (COMPOSE, REPLICAS)
        for match in INTERPOLATION.finditer(path.read_text())
    }


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def default_of(value: str) -> str:
    """The value with nothing set in .env: `${NAME:-default}` -> `default`, and a required
    `${NAME:?message}` -> `NAME` (it has to be set)."""

    def resolve(match: re.Match[str]) -> str:
        if match["op"] in (":-", "-"):
            return match["arg"]
        return match["name"] if match["op"] in (":?", "?") else ""

    return INTERPOLATION.sub(resolve, value)


def test_every_service_has_a_health_check() -> None:
    for name, service in full_services():
        check = service.get("healthcheck")
        assert check, f"{name} has no health check"
        assert not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert {"interval", "timeout", "retries", "start_period"} <= set(check), name


def test_every_depends_on_waits_for_health() -> None:
    edges = 0
    for name, service in services():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must name a condition"
        for needed, rule in depends.items():
            edges += 1
            assert rule["condition"] == "service_healthy", f"{name} -> {needed}"
    assert edges >= 5


def test_startup_order_follows_what_each_service_needs() -> None:
    api = BASE["services"]["graphql_api"]["depends_on"]
    gateway = BASE["services"]["llm_gateway"]["depends_on"]
    assert set(api) == {"mariadb", "redis", "llm_gateway"}
    # Whichever model server's profile is active; neither with a hosted endpoint.
    assert gateway == {
        server: {"condition": "service_healthy", "required": False} for server in ("vllm", "tgi")
    }
    assert OVERRIDE["services"]["load_balancer"]["depends_on"] == {
        "graphql_api": {"condition": "service_healthy"}
    }


def test_every_environment_name_exists_in_the_settings_and_in_env_example() -> None:
    documented = set(env_example_names())
    for name, settings in OUR_SERVICES.items():
        for data in (BASE, OVERRIDE):
            names = set(environment(data["services"].get(name, {})))
            assert names - setting_names(settings) == set(), name
            assert names - documented == set(), name


def test_every_setting_reaches_its_service() -> None:
    """Each variable in .env takes effect: the service passes it on (unset stays unset)."""
    for name, settings in OUR_SERVICES.items():
        assert setting_names(settings) <= set(environment(BASE["services"][name])), name


def test_env_example_documents_every_variable_and_nothing_else() -> None:
    documented = set(env_example_names())
    expected = interpolated_names() | setting_names(Settings) | setting_names(GatewaySettings)
    assert expected - documented == set(), "missing from .env.example"
    assert documented - expected == set(), "in .env.example but used nowhere"


def test_env_example_defaults_match_the_settings() -> None:
    """A commented-out `NAME=value` shows the default; it must be the one the code has."""
    documented = env_example_names()
    overridden_by_compose = {"APP_ENV", "LLM_BACKEND", "LLM_BASE_URL"}
    for settings in (Settings, GatewaySettings):
        for field_name, field in settings.model_fields.items():
            name = field_name.upper()
            if name in overridden_by_compose or field.default in (None, "", []):
                continue
            shown = TypeAdapter(field.annotation).validate_python(documented[name])
            assert shown == field.default, name


def test_no_secret_is_written_inline() -> None:
    for name, service in services():
        for variable, value in environment(service).items():
            if SECRET_NAME.search(variable) and value is not None:
                match = INTERPOLATION.fullmatch(value)
                assert match, f"{name}.{variable} must come from .env"
                assert match["op"] in (None, ":?", "?") or not match["arg"], (
                    f"{name}.{variable} has a default value"
                )
        for text in strings(service):
            password = urlsplit(text).password if "://" in text else None
            assert password is None or INTERPOLATION.fullmatch(password), f"{name}: {text}"
            assert not re.search(r"(?i)(password|secret|token|api[-_]?key)=[^$\s]", text), name
    for variable, value in env_example_names().items():
        if SECRET_NAME.search(variable):
            assert value == "", f".env.example must not carry a value for {variable}"


def test_secrets_are_required_where_they_are_needed() -> None:
    api = environment(BASE["services"]["graphql_api"])
    assert api["JWT_SECRET"] == "${JWT_SECRET:?set JWT_SECRET in .env, at least 32 bytes}"
    assert ":?" in (api["DATABASE_URL"] or "")
    assert ":?" in (environment(BASE["services"]["mariadb"])["MARIADB_PASSWORD"] or "")


def test_images_are_pinned() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in full_services():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"
        assert VERSION_TAG.match(tag), f"{name}: {image}"
        if "build" in service:
            assert tag == version, f"{name}: built images carry the project's version"


def test_only_the_api_port_is_published() -> None:
    published = {name for name, service in BASE["services"].items() if service.get("ports")}
    assert published == {"graphql_api"}
    assert BASE["services"]["graphql_api"]["ports"] == ["${API_PUBLISHED_PORT:-8000}:8000"]
    # With replicas the load balancer takes the port over.
    assert OVERRIDE["services"]["graphql_api"]["ports"] == []
    assert OVERRIDE["services"]["load_balancer"]["ports"] == ["${API_PUBLISHED_PORT:-8000}:8000"]


def test_mariadb_runs_db_init_and_keeps_its_data_in_a_named_volume() -> None:
    mariadb = BASE["services"]["mariadb"]
    assert mariadb["image"].startswith("mariadb:")
    assert "./db/init:/docker-entrypoint-initdb.d:ro" in mariadb["volumes"]
    assert "mariadb-data:/var/lib/mysql" in mariadb["volumes"]
    assert "mariadb-data" in BASE["volumes"]
    assert mariadb["healthcheck"]["test"] == [
        "CMD",
        "healthcheck.sh",
        "--connect",
        "--innodb_initialized",
    ]


@pytest.mark.parametrize(
    ("server", "port", "cache"),
    [("vllm", 8000, "/root/.cache/huggingface"), ("tgi", 80, "/data")],
)
def test_model_servers_are_gpu_profiles_with_a_cache_and_hf_token(
    server: str, port: int, cache: str
) -> None:
    service = BASE["services"][server]
    assert service["profiles"] == [server]
    assert service["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    ]
    (volume,) = service["volumes"]
    volume_name, mount_point = volume.split(":")
    assert mount_point == cache
    assert volume_name in BASE["volumes"]
    assert environment(service)["HF_TOKEN"] == "${HF_TOKEN:-}"
    assert f"http://127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])


def test_model_servers_get_the_flags_they_need() -> None:
    vllm, tgi = BASE["services"]["vllm"], BASE["services"]["tgi"]
    assert vllm["ipc"] == "host"
    flags = {argument.split("=", 1)[0] for argument in vllm["command"]}
    assert {"--model", "--served-model-name", "--max-model-len", "--gpu-memory-utilization"} <= (
        flags
    )
    assert tgi["shm_size"] == "1g"
    flags = {argument.split("=", 1)[0] for argument in tgi["command"]}
    assert {"--model-id", "--max-input-tokens", "--max-total-tokens"} <= flags


def test_services_find_each_other_by_their_compose_names() -> None:
    api = {
        name: default_of(value or "")
        for name, value in environment(BASE["services"]["graphql_api"]).items()
    }
    gateway = {
        name: default_of(value or "")
        for name, value in environment(BASE["services"]["llm_gateway"]).items()
    }
    assert urlsplit(api["LLM_GATEWAY_URL"]).hostname == "llm_gateway"
    assert urlsplit(api["LLM_GATEWAY_URL"]).port == int(gateway["GATEWAY_PORT"])
    assert urlsplit(api["DATABASE_URL"]).hostname == "mariadb"
    assert urlsplit(api["REDIS_URL"]).hostname == "redis"
    assert gateway["LLM_BASE_URL"] == "http://vllm:8000/v1"
    # The settings accept what compose builds.
    Settings(database_url=api["DATABASE_URL"], redis_url=api["REDIS_URL"])


def test_health_checks_ask_the_readiness_routes_on_the_listening_ports() -> None:
    for service, port_variable in (("graphql_api", "API_PORT"), ("llm_gateway", "GATEWAY_PORT")):
        definition = BASE["services"][service]
        port = environment(definition)[port_variable]
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(definition["healthcheck"]["test"])


def test_built_images_name_existing_dockerfiles_and_stages() -> None:
    for name in OUR_SERVICES:
        build = BASE["services"][name]["build"]
        dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
        stages = set(re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", dockerfile))
        if "target" in build:
            assert default_of(build["target"]) in stages, name
    gateway = (ROOT / "docker" / "gateway.Dockerfile").read_text()
    assert {"llm-gateway", "llm-gateway-local"} <= set(
        re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", gateway)
    )


def test_our_services_run_read_only_without_capabilities() -> None:
    for name in OUR_SERVICES:
        service = BASE["services"][name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
