"""Read-path benchmark: the API's throughput on real queries against its own ceiling.

    .venv/bin/python bench/bench_read_path.py [--duration 10] [--connections 32] [--quick]
        [--driver-baseline]

`--quick` (1 second per query, 8 connections) only shows that the benchmark runs.

Seeds a MariaDB database (one user with 1,000 conversations; one of them a tree whose current
branch is 10,000 posts deep with 1,000 side branches, one a line of 100 posts), starts the API
(one uvicorn worker) on it, and drives it with wrk at 32 connections. In the same run and
server it measures:

- `/healthz`: a plain Starlette route, the ceiling's own baseline (target: the ceiling at
  least 45% of it);
- `{ __typename }`: the framework ceiling (HTTP, Strawberry, caches; no database);
- `conversations(first: 20)`;
- `conversation(id) { posts(last: 50) }` (with each post's versions) on the 100-post
  conversation and on the tree.

Prints requests/s, p50 and p99 latency, and each query's throughput as a share of the
ceiling, and how busy the machine's CPUs were meanwhile. With `--driver-baseline`, a second
server on the same database runs the real queries with aiomysql instead of asyncmy (blocked
from importing), for the same-run ratio that justifies the driver. Targets: every real query
at least 50% of the ceiling; the tree's page within 1.5x of the 100-post page. (That a page
costs at most 3 SQL statements, at any depth, is counted by tests/api/test_branches.py.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pymysql

ROOT = Path(__file__).resolve().parents[1]
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
PASSWORD = "benchmark password"
INSERT_POST = (
    "INSERT INTO posts (id, parent_id, prompt, body, conversation_id, created_at, user_id, "
    "status, finish_reason, model, prompt_tokens, completion_tokens, latency_ms, superseded, "
    "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
POSTS_QUERY = (
    "query($id: ID!) { conversation(id: $id) { currentPostId posts(last: 50) { edges { cursor "
    "node { id prompt body status createdAt parentId siblingIds siblingIndex } } "
    "pageInfo { hasPreviousPage startCursor } } } }"
)
DEPTH, SIDE_BRANCHES = 10_000, 1_000


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed(database: str, user_id: int) -> tuple[int, int]:
    """1,000 conversations; returns the ids of the 10,000-post and the 100-post one."""
    start = datetime.now(UTC) - timedelta(days=30)
    with pymysql.connect(**MARIADB, database=database, autocommit=False) as connection:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO conversation (status, created_at, title, instructions, updated_at, "
                "user_id) VALUES ('online', %s, %s, NULL, %s, %s)",
                [
                    (
                        start + timedelta(minutes=n),
                        f"Conversation {n}",
                        start + timedelta(minutes=n),
                        user_id,
                    )
                    for n in range(1000)
                ],
            )
            cursor.execute(
                "SELECT id FROM conversation WHERE user_id = %s ORDER BY id LIMIT 2", (user_id,)
            )
            big, small = (row[0] for row in cursor.fetchall())
            body = "A fairly typical answer of a few sentences. " * 8
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM posts")
            next_id = int(cursor.fetchone()[0]) + 1
            for conversation_id, depth, sides in ((big, DEPTH, SIDE_BRANCHES), (small, 100, 0)):
                chain = list(range(next_id, next_id + depth))
                # Side branches: earlier versions of every (depth / sides)-th post of the chain.
                forks = chain[1 :: max(1, depth // sides)][:sides] if sides else []
                side_ids = range(next_id + depth, next_id + depth + len(forks))
                next_id += depth + len(forks)
                placed = [
                    (post_id, chain[n - 1] if n else None, 0) for n, post_id in enumerate(chain)
                ]
                placed += [
                    (side, chain[chain.index(fork) - 1], 1)
                    for side, fork in zip(side_ids, forks, strict=True)
                ]
                rows = [
                    (
                        post_id,
                        parent,
                        f"Prompt number {post_id}",
                        body,
                        conversation_id,
                        start + timedelta(seconds=post_id),
                        user_id,
                        "complete",
                        "stop",
                        "bench-model",
                        20,
                        80,
                        900,
                        off_branch,
                        start + timedelta(seconds=post_id),
                    )
                    for post_id, parent, off_branch in placed
                ]
                for offset in range(0, len(rows), 1000):
                    cursor.executemany(INSERT_POST, rows[offset : offset + 1000])
                cursor.execute(
                    "UPDATE conversation SET current_post_id = %s WHERE id = %s",
                    (chain[-1], conversation_id),
                )
        connection.commit()
    return big, small


def wrk(
    url: str,
    token: str,
    query: str,
    variables: Mapping[str, object],
    duration: int,
    connections: int,
    get: bool = False,
) -> dict[str, float]:
    body = json.dumps({"query": query, "variables": variables})
    script = (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        if not get
        else ""
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{duration}s",
                "--latency",
                "--timeout",
                "30s",  # a loaded machine is slow, not failing
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": _latency(output, "50%"), "p99": _latency(output, "99%")}


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return float(sum(ticks[index] for index in (0, 1, 2, 5, 6, 7))), float(sum(ticks))


def start_server(
    database: str, blocked_asyncmy: Path | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """The API on `database`, ready; with `blocked_asyncmy`, Tortoise falls back to aiomysql."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"mysql://root:@127.0.0.1:3306/{database}",
        "JWT_SECRET": JWT_SECRET,
        "API_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "APP_ENV": "production",
    }
    if blocked_asyncmy is not None:
        env["PYTHONPATH"] = str(blocked_asyncmy)
    server = subprocess.Popen([sys.executable, "-m", "graphql_api", "serve"], cwd=ROOT, env=env)
    with httpx.Client(timeout=30) as client:
        for _ in range(150):
            try:
                if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    return server, port
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the API did not become ready")


