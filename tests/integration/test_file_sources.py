"""FileCampaignSource and FileUserSource on real files: loading, bad files, and reloading on change."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from adapters_files.sources import FileCampaignSource, FileUserSource, SourceFileError
from entrycore.model import UserAccount
from entrywire.services import read_account, read_campaign
from tests.builders import EXAMPLES, campaign_doc, example_campaigns

pytestmark = pytest.mark.usefixtures("no_thread_leaks")


def write(path: Path, value: Any) -> Path:
    """Writes ``value`` as JSON and moves the mtime on, so a change is seen even on coarse clocks."""
    previous = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    os.utime(path, ns=(previous + 10**9, previous + 10**9))
    return path


@pytest.fixture
def campaigns_file(tmp_path: Path) -> Path:
    return write(tmp_path / "campaigns.json", {"campaigns": [campaign_doc(id="b"), campaign_doc(id="a", region=None)]})


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    return write(tmp_path / "users.json", {"users": [{"id": "u1", "email": "a@b.co"}, {"id": "u2"}]})


def test_campaigns_are_read_in_file_order(campaigns_file: Path) -> None:
    source = FileCampaignSource(campaigns_file, default_region="GB")
    assert [c.id for c in source.list()] == ["b", "a"]
    assert source.get("b") == read_campaign(campaign_doc(id="b"))
    campaign = source.get("a", authorization="Bearer ignored")
    assert campaign is not None
    assert campaign.region == "GB"


def test_an_unknown_campaign_is_none(campaigns_file: Path) -> None:
    assert FileCampaignSource(campaigns_file).get("nope") is None


def test_users_are_read_and_unknown_users_have_an_empty_account(users_file: Path) -> None:
    source = FileUserSource(str(users_file))
    assert source.get("u1") == UserAccount(id="u1", email="a@b.co")
    assert source.get("u2") == UserAccount.empty("u2")
    assert source.get("stranger") == UserAccount.empty("stranger")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"campaigns": [', "not valid JSON"),
        (b"\xff\xfe\xfa", "not valid JSON"),
        ([], "expected an object"),
        ({"campaign": []}, "expected an object"),
        (
            {"campaigns": [campaign_doc(), {"id": "x", "status": "OPEN"}]},
            r"campaigns\[1\]: campaign x: 'markets' is required",
        ),
        ({"campaigns": [campaign_doc(markets=None)]}, "'markets' is required"),
        ({"campaigns": [campaign_doc(status="LIVE")]}, "unknown status 'LIVE'"),
        ({"campaigns": [campaign_doc(), campaign_doc()]}, "campaign id 'c1' appears twice"),
    ],
)
def test_a_bad_campaigns_file_is_refused_naming_file_and_problem(tmp_path: Path, content: Any, problem: str) -> None:
    path = tmp_path / "campaigns.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write(path, content)
    with pytest.raises(ValueError, match=problem) as caught:
        FileCampaignSource(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"users": {}}, "expected an object"),
        ({"users": [{"email": "a@b.co"}]}, r"users\[0\]: user: 'id' is required"),
        ({"users": [{"id": "u1", "fanscore": "high"}]}, "'fanscore' has the wrong type"),
        ({"users": [{"id": "u1"}, {"id": "u1"}]}, "user id 'u1' appears twice"),
    ],
)
def test_a_bad_users_file_is_refused(tmp_path: Path, content: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        FileUserSource(write(tmp_path / "users.json", content))


def test_a_missing_or_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match=r"missing\.json: cannot read it \(No such file"):
        FileCampaignSource(tmp_path / "missing.json")
    with pytest.raises(SourceFileError, match="cannot read it"):
        FileUserSource(tmp_path)  # a folder


def test_a_changed_file_is_reloaded(campaigns_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = FileCampaignSource(campaigns_file, reload_interval=0)
    write(campaigns_file, {"campaigns": [campaign_doc(id="new", name="Renamed")]})
    assert [c.id for c in source.list()] == ["new"]
    assert source.get("b") is None
    assert caplog.records == [] or all(r.levelno < logging.WARNING for r in caplog.records)


def test_a_file_replaced_by_rename_is_reloaded(tmp_path: Path, users_file: Path) -> None:
    source = FileUserSource(users_file, reload_interval=0)
    staged = write(tmp_path / "users.json.tmp", {"users": [{"id": "u9"}]})
    staged.replace(users_file)
    assert source.get("u9") == UserAccount(id="u9")
    assert source.get("u1") == UserAccount.empty("u1")


def test_changes_are_looked_for_at_most_once_per_interval(campaigns_file: Path) -> None:
    source = FileCampaignSource(campaigns_file)  # the default interval: 1 s
    write(campaigns_file, {"campaigns": []})
    assert len(source.list()) == 2


def test_a_failed_reload_keeps_the_last_good_content(campaigns_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = FileCampaignSource(campaigns_file, reload_interval=0)
    write(campaigns_file, '{"campaigns": [')  # half-saved
    with caplog.at_level(logging.WARNING, logger="adapters_files"):
        assert [c.id for c in source.list()] == ["b", "a"]
        assert source.get("a") is not None  # looked again: same broken version, no new warning
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(campaigns_file) in warnings[0].getMessage()
    assert "keeping the content loaded before" in warnings[0].getMessage()
    write(campaigns_file, {"campaigns": [campaign_doc(id="fixed")]})
    assert [c.id for c in source.list()] == ["fixed"]


def test_a_bad_document_in_a_reload_keeps_the_last_good_content(users_file: Path) -> None:
    source = FileUserSource(users_file, reload_interval=0)
    write(users_file, {"users": [{"id": "u1", "linkedAccounts": [1]}]})
    assert source.get("u1").email == "a@b.co"


def test_a_deleted_file_keeps_the_last_good_content(campaigns_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = FileCampaignSource(campaigns_file, reload_interval=0)
    campaigns_file.unlink()
    with caplog.at_level(logging.WARNING, logger="adapters_files"):
        assert len(source.list()) == 2
        assert len(source.list()) == 2
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    write(campaigns_file, {"campaigns": [campaign_doc(id="back")]})
    assert [c.id for c in source.list()] == ["back"]


def test_every_example_campaign_loads() -> None:
    source = FileCampaignSource(EXAMPLES / "campaigns.json")
    ids = [doc["id"] for doc in example_campaigns()]
    assert ids
    assert [c.id for c in source.list()] == ids
    for doc in example_campaigns():
        assert source.get(doc["id"]) == read_campaign(doc)


def test_every_example_user_loads() -> None:
    docs = json.loads((EXAMPLES / "users.json").read_text())["users"]
    source = FileUserSource(EXAMPLES / "users.json")
    assert docs
    for doc in docs:
        assert source.get(doc["id"]) == read_account(doc)
        assert source.get(doc["id"]) != UserAccount.empty(doc["id"])
