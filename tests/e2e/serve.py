"""The real ``entry-service serve`` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.http_app import write_sources

SCRIPT = Path(sys.executable).parent / "entry-service"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """Starts ``entry-service serve`` with test campaigns/users in ``folder``; ``url`` is its base URL."""

    def __init__(
        self,
        folder: Path,
        workers: int = 2,
        user: int | None = None,
        command: Sequence[str] = (str(SCRIPT),),
        **env: str,
    ) -> None:
        self.folder = folder
        self.workers = workers
        self.user = user  # another user id to run as (the test runs as root)
        self.command = list(command)  # what runs ``entry-service``
        self.env = {**os.environ, **write_sources(folder), **env}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "serve.log"

    def start(self, timeout: float = 30.0) -> ServeProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, "serve", "--port", str(self.port), "--workers", str(self.workers)],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **({} if self.user is None else {"user": self.user, "group": self.user, "extra_groups": []}),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"serve did not answer in {timeout} s: {self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def run_cli(*args: str, folder: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``entry-service ARGS`` as an operator runs it in ``folder`` with ``env``; its output captured."""
    return subprocess.run(
        [str(SCRIPT), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
