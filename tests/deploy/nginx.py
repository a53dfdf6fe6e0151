"""A real nginx on loopback running the repository's `docker/nginx.conf`.

    with NginxProxy(tmp_path, upstream="127.0.0.1:8123") as proxy:
        httpx.get(proxy.url + "/healthz")

The configuration is the deployed one, with only what ties it to Docker changed: the
upstream's address (Docker's DNS name and `resolve`), the resolver, and the port it
listens on (`port`, a free one unless given); `edit` may change more (a test refusing
WebSocket upgrades, say). Needs Debian's nginx (`apt-get install -y nginx`); without it the
test is skipped, unless `CI` is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, free_port

CONFIG = ROOT / "docker" / "nginx.conf"
DOCKER_UPSTREAM = "server graphql_api:8000 resolve;"
DOCKER_RESOLVER = "resolver 127.0.0.11 valid=10s ipv6=off;"


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed and CI is set")
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    return found


def render(config: str, upstream: str, port: int, directory: Path) -> str:
    assert DOCKER_UPSTREAM in config, "docker/nginx.conf no longer names its upstream so"
    assert DOCKER_RESOLVER in config, "docker/nginx.conf no longer names its resolver so"
    config = config.replace(DOCKER_UPSTREAM, f"server {upstream};")
    config = config.replace(DOCKER_RESOLVER, "")
    config = config.replace("listen 8000;", f"listen 127.0.0.1:{port};")
    # Run unprivileged, with every file in the test's directory.
    paths = "\n".join(
        f"    {name}_temp_path {directory / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = config.replace("http {", f"http {{\n{paths}", 1)
    return f"pid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'} warn;\n" + config


class NginxProxy:
    def __init__(
        self,
        directory: Path,
        upstream: str,
        edit: Callable[[str], str] = lambda text: text,
        port: int | None = None,
    ) -> None:
        self.binary = nginx_binary()
        self.directory = directory
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "nginx.conf"
        self.config.write_text(edit(render(CONFIG.read_text(), upstream, self.port, directory)))
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> NginxProxy:
        command = [self.binary, "-c", str(self.config), "-p", str(self.directory)]
        subprocess.run([*command, "-t"], check=True, capture_output=True)
        self.process = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/nginx-health", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("nginx did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
