"""Every shell block of the README runs pasted as it is: bash reads it, each command starts with a program the
README's reader has, and each ``entry-service …`` line is one the CLI parses (issue 21: a ``\\`` followed by a
comment ended the Serving block's command after its first line, and the rest ran as commands named ``--…``)."""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import bashlex
import click
import pytest

from adapters_cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
# The programs the README's commands may start with: the quickstart's, the installed CLI and the shell's own.
PROGRAMS = {
    "python3",
    "curl",
    "grep",
    "printf",
    "head",
    "tr",
    "export",
    "entry-service",
    "$ES",
    ".nox/tests/bin/python",
}
CLI_NAMES = {"entry-service", "$ES"}


def commands(block: str) -> list[list[str]]:
    """The words of every simple command in ``block`` (command substitutions included), variable assignments
    in front of a command left out."""
    return parsed(block)[0]


def written(block: str) -> list[str]:
    """The files ``block``'s redirections write (``printf … > h.csv``), which later commands of it read."""
    return parsed(block)[1]


def parsed(block: str) -> tuple[list[list[str]], list[str]]:
    found: list[list[str]] = []
    files: list[str] = []

    class Visitor(bashlex.ast.nodevisitor):  # type: ignore[misc]
        def visitcommand(self, node: Any, parts: list[Any]) -> None:
            words = [part.word for part in parts if part.kind == "word"]
            if words:
                found.append(words)

        def visitredirect(self, node: Any, _input: Any, kind: str, output: Any, _heredoc: Any) -> None:
            if kind in (">", ">>") and getattr(output, "kind", None) == "word":
                files.append(output.word)

    for tree in bashlex.parse(block):
        Visitor().visit(tree)
    return found, files


def test_the_readme_has_its_blocks() -> None:
    assert len(BLOCKS) >= 8
    assert "python3 run.py serve" in BLOCKS[0] and "python3 run.py tests" in BLOCKS[0]


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_bash_reads_the_block(index: int) -> None:
    done = subprocess.run(["bash", "-n"], input=BLOCKS[index], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_command_starts_with_a_program(index: int) -> None:
    for words in commands(BLOCKS[index]):
        program = words[0]
        assert program in PROGRAMS, f"block {index}: a command starts with {program!r}: {' '.join(words)}"
        if program == "python3":
            assert words[1:2] == ["run.py"] and words[2] in ("serve", "tests", "lint", "fuzz"), words
        if program == ".nox/tests/bin/python":
            assert (ROOT / words[1]).is_file(), words
            assert not any(word.startswith("[") for word in words), f"a literal bracket would be an argument: {words}"


def remaining(ctx: click.Context) -> list[str]:
    """The words a group's context left for its subcommand."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Click 9 folds protected_args into args
        return [*getattr(ctx, "protected_args", []), *ctx.args]


def parse(args: list[str]) -> None:
    """Parses ``args`` as ``entry-service`` does (commands, types, required options, extra arguments) without
    running anything; raises click's usage errors."""
    contexts = [cli.make_context("entry-service", list(args))]
    try:
        while isinstance(group := contexts[-1].command, click.Group) and remaining(contexts[-1]):
            ctx = contexts[-1]
            name, command, rest = group.resolve_command(ctx, remaining(ctx))
            assert command is not None and name is not None
            contexts.append(command.make_context(name, rest, parent=ctx))
    finally:
        for ctx in reversed(contexts):
            ctx.close()  # files the options opened (click.File)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_cli_line_parses(index: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the README's relative paths, from the root
    for name in written(BLOCKS[index]):
        (tmp_path / name).touch()  # as the block's own earlier command writes it
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("ENTRY_")]:
        monkeypatch.delenv(name)  # options that read a variable are judged as the README's reader types them
    for words in commands(BLOCKS[index]):
        if words[0] not in CLI_NAMES or words[1:] == ["--help"]:
            continue
        try:
            parse(words[1:])
        except click.ClickException as exc:
            pytest.fail(f"block {index}: entry-service {' '.join(words[1:])}: {exc.format_message()}")
