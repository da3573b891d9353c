"""SPEC OPS-007 on the real ``entry-service serve``: a full or read-only data folder never takes the service down.
Writes answer 503 ``DEPENDENCY_UNAVAILABLE`` with nothing half-written, reads answer, ``/heartbeat`` answers 200
``degraded`` naming ``datastoreWrites``, no worker exits, and all is well again once the disk takes writes — with
no restart.

The data folder is a small tmpfs (full) or a read-only bind mount, mounted here: the tests need root (and
CAP_SYS_ADMIN) and are skipped, with the reason, where mounting is not permitted. The read-only folder is also
served by ``nobody``, for whom plain permissions make it read-only."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.builders import VALID_FIELDS
from tests.e2e.serve import SCRIPT, ServeProcess
from tests.http_app import make_token

pytestmark = pytest.mark.e2e
NOBODY = 65534
WORKER_DIED = ("Unexpected exit from worker", "crash loop")


def _root_or_skip() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the test mounts the data folder (tmpfs, read-only bind) and switches users")


def _mount(*args: str) -> None:
    """``mount ARGS``, or the test skipped with the reason when mounting is not permitted here."""
    _root_or_skip()
    try:
        done = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"cannot run mount: {err}")
    if done.returncode != 0:
        pytest.skip(f"mounting is not permitted here (mount {' '.join(args)}: {done.stderr.strip()})")


def _umount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=10, check=False)


def _headers(user: str) -> dict[str, str]:
    # a connection per request: both workers get some (each would meet the full disk on its own)
    return {"Authorization": f"Bearer {make_token(user)}", "Connection": "close"}


def _register(url: str, user: str, **fields: str) -> httpx.Response:
    return httpx.post(
        f"{url}/c1/entries", json={"fields": {**VALID_FIELDS, **fields}}, headers=_headers(user), timeout=30
    )


def _entry(url: str, user: str) -> httpx.Response:
    return httpx.get(f"{url}/c1/entries", headers=_headers(user), timeout=10)


def _heartbeat(url: str) -> httpx.Response:
    return httpx.get(f"{url}/heartbeat", headers={"Connection": "close"}, timeout=10)


def _assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["status"] == 503 and body["code"] == "DEPENDENCY_UNAVAILABLE", body  # API.md §2's envelope
    assert isinstance(body["message"], str) and body["payload"] == {}


def _assert_writes_degraded(url: str, why: str) -> None:
    for _ in range(4):  # whichever worker answers
        answer = _heartbeat(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "degraded" and set(body["failing"]) == {"datastoreWrites"}, body
        assert why in body["failing"]["datastoreWrites"], body


def _assert_ok(url: str) -> None:
    for _ in range(4):
        answer = _heartbeat(url)
        assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text


def _assert_alive(server: ServeProcess) -> None:
    assert server.process is not None and server.process.poll() is None, server.log.read_text()[-3000:]
    log = server.log.read_text()
    assert not any(died in log for died in WORKER_DIED), log[-3000:]


def _fill(folder: Path) -> Path:
    """Writes a file in ``folder`` until the disk is full; returns it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"x" * 65536
        while True:
            try:
                os.write(fd, block)
            except OSError as err:
                assert err.errno == errno.ENOSPC
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]  # the last pages too
    finally:
        os.close(fd)
    return filler


def _event_lines(path: Path) -> list[dict[str, dict[str, str]]]:
    return [json.loads(line) for line in path.read_text().splitlines()]  # every line whole


@pytest.fixture
def full_disk_server(tmp_path: Path) -> Iterator[ServeProcess]:
    data = tmp_path / "data"
    data.mkdir()
    _mount("-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(data))
    server = ServeProcess(tmp_path, workers=2)
    try:
        yield server.start()
    finally:
        server.stop()
        _umount(data)


def test_a_full_disk_answers_503_to_writes_serves_reads_and_recovers_without_restart(
    full_disk_server: ServeProcess,
) -> None:
    server = full_disk_server
    data = server.folder / "data"
    url = server.url
    assert _register(url, "u1").status_code == 201
    before = _entry(url, "u1").json()

    filler = _fill(data)
    for _ in range(6):  # an ordinary read on each worker (before: SIGBUS in the metrics files, the worker gone)
        answer = _entry(url, "u1")
        assert answer.status_code == 200, answer.text
        assert answer.json() == before
    _assert_unavailable(_register(url, "u2"))
    _assert_unavailable(_register(url, "u1", first_name="Changed"))
    assert _entry(url, "u1").json() == before  # nothing half-written
    assert _entry(url, "u2").status_code == 404
    _assert_writes_degraded(url, "full")
    assert httpx.get(f"{url}/metrics", timeout=10).status_code == 200
    time.sleep(2.5)  # the relays meet the full disk too (a claim is a write): they wait and try again
    _assert_alive(server)

    filler.unlink()  # space returns: no restart
    _assert_ok(url)
    assert _register(url, "u2").status_code == 201  # created: the refused write left nothing behind
    assert _register(url, "u1", first_name="Changed").status_code == 200
    assert _entry(url, "u1").json()["fields"]["first_name"] == "Changed"
    _assert_ok(url)

    events = data / "events.jsonl"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the relays deliver what waited: every line whole
        if events.exists() and any(e["entry"]["userId"] == "u2" for e in _event_lines(events)):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"u2's event not delivered: {events.read_text() if events.exists() else 'no events file'}")
    _assert_alive(server)


