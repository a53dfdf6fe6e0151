"""Health routes, security headers, and the command line."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

from tests.support import PASSWORD, ApiServer

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"


async def test_healthz_answers_while_the_process_runs(api: ApiServer) -> None:
    response = await api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database(api: ApiServer) -> None:
    response = await api.http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "up"


async def test_every_response_carries_the_security_headers(api: ApiServer) -> None:
    for response in (
        await api.http.get("/healthz"),
        await api.post("{ serverInfo { allowSignup } }"),
    ):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def run_cli(
    database_url: str, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphql_api", *args],
        input=f"{password}\n" if password is not None else None,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": "s" * 40},
        timeout=60,
        check=False,
    )


async def test_cli_creates_users_and_resets_passwords(api: ApiServer, database_url: str) -> None:
    name = f"cli-{os.getpid()}-{id(api) % 10000}"
    created = await asyncio.to_thread(
        run_cli, database_url, "users", "create", name, "--password-stdin", password=PASSWORD
    )
    assert created.returncode == 0, created.stderr
    token = (await api.ok(LOGIN, {"u": name, "p": PASSWORD}))["login"]["token"]

    reset = await asyncio.to_thread(
        run_cli,
        database_url,
        "users",
        "reset-password",
        name,
        "--password-stdin",
        password="a brand new one",
    )
    assert reset.returncode == 0, reset.stderr
    assert (await api.error(LOGIN, {"u": name, "p": PASSWORD}))["extensions"][
        "code"
    ] == "UNAUTHENTICATED"
    await api.ok(LOGIN, {"u": name, "p": "a brand new one"})
    # The reset logged out the old session; other processes notice within a second or two.
    for _ in range(40):
        body = await api.gql("{ me { id } }", token=token)
        if body.get("errors"):
            break
        await asyncio.sleep(0.1)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_cli_refuses_a_short_password_and_creates_nothing(
    api: ApiServer, database_url: str
) -> None:
    result = await asyncio.to_thread(
        run_cli, database_url, "users", "create", "shortpw-user", "--password-stdin", password=""
    )
    assert result.returncode != 0
    assert "password must be" in result.stderr
    assert (await api.error(LOGIN, {"u": "shortpw-user", "p": ""}))["extensions"][
        "code"
    ] == "UNAUTHENTICATED"


def test_serve_refuses_to_start_in_production_without_a_secret(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "graphql_api", "serve"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "APP_ENV": "production",
            "JWT_SECRET": "",
            "DATABASE_URL": "sqlite://:memory:",
        },
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "JWT_SECRET must be set" in result.stderr


async def test_built_assets_are_sent_compressed_and_cached_for_a_year(api: ApiServer) -> None:
    page = await api.http.get("/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script, page.text[:500]
    asset = await api.http.get(script.group(1), headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["content-encoding"] == "gzip"
    assert "immutable" in asset.headers["cache-control"]
    assert asset.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    plain = await api.http.get(script.group(1), headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == asset.content  # httpx decompressed the gzip copy: same bytes