JWT_SECRET = secrets.token_urlsafe(48)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per query")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="1 s per query: that it runs")
    parser.add_argument(
        "--driver-baseline",
        action="store_true",
        help="also measure the real queries with aiomysql instead of asyncmy, same run",
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.connections = 1, 8
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    database = f"chat_bench_{secrets.token_hex(4)}"
    with pymysql.connect(**MARIADB, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    blocked = Path(tempfile.mkdtemp()) / "no-asyncmy"
    (blocked / "asyncmy").mkdir(parents=True)
    (blocked / "asyncmy" / "__init__.py").write_text(
        'raise ImportError("asyncmy is blocked: the aiomysql baseline")\n'
    )
    server, port = start_server(database)
    servers = [server]
    url = f"http://127.0.0.1:{port}/graphql"
    results: dict[str, dict[str, float]] = {}
    busy_before = machine_busy()
    try:
        client = httpx.Client(timeout=30)
        registered = client.post(
            url,
            json={
                "query": "mutation($u: String!, $p: String!) { register(username: $u, "
                "password: $p) { token user { id } } }",
                "variables": {"u": "bench-user", "p": PASSWORD},
            },
        ).json()["data"]["register"]
        token, user_id = registered["token"], int(registered["user"]["id"])
        big, small = seed(database, user_id)

        cases = [
            ("ceiling: { __typename }", "{ __typename }", {}),
            (
                "conversations(first: 20)",
                "{ conversations(first: 20) { edges { cursor node { id title updatedAt } } "
                "pageInfo { hasNextPage endCursor } } }",
                {},
            ),
            ("posts(last: 50), 100 posts", POSTS_QUERY, {"id": str(small)}),
            ("posts(last: 50), tree 10,000 deep", POSTS_QUERY, {"id": str(big)}),
        ]
        for _, query, variables in cases:
            check = client.post(
                url,
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            assert not check.get("errors"), check
        healthz = f"http://127.0.0.1:{port}/healthz"
        wrk(healthz, token, "", {}, 2, args.connections, get=True)  # warm-up
        results["/healthz (no GraphQL)"] = wrk(
            healthz, token, "", {}, args.duration, args.connections, get=True
        )
        for name, query, variables in cases:
            wrk(url, token, query, variables, 2, args.connections)  # warm-up
            results[name] = wrk(url, token, query, variables, args.duration, args.connections)
        if args.driver_baseline:
            baseline, baseline_port = start_server(database, blocked_asyncmy=blocked)
            servers.append(baseline)
            baseline_url = f"http://127.0.0.1:{baseline_port}/graphql"
            for name, query, variables in cases[1:]:
                wrk(baseline_url, token, query, variables, 2, args.connections)
                results[f"{name} [aiomysql]"] = wrk(
                    baseline_url, token, query, variables, args.duration, args.connections
                )
    finally:
        for running in servers:
            running.terminate()
            running.wait(timeout=20)
        shutil.rmtree(blocked.parent, ignore_errors=True)
        with (
            pymysql.connect(**MARIADB, autocommit=True) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
    busy_after = machine_busy()
    busy = (busy_after[0] - busy_before[0]) / max(1.0, busy_after[1] - busy_before[1])

    ceiling = results[cases[0][0]]["rps"]
    print(
        f"\nRead path, MariaDB, one uvicorn worker, {args.connections} connections, "
        f"{args.duration}s each; the machine's CPUs were {busy:.0%} busy during the run "
        f"(this benchmark included: the API, MariaDB and wrk share {os.cpu_count()} cores)"
    )
    print(f"{'query':38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'of ceiling':>11}")
    for name, result in results.items():
        print(
            f"{name:38} {result['rps']:9.0f} {result['p50']:8.2f} {result['p99']:8.2f} "
            f"{result['rps'] / ceiling:10.0%}"
        )
    health = results["/healthz (no GraphQL)"]["rps"]
    print(f"\nceiling / /healthz: {ceiling / health:.0%} (target >= 45%)")
    ratio = results[cases[2][0]]["rps"] / results[cases[3][0]]["rps"]
    print(
        f"100-post conversation / tree 10,000 deep with {SIDE_BRANCHES:,} side branches, "
        f"posts(last: 50) throughput: {ratio:.2f}x (target <= 1.5x)"
    )
    real = [name for name, _, _ in cases[1:]]
    worst = min(results[name]["rps"] for name in real) / ceiling
    print(f"slowest real query: {worst:.0%} of the ceiling (target >= 50%)")
    if args.driver_baseline:
        for name in real:
            gain = results[name]["rps"] / results[f"{name} [aiomysql]"]["rps"]
            print(f"{name}: asyncmy / aiomysql throughput {gain:.2f}x")


if __name__ == "__main__":
    main()