def _fails_as_nobody(command: list[str], env: dict[str, str]) -> str | None:
    """Why ``nobody`` cannot run ``command --help``, or None when it can."""
    try:
        done = subprocess.run(
            [*command, "--help"],
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            cwd="/",
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as err:
        return str(err)
    return None if done.returncode == 0 else done.stderr.strip()[-300:]


def _nobody_command(base: Path) -> tuple[list[str], dict[str, str]]:
    """How ``nobody`` runs ``entry-service`` (the test runs as root), and the environment it needs: the venv's
    script when nobody can read it; else the venv's interpreter bind-mounted (read-only) into ``base`` — it may
    live in a folder of root's, like pyenv's in /root — running the CLI on the venv's packages. Skips with the
    reason when neither works."""
    script = [str(SCRIPT)]
    if _fails_as_nobody(script, {}) is None:
        return script, {}
    mounted = base / "python"
    mounted.mkdir()
    _mount("--bind", sys.base_prefix, str(mounted))
    _mount("-o", "remount,ro,bind", str(mounted))
    interpreter = mounted / Path(os.path.realpath(sys.executable)).relative_to(os.path.realpath(sys.base_prefix))
    site_packages = next(p for p in sys.path if p.startswith(sys.prefix) and p.endswith("site-packages"))
    boot = (
        "import site, sys; site.addsitedir(sys.argv.pop(1)); from adapters_cli.main import cli;"
        " sys.argv[0] = 'entry-service'; sys.exit(cli())"
    )
    command = [str(interpreter), "-S", "-c", boot, site_packages]  # -S: not the base interpreter's own packages
    env = {"LD_LIBRARY_PATH": str(mounted / "lib")}  # its libpython, found through root's folder otherwise
    failed = _fails_as_nobody(command, env)
    if failed is not None:
        pytest.skip(f"user nobody cannot run entry-service from {sys.prefix}: {failed}")
    return command, env


def _chmod_tree(folder: Path, directories: int, files: int) -> None:
    os.chmod(folder, directories)
    for path in folder.rglob("*"):
        os.chmod(path, directories if path.is_dir() else files)


@pytest.fixture
def base_folder() -> Iterator[Path]:
    """A folder ``nobody`` can enter (pytest's own are root's, mode 0700)."""
    _root_or_skip()
    base = Path(tempfile.mkdtemp(prefix="entry-read-only-"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        _umount(base / "data")  # a bind mount left by a failed test
        _umount(base / "python")
        if (base / "data").exists():
            _chmod_tree(base / "data", 0o700, 0o600)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("made_read_only", ["chmod, served by nobody", "read-only bind mount, served by root"])
def test_a_read_only_data_folder_serves_reads_refuses_writes_and_recovers_without_restart(
    base_folder: Path, made_read_only: str
) -> None:
    by_nobody = made_read_only.endswith("nobody")
    command, env = _nobody_command(base_folder) if by_nobody else ([str(SCRIPT)], {})
    data = base_folder / "data"
    prepared = ServeProcess(base_folder, workers=1).start()  # root prepares the data folder (and an entry)
    try:
        assert _register(prepared.url, "u1").status_code == 201
    finally:
        prepared.stop()  # a clean stop: SQLite removes its -wal and -shm files
    if by_nobody:
        for path in [data, *data.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
        _chmod_tree(data, 0o500, 0o400)
    else:
        _mount("--bind", str(data), str(data))
        _mount("-o", "remount,ro,bind", str(data))

    server = ServeProcess(base_folder, workers=2, user=NOBODY if by_nobody else None, command=command, **env)
    try:
        server.start()
        for _ in range(4):
            answer = _entry(server.url, "u1")
            assert answer.status_code == 200, answer.text
        assert httpx.get(f"{server.url}/users/u1/entries", headers=_headers("u1"), timeout=10).status_code == 200
        _assert_unavailable(_register(server.url, "u2"))
        _assert_unavailable(_register(server.url, "u1", first_name="Changed"))
        _assert_writes_degraded(server.url, "not writable" if by_nobody else "read-only")
        assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 200
        time.sleep(2.5)  # the relays meet the read-only store too (u1's events wait): they wait and try again
        _assert_alive(server)

        if by_nobody:  # writable again: no restart
            _chmod_tree(data, 0o700, 0o600)
        else:
            _mount("-o", "remount,rw,bind", str(data))
        _assert_ok(server.url)
        assert _register(server.url, "u2").status_code == 201
        assert _register(server.url, "u1", first_name="Changed").status_code == 200
        assert _entry(server.url, "u1").json()["fields"]["first_name"] == "Changed"
        _assert_ok(server.url)
        _assert_alive(server)
    finally:
        server.stop()
