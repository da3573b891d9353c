"""``python3 run.py serve`` stops as a whole (issue 21, item 9): SIGTERM or SIGINT to run.py's own PID stops nox
and the ``entry-service serve`` it started, frees the port, and Ctrl-C prints no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.serve import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _run_py(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ENTRY_")}
    env["ENTRY_DATA_DIR"] = str(tmp_path / "data")  # not the checkout's own data folder
    with (tmp_path / "run.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as a shell's background job: a group of its own, signalled by PID only
        )


def _wait_up(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 300  # the first run installs the serve session's environment
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/heartbeat", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"run.py serve did not answer: {log.read_text()[-2000:]}")


def _members(pgid: int) -> list[int]:
    """The processes still in run.py's children's process group (nox's and serve's)."""
    done = subprocess.run(["ps", "-e", "-o", "pid=,pgid=,stat="], capture_output=True, text=True, check=True)
    rows = [line.split() for line in done.stdout.splitlines()]
    return [int(pid) for pid, group, stat in rows if int(group) == pgid and not stat.startswith("Z")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_run_py_stops_the_whole_service(tmp_path: Path, signum: int) -> None:
    port = free_port()
    process = _run_py(tmp_path, port)
    log = tmp_path / "run.log"
    try:
        _wait_up(process, port, log)
        children = subprocess.run(
            ["ps", "-o", "pgid=", "--ppid", str(process.pid)], capture_output=True, text=True, check=True
        ).stdout.split()
        assert children, "run.py has a child (nox)"
        group = int(children[0])
        process.send_signal(signum)  # to run.py's PID alone, as `kill $P` does
        assert process.wait(timeout=60) == 128 + signum
        deadline = time.monotonic() + 30
        while _members(group) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _members(group) == [], f"left running: {_members(group)}\n{log.read_text()[-2000:]}"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/heartbeat", timeout=2)
        assert "Traceback" not in log.read_text()
    finally:
        if _alive(process.pid):
            process.kill()
        process.wait(timeout=10)
