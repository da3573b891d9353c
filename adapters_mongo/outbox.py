"""The Outbox port on MongoDB: pending messages live inside their entry document, written with it.

Without transactions, an entry and its messages are atomic only in one document (DESIGN.md). Each entry
document with pending messages carries:

- ``outbox``: the messages in commit order, each message's document (``entrywire.documents``) plus its relay state
  ``attempts`` (from 0), ``due``, ``leaseOwner``, ``leaseUntil`` (ISO strings of entrycore.timefmt.iso,
  fixed width, so string order is time order);
- ``outboxSince``: ``"<createdAt> <id>"`` of the oldest pending message: the claim order across entries
  (oldest first, a total order), and the oldest pending time of ``outbox_status``;
- ``outboxReadyAt``: when the first message of some channel (kind) stops being leased or waiting for its retry
  (``""``: now); each channel keeps its own order, so only those first messages can be claimable.
  The entry has nothing claimable before, so the claim query skips it in the index. Entry writes only
  ever lower it (``$min``); a value too low costs the claim one look, and the claim corrects it;
- ``outboxRev``: bumped by every change of ``outbox``, never reset. The relay changes the array by
  read-modify-write guarded by it; the fan's writes never wait for the relay nor fail because of it.

The rule which messages a claim takes is the fake's (tests/fakes.py), applied to the candidates merged in
``outboxSince`` order; the contract suite compares both on random histories.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING

from adapters_mongo.errors import unavailable
from entrycore.errors import DependencyUnavailable
from entrycore.outbox import NEVER, DeadLetter, OutboxMessage, OutboxStatus
from entrycore.timefmt import iso, parse_iso
from entrywire.documents import documents

_PENDING = {"outboxSince": {"$exists": True}}  # implies the partial filter of the outbox indexes
_RELAY_VIEW = {"outbox": True, "outboxRev": True, "outboxReadyAt": True, "outboxSince": True}
_RETRIES = 32  # guarded writes lost to concurrent writes of the same entry before giving up
_MAX_WINDOW = 20_000  # entries one claim reads at most
_META = "outbox"
# An entry as its document reads: without the relay's fields below, which may be large.
ENTRY_ONLY = {"_id": False, "outbox": False, "outboxSince": False, "outboxReadyAt": False, "outboxRev": False}
# A deleted entry (USR-003) whose messages are still pending stays as a tombstone: its key, its referral code
# (unique per campaign, so kept), ``deleted: true`` and its outbox, nothing of the fan. Every read of entries
# adds LIVE; the relay removes a tombstone with its last message, and a new entry of the same fan takes its place
# (MongoEntryStore.create) with those messages still ahead of its own.
LIVE = {"deleted": {"$exists": False}}
_TOMBSTONE = {"deleted": True}
_READY_NOW = ""
# A dead letter stays in its entry's outbox, due never: the claim passes it and holds back the entry's later
# messages by its usual rule (``parkedAt`` and ``lastError`` say when and why).
_PARKED = iso(NEVER) or ""
_DEAD = {**_PENDING, "outbox.parkedAt": {"$exists": True}}

Doc = dict[str, Any]
Change = Callable[[list[Doc]], tuple[Doc, int] | None]  # the update of an entry's outbox, and how many messages


def pending_fields(outbox: Sequence[OutboxMessage]) -> Doc:
    """The fields a new entry document carries for its messages (none without messages)."""
    if not outbox:
        return {}
    messages = [_new(m) for m in outbox]
    return {"outbox": messages, "outboxSince": _since(messages), "outboxReadyAt": _READY_NOW, "outboxRev": 1}


def appended(update: Doc, outbox: Sequence[OutboxMessage]) -> Doc:
    """``update`` (an entry update) that also appends ``outbox`` behind the still pending messages."""
    if not outbox:
        return update
    messages = [_new(m) for m in outbox]
    return {
        **update,
        "$push": {"outbox": {"$each": messages}},
        "$min": {"outboxSince": _since(messages), "outboxReadyAt": _READY_NOW},
        "$inc": {"outboxRev": 1},
    }


class MongoOutbox:
    """Outbox on the ``entries`` collection of ``database``, where MongoEntryStore writes each entry's messages with it
    (``pending_fields``, ``appended``); ``outbox_meta`` keeps lastDeliveredAt."""

    def __init__(self, database: Any) -> None:
        self._entries: Any = database["entries"]
        self._outbox_meta: Any = database["outbox_meta"]

    def claim(self, owner: str, limit: int, now: datetime, lease: timedelta) -> list[OutboxMessage]:
        if limit <= 0:
            return []
        at, until = _text(now), _text(now + lease)
        window = 2 * limit
        while True:
            docs, cutoff = self._ready(at, window)
            chosen = _choose(docs, limit, at, cutoff)
            # An entry is read in the order of its oldest message, but its claimable message may be of a later
            # channel, past an entry not read yet (cutoff): then read further, within bounds.
            if len(chosen) >= limit or cutoff is None or window >= _MAX_WINDOW:
                break
            window = min(_MAX_WINDOW, window * 4)
        leased: dict[int, list[Doc]] = {}  # doc index -> its outbox as leased
        for index in dict.fromkeys(index for index, _ in chosen):
            doc = docs[index]
            outbox = [dict(m) for m in doc["outbox"]]
            changes: Doc = {}
            for position in (p for i, p in chosen if i == index):
                outbox[position].update(leaseOwner=owner, leaseUntil=until)
                changes[f"outbox.{position}.leaseOwner"] = owner
                changes[f"outbox.{position}.leaseUntil"] = until
            changes["outboxReadyAt"] = _ready_at(outbox)
            if self._guarded(doc, {"$set": changes, "$inc": {"outboxRev": 1}}):
                leased[index] = outbox  # else another relay or a fan's write came first: skip the entry
        return [documents.structure(leased[i][p], OutboxMessage) for i, p in chosen if i in leased]

    def _ready(self, at: str, window: int) -> tuple[list[Doc], str | None]:
        """Up to ``window`` entries with a claimable message, oldest first, and the ``outboxSince``
        of the next one (None when there is none). Entries found not ready after all (their outboxReadyAt
        was too low) get it corrected, and are looked past."""
        query = {**_PENDING, "outboxReadyAt": {"$lte": at}}
        for _ in range(_RETRIES):
            with unavailable():
                docs = list(self._entries.find(query, _RELAY_VIEW).sort("outboxSince", ASCENDING).limit(window + 1))
            stale = [doc for doc in docs if not _any_claimable(doc["outbox"], at)]
            for doc in stale:
                self._guarded(doc, {"$set": {"outboxReadyAt": _ready_at(doc["outbox"])}})
            if not stale or len(docs) <= window:
                break
        cutoff = docs.pop()["outboxSince"] if len(docs) > window else None  # later entries were not read
        return [doc for doc in docs if _any_claimable(doc["outbox"], at)], cutoff

    def delivered(self, owner: str, ids: Sequence[str], now: datetime) -> None:
        wanted = set(ids)

        def remove(outbox: list[Doc]) -> tuple[Doc, int] | None:
            done = [m["id"] for m in outbox if m["id"] in wanted and m.get("leaseOwner") == owner]
            if not done:
                return None
            rest = [m for m in outbox if m["id"] not in done]
            if not rest:
                unset = {"outbox": "", "outboxSince": "", "outboxReadyAt": ""}
                return {"$unset": unset, "$inc": {"outboxRev": 1}}, len(done)
            update = {
                "$pull": {"outbox": {"id": {"$in": done}}},
                "$set": {"outboxSince": _since(rest), "outboxReadyAt": _ready_at(rest)},
                "$inc": {"outboxRev": 1},
            }
            return update, len(done)

        if self._change_each(ids, remove):
            with unavailable():
                self._outbox_meta.update_one({"_id": _META}, {"$max": {"lastDeliveredAt": _text(now)}}, upsert=True)
            self.sweep_tombstones()  # also any a stopped relay left behind

    def retry_later(
        self, owner: str, ids: Sequence[str], at: datetime, *, error: str | None = None, counted: bool = True
    ) -> None:
        fields: Doc = {"due": _text(at), "waiting": not counted}
        if error is not None:
            fields["lastError"] = error
        self._change_each(ids, _releasing(owner, set(ids), fields, int(counted)))

    def release_waiting(self, kind: str, now: datetime) -> int:
        def waits(message: Doc) -> bool:
            return bool(message["kind"] == kind and message.get("waiting"))

        with unavailable():  # the relay's: never held an hour
            waiting = {**_PENDING, "outbox": {"$elemMatch": {"kind": kind, "waiting": True}}}
            docs = list(self._entries.find(waiting, {"outbox.id": True, "outbox.kind": True, "outbox.waiting": True}))
        ids = [m["id"] for doc in docs for m in doc["outbox"] if waits(m)]
        release = _editing(waits, lambda _: ({"waiting": False}, ("due",)))
        return self._change_each(ids, release)

    def park(self, owner: str, ids: Sequence[str], now: datetime, error: str) -> None:
        fields = {"due": _PARKED, "parkedAt": _text(now), "lastError": error, "waiting": False}
        self._change_each(ids, _releasing(owner, set(ids), fields, 1))

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        if limit <= 0:
            return []
        with unavailable(admin=True):
            docs = list(self._entries.find(_DEAD, {"outbox": True}))
        found: list[DeadLetter] = []
        for doc in docs:
            outbox = doc["outbox"]
            for position, message in enumerate(outbox):
                if "parkedAt" in message:
                    lane = outbox[position + 1 :]
                    later = sum(1 for m in lane if m["kind"] == message["kind"] and "parkedAt" not in m)
                    dead = documents.structure(message, OutboxMessage)
                    found.append(DeadLetter(dead, parse_iso(message["parkedAt"]), message.get("lastError", ""), later))
        found.sort(key=lambda d: (d.parked_at, d.message.id))
        return found[:limit]

    def requeue_dead_letters(self, ids: Sequence[str] | None, now: datetime) -> int:
        if ids is None:
            with unavailable(admin=True):
                docs = list(self._entries.find(_DEAD, {"outbox": True}))
            ids = [m["id"] for doc in docs for m in doc["outbox"] if "parkedAt" in m]
        wanted = set(ids)

        def parked(message: Doc) -> bool:
            return message["id"] in wanted and "parkedAt" in message

        requeue = _editing(parked, lambda _: ({"attempts": 0, "waiting": False}, ("parkedAt", "due")))
        return self._change_each(ids, requeue)

    def outbox_status(self) -> OutboxStatus:
        totals = [
            {"$match": _PENDING},
            {"$unwind": "$outbox"},
            {
                "$group": {
                    "_id": {"$eq": [{"$ifNull": ["$outbox.due", ""]}, _PARKED]},  # dead letters apart
                    "count": {"$sum": 1},
                    "oldest": {"$min": "$outbox.createdAt"},
                    "parked": {"$min": "$outbox.parkedAt"},
                }
            },
        ]
        with unavailable():
            groups = {bool(g["_id"]): g for g in self._entries.aggregate(totals)}
            meta = self._outbox_meta.find_one({"_id": _META}) or {}
        live, dead, last = groups.get(False, {}), groups.get(True, {}), meta.get("lastDeliveredAt")
        return OutboxStatus(
            backlog=int(live.get("count", 0)),
            last_delivered_at=parse_iso(last) if last else None,
            oldest_pending_at=parse_iso(live["oldest"]) if live.get("oldest") else None,
            dead_letters=int(dead.get("count", 0)),
            oldest_dead_letter_at=parse_iso(dead["parked"]) if dead.get("parked") else None,
        )

    def _change_each(self, ids: Sequence[str], change: Change) -> int:
        """Applies ``change`` to the outbox of every entry holding one of ``ids``; how many messages changed."""
        if not ids:
            return 0
        with unavailable():
            docs = list(self._entries.find({**_PENDING, "outbox.id": {"$in": list(set(ids))}}, _RELAY_VIEW))
        changed = 0
        for doc in docs:
            current: Doc | None = doc
            for _ in range(_RETRIES):
                update = change(current["outbox"]) if current and current.get("outbox") else None
                if current is None or update is None:
                    break
                if self._guarded(current, update[0]):
                    changed += update[1]
                    break
                with unavailable():
                    current = self._entries.find_one({"_id": doc["_id"]}, _RELAY_VIEW)
            else:
                raise DependencyUnavailable("An outbox kept changing under the relay; try again.")
        return changed

    def sweep_tombstones(self) -> None:
        """Removes the deleted entries' documents whose last message is delivered (``sweep_tombstones``)."""
        sweep_tombstones(self._entries)

    def _guarded(self, doc: Mapping[str, Any], update: Doc) -> bool:
        """Applies ``update`` if the entry's outbox is still the one read in ``doc``."""
        with unavailable():
            result = self._entries.update_one({"_id": doc["_id"], "outboxRev": doc["outboxRev"]}, update)
        return bool(result.matched_count)


