#!/usr/bin/env python3
"""Bootstrap for the README quickstart: ``python3 run.py serve`` / ``python3 run.py tests`` / ``lint`` / ``fuzz``.

Creates ``.venv`` (stdlib venv) with nox on first use, then runs the nox session of that name; nox
installs the project into the session's own virtual environment (``.nox/<session>``). Nothing is
installed into the system Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
