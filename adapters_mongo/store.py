"""MongoEntryStore: the EntryStore and InviteStore ports on MongoDB collections (the other ports: ``open_mongo``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
from pymongo import DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from adapters_mongo.errors import inserted_despite_duplicates
from adapters_mongo.errors import unavailable as _unavailable
from adapters_mongo.indexes import (
    CAMPAIGN_CODE,
    CONFIRMED_PHONE,
    ENTRY_INDEXES,
    ENTRY_KEY,
    check_layout,
    create_attempt_indexes,
    create_audit_indexes,
    create_draw_indexes,
    create_entry_indexes,
    create_retry_indexes,
    create_scoring_indexes,
    record_layout,
)
from adapters_mongo.outbox import ENTRY_ONLY, LIVE, appended, pending_fields, sweep_tombstones
from adapters_mongo.scoring import follow_entry
from entrycore.batches import batched
from entrycore.errors import EntryExists, PhoneTaken, ReferralCodeTaken, StaleEntry
from entrycore.model import Entry
from entrycore.outbox import Contact, OutboxMessage, RetryRequest
from entrycore.timefmt import iso
from entrycore.writes import one_by_one
from entrywire.documents import documents
from entrywire.names import camel

T = TypeVar("T")
DEFAULT_DATABASE = "entry_service"
_INVITE_BATCH = 1000  # invites per insert_many: bounded requests, any number of values
# What a tombstone no longer holds: every field of the entry but its key, its referral code (unique per campaign)
# and its version.
_ERASED = tuple(
    name
    for name in (camel(a.name) for a in attrs.fields(Entry))
    if name not in {"campaignId", "userId", "code", "version"}
)
_INDEX_IN_MESSAGE = re.compile(r"index: (\S+) dup key")


class MongoEntryStore:
    """EntryStore and InviteStore on a MongoDB database.

    ``client_or_db`` is a database (pymongo, or mongomock in tests) or a client, whose URI names the
    database (default ``entry_service``). An entry is stored as its document (``entrywire.documents``) with a
    server-made ObjectId ``_id``: its key (campaignId, userId) is the unique index ``campaign_user``
    rather than a composed ``_id`` string (ids may contain any separator; the same index serves every
    query by key and suits a {campaignId, userId} shard key). Its pending outbox messages live inside it
    (MongoOutbox reads and relays them), so one single-document write stores both. An invite is
    ``{_id: {campaignId, value}}``. Erasing an entry also deletes its failed attempts (MongoAttemptStore) and its
    retry request (MongoRetryQueue). ``open_mongo`` gives every port of the database, this store among them.
    Uniqueness (entry key, referral code per campaign, confirmed phone per campaign) is enforced by
    the indexes of ``ensure_indexes()``, which must have run once. Write concern and retryable writes
    are the client's (see ``connect``). Every failure of the database raises DependencyUnavailable.
    """

    def __init__(self, client_or_db: Any, *, owns_client: bool = False) -> None:
        # type(...): a Database answers any attribute with a Collection, so ask its class.
        if hasattr(type(client_or_db), "get_default_database"):
            client_or_db = client_or_db.get_default_database(default=DEFAULT_DATABASE)
        self._db: Any = client_or_db
        self._entries: Any = client_or_db["entries"]
        self._invites: Any = client_or_db["invites"]
        self._attempts: Any = client_or_db["attempts"]
        self._retries: Any = client_or_db["retry_queue"]
        self._owns_client = owns_client

    @property
    def database(self) -> Any:
        """The database, shared with the adapters of the other ports (``open_mongo``)."""
        return self._db

    @property
    def database_name(self) -> str:
        return str(self._db.name)

    def ensure_indexes(self) -> None:
        """Creates the indexes the store relies on; idempotent (mongomock: run it on empty collections)."""
        with _unavailable():  # every start: a hung server fails it in seconds (a build itself may take long)
            check_layout(self._db["meta"])  # OPS-006: a newer release's database is left alone
            create_entry_indexes(self._entries)
            create_attempt_indexes(self._attempts)
            create_retry_indexes(self._retries)
            create_scoring_indexes(self._db["scoring"])
            create_audit_indexes(self._db["audit"])
            create_draw_indexes(self._db)
            record_layout(self._db["meta"])

    def close(self) -> None:
        """Closes the client when this store made it (``connect``); otherwise its owner closes it."""
        if self._owns_client:
            self._db.client.close()

    # EntryStore

    def ping(self) -> None:
        with _unavailable():
            self._db.command("ping")

    def get(self, campaign_id: str, user_id: str) -> Entry | None:
        with _unavailable():
            doc = self._entries.find_one({"campaignId": campaign_id, "userId": user_id, **LIVE}, ENTRY_ONLY)
        return None if doc is None else documents.structure(doc, Entry)

    def contacts(self, campaign_id: str, user_ids: Sequence[str]) -> dict[str, Contact]:
        wanted = list(dict.fromkeys(user_ids))
        fields = {"_id": False, "userId": True, "phone": True, "email": True, "locale": True}
        found: dict[str, Contact] = {}
        with _unavailable():
            for start in range(0, len(wanted), 1_000):
                query = {"campaignId": campaign_id, "userId": {"$in": wanted[start : start + 1_000]}, **LIVE}
                for doc in self._entries.find(query, fields):
                    found[doc["userId"]] = Contact(
                        campaign_id, doc["userId"], doc.get("phone"), doc.get("email"), doc.get("locale")
                    )
        return found

    def create(self, entry: Entry, outbox: Sequence[OutboxMessage] = ()) -> None:
        with _unavailable():
            try:
                self._entries.insert_one({**documents.unstructure(entry), **pending_fields(outbox)})
            except DuplicateKeyError as err:
                if not self._revive(entry, outbox):
                    raise self._conflict(err, entry, creating=True) from None

    def _revive(self, entry: Entry, outbox: Sequence[OutboxMessage]) -> bool:
        """Stores a new entry in the place of the fan's tombstone (see outbox.LIVE), behind the messages it
        still holds; False when there is no tombstone."""
        key = {"campaignId": entry.campaign_id, "userId": entry.user_id, "deleted": True}
        update = appended({"$set": documents.unstructure(entry), "$unset": {"deleted": ""}}, outbox)
        update.setdefault("$inc", {"outboxRev": 1})
        try:
            result = self._entries.update_one(key, update)
        except DuplicateKeyError as err:
            raise self._conflict(err, entry, creating=True) from None
        return bool(result.matched_count)

    def delete(
        self, campaign_id: str, user_id: str, expected_version: int, outbox: Sequence[OutboxMessage] = ()
    ) -> None:
        key = {"campaignId": campaign_id, "userId": user_id, "version": expected_version, **LIVE}
        # One write erases the fan's data and queues the messages: the document becomes a tombstone (outbox.LIVE).
        update = appended({"$unset": dict.fromkeys(_ERASED, ""), "$set": {"deleted": True}}, outbox)
        update.setdefault("$inc", {"outboxRev": 1})
        with _unavailable():
            if self._entries.update_one(key, update).matched_count == 0:
                raise StaleEntry()
            self._attempts.delete_many({"campaignId": campaign_id, "userId": user_id})
            # An erased entry's retry request (USR-003): its ids go too; a worker holding it finds no entry.
            self._retries.delete_one({"_id": documents.unstructure(RetryRequest(campaign_id, user_id))})
        if not outbox:
            sweep_tombstones(self._entries)  # nothing pending may be left to deliver

    def replace(self, entry: Entry, expected_version: int, outbox: Sequence[OutboxMessage] = ()) -> None:
        key = {"campaignId": entry.campaign_id, "userId": entry.user_id, "version": expected_version, **LIVE}
        key["dateCreated"] = iso(
            entry.date_created
        )  # never changes: a write read before an erasure misses the next entry
        # $set of every field of the document (the entry's document always holds all of them) replaces the entry
        # and keeps the messages still pending in it; new messages are appended behind them.
        update = appended({"$set": documents.unstructure(entry)}, outbox)
        with _unavailable():
            try:
                result = self._entries.update_one(key, update)
            except DuplicateKeyError as err:
                raise self._conflict(err, entry, creating=False) from None
        if result.matched_count == 0:
            raise StaleEntry()
        follow_entry(self._db["scoring"], entry)  # the next write, not the same one: no transactions (SCR-001)

    def write_together(self, items: Sequence[Callable[[], T]]) -> list[T | Exception]:
        """EntryStore.write_together: each item's writes are single-document writes, atomic on their own, run as the
        item asks for them (no multi-document transaction: the store's unit of atomicity is the item's write)."""
        return one_by_one(items)

    def find_by_code(self, campaign_id: str, code: str) -> Entry | None:
        with _unavailable():
            doc = self._entries.find_one({"campaignId": campaign_id, "code": code, **LIVE}, ENTRY_ONLY)
        return None if doc is None else documents.structure(doc, Entry)

    def confirmed_holder(self, campaign_id: str, phone: str) -> str | None:
        query = {"campaignId": campaign_id, "phone": phone, "phoneConfirmed": True}
        with _unavailable():
            doc = self._entries.find_one(query, {"_id": False, "userId": True})
        return None if doc is None else str(doc["userId"])

    def entries_of_user(self, user_id: str) -> list[Entry]:
        with _unavailable():
            docs = list(
                self._entries.find({"userId": user_id, **LIVE}, ENTRY_ONLY).sort(
                    [("dateCreated", DESCENDING), ("campaignId", DESCENDING)]
                )
            )
        return [documents.structure(doc, Entry) for doc in docs]

    def _conflict(self, err: DuplicateKeyError, entry: Entry, *, creating: bool) -> Exception:
        """The port's exception for a duplicate key (MongoDB names the index; mongomock does not).

        A create whose key is taken is EntryExists whatever else also collides, so the use case turns
        it into an update.
        """
        index = _index_of(err)
        others = {"campaignId": entry.campaign_id, "userId": {"$ne": entry.user_id}}
        if creating and (index == ENTRY_KEY or self.get(entry.campaign_id, entry.user_id) is not None):
            return EntryExists(f"{entry.campaign_id}/{entry.user_id}")
        if index == CAMPAIGN_CODE or (
            index is None and self._entries.find_one({**others, "code": entry.code}, {"_id": True})
        ):
            return ReferralCodeTaken(entry.code)
        holder = {**others, "phone": entry.phone, "phoneConfirmed": True}
        if index == CONFIRMED_PHONE or (index is None and self._entries.find_one(holder, {"_id": True})):
            return PhoneTaken(f"a confirmed phone of campaign {entry.campaign_id}")  # no phone number in logs
        # The colliding document is gone already: let the use case read again and retry.
        return EntryExists(f"{entry.campaign_id}/{entry.user_id}") if creating else StaleEntry()

    # InviteStore

    def add(self, campaign_id: str, values: Iterable[str]) -> int:
        added = 0
        with _unavailable():
            for chunk in batched(values, _INVITE_BATCH):
                docs = [{"_id": {"campaignId": campaign_id, "value": v}} for v in dict.fromkeys(chunk)]
                try:
                    added += len(self._invites.insert_many(docs, ordered=False).inserted_ids)
                except BulkWriteError as err:
                    added += inserted_despite_duplicates(err)  # the others were on the list already
        return added

    def contains(self, campaign_id: str, value: str) -> bool:
        with _unavailable():
            doc = self._invites.find_one({"_id": {"campaignId": campaign_id, "value": value}}, {"_id": True})
        return doc is not None


def _index_of(err: DuplicateKeyError) -> str | None:
    """The name of the index a duplicate key hit, from MongoDB's error details; None when not given."""
    details: Mapping[str, Any] = err.details or {}
    pattern = details.get("keyPattern")
    if isinstance(pattern, Mapping):
        for name, (keys, _) in ENTRY_INDEXES.items():
            if set(pattern) == {key for key, _ in keys}:
                return name
    found = _INDEX_IN_MESSAGE.search(str(details.get("errmsg") or err))
    return found.group(1) if found else None