def sweep_tombstones(entries: Any) -> None:
    """Removes from ``entries`` the deleted entries' documents whose last message is delivered (a new entry of the
    fan that took a tombstone's place is no tombstone any more). Served by the partial index ``tombstones``."""
    with unavailable():
        entries.delete_many({**_TOMBSTONE, "outboxSince": {"$exists": False}})


def _releasing(owner: str, wanted: set[str], fields: Doc, attempts: int) -> Change:
    """The change that releases the owner's leased messages among ``wanted``: ``fields`` set on each, its
    attempts raised by ``attempts``."""

    def leased(message: Doc) -> bool:
        return message["id"] in wanted and message.get("leaseOwner") == owner

    def release(message: Doc) -> tuple[Doc, tuple[str, ...]]:
        return {**fields, "attempts": int(message.get("attempts", 0)) + attempts}, ("leaseOwner", "leaseUntil")

    return _editing(leased, release)


def _editing(select: Callable[[Doc], bool], edit: Callable[[Doc], tuple[Doc, tuple[str, ...]]]) -> Change:
    """The change that edits each message ``select`` picks: ``edit(message)`` gives the fields to set on it
    and those to remove; the entry's ready time follows. None when no message is picked."""

    def change(outbox: list[Doc]) -> tuple[Doc, int] | None:
        outbox = [dict(m) for m in outbox]
        sets: Doc = {}
        unsets: Doc = {}
        edited = 0
        for position, message in enumerate(outbox):
            if not select(message):
                continue
            new, gone = edit(message)
            for name in gone:
                message.pop(name, None)
                unsets[f"outbox.{position}.{name}"] = ""
            message.update(new)
            sets.update({f"outbox.{position}.{name}": value for name, value in new.items()})
            edited += 1
        if not edited:
            return None
        sets["outboxReadyAt"] = _ready_at(outbox)
        update: Doc = {"$set": sets, "$inc": {"outboxRev": 1}}
        if unsets:
            update["$unset"] = unsets
        return update, edited

    return change


