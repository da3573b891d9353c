#!/usr/bin/env python3
"""Bootstrap for the README quickstart: ``python3 run.py serve`` / ``python3 run.py tests`` / ``lint`` / ``fuzz``.

Creates ``.venv`` (stdlib venv) with nox on first use, then runs the nox session of that name; nox
installs the project into the session's own virtual environment (``.nox/<session>``). Nothing is
installed into the system Python.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".venv"
BIN = TOOLS / ("Scripts" if os.name == "nt" else "bin")


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        sys.exit("entry-service needs Python 3.11 or newer")
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python3 run.py {serve|tests|lint|fuzz} [session arguments…]")
        return 0
    nox = BIN / "nox"
    if not nox.exists():
        print("creating .venv with nox (first run only)…", file=sys.stderr)
        venv.create(TOOLS, with_pip=True, clear=True)
        subprocess.run([str(BIN / "python"), "-m", "pip", "install", "--quiet", "nox>=2024.4.15"], check=True)
    session, *rest = argv
    command = [str(nox), "--no-error-on-missing-interpreters", "-f", str(ROOT / "noxfile.py"), "-s", session]
    if rest:
        command += ["--", *rest]
    return supervise(command, cwd=ROOT)


STOP_GRACE = 40.0  # seconds the tree has to stop after a signal (serve answers its requests in flight first)


def supervise(command: list[str], cwd: Path = ROOT, grace: float = STOP_GRACE) -> int:
    """Runs ``command`` in a process group of its own and returns its exit status. SIGTERM, SIGINT and SIGHUP
    sent to this process are passed to the whole group (nox, and the ``entry-service`` it started), so
    ``kill`` of this process stops the service instead of orphaning it on its port; a group still alive
    ``grace`` seconds later is killed. Ctrl-C is handled, not raised: no traceback."""
    child = subprocess.Popen(command, cwd=cwd, start_new_session=True)  # its own group: killpg reaches all of it
    received: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        _signal_group(child.pid, signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    status = child.wait()
    # nox may end before what it started (a SIGTERM ends nox at once): wait for the rest of the group too.
    deadline = time.monotonic() + (grace if received else 1.0)
    while _signal_group(child.pid, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _signal_group(child.pid, 0):
        _signal_group(child.pid, signal.SIGKILL)
    if received:
        return 128 + received[0]
    return status if status >= 0 else 128 - status


def _signal_group(pgid: int, signum: int) -> bool:
    """Sends ``signum`` to process group ``pgid``; whether any process of it was there to receive it."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a member that changed its user is still there
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
