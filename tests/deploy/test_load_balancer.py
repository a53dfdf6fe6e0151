"""The load balancer of compose.replicas.yaml, run as a real nginx on loopback: the API
counts each client by the address that connected, never by one the client wrote."""

from __future__ import annotations

import getpass
import ipaddress
import secrets
from pathlib import Path

import httpx

from tests.deploy.test_compose import OVERRIDE
from tests.support import PASSWORD, start_api

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"


async def login(url: str, username: str, password: str, forwarded_for: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with httpx.AsyncClient(timeout=30) as http:
        reply = await http.post(
            f"{url}/graphql",
            json={"query": LOGIN, "variables": {"u": username, "p": password}},
            headers=headers,
        )
    body = reply.json()
    return str(body["errors"][0]["extensions"]["code"]) if body.get("errors") else "OK"


async def test_through_the_load_balancer_a_client_cannot_choose_the_address_it_is_counted_by(
    database_url: str, tmp_path: Path
) -> None:
    """Even an API that believed every X-Forwarded-For would see the client's own address:
    nginx replaces the header rather than appending to it."""
    from tests.deploy.nginx import NginxProxy

    async with start_api(
        database_url=database_url,
        forwarded_allow_ips="*",
        login_max_failures_per_address=3,
        login_max_failures=100,
    ) as api:
        users = [await api.new_user(f"lb{number}") for number in range(4)]
        upstream = api.url.removeprefix("http://")
        with NginxProxy(tmp_path / "nginx", upstream) as proxy:
            for user in users[:3]:
                spoofed = f"203.0.113.{secrets.randbelow(250) + 1}"
                code = await login(proxy.url, user.username, "wrong password", spoofed)
                assert code == "UNAUTHENTICATED"
            assert await login(proxy.url, users[3].username, PASSWORD, "198.51.100.7") == (
                "RATE_LIMITED"
            )


def test_the_api_replicas_trust_forwarded_addresses_from_the_load_balancer_alone() -> None:
    services = OVERRIDE["services"]
    trusted = services["graphql_api"]["environment"]["FORWARDED_ALLOW_IPS"]
    assert trusted != "*"
    balancer = services["load_balancer"]["networks"]["edge"]["ipv4_address"]
    assert trusted == balancer
    default = trusted.split(":-", 1)[1].rstrip("}")
    subnet = OVERRIDE["networks"]["edge"]["ipam"]["config"][0]["subnet"].split(":-", 1)[1]
    assert ipaddress.ip_address(default) in ipaddress.ip_network(subnet.rstrip("}"))
    assert "edge" in services["graphql_api"]["networks"]


async def test_ipv6_clients_are_counted_by_their_64(database_url: str) -> None:
    """One subscriber holds a whole /64: a fresh address per guess must not buy a fresh
    budget. (The API trusts the proxy at 127.0.0.1, as it does by default.)"""
    async with start_api(
        database_url=database_url, login_max_failures_per_address=3, login_max_failures=100
    ) as api:
        users = [await api.new_user(f"v6{number}") for number in range(4)]
        for number, user in enumerate(users[:3]):
            address = f"2001:db8:1:2::{number + 1:x}"
            assert await login(api.url, user.username, "wrong", address) == "UNAUTHENTICATED"
        assert await login(api.url, users[3].username, PASSWORD, "2001:db8:1:2:ffff::9") == (
            "RATE_LIMITED"
        )
        # Another /64 has its own budget.
        assert await login(api.url, users[3].username, PASSWORD, "2001:db8:1:3::1") == "OK"


async def test_through_the_load_balancer_imports_pass_and_share_links_name_its_address(
    database_url: str, tmp_path: Path
) -> None:
    """An import past 1 MB reaches the API while other bodies stay held to 1 MB, and a
    share's url is on the balancer's address, port included."""
    from tests.deploy.nginx import NginxProxy

    async with start_api(database_url=database_url) as api:
        alice = await api.new_user()
        conversation_id = await api.new_conversation(alice)
        headers = {"Authorization": f"Bearer {alice.token}"}
        padded = b'{"format_version": 1, "conversations": [], "pad": "' + b"x" * (3 << 20) + b'"}'
        # nginx keeps a large body in a file before passing it on: its workers (another
        # user when the test runs as root) must reach the test's directory for that.
        with NginxProxy(
            tmp_path / "nginx",
            api.url.removeprefix("http://"),
            edit=lambda config: f"user {getpass.getuser()};\n{config}",
        ) as proxy:
            async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as http:
                imported = await http.post("/api/import", content=padded, headers=headers)
                assert imported.status_code == 200, imported.text[:200]
                too_big = await http.post(
                    "/graphql",
                    content=b'{"query": "' + b" " * (2 << 20) + b'{ __typename }"}',
                    headers={**headers, "Content-Type": "application/json"},
                )
                assert too_big.status_code == 413
                shared = await http.post(
                    "/graphql",
                    json={
                        "query": "mutation($id: ID!) { shareConversation(id: $id) { url } }",
                        "variables": {"id": conversation_id},
                    },
                    headers=headers,
                )
                url = shared.json()["data"]["shareConversation"]["url"]
                assert url.startswith(f"{proxy.url}/s/")
