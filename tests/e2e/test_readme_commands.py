"""The README's command line, typed as it is: every command of its "Command line" block runs and exits 0, in a
shell set up as the README says (the block before it), on a fresh data folder."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.serve import SCRIPT

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def blocks() -> tuple[str, list[str]]:
    """The setup block and the commands of the README's "Command line" section."""
    section = (ROOT / "README.md").read_text().split("## Command line", 1)[1].split("\n## ", 1)[0]
    setup, commands = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)[:2]
    return setup, [line for line in commands.splitlines() if line.strip()]


def test_every_readme_command_runs_as_typed(tmp_path: Path) -> None:
    setup, commands = blocks()
    assert "export PATH=" in setup and len(commands) >= 15
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the README's relative paths, from the root
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENTRY_")}
    env["ENTRY_DATA_DIR"] = str(tmp_path / "data")  # a fresh data folder instead of the checkout's
    shell_setup = setup.replace('"$PWD/.nox/serve/bin', f'"{SCRIPT.parent}')  # this test's own install of it
    for command in commands:
        script = f"set -e\n{shell_setup}\n{command}\n"
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-1000:]}\n{done.stderr[-2000:]}"
