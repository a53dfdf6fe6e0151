"""Search benchmark: `searchPosts` on an account of 1,000 posts and on one of 100,000, in the
same run and server (MariaDB, its FULLTEXT index).

    .venv/bin/python bench/bench_search.py [--duration 5] [--connections 8] [--quick]

Each account's posts use a vocabulary sized so that every word is in about 20 of its posts:
the same search returns a page of the same size from either account, so the difference is
what the size of the account costs. Prints requests/s and latency for each, and the ratio.
Target: the 100,000-post account within 1.5x of the 1,000-post one. `--quick` (2,000 posts
against 200, one second each) only shows that the benchmark runs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import pymysql
from bench_read_path import MARIADB, ROOT, free_port, wrk

PASSWORD = "benchmark password"
QUERY = (
    "query($t: String!) { searchPosts(text: $t, first: 20) { edges { cursor node { "
    "post { id prompt } snippet highlights { start length } } } } }"
)
HITS_PER_WORD = 20


def seed(database: str, user_id: int, posts: int) -> str:
    """`posts` posts in one conversation of the user; returns a word in about 20 of them."""
    words = max(1, posts // HITS_PER_WORD)
    start = datetime.now(UTC) - timedelta(days=1)
    with pymysql.connect(**MARIADB, database=database, autocommit=False) as connection:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO conversation (status, created_at, title, updated_at, user_id) "
                "VALUES ('online', %s, 'search', %s, %s)",
                (start, start, user_id),
            )
            conversation_id = cursor.lastrowid
            rows = [
                (
                    f"A question about zq{number % words}x and other things",
                    "An answer of a few sentences, like most answers are. " * 4,
                    conversation_id,
                    start + timedelta(seconds=number),
                    user_id,
                    start + timedelta(seconds=number),
                )
                for number in range(posts)
            ]
            for offset in range(0, len(rows), 2000):
                cursor.executemany(
                    "INSERT INTO posts (prompt, body, conversation_id, created_at, user_id, "
                    "status, superseded, updated_at) VALUES (%s, %s, %s, %s, %s, 'complete', "
                    "0, %s)",
                    rows[offset : offset + 2000],
                )
        connection.commit()
    return f"zq{words // 2}x"


def register(client: httpx.Client, url: str, name: str) -> tuple[str, int]:
    reply = client.post(
        url,
        json={
            "query": "mutation($u: String!, $p: String!) { register(username: $u, "
            "password: $p) { token user { id } } }",
            "variables": {"u": name, "p": PASSWORD},
        },
    ).json()["data"]["register"]
    return reply["token"], int(reply["user"]["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="small accounts: that it runs")
    args = parser.parse_args()
    small, large = (200, 2_000) if args.quick else (1_000, 100_000)
    duration = 1 if args.quick else args.duration
    database = f"chat_bench_{secrets.token_hex(4)}"
    with pymysql.connect(**MARIADB, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"mysql://root:@127.0.0.1:3306/{database}",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "API_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "APP_ENV": "production",
    }
    server = subprocess.Popen([sys.executable, "-m", "graphql_api", "serve"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/graphql"
    results = {}
    try:
        client = httpx.Client(timeout=60)
        for _ in range(100):
            try:
                if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        cases = []
        for size in (small, large):
            token, user_id = register(client, url, f"searcher{size}")
            word = seed(database, user_id, size)
            check = client.post(
                url,
                json={"query": QUERY, "variables": {"t": word}},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            assert not check.get("errors"), check
            hits = len(check["data"]["searchPosts"]["edges"])
            cases.append((f"{size:,} posts ({hits} hits)", token, word))
        for name, token, word in cases:
            wrk(url, token, QUERY, {"t": word}, 1, args.connections)  # warm-up
            results[name] = wrk(url, token, QUERY, {"t": word}, duration, args.connections)
    finally:
        server.terminate()
        server.wait(timeout=20)
        with (
            pymysql.connect(**MARIADB, autocommit=True) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
    print(f"\nsearchPosts, MariaDB FULLTEXT, {args.connections} connections, {duration}s each")
    print(f"{'account':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, result in results.items():
        print(f"{name:28} {result['rps']:9.0f} {result['p50']:8.2f} {result['p99']:8.2f}")
    first, second = results.values()
    print(
        f"\n{small:,}-post account / {large:,}-post account throughput: "
        f"{first['rps'] / second['rps']:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
