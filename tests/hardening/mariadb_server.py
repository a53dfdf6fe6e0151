"""A MariaDB server of a test's own, to kill and restart without touching the shared one.

    with PrivateMariaDB(tmp_path) as server:     # its own datadir, socket and free port
        url = server.create_database("chat")     # mysql://root:@127.0.0.1:<port>/chat
        server.kill()                            # SIGKILL: the outage
        server.start()                           # same datadir and port: the restart

Needs `mariadb-install-db` and `mariadbd` (Debian's mariadb-server). Without them the test is
skipped, unless `CI` is set: then it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pymysql
import pytest

from tests.support import free_port

START_SECONDS = 30


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (
            str(path)
            for path in (Path("/usr/sbin") / name, Path("/usr/bin") / name)
            if path.exists()
        ),
        None,
    )


class PrivateMariaDB:
    def __init__(self, directory: Path) -> None:
        install, server = _binary("mariadb-install-db"), _binary("mariadbd")
        if install is None or server is None:
            if os.environ.get("CI"):
                pytest.fail("mariadb-install-db and mariadbd are needed and CI is set")
            pytest.skip("mariadb-install-db and mariadbd are not installed")
        self.install, self.server = install, server
        self.directory = directory
        self.datadir = directory / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        # mariadbd refuses to run as root unless told to; elsewhere it runs as whoever starts it.
        self.user = ["--user=root"] if os.geteuid() == 0 else []

    def __enter__(self) -> PrivateMariaDB:
        subprocess.run(
            [
                self.install,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *self.user,
            ],
            check=True,
            capture_output=True,
        )
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)

    def start(self) -> None:
        with (self.directory / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.server,
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--socket={self.directory / 'mariadb.sock'}",
                    f"--pid-file={self.directory / 'mariadb.pid'}",
                    "--skip-log-bin",
                    "--innodb-buffer-pool-size=32M",
                    *self.user,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log_text = (self.directory / "server.log").read_text(errors="replace")
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{log_text}")
            try:
                self.connect().close()
                return
            except pymysql.MySQLError:
                time.sleep(0.1)
        raise RuntimeError(f"mariadbd did not accept connections within {START_SECONDS} s")

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would end it; the datadir survives."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            autocommit=True,
            connect_timeout=2,
        )

    def create_database(self, name: str) -> str:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return f"mysql://root:@127.0.0.1:{self.port}/{name}"
