"""A Redis server of a test's own, to kill and restart without touching the shared one.

    with PrivateRedis(tmp_path) as server:     # its own port, nothing kept on disk
        server.url                              # redis://127.0.0.1:<port>/0
        server.kill(); server.start()           # the outage, and the same port back

Needs `redis-server` (Debian's redis-server); without it the test is skipped, unless `CI`
is set: then it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.support import free_port


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin")
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is needed and CI is set")
            pytest.skip("redis-server is not installed")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrivateRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def start(self) -> None:
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        options += ["--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            [self.binary, *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
