"""Campaign and user sources read from the JSON files of API.md §7, re-read when the files change."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs

from adapters_files.watched import SourceFileError, WatchedFile
from entrycore.model import Campaign, UserAccount
from entrywire.services import DocumentError, read_account, read_campaign

__all__ = ["FileCampaignSource", "FileUserSource", "SourceFileError"]

T = TypeVar("T")


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=_Identified)


@attrs.frozen
class _Catalogue:
    """One version of a campaigns file: lookups by id, and the campaigns in file order."""

    by_id: Mapping[str, Campaign]
    in_order: tuple[Campaign, ...]


class FileCampaignSource:
    """CampaignSource over a ``{"campaigns": [...]}`` file (API.md §7), for the embedded setup.

    The whole file is checked when constructed (SourceFileError, a ValueError naming the file and
    the problem). Edits are picked up without a restart: the file is checked for changes at most
    once per ``reload_interval`` seconds, and a bad edit is logged and ignored.
    """

    def __init__(
        self, path: str | os.PathLike[str], default_region: str = "US", *, reload_interval: float = 1.0
    ) -> None:
        def parse(value: Any) -> _Catalogue:
            campaigns = _items(value, "campaigns", lambda doc: read_campaign(doc, default_region))
            return _Catalogue(by_id=_by_id(campaigns, "campaign"), in_order=tuple(campaigns))

        self._file = WatchedFile(path, parse, interval=reload_interval)

    def get(self, campaign_id: str, authorization: str | None = None) -> Campaign | None:
        """The campaign, or None when the file has no campaign with this id."""
        return self._file.current().by_id.get(campaign_id)

    def list(self, authorization: str | None = None) -> Sequence[Campaign]:
        """Every campaign of the file, in file order."""
        return self._file.current().in_order


class FileUserSource:
    """UserSource over a ``{"users": [...]}`` file (API.md §7); a user not in it has an empty account.

    Checked when constructed and re-read on change like FileCampaignSource.
    """

    def __init__(self, path: str | os.PathLike[str], *, reload_interval: float = 1.0) -> None:
        def parse(value: Any) -> Mapping[str, UserAccount]:
            return _by_id(_items(value, "users", read_account), "user")

        self._file = WatchedFile(path, parse, interval=reload_interval)

    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        """The fan's account from the file, or an empty account (SPEC ENT-011)."""
        return self._file.current().get(user_id) or UserAccount.empty(user_id)


def _items(value: Any, key: str, read: Callable[[Any], T]) -> list[T]:
    if not isinstance(value, dict) or not isinstance(value.get(key), list):
        raise DocumentError(f'expected an object {{"{key}": [...]}}')
    found = []
    for index, doc in enumerate(value[key]):
        try:
            found.append(read(doc))
        except DocumentError as exc:
            raise DocumentError(f"{key}[{index}]: {exc}") from None
    return found


def _by_id(items: list[Item], what: str) -> dict[str, Item]:
    by_id: dict[str, Item] = {}
    for item in items:
        if item.id in by_id:
            raise DocumentError(f"{what} id {item.id!r} appears twice")
        by_id[item.id] = item
    return by_id
