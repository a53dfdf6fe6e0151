"""The API's and the page's benchmarks still run: each in its `--quick` setting (seconds, not
minutes; bench_frontend has only one), and each prints the ratio it is for. (The gateway's
are in tests/gateway/test_benchmarks.py.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("script", "arguments", "expected"),
    [
        ("bench_json_encoding.py", ["--quick"], "orjson is"),
        ("bench_logins.py", ["--quick"], "p50 / best"),
        ("bench_read_path.py", ["--quick", "--driver-baseline"], "asyncmy / aiomysql"),
        ("bench_read_cpu.py", ["--quick"], "x ceiling"),
        ("bench_search.py", ["--quick"], "account throughput"),
        ("bench_socket_memory.py", ["--quick"], "socket growth / HTTP growth"),
        ("bench_export_memory.py", ["--quick"], "import of the"),
        ("bench_streaming.py", ["--quick"], "the worst of the four ways"),
        ("bench_load.py", ["--quick"], "API CPU s"),
        ("bench_frontend.py", [], "ratio to baseline"),
    ],
)
def test_an_api_benchmark_runs_in_its_quick_setting(
    script: str, arguments: list[str], expected: str
) -> None:
    if "read_path" in script or "search" in script:
        assert shutil.which("wrk"), "wrk is needed (.ci/run installs it)"
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=BENCH.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout, result.stdout[-2000:]
