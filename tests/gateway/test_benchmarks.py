"""The gateway's benchmarks still run: each in its smallest setting (seconds, not minutes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("script", "arguments", "expected"),
    [
        (
            "bench_gateway.py",
            ["--streams", "2", "--requests", "1", "--rounds", "1", "--no-litellm", "--no-embedded"],
            "gateway",
        ),
        (
            "bench_upstream_clients.py",
            ["--streams", "2", "--requests", "1", "--rounds", "1"],
            "ours / best library",
        ),
        ("bench_local_prompting.py", ["--questions", "1", "--max-tokens", "4"], "transcript"),
    ],
)
def test_a_gateway_benchmark_runs_in_its_smallest_setting(
    script: str, arguments: list[str], expected: str
) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH.parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout
