"""The servers under test, each in a process of its own (`python -m bench.server ...`)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.client import Connection, HttpError, get

ROOT = Path(__file__).absolute().parent.parent  # not resolved: bench/ may be linked into a checkout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """`which` is "leadcycle" (ours) or "bare"; its output goes to a log file shown on failure."""

    def __init__(self, which: str, database_url: str, log_dir: Path) -> None:
        self.which = which
        self.port = free_port()
        self.log_path = log_dir / f"{which}.log"
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "bench.server", which, "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--database-url", database_url], cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._paused = False

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self, within: float = 60.0) -> None:
        """Wait until /healthz answers (after the app's start-up: migrations, change feed)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.which} server exited:\n{self.log_tail()}")
            try:
                connection = await Connection.open(self.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            try:
                status, _ = await connection.request(get(self.port, "/healthz"))
            except HttpError:
                status = 0
            finally:
                connection.close()
            if status == 200:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the {self.which} server did not start in {within:.0f} s:\n{self.log_tail()}")

    def pause(self) -> None:
        """Stop the process (SIGSTOP) so that it takes no CPU while another system is measured."""
        if not self._paused:
            os.kill(self.pid, signal.SIGSTOP)
            self._paused = True

    @property
    def paused(self) -> bool:
        return self._paused

    def resume(self) -> None:
        if self._paused:
            os.kill(self.pid, signal.SIGCONT)
            self._paused = False

    def stop(self) -> None:
        self.resume()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
