"""`leadcycle` commands run as real processes, as people and process managers run them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

CLI = (sys.executable, "-m", "leadcycle.graph.cli")
# Generous: without bytecode caches (PYTHONDONTWRITEBYTECODE) every process compiles its imports, and on two
# cores shared with other work a `serve --workers 2` with the embedded Postgres was seen to need over 60 s.
START_SECONDS, STOP_SECONDS = 180, 30


def newcomer_environment() -> dict[str, str]:
    """The environment of someone who configured nothing: no database URL, no leadcycle settings."""
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("LEADCYCLE_")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_healthy(api: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"leadcycle serve exited early:\n{log.read_text()}"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{api}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"leadcycle serve did not answer /healthz within {START_SECONDS} s:\n{log.read_text()}")


@contextlib.contextmanager
def serving(options: Sequence[str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`leadcycle serve <options>` on a free port, healthy, in a newcomer's environment; stopped with SIGINT after."""
    port = free_port()
    command = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *options]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=newcomer_environment())
    try:
        api = f"http://127.0.0.1:{port}"
        wait_until_healthy(api, process, log)
        yield api, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def embedded_data_dir(data_dir: Path) -> Iterator[Path]:
    """A folder for `serve`'s embedded Postgres; one left running there (a failed test) is stopped after."""
    yield data_dir
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGINT)  # Postgres's "fast shutdown"


def stop(process: subprocess.Popen[bytes], signal_number: signal.Signals) -> int:
    """Stop the server as a person (SIGINT, Ctrl-C) or a process manager (SIGTERM) does; the exit status."""
    process.send_signal(signal_number)
    return process.wait(STOP_SECONDS)
