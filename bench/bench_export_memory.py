"""Export memory: the API's resident memory while it streams an account's export, against
its memory at rest, with 2,000 posts and then with 20,000.

    .venv/bin/python bench/bench_export_memory.py [--posts 20000] [--quick]

An export is written as it is read (`services/exporting.py`), a page of rows at a time, so
its memory must not grow with the account: the growth while 20,000 posts stream should be
about the growth while 2,000 do, and a small fraction of the file's size. The posts are
written straight into the API's SQLite database (100 per conversation, answers of about a
thousand characters); the export is read as fast as the client can take it, the API's
resident memory sampled every 5 ms meanwhile. Prints, for JSON and for the Markdown zip:
the file's size, the memory at rest, the peak while exporting, and growth / file size. Then,
for comparison, the import of the largest JSON export into another account: its time and
its memory (an import is held in memory while it is checked, so it grows with the file).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from bench_gateway import free_port, service
from bench_socket_memory import resident_mb

PASSWORD = "benchmark password"
POSTS_PER_CONVERSATION = 100
ANSWER = ("The answer goes on for a while, with **Markdown** and `code`. " * 16).strip()


async def register(api_url: str) -> str:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        reply = await http.post(
            "/graphql",
            json={
                "query": "mutation($u: String!, $p: String!) { register(username: $u, "
                "password: $p) { token user { id } } }",
                "variables": {"u": f"bench{secrets.token_hex(4)}", "p": PASSWORD},
            },
        )
        token: str = reply.json()["data"]["register"]["token"]
        return token


def seed(database: Path, user_id: int, posts: int) -> None:
    """Conversations of 100 posts each, a linear branch, until the account holds `posts`."""
    now = datetime.now(UTC).isoformat(sep=" ")
    with sqlite3.connect(database, timeout=30) as db:
        have = db.execute("SELECT COUNT(*) FROM posts WHERE user_id = ?", (user_id,)).fetchone()[0]
        while have < posts:
            cursor = db.execute(
                "INSERT INTO conversation (status, user_id, created_at, updated_at, title, "
                "title_source) VALUES ('online', ?, ?, ?, ?, 'user')",
                (user_id, now, now, f"Conversation {have // POSTS_PER_CONVERSATION}"),
            )
            conversation_id = cursor.lastrowid
            parent = None
            for number in range(POSTS_PER_CONVERSATION):
                cursor = db.execute(
                    "INSERT INTO posts (prompt, body, created_at, updated_at, status, superseded, "
                    "conversation_id, user_id, parent_id, model) "
                    "VALUES (?, ?, ?, ?, 'complete', 0, ?, ?, ?, 'bench-model')",
                    (f"Question {number}?", ANSWER, now, now, conversation_id, user_id, parent),
                )
                parent = cursor.lastrowid
            db.execute(
                "UPDATE conversation SET current_post_id = ? WHERE id = ?",
                (parent, conversation_id),
            )
            have += POSTS_PER_CONVERSATION


class PeakSampler:
    """The peak resident memory of a process while the block runs, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = resident_mb(pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, resident_mb(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def import_peak(api_url: str, token: str, pid: int, data: bytes) -> tuple[float, float]:
    """(seconds, peak resident MB) of importing `data`."""
    started = time.perf_counter()
    with PeakSampler(pid) as sampler, httpx.Client(base_url=api_url, timeout=600) as http:
        reply = http.post("/api/import", content=data, headers={"Authorization": f"Bearer {token}"})
        reply.raise_for_status()
    return time.perf_counter() - started, sampler.peak


def export_bytes(api_url: str, token: str) -> bytes:
    with httpx.Client(base_url=api_url, timeout=600) as http:
        reply = http.get(
            "/api/export", params={"format": "json"}, headers={"Authorization": f"Bearer {token}"}
        )
        reply.raise_for_status()
        return reply.content


def export_peak(api_url: str, token: str, pid: int, export_format: str) -> tuple[int, float]:
    """(bytes received, peak resident MB while they streamed)."""
    peak = resident_mb(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, resident_mb(pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    size = 0
    try:
        with (
            httpx.Client(base_url=api_url, timeout=600) as http,
            http.stream(
                "GET",
                "/api/export",
                params={"format": export_format},
                headers={"Authorization": f"Bearer {token}"},
            ) as response,
        ):
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
    finally:
        done.set()
        sampler.join()
    return size, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="200 and 2,000 posts")
    arguments = parser.parse_args()
    large = 2_000 if arguments.quick else arguments.posts
    sizes = (large // 10, large)
    standin_port, api_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "chat.sqlite3"
        standin = [sys.executable, "-m", "tests.standins", "vllm", "--port", str(standin_port)]
        with (
            service(standin, f"http://127.0.0.1:{standin_port}/health"),
            service(
                [sys.executable, "-m", "graphql_api", "serve"],
                f"{api_url}/readyz",
                env={
                    "DATABASE_URL": f"sqlite://{database}",
                    "LLM_GATEWAY_URL": f"http://127.0.0.1:{standin_port}",
                    "API_PORT": str(api_port),
                    "JWT_SECRET": secrets.token_urlsafe(48),
                    "LOG_LEVEL": "WARNING",
                },
            ) as api,
        ):
            token = asyncio.run(register(api_url))
            with sqlite3.connect(database) as db:
                user_id = db.execute("SELECT MAX(id) FROM users").fetchone()[0]
            rows = []
            for posts in sizes:
                seed(database, user_id, posts)
                for export_format in ("json", "markdown"):
                    export_peak(api_url, token, api.pid, export_format)  # warm: imports, caches
                    time.sleep(0.5)
                    at_rest = resident_mb(api.pid)
                    size, peak = export_peak(api_url, token, api.pid, export_format)
                    rows.append((posts, export_format, size, at_rest, peak))
            exported = export_bytes(api_url, token)
            other = asyncio.run(register(api_url))
            time.sleep(0.5)
            before_import = resident_mb(api.pid)
            seconds, import_high = import_peak(api_url, other, api.pid, exported)
    print("posts   format    file MB  rest MB  peak MB  growth MB  growth / file")
    for posts, export_format, size, at_rest, peak in rows:
        growth = peak - at_rest
        print(
            f"{posts:6d}  {export_format:8s} {size / 2**20:8.1f} {at_rest:8.1f} {peak:8.1f} "
            f"{growth:10.1f} {growth / (size / 2**20):14.3f}"
        )
    print(
        f"import of the {len(exported) / 2**20:.1f} MB JSON export ({sizes[-1]} posts): "
        f"{seconds:.1f} s, resident {before_import:.1f} -> {import_high:.1f} MB "
        f"(+{import_high - before_import:.1f})"
    )


if __name__ == "__main__":
    main()
