"""Optional sampling of one gunicorn worker with py-spy during a measured run (``http_entries.py --profile``).

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;… count``); ``summarize`` turns them
into the functions with the most samples on top of the stack (self) and in the stack (inclusive).
py-spy is not a project dependency: ``.nox/tests/bin/pip install py-spy``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*)\)$")


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (the gunicorn workers of a master)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def start(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """Samples process ``pid`` for ``seconds`` at 100 Hz (pausing it for each sample: ``--nonblocking``
    lost almost every sample of a busy gunicorn worker in trials)."""
    cmd = [
        py_spy() or "py-spy",
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "100",
        "--format",
        "raw",
        "--nolineno",
        "--output",
        str(out),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def _stacks(raw: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append(([_short(f) for f in stack.split(";") if f], int(count)))
    return stacks


def _on_request_path(frames: list[str]) -> bool:
    return any(f.startswith(("SyncWorker.handle (", "ThreadWorker.handle (")) for f in frames)


def _top(counter: Counter[str], total: int, top: int, below: float = 1.0) -> list[str]:
    rows = [(f, n) for f, n in counter.most_common() if n < below * total][:top]
    return [f"    {100 * n / total:5.1f} %  {f}" for f, n in rows]


def summarize(raw: Path, top: int = 12) -> list[str]:
    """Report lines. Samples whose stack holds a worker's ``handle`` are the request path (gunicorn's sync
    and gthread workers: parse, app, write, close); for them: functions on top of the stack (self) and in
    the stack (inclusive, without the frames every request has). The other samples are background threads
    (relay, SQLite writer), by their top frame. A thread blocked in a queue, a lock or waiting for the GIL
    shows as its Python frame: with many threads (gthread) much of "self" is waiting, not CPU."""
    stacks = _stacks(raw)
    total = sum(n for _, n in stacks)
    request = [(frames, n) for frames, n in stacks if _on_request_path(frames)]
    in_request = sum(n for _, n in request)
    if not total or not in_request:
        return ["  (no samples)"]
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    background: Counter[str] = Counter()
    for frames, n in request:
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    for frames, n in stacks:
        if not _on_request_path(frames):
            background[frames[-1]] += n
    lines = [f"  {total} samples of non-idle threads; {100 * in_request / total:.0f} % on the request path"]
    lines += ["  request path, self (% of request-path samples):", *_top(own, in_request, top)]
    lines += ["  request path, inclusive:", *_top(inclusive, in_request, top * 2, below=0.95)]
    lines += ["  background threads, top frame (% of all samples):", *_top(background, total, 6)]
    return lines
