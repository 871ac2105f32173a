"""A real Postgres in a local folder, for a newcomer with nothing installed (the pgserver package).

Run as root, pgserver creates a system user `pgserver` to run Postgres and opens the data
folder's parent folders for reading by it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from pgserver.postgres_server import get_server


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the Postgres keeping its data in `data_dir`; yield its URL; stop it after."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = get_server(data_dir, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without stopping (SIGKILL) from pgserver's list of users.

    pgserver stops Postgres when the last process on its list lets go; a dead process left on
    the list would keep every later run from stopping it.
    """
    handles = data_dir / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text()) if _is_running(pid)]
        handles.write_text(json.dumps(alive))


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
