"""The embedded Postgres a newcomer gets with no database configured."""

import json
import subprocess
import sys
from pathlib import Path

import asyncpg

from leadcycle.persistence.database import plain_url
from leadcycle.persistence.embedded import embedded_postgres


def _dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)


async def test_starts_a_real_postgres_and_stops_it_even_after_a_killed_user(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with embedded_postgres(data_dir):
        pass  # a first run creates the cluster
    (data_dir / ".handle_pids.json").write_text(json.dumps([_dead_pid()]))  # a run that was SIGKILLed

    with embedded_postgres(data_dir) as url:
        connection = await asyncpg.connect(plain_url(url))
        assert await connection.fetchval("SELECT 1 + 1") == 2
        await connection.close()
        assert (data_dir / "postmaster.pid").exists()

    assert not (data_dir / "postmaster.pid").exists()
