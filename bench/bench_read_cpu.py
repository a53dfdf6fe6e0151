"""Read path, CPU per request: the API in this process (ASGI, no socket), so that what is
measured is the API's own work, steady on a machine other processes keep busy.

    .venv/bin/python bench/bench_read_cpu.py [--requests 100] [--quick]

`--quick` (10 requests each) only shows that the benchmark runs.

Seeds MariaDB as bench_read_path.py does (1,000 conversations, a 100-post line and a tree
10,000 deep), then sends each query `--requests` times through httpx's ASGI transport and
prints the process's CPU time per request (time.process_time: this process only, the
MariaDB server's share left out) and each query's cost as a multiple of `{ __typename }`,
the framework's ceiling, measured in the same run. Then the product's `/healthz`, and the
framework alone in the same run: a bare Starlette route and a bare Strawberry app's
`{ __typename }` (its caches on), through the same client. bench_read_path.py measures the same
queries over HTTP with wrk, where the machine's load shows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from typing import Any

import httpx
import pymysql
from bench_read_path import MARIADB, PASSWORD, POSTS_QUERY, seed

CONVERSATIONS = (
    "{ conversations(first: 20) { edges { cursor node { id title updatedAt } } "
    "pageInfo { hasNextPage endCursor } } }"
)
REGISTER = (
    "mutation($u: String!, $p: String!) { register(username: $u, password: $p) "
    "{ token user { id } } }"
)


async def measure(database: str, requests: int) -> dict[str, tuple[float, float]]:
    from graphql_api.app import create_app
    from graphql_api.settings import Settings

    app = create_app(Settings())
    results: dict[str, tuple[float, float]] = {}
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(state or {})  # what uvicorn gives each request
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            variables = {"u": "bench-user", "p": PASSWORD}
            reply = await client.post("/graphql", json={"query": REGISTER, "variables": variables})
            registered = reply.json()["data"]["register"]
            headers = {"Authorization": f"Bearer {registered['token']}"}
            big, small = seed(database, int(registered["user"]["id"]))
            cases: list[tuple[str, str, dict[str, str]]] = [
                ("ceiling: { __typename }", "{ __typename }", {}),
                ("conversations(first: 20)", CONVERSATIONS, {}),
                ("posts(last: 50), 100 posts", POSTS_QUERY, {"id": str(small)}),
                ("posts(last: 50), tree 10,000 deep", POSTS_QUERY, {"id": str(big)}),
            ]
            for name, query, values in cases:
                body = {"query": query, "variables": values}
                first = (await client.post("/graphql", json=body, headers=headers)).json()
                assert not first.get("errors"), first
                count = requests * (5 if name.startswith("ceiling") else 1)
                results[name] = await cpu_per_request(
                    client, "POST", "/graphql", body, headers, count
                )
            results["the product's /healthz (no GraphQL)"] = await cpu_per_request(
                client, "GET", "/healthz", None, {}, requests * 5
            )
    results.update(await framework_alone(requests * 5))
    return results


async def cpu_per_request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
    count: int,
) -> tuple[float, float]:
    """(CPU ms, wall ms) per request, after a warm-up."""
    for _ in range(max(3, count // 10)):
        await client.request(method, path, json=body, headers=headers)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        await client.request(method, path, json=body, headers=headers)
    return (
        (time.process_time() - cpu) / count * 1000,
        (time.perf_counter() - wall) / count * 1000,
    )


async def framework_alone(count: int) -> dict[str, tuple[float, float]]:
    """The same two requests on a bare Starlette route and a bare Strawberry app (its parser
    and validation caches on, nothing of the product's): what the framework itself costs,
    through the same client, in the same run."""
    import strawberry
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from strawberry.asgi import GraphQL
    from strawberry.extensions import ParserCache, ValidationCache

    @strawberry.type
    class Query:
        hello: str = "hi"

    async def healthz(_: Any) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    schema = strawberry.Schema(query=Query, extensions=[ParserCache, ValidationCache])
    bare = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", GraphQL(schema), methods=["GET", "POST"]),
        ]
    )
    transport = httpx.ASGITransport(app=bare)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return {
            "bare Starlette route": await cpu_per_request(
                client, "GET", "/healthz", None, {}, count
            ),
            "bare Strawberry { __typename }": await cpu_per_request(
                client, "POST", "/graphql", {"query": "{ __typename }"}, {}, count
            ),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="10 requests each: that it runs")
    args = parser.parse_args()
    requests = 10 if args.quick else args.requests
    database = f"chat_bench_{secrets.token_hex(4)}"
    with pymysql.connect(**MARIADB, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    os.environ.update(
        {
            "DATABASE_URL": f"mysql://root:@127.0.0.1:3306/{database}",
            "JWT_SECRET": secrets.token_urlsafe(48),
            "LOG_LEVEL": "WARNING",
            "APP_ENV": "production",
        }
    )
    try:
        results = asyncio.run(measure(database, requests))
    finally:
        with (
            pymysql.connect(**MARIADB, autocommit=True) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
    ceiling = results["ceiling: { __typename }"][0]
    print(f"\nRead path in-process, MariaDB, {requests} requests each (the ceiling 5x as many)")
    print(f"{'query':36} {'CPU ms':>8} {'wall ms':>8} {'x ceiling':>10}")
    for name, (cpu, wall) in results.items():
        if name == "bare Starlette route":
            print("the framework alone, through the same client:")
        print(f"{name:36} {cpu:8.3f} {wall:8.3f} {cpu / ceiling:9.1f}x")
    print("(a query at 50% of the ceiling's throughput costs at most 2.0x its CPU)")
    bare = results["bare Strawberry { __typename }"][0]
    print(f"the product's ceiling / bare Strawberry's, CPU: {ceiling / bare:.2f}x")


if __name__ == "__main__":
    main()
