"""Logins sent together: how long each waits, against what hashing alone costs, in one run.

    .venv/bin/python bench/bench_logins.py [--users 200] [--quick]

`--quick` (20 users) only shows that the benchmark runs.

Starts the API on a fresh SQLite database (with the password hashing it ships with: argon2id,
m=19 MiB, t=2, p=1, OWASP's floor), registers the users, then:

- the baseline: one login alone, five times (the path without any queue), and one password
  verification in this process (argon2 itself, one core);
- the burst: every user's login sent at the same moment.

Prints the burst's p50, p99 and slowest wait, the failures (target: none), and the best p50 the
machine allows: half the users' verifications spread over its cores, since the passwords are
checked by a pool of threads (argon2 releases the GIL). Target: p50 under 2 s on 2 cores. Also
says how busy the machine's CPUs were (other processes included) while the burst ran.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from bench_read_path import free_port, machine_busy

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password"
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, str]) -> float:
    """Seconds the operation took; raises on an error."""
    started = time.perf_counter()
    reply = await client.post("/graphql", json={"query": query, "variables": variables})
    took = time.perf_counter() - started
    body = reply.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"][0].get("message"))
    return took


async def run(users: int, url: str) -> None:
    names = [f"bench-{index}-{secrets.token_hex(3)}" for index in range(users)]
    limits = httpx.Limits(max_connections=users + 10, max_keepalive_connections=users + 10)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        for start in range(0, users, 50):  # registering hashes too: in batches the queue takes
            await asyncio.gather(
                *(gql(client, REGISTER, {"u": n, "p": PASSWORD}) for n in names[start : start + 50])
            )
        alone = [await gql(client, LOGIN, {"u": names[0], "p": PASSWORD}) for _ in range(5)]
        hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
        digest = hasher.hash(PASSWORD)
        started = time.perf_counter()
        for _ in range(5):
            hasher.verify(digest, PASSWORD)
        verify = (time.perf_counter() - started) / 5

        busy_before = machine_busy()
        results = await asyncio.gather(
            *(gql(client, LOGIN, {"u": n, "p": PASSWORD}) for n in names), return_exceptions=True
        )
        busy_after = machine_busy()
    waits = sorted(result for result in results if isinstance(result, float))
    failures = [result for result in results if not isinstance(result, float)]
    busy = (busy_after[0] - busy_before[0]) / max(1.0, busy_after[1] - busy_before[1])
    cores = os.cpu_count() or 1
    best_p50 = users / 2 * verify / cores
    p50 = statistics.median(waits) if waits else float("nan")
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))] if waits else float("nan")
    print(f"\n{users} logins sent together, argon2id m=19 MiB t=2 p=1, {cores} cores")
    print(
        f"baseline: one login alone, median of 5:       {statistics.median(alone) * 1000:8.0f} ms"
    )
    print(f"baseline: one verification, this process:     {verify * 1000:8.0f} ms")
    print(f"burst: p50 {p50:.2f} s, p99 {p99:.2f} s, slowest {waits[-1] if waits else 0:.2f} s")
    print(f"burst: failed {len(failures)} of {users}" + (f" ({failures[0]})" if failures else ""))
    print(
        f"best p50 the cores allow ({users} / 2 x a verification / {cores} cores): {best_p50:.2f} s"
    )
    print(f"p50 / best: {p50 / best_p50:.2f}x; target: p50 < 2 s and none failed")
    print(f"the machine's CPUs were {busy:.0%} busy during the burst (every process counted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 users: that it runs")
    args = parser.parse_args()
    users = 20 if args.quick else args.users
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite://{directory}/bench.sqlite3",
            "JWT_SECRET": secrets.token_urlsafe(48),
            "API_PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "APP_ENV": "production",
            # Every user signs up and logs in from loopback: the per-address limits would
            # measure themselves, not the logins.
            "SIGNUPS_PER_HOUR_PER_ADDRESS": "100000",
            "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
        }
        server = subprocess.Popen([sys.executable, "-m", "graphql_api", "serve"], cwd=ROOT, env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            asyncio.run(run(users, url))
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
