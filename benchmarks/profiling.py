"""Optional sampling of one gunicorn worker with py-spy during a measured run (``http_entries.py --profile``).

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;… count``); ``summarize`` turns them
into the functions with the most samples on top of the stack (self) and in the stack (inclusive).
py-spy is not a project dependency: ``/work/venv/bin/pip install py-spy``.
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
    """Samples process ``pid`` for ``seconds`` at 200 Hz without pausing it."""
    cmd = [py_spy() or "py-spy", "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
           "--format", "raw", "--nolineno", "--nonblocking", "--output", str(out)]
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


def summarize(raw: Path, top: int = 12) -> list[str]:
    """Report lines: total samples, then the top self and inclusive functions with their share."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";") if f]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples (non-idle); self:"]
    lines += [f"    {100 * n / total:5.1f} %  {f}" for f, n in own.most_common(top)]
    lines.append("  inclusive (project and library frames under 95 %):")
    below = [(f, n) for f, n in inclusive.most_common() if n < 0.95 * total]
    lines += [f"    {100 * n / total:5.1f} %  {f}" for f, n in below[: top * 2]]
    return lines