def _choose(docs: Sequence[Mapping[str, Any]], limit: int, at: str, cutoff: str | None) -> list[tuple[int, int]]:
    """The fake's claim over the messages of ``docs`` merged oldest first: (doc index, position)s in order."""
    lanes = [[(_key(m), index, position) for position, m in enumerate(doc["outbox"])] for index, doc in enumerate(docs)]
    chosen: list[tuple[int, int]] = []
    blocked: set[tuple[int, str]] = set()  # (entry, channel): each channel keeps its own order
    for key, index, position in heapq.merge(*lanes):  # keeps each entry's own (commit) order
        if cutoff is not None and key > cutoff:
            break  # an entry not read may hold older messages
        message = docs[index]["outbox"][position]
        lane = (index, str(message["kind"]))
        if lane in blocked or not _claimable(message, at):
            blocked.add(lane)
            continue
        if len(chosen) >= limit:
            break
        chosen.append((index, position))
    return chosen


def _claimable(message: Mapping[str, Any], at: str) -> bool:
    return bool(message.get("leaseUntil", _READY_NOW) <= at and message.get("due", _READY_NOW) <= at)


def _heads(outbox: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The first pending message of each channel (kind): the only ones that can be claimable."""
    return list({str(m["kind"]): m for m in reversed(outbox)}.values())


def _any_claimable(outbox: Sequence[Mapping[str, Any]], at: str) -> bool:
    return any(_claimable(head, at) for head in _heads(outbox))


def _ready_at(outbox: Sequence[Mapping[str, Any]]) -> str:
    """When the entry's first message of some channel stops being leased or waiting for its retry."""
    return min(str(max(h.get("leaseUntil", _READY_NOW), h.get("due", _READY_NOW))) for h in _heads(outbox))


def _text(moment: datetime) -> str:
    return iso(moment) or ""  # never empty: iso gives None for None only


def _key(message: Mapping[str, Any]) -> str:
    return f"{message['createdAt']} {message['id']}"


def _since(messages: Iterable[Mapping[str, Any]]) -> str:
    return min(_key(m) for m in messages)


def _new(message: OutboxMessage) -> Doc:
    return {**documents.unstructure(message), "attempts": 0}  # the relay counts attempts from here, as the fake
