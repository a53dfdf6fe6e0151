"""Load benchmark: simulated users against the API on MariaDB for a minute, answers streamed
from a paced stand-in model behind the real gateway; then a check of the database. Run once
with one API process and once with two (API_WORKERS), on the same machine in the same run.

    .venv/bin/python bench/bench_load.py [--users 200] [--seconds 60] [--workers 1,2] [--quick]

`--quick` (10 users for 5 seconds) only shows that the benchmark runs.

Each user logs in, creates conversations, streams answers (promptStream over WebSocket) and
reads its history (conversations, a conversation's posts, prompts), thinking between steps
(bench/_load_users.py). The stand-in (`python -m tests.standins vllm`) echoes each prompt
`--repeat` times at `--token-delay` seconds a token, so every answer is known in advance.

Prints, for each number of API processes, requests/s, p50/p99 latency per operation and the
errors, against baselines from the same run: each read alone on the idle API after the load,
and the stand-in's first token with as many streams called directly. Then checks the
database: every prompt the API accepted is there once, COMPLETE, with exactly the stand-in's
text, and nothing else was saved. Exits non-zero if that check fails. Last, the runs side by
side, with each figure of the later runs as a ratio of the first run's. Every run has a
fresh database and stack, and Redis (REDIS_URL, which more than one worker needs; one worker
gets it too, so that only the number of processes differs).

The API's per-user limits are raised for the run, which measures capacity, not the limits;
so is the gateway's concurrency (the stand-in has none of its own; a real server batches).
API, gateway, stand-in, MariaDB and this client all share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import resource
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import pymysql
import uvloop
from _load_users import (
    CONVERSATIONS,
    FIRST_TOKEN,
    LOGIN,
    OPERATIONS,
    PASSWORD,
    POSTS,
    PROMPTS,
    WHOLE_ANSWER,
    SimulatedUser,
    Stats,
)
from _streams import run_load
from bench_gateway import MODEL, free_port, service
from bench_streaming import database

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
RAISED_LIMITS = {
    "MAX_ANSWERS_IN_FLIGHT": "100000",
    "PROMPTS_PER_MINUTE": "100000",
    "SIGNUPS_PER_HOUR_PER_ADDRESS": "100000",
    # Every simulated user logs in from loopback, and a login counts against its address
    # while it is checked: a slow start would otherwise lock the others out.
    "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
}
POOL_SIZE = "20"
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"
IDLE_SAMPLES = 30


@dataclass
class Stack:
    standin_url: str
    api_url: str
    pids: dict[str, int]


def with_descendants(pid: int) -> list[int]:
    """A process and every process below it (the API's workers)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in task.read_text().split():
                found += with_descendants(int(child))
    return found


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time used so far by each process and its children (user and system), and by this
    client."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in pids.items():
        used[name] = 0.0
        for each in with_descendants(pid):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
                used[name] += (int(fields[11]) + int(fields[12])) / tick
    own = resource.getrusage(resource.RUSAGE_SELF)
    used["load client"] = own.ru_utime + own.ru_stime
    # The whole machine (first line of /proc/stat: user nice system idle iowait irq softirq
    # steal), so that what other tenants of a shared machine used shows.
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    used["machine"] = sum(int(busy[index]) for index in (0, 1, 2, 5, 6, 7)) / tick
    return used


def mariadb_pid() -> int | None:
    """The shared MariaDB server's process, when it runs on this machine."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "mariadbd":
                return int(comm.parent.name)
    return None


@contextmanager
def load_stack(
    database_url: str, repeat: int, token_delay: float, users: int, workers: int
) -> Iterator[Stack]:
    """Stand-in, gateway and API (`workers` processes sharing its port) as processes."""
    standin_port, gateway_port, api_port = free_port(), free_port(), free_port()
    standin_url = f"http://127.0.0.1:{standin_port}"
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    api_url = f"http://127.0.0.1:{api_port}"
    standin = [sys.executable, "-m", "tests.standins", "vllm", "--port", str(standin_port),
               "--repeat", str(repeat), "--token-delay", str(token_delay)]  # fmt: skip
    gateway_env = {
        "LLM_BACKEND": "vllm",
        "LLM_BASE_URL": f"{standin_url}/v1",
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_MAX_CONCURRENCY": str(users * 4),
        "GATEWAY_MAX_QUEUE": str(users * 4),
        "LOG_LEVEL": "WARNING",
    }
    api_env = {
        "DATABASE_URL": database_url,
        "LLM_GATEWAY_URL": gateway_url,
        "API_PORT": str(api_port),
        "APP_ENV": "production",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "DATABASE_POOL_SIZE": POOL_SIZE,
        "LOG_LEVEL": "WARNING",
        "API_WORKERS": str(workers),
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"bench-{secrets.token_hex(4)}",
        **RAISED_LIMITS,
    }
    with ExitStack() as running:
        model = running.enter_context(service(standin, f"{standin_url}/health"))
        gateway = running.enter_context(
            service([sys.executable, "-m", "llm_gateway"], f"{gateway_url}/healthz", gateway_env)
        )
        api = running.enter_context(
            service([sys.executable, "-m", "graphql_api", "serve"], f"{api_url}/readyz", api_env)
        )
        if workers > 1:
            time.sleep(3)  # /readyz answered from one worker: give the others time to be up
        pids = {"API": api.pid, "gateway": gateway.pid, "stand-in model": model.pid}
        if (mariadb := mariadb_pid()) is not None:
            pids["MariaDB"] = mariadb
        yield Stack(standin_url, api_url, pids)


async def register(http: httpx.AsyncClient, count: int) -> list[str]:
    """`count` accounts (argon2 makes this slow: eight at a time, before the clock starts)."""
    semaphore = asyncio.Semaphore(8)
    names = [f"load-{secrets.token_hex(3)}-{number}" for number in range(count)]

    async def one(name: str) -> None:
        async with semaphore:
            reply = await http.post(
                "/graphql", json={"query": REGISTER, "variables": {"u": name, "p": PASSWORD}}
            )
            if reply.json().get("errors"):
                raise RuntimeError(f"could not register {name}: {reply.text}")

    await asyncio.gather(*(one(name) for name in names))
    return names


async def run_users(
    api_url: str, names: list[str], seconds: float, think: float, ramp: float, answers: int
) -> tuple[Stats, float]:
    """All users at once (their starts spread over `ramp` seconds); (stats, wall seconds)."""
    stats = Stats()
    # Idle connections are dropped before the API's 5 s keep-alive ends: a request sent on
    # one the server is closing fails, which a browser retries and httpx does not.
    limits = httpx.Limits(
        max_connections=len(names), max_keepalive_connections=len(names), keepalive_expiry=4
    )
    async with httpx.AsyncClient(base_url=api_url, timeout=60, limits=limits) as http:
        started = time.monotonic()
        until = started + seconds

        async def one(index: int, name: str) -> None:
            await asyncio.sleep(ramp * index / len(names))
            user = SimulatedUser(index, name, api_url, http, stats)
            await user.live(until, think, answers)

        await asyncio.gather(*(one(index, name) for index, name in enumerate(names)))
        return stats, time.monotonic() - started


async def idle_baseline(api_url: str, name: str) -> Stats:
    """Each read alone, one request at a time, on the API with nothing else to do."""
    stats = Stats()
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        user = SimulatedUser(0, name, api_url, http, stats)
        login = await user.gql("login", LOGIN, {"u": name, "p": PASSWORD})
        user.token = login["login"]["token"]
        conversations = await user.gql("conversations", CONVERSATIONS, {})
        conversation = conversations["conversations"]["edges"][0]["node"]["id"]
        for _ in range(IDLE_SAMPLES):
            await user.gql("conversations", CONVERSATIONS, {})
            await user.gql("conversation.posts", POSTS, {"id": conversation})
            await user.gql("prompts", PROMPTS, {})
    return stats


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))] * 1000


def check_database(database_url: str, stats: Stats, repeat: int) -> list[str]:
    """Problems found: each accepted prompt once, COMPLETE, with the stand-in's exact text."""
    name = database_url.rsplit("/", 1)[1]
    connection = pymysql.connect(host="127.0.0.1", user="root", password="", database=name)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, prompt, body, status FROM posts")
        rows = cursor.fetchall()
    by_prompt: dict[str, list[tuple[int, str, str]]] = {}
    for post_id, prompt, body, status in rows:
        by_prompt.setdefault(prompt, []).append((post_id, body, status))
    problems = []
    accepted = {item.prompt for item in stats.accepted}
    for item in stats.accepted:
        saved = by_prompt.get(item.prompt, [])
        expected = ("Echo: " + item.prompt) * repeat
        if len(saved) != 1:
            problems.append(f"{item.prompt!r} saved {len(saved)} times")
        elif saved[0] != (item.post_id, expected, "complete"):
            post_id, body, status = saved[0]
            problems.append(
                f"{item.prompt!r}: post {post_id} (client saw {item.post_id}), {status}, "
                f"{len(body)} of {len(expected)} characters, text right: {body == expected}"
            )
    unacknowledged = [prompt for prompt in by_prompt if prompt not in accepted]
    if unacknowledged:
        problems.append(f"{len(unacknowledged)} prompts saved that no client saw accepted")
    return problems


@dataclass
class Run:
    workers: int
    stats: Stats
    seconds: float
    idle: Stats
    direct_ttfts: list[float]
    problems: list[str]
    cpu: dict[str, float]


def report(args: argparse.Namespace, run: Run) -> None:
    stats, seconds, idle, problems = run.stats, run.seconds, run.idle, run.problems
    direct_ttfts = run.direct_ttfts
    tokens = args.repeat * 7  # "Echo:" and the six words of each prompt
    processes = "one API process" if run.workers == 1 else f"{run.workers} API processes"
    print(
        f"\n== {processes}\n{args.users} users for {args.seconds:g} s (starting over the first "
        f"{args.ramp:g} s; the last answers ended at {seconds:.0f} s) against {processes} "
        "(API_WORKERS) on MariaDB; think "
        f"time {args.think:g} s; answers of {tokens} tokens at {1 / args.token_delay:.0f} "
        "tokens/s a stream (stand-in vLLM behind the real gateway)."
    )
    raised = ", ".join(f"{key}={value}" for key, value in RAISED_LIMITS.items())
    print(
        f"Raised for the run, to measure capacity rather than the limits: {raised}; "
        f"GATEWAY_MAX_CONCURRENCY={args.users * 4}; DATABASE_POOL_SIZE={POOL_SIZE}."
    )
    logins = stats.samples.get("login", [])
    steady = max((start + took for start, took in logins), default=0.0)
    steady_seconds = seconds - (steady - min((start for start, _ in logins), default=steady))
    print(
        f"'after logins': operations started once every user had logged in "
        f"(the last {steady_seconds:.0f} s); 'idle': one request at a time after the load."
    )
    print(
        f"\n{'':28}{'whole run':^37}{'after logins':^18}{'idle':>8}\n"
        f"{'operation':<28}{'count':>6}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'p50 ms':>8}"
    )
    for operation in OPERATIONS:
        values, later = stats.latencies(operation), stats.latencies(operation, since=steady)
        idle_values = idle.latencies(operation)
        print(
            f"{operation:<28}{len(values):6}{len(values) / seconds:7.1f}"
            f"{percentile(values, 50):8.0f}{percentile(values, 99):8.0f}"
            f"{stats.errors.get(operation, 0):8}{percentile(later, 50):9.0f}"
            f"{percentile(later, 99):9.0f}"
            + (f"{percentile(idle_values, 50):8.1f}" if idle_values else "")
        )
    requests = sum(
        len(stats.latencies(operation)) for operation in OPERATIONS if operation != FIRST_TOKEN
    )
    errors = sum(stats.errors.values())
    answered = len(stats.latencies(WHOLE_ANSWER))
    print(
        f"\nrequests/s: {requests / seconds:.1f} ({requests} requests, each promptStream counted "
        f"once); errors: {errors}; answers streamed: {answered / seconds:.1f}/s, "
        f"{stats.events / seconds:.0f} events/s, {answered * tokens / seconds:.0f} tokens/s"
    )
    for example in stats.examples:
        print(f"  e.g. {example}")
    ttfts = stats.latencies(FIRST_TOKEN)
    direct50, direct99 = percentile(direct_ttfts, 50), percentile(direct_ttfts, 99)
    print(
        f"first token through the API under this load: p50 {percentile(ttfts, 50):.0f} ms, p99 "
        f"{percentile(ttfts, 99):.0f} ms; from the stand-in called directly with {args.users} "
        f"streams: p50 {direct50:.1f} ms, p99 {direct99:.1f} ms"
    )
    print(
        f"\ndatabase: {len(stats.accepted)} prompts accepted; "
        + ("each saved once, COMPLETE, with exactly the stand-in's text, nothing else saved: OK"
           if not problems else f"{len(problems)} problems:")
    )  # fmt: skip
    for problem in problems[:20]:
        print(f"  {problem}")


def run_once(args: argparse.Namespace, workers: int) -> Run:
    """One run with `workers` API processes, on a database and a stack of its own."""
    database_url, drop = database()
    if not database_url.startswith("mysql://"):
        drop()  # type: ignore[operator]
        sys.exit("MariaDB is not reachable at 127.0.0.1:3306; this benchmark needs it")
    try:
        with load_stack(database_url, args.repeat, args.token_delay, args.users, workers) as stack:
            direct = uvloop.run(
                run_load(f"{stack.standin_url}/v1", MODEL, args.users, 2, spread=args.ramp / 5)
            )
            names = uvloop.run(_register(stack.api_url, args.users))
            cpu_before = cpu_seconds(stack.pids)
            stats, seconds = uvloop.run(
                run_users(stack.api_url, names, args.seconds, args.think, args.ramp, args.answers)
            )
            cpu = {name: used - cpu_before[name] for name, used in cpu_seconds(stack.pids).items()}
            idle = uvloop.run(idle_baseline(stack.api_url, names[0]))
        problems = check_database(database_url, stats, args.repeat)
    finally:
        drop()  # type: ignore[operator]
    return Run(workers, stats, seconds, idle, direct.ttfts, problems, cpu)


def report_cpu(run: Run) -> None:
    cpu = dict(run.cpu)
    rest = max(0.0, cpu.pop("machine") - sum(cpu.values()))
    print(
        f"\nCPU used during the load ({os.cpu_count()} cores, {run.seconds:.0f} s: "
        f"{(os.cpu_count() or 1) * run.seconds:.0f} core-seconds available): "
        + ", ".join(f"{name} {used:.0f} s" for name, used in cpu.items())
        + f"; everything else (kernel, other processes) {rest:.0f} s"
    )


def compare(runs: list[Run]) -> None:
    """The runs side by side; each later run's figure also as a ratio of the first run's."""
    first = runs[0]

    def figures(run: Run) -> dict[str, float]:
        requests = sum(
            len(run.stats.latencies(operation))
            for operation in OPERATIONS
            if operation != FIRST_TOKEN
        )
        ttfts = run.stats.latencies(FIRST_TOKEN)
        reads = run.stats.latencies("conversations")
        return {
            "requests/s": requests / run.seconds,
            "answers/s": len(run.stats.latencies(WHOLE_ANSWER)) / run.seconds,
            "first token p50 ms": percentile(ttfts, 50),
            "first token p99 ms": percentile(ttfts, 99),
            "conversations p50 ms": percentile(reads, 50),
            "conversations p99 ms": percentile(reads, 99),
            "errors": float(sum(run.stats.errors.values())),
            "API CPU s": run.cpu["API"],
            # On a shared machine this decides more than the number of workers does.
            "others' CPU s": max(
                0.0,
                run.cpu["machine"]
                - sum(used for name, used in run.cpu.items() if name != "machine"),
            ),
        }

    base = figures(first)
    print("\n== side by side (same machine, same run)")
    print(f"{'':24}" + "".join(f"{f'{run.workers} worker(s)':>22}" for run in runs))
    for name, value in base.items():
        cells = [f"{value:22.1f}"]
        for run in runs[1:]:
            other = figures(run)[name]
            ratio = f" ({other / value:.2f}x)" if value and math.isfinite(value) else ""
            cells.append(f"{f'{other:.1f}{ratio}':>22}")
        print(f"{name:<24}" + "".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between steps")
    parser.add_argument("--ramp", type=float, default=10, help="seconds over which users start")
    parser.add_argument("--answers", type=int, default=3, help="questions per conversation")
    parser.add_argument("--repeat", type=int, default=15, help="echoes per answer (~7 tokens)")
    parser.add_argument("--token-delay", type=float, default=0.02, help="stand-in pacing")
    parser.add_argument(
        "--workers", default="1,2", help="API processes of each run, comma-separated"
    )
    parser.add_argument("--quick", action="store_true", help="10 users, 5 s: that it runs")
    args = parser.parse_args()
    if args.quick:
        args.users, args.seconds, args.ramp, args.think = 10, 5.0, 1.0, 0.3
    counts = [int(count) for count in args.workers.split(",")]
    if any(count < 1 for count in counts):
        sys.exit("--workers: counts of processes, each at least 1")

    runs = []
    for workers in counts:
        run = run_once(args, workers)
        report(args, run)
        report_cpu(run)
        runs.append(run)
    if len(runs) > 1:
        compare(runs)
    if any(run.problems for run in runs):
        sys.exit(1)


async def _register(api_url: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as http:
        return await register(http, count)


if __name__ == "__main__":
    main()
