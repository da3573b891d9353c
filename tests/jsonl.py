"""Reading the JSON-lines files the file sinks write, while a relay may be appending to them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def json_lines(path: Path) -> list[Any]:
    """The objects of the whole lines of ``path`` (none when it does not exist); a line being written is left out."""
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]
