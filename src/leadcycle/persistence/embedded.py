"""A real Postgres in a local folder, for a newcomer with nothing installed (the pgserver package).

Run as root, pgserver creates a system user `pgserver` to run Postgres and opens the data
folder's parent folders for reading by it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from pgserver.postgres_server import get_server


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the Postgres keeping its data in `data_dir`; yield its URL; stop it after."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
