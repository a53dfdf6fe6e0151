"""The images' file layout, rebuilt from the Dockerfiles without Docker, serves the product.

Each final stage's COPY lines are replayed into a temporary root, and its CMD runs there
with its ENV (host and port moved to loopback): the API then answers through the gateway,
which answers through a vLLM stand-in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import MariaDBDatabase, require_mariadb
from tests.deploy.test_dockerfiles import stages
from tests.standins import VLLMStandin
from tests.support import PASSWORD, TEST_SECRET, ApiClient, free_port

ROOT = Path(__file__).resolve().parents[2]
# Where the build stages that the final stages copy from put their files.
STAGE_SOURCES = {"frontend": ("/src/frontend/", ROOT / "frontend")}


@dataclass
class Layout:
    workdir: Path
    env: dict[str, str]
    command: list[str]


def replay(dockerfile: Path, stage_name: str | None, root: Path) -> Layout:
    """Copy what the stage (the last one if None) copies into `root`, as the image would."""
    all_stages = stages(dockerfile)
    by_name = {
        stage[0].split()[-1]: stage for stage in all_stages if stage[0].upper().count(" AS ")
    }
    chain = [by_name[stage_name] if stage_name else all_stages[-1]]
    while chain[0][0].split()[1] in by_name:
        chain.insert(0, by_name[chain[0][0].split()[1]])
    workdir, env, command = Path("/"), {}, []
    for line in (line for stage in chain for line in stage[1:]):
        keyword, _, rest = line.partition(" ")
        if keyword == "WORKDIR":
            workdir = Path(rest)
        elif keyword == "ENV":
            env.update(pair.split("=", 1) for pair in rest.split())
        elif keyword == "CMD":
            command = json.loads(rest)
        elif keyword == "COPY":
            *options, source, target = rest.split()
            origin = [option.removeprefix("--from=") for option in options]
            if origin and origin[0] not in STAGE_SOURCES:
                continue  # the virtualenv: this test runs on the shared one
            if origin:
                prefix, local = STAGE_SOURCES[origin[0]]
                path = local / source.removeprefix(prefix)
            else:
                path = ROOT / source
            assert path.exists(), f"{path} is missing (the frontend needs `make frontend`)"
            shutil.copytree(path, root / workdir.relative_to("/") / target, dirs_exist_ok=True)
    app_dir = root / workdir.relative_to("/")
    env = {
        name: value.replace(str(workdir), str(app_dir))
        for name, value in env.items()
        if name != "PATH"
    }
    return Layout(app_dir, env, command)


@contextmanager
def serve(layout: Layout, ready_url: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable if layout.command[0] == "python" else layout.command[0]]
    process = subprocess.Popen(
        [*command, *layout.command[1:]],
        cwd=layout.workdir,
        env={"PATH": os.environ["PATH"], **layout.env, **env},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{layout.command} exited with {process.returncode}"
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"{layout.command} did not become ready")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.slow
async def test_api_and_gateway_images_serve_the_product(tmp_path: Path) -> None:
    require_mariadb()
    api_layout = replay(ROOT / "docker" / "api.Dockerfile", None, tmp_path / "api")
    gateway_layout = replay(ROOT / "docker" / "gateway.Dockerfile", "llm-gateway", tmp_path / "gw")
    assert api_layout.env["APP_ENV"] == "production"
    assert sorted(path.name for path in api_layout.workdir.iterdir()) == ["frontend", "graphql_api"]
    assert [path.name for path in gateway_layout.workdir.iterdir()] == ["llm_gateway"]

    gateway_port, api_port = free_port(), free_port()
    with (
        VLLMStandin(model="standin-model") as llm,
        MariaDBDatabase("chat_image") as database,
        serve(
            gateway_layout,
            f"http://127.0.0.1:{gateway_port}/readyz",
            GATEWAY_HOST="127.0.0.1",
            GATEWAY_PORT=str(gateway_port),
            LLM_BACKEND="vllm",
            LLM_BASE_URL=llm.base_url,
        ),
        serve(
            api_layout,
            f"http://127.0.0.1:{api_port}/readyz",
            API_HOST="127.0.0.1",
            API_PORT=str(api_port),
            DATABASE_URL=database.url,
            JWT_SECRET=TEST_SECRET,
            LLM_GATEWAY_URL=f"http://127.0.0.1:{gateway_port}",
        ),
    ):
        api = ApiClient(f"http://127.0.0.1:{api_port}")
        page = await api.http.get("/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        token = (
            await api.ok(
                'mutation($p: String!) { register(username: "ops", password: $p) { token } }',
                {"p": PASSWORD},
            )
        )["register"]["token"]
        post = (
            await api.ok('mutation { sendPrompt(prompt: "ping") { body status } }', token=token)
        )["sendPrompt"]
        await api.http.aclose()
    assert post == {"body": "Echo: ping", "status": "COMPLETE"}
