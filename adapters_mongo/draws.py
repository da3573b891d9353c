"""MongoDrawStore: the DrawStore port on MongoDB (SPEC §12), without multi-document transactions.

Collections: ``draws`` (a draw's stored document, ``_id`` its id), ``draw_tickets`` (one per entrant,
``_id`` ``drawId:ticket``), ``draw_waitlist`` (per market, the waitlisted entrants ranking it, in draw order),
``draw_files`` / ``draw_file_sizes`` (the public files written once, in parts, plain and gzip), ``draw_rolls`` (the
rolls log, ``_id`` ``drawId:seq``) and ``draw_journal`` (a change's writes until they are all applied).

A change of a draw spans several documents (the draw, one or two tickets, a roll line, messages in entry
documents). It is made safe by a journal and the draw's version:

1. the change's writes go into ``draw_journal`` under a token of its own (nothing reads them yet);
2. the draw's document moves from the version read to the new one, and says ``pending: <token>`` — one
   conditional single-document write: of two workers, one wins (the other gets StaleDraw, reads again);
3. the journaled writes are applied (each idempotent: tickets replaced by id, the roll line upserted by id,
   messages appended to their entry's outbox, like every message on MongoDB);
4. ``pending`` is cleared and the journal entries deleted.

Whoever reads the draw while it says ``pending`` (a worker that crashed between 2 and 4, or one still at 3) finishes
step 3 and 4 first, so no change is half-applied for longer than the next read of its draw; journal entries of a
change that lost step 2 are never applied and are deleted. Messages of a draw itself (``draw.committed`` …) are kept,
like a deleted entry's, in a tombstone document of ``entries`` keyed by the draw (``userId`` ``draw:<drawId>``), which
the relay delivers and removes like any other.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from bson import Binary
from pymongo import ASCENDING, DESCENDING, ReplaceOne, UpdateOne

from adapters_mongo.errors import unavailable
from adapters_mongo.outbox import LIVE, appended
from entrycore.batches import batched
from entrycore.draws.canonical import canonical
from entrycore.draws.model import Draw, DrawChange, DrawFile, DrawStatus, OfferStatus, StoredFile, Ticket
from entrycore.draws.rolls import Roll
from entrycore.errors import StaleDraw
from entrycore.outbox import OutboxMessage
from entrycore.timefmt import iso, parse_iso_opt
from entrywire.documents import documents

_CHUNK = 2_000  # documents per bulk write
_PART = 1 << 20  # bytes per stored part of a public file (a document holds at most 16 MiB)
Doc = dict[str, Any]


def _ticket_doc(ticket: Ticket) -> Doc:
    return {
        "_id": f"{ticket.draw_id}:{ticket.ticket}",
        "drawId": ticket.draw_id,
        "ticket": ticket.ticket,
        "campaignId": ticket.campaign_id,
        "userId": ticket.user_id,
        "markets": list(ticket.markets),
        "status": str(ticket.status),
        "position": ticket.position,
        "lottery": ticket.lottery,
        "market": ticket.market,
        "rank": ticket.rank,
        "offerExpiresAt": iso(ticket.offer_expires_at),
        "waitlistRank": ticket.waitlist_rank,
        "voided": ticket.voided,
    }


def _ticket(doc: Mapping[str, Any]) -> Ticket:
    return Ticket(
        draw_id=doc["drawId"],
        campaign_id=doc["campaignId"],
        ticket=doc["ticket"],
        user_id=doc.get("userId"),
        markets=tuple(doc["markets"]),
        status=OfferStatus(doc["status"]),
        position=doc.get("position"),
        lottery=doc.get("lottery"),
        market=doc.get("market"),
        rank=doc.get("rank"),
        offer_expires_at=parse_iso_opt(doc.get("offerExpiresAt")),
        waitlist_rank=doc.get("waitlistRank"),
        voided=bool(doc.get("voided", False)),
    )


def _draw_doc(draw: Draw) -> Doc:
    doc = documents.unstructure(draw)
    return {
        "_id": draw.draw_id,
        **doc,
        "status": str(draw.status),
        "beaconRound": draw.rules.beacon_round,
        "committedAt": iso(draw.committed_at),
    }


def _draw(doc: Mapping[str, Any]) -> Draw:
    fields = {k: v for k, v in doc.items() if k not in ("_id", "pending", "beaconRound")}
    return documents.structure(fields, Draw)


class MongoDrawStore:
    """DrawStore on ``database`` (a MongoEntryStore's ``database``)."""

    def __init__(self, database: Any) -> None:
        self._db = database
        self._draws: Any = database["draws"]
        self._tickets: Any = database["draw_tickets"]
        self._waitlist: Any = database["draw_waitlist"]
        self._files: Any = database["draw_files"]
        self._sizes: Any = database["draw_file_sizes"]
        self._rolls: Any = database["draw_rolls"]
        self._journal: Any = database["draw_journal"]
        self._entries: Any = database["entries"]

    # --- writes ---------------------------------------------------------------------------------------------------

    def commit_draw(
        self, draw: Draw, tickets: Sequence[Ticket], entrants: bytes, outbox: Sequence[OutboxMessage]
    ) -> None:
        self._write_tickets(tickets)
        self._write_file(draw.draw_id, DrawFile.ENTRANTS, entrants)
        token = self._journaled(draw, outbox=outbox)
        with unavailable():
            self._draws.insert_one({**_draw_doc(draw), "pending": token})
        self._apply(draw.draw_id, token)

    def save_reveal(
        self, draw: Draw, tickets: Sequence[Ticket], results: bytes, outbox: Sequence[OutboxMessage]
    ) -> None:
        self._write_tickets(tickets)
        waiting = [
            ReplaceOne(
                {"_id": f"{t.draw_id}:{market}:{t.position:012d}"},
                {"drawId": t.draw_id, "market": market, "position": t.position, "ticket": t.ticket},
                upsert=True,
            )
            for t in tickets
            if t.status is OfferStatus.WAITLISTED and t.position is not None
            for market in t.markets
            if market in draw.rules.capacities
        ]
        with unavailable(admin=True):
            for chunk in batched(waiting, _CHUNK):
                self._waitlist.bulk_write(list(chunk), ordered=False)
        self._write_file(draw.draw_id, DrawFile.RESULTS, results)
        self._switch(draw, draw.version - 1, outbox=outbox)

    def save_change(self, change: DrawChange) -> None:
        self._switch(
            change.draw, change.expected_version, tickets=change.tickets, roll=change.roll, outbox=change.outbox
        )

    def mark_voided(self, draw_id: str, ticket: str, voided: bool) -> None:
        with unavailable():
            self._tickets.update_one({"_id": f"{draw_id}:{ticket}"}, {"$set": {"voided": voided}})

    def forget_user(self, campaign_id: str, user_id: str) -> None:
        with unavailable():
            self._tickets.update_many({"campaignId": campaign_id, "userId": user_id}, {"$set": {"userId": None}})

    def _switch(
        self,
        draw: Draw,
        expected: int,
        *,
        tickets: Sequence[Ticket] = (),
        roll: Roll | None = None,
        outbox: Sequence[OutboxMessage] = (),
    ) -> None:
        """Steps 1 to 4 of the module docstring for ``draw`` at its new version, over ``expected``."""
        token = self._journaled(draw, tickets=tickets, roll=roll, outbox=outbox)
        with unavailable():
            moved = self._draws.update_one(
                {"_id": draw.draw_id, "version": expected, "pending": {"$exists": False}},
                {"$set": {**_draw_doc(draw), "pending": token}},
            ).matched_count
        if not moved:
            with unavailable():
                self._journal.delete_many({"token": token})
            self._heal(draw.draw_id)
            raise StaleDraw(draw.draw_id)
        self._apply(draw.draw_id, token)

    def _journaled(
        self,
        draw: Draw,
        *,
        tickets: Sequence[Ticket] = (),
        roll: Roll | None = None,
        outbox: Sequence[OutboxMessage] = (),
    ) -> str:
        """Step 1: the change's writes under a token of its own (two workers racing for one version never mix)."""
        token = secrets.token_hex(12)
        entries: list[Doc] = [{"kind": "ticket", "body": _ticket_doc(t)} for t in tickets]
        if roll is not None:
            entries.append({"kind": "roll", "seq": draw.rolls, "line": Binary(canonical(roll.line()))})
        entries += [{"kind": "message", "body": documents.unstructure(m)} for m in outbox]
        with unavailable(admin=True):
            for number, chunk in enumerate(batched(entries, _CHUNK)):
                self._journal.insert_many(
                    [
                        {**e, "_id": f"{token}:{number * _CHUNK + i:09d}", "drawId": draw.draw_id, "token": token}
                        for i, e in enumerate(chunk)
                    ]
                )
        return token

    def _apply(self, draw_id: str, token: str) -> None:
        """Steps 3 and 4: the journaled writes of the change ``token``, then the draw no longer pending."""
        with unavailable(admin=True):
            journal = list(self._journal.find({"token": token}).sort("_id", ASCENDING))
            tickets = [e["body"] for e in journal if e["kind"] == "ticket"]
            for chunk in batched(tickets, _CHUNK):
                self._tickets.bulk_write([ReplaceOne({"_id": t["_id"]}, t, upsert=True) for t in chunk], ordered=False)
            gone = [
                {"_id": f"{t['drawId']}:{market}:{t['position']:012d}"}
                for t in tickets
                if t["status"] != str(OfferStatus.WAITLISTED) and t.get("position") is not None
                for market in t["markets"]
            ]
            for one in gone:
                self._waitlist.delete_one(one)
            for e in journal:
                if e["kind"] == "roll":
                    self._rolls.update_one(
                        {"_id": f"{draw_id}:{e['seq']:012d}"},
                        {"$setOnInsert": {"drawId": draw_id, "seq": e["seq"], "line": e["line"]}},
                        upsert=True,
                    )
            messages = [documents.structure(e["body"], OutboxMessage) for e in journal if e["kind"] == "message"]
            self._deliver(draw_id, messages)
            self._draws.update_one({"_id": draw_id, "pending": token}, {"$unset": {"pending": ""}})
            self._journal.delete_many({"token": token})

    def _deliver(self, draw_id: str, messages: Sequence[OutboxMessage]) -> None:
        """Each message into its entry's outbox (a fan's), or the draw's own tombstone document (a draw event)."""
        by_key: dict[tuple[str, str], list[OutboxMessage]] = {}
        for message in messages:
            by_key.setdefault((message.campaign_id, message.user_id), []).append(message)
        updates = []
        for (campaign_id, user_id), batch in by_key.items():
            if user_id.startswith("draw:"):
                keep = {"$setOnInsert": {"deleted": True, "code": user_id}}
                updates.append(
                    UpdateOne({"campaignId": campaign_id, "userId": user_id}, appended(keep, batch), upsert=True)
                )
            else:
                updates.append(UpdateOne({"campaignId": campaign_id, "userId": user_id, **LIVE}, appended({}, batch)))
        for chunk in batched(updates, _CHUNK):
            self._entries.bulk_write(list(chunk), ordered=False)

    def _heal(self, draw_id: str) -> Doc | None:
        """The draw's document, after finishing a change it still says is pending (module docstring)."""
        with unavailable():
            doc: Doc | None = self._draws.find_one({"_id": draw_id})
        if doc is not None and "pending" in doc:
            self._apply(draw_id, str(doc["pending"]))
            doc = {k: v for k, v in doc.items() if k != "pending"}
        return doc

    def _write_tickets(self, tickets: Sequence[Ticket]) -> None:
        with unavailable(admin=True):
            for chunk in batched(tickets, _CHUNK):
                docs = [_ticket_doc(t) for t in chunk]
                self._tickets.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False)

    def _write_file(self, draw_id: str, name: DrawFile, data: bytes) -> None:
        packed = gzip.compress(data, compresslevel=1, mtime=0)  # 3x faster than level 6, ~15 % larger
        with unavailable(admin=True):
            for flag, content in ((0, data), (1, packed)):
                parts = [content[i : i + _PART] for i in range(0, len(content), _PART)] or [b""]
                for number, part in enumerate(parts):
                    key = f"{draw_id}:{name}:{flag}:{number}"
                    self._files.replace_one({"_id": key}, {"_id": key, "data": Binary(part)}, upsert=True)
            self._sizes.replace_one(
                {"_id": f"{draw_id}:{name}"},
                {"size": len(data), "gzipSize": len(packed), "etag": '"' + hashlib.sha256(data).hexdigest() + '"'},
                upsert=True,
            )

    # --- reads ----------------------------------------------------------------------------------------------------

    def draw(self, campaign_id: str, draw_id: str) -> Draw | None:
        doc = self._heal(draw_id)
        if doc is None or doc.get("campaignId") != campaign_id:
            return None
        return _draw(doc)

    def draws(self, campaign_id: str) -> list[Draw]:
        with unavailable():
            docs = list(
                self._draws.find({"campaignId": campaign_id}).sort([("committedAt", DESCENDING), ("_id", DESCENDING)])
            )
        return [_draw(self._heal(d["_id"]) or d) if "pending" in d else _draw(d) for d in docs]

    def draws_in(self, status: DrawStatus) -> list[Draw]:
        with unavailable():
            ids = [
                d["_id"]
                for d in self._draws.find({"status": str(status)}, {"_id": True}).sort("committedAt", ASCENDING)
            ]
        found = (self._heal(draw_id) for draw_id in ids)
        return [_draw(doc) for doc in found if doc is not None and doc.get("status") == str(status)]

    def draw_file(self, campaign_id: str, draw_id: str, name: DrawFile) -> StoredFile | None:
        if name is DrawFile.ROLLS:
            with unavailable():
                lines = [bytes(d["line"]) + b"\n" for d in self._rolls.find({"drawId": draw_id}).sort("seq", ASCENDING)]
            data = b"".join(lines)
            return StoredFile([data], len(data), f'"{hashlib.sha256(data).hexdigest()}"')
        with unavailable():
            sizes = self._sizes.find_one({"_id": f"{draw_id}:{name}"})
        if sizes is None:
            return None
        return StoredFile(
            self._parts(draw_id, name, 0),
            sizes["size"],
            sizes["etag"],
            self._parts(draw_id, name, 1),
            sizes["gzipSize"],
        )

    def _parts(self, draw_id: str, name: DrawFile, flag: int) -> Iterator[bytes]:
        number = 0
        while True:
            with unavailable():
                doc = self._files.find_one({"_id": f"{draw_id}:{name}:{flag}:{number}"})
            if doc is None:
                return
            yield bytes(doc["data"])
            number += 1

    def tickets(self, draw_id: str) -> Iterator[Ticket]:
        with unavailable(admin=True):
            docs = list(self._tickets.find({"drawId": draw_id}).sort("ticket", ASCENDING))
        return iter([_ticket(d) for d in docs])

    def ticket(self, draw_id: str, ticket: str) -> Ticket | None:
        with unavailable():
            doc = self._tickets.find_one({"_id": f"{draw_id}:{ticket}"})
        return None if doc is None else _ticket(doc)

    def ticket_of(self, draw_id: str, user_id: str) -> Ticket | None:
        with unavailable():
            doc = self._tickets.find_one({"drawId": draw_id, "userId": user_id})
        return None if doc is None else _ticket(doc)

    def tickets_of_user(self, campaign_id: str, user_ids: Sequence[str]) -> dict[str, list[tuple[Ticket, DrawStatus]]]:
        with unavailable():
            docs = list(
                self._tickets.find({"campaignId": campaign_id, "userId": {"$in": list(dict.fromkeys(user_ids))}})
            )
            if not docs:
                return {}
            draws = {
                d["_id"]: d
                for d in self._draws.find(
                    {"_id": {"$in": list({doc["drawId"] for doc in docs})}}, {"status": True, "committedAt": True}
                )
            }
        found: dict[str, list[tuple[Ticket, DrawStatus]]] = {}
        ordered = sorted(
            (doc for doc in docs if doc["drawId"] in draws and draws[doc["drawId"]]["status"] != "cancelled"),
            key=lambda doc: (draws[doc["drawId"]]["committedAt"], doc["drawId"]),
            reverse=True,
        )
        for doc in ordered:
            found.setdefault(doc["userId"], []).append((_ticket(doc), DrawStatus(draws[doc["drawId"]]["status"])))
        return found

    def waitlist_position(self, ticket: Ticket) -> int | None:
        if ticket.status is not OfferStatus.WAITLISTED or ticket.waitlist_rank is None:
            return None
        with unavailable():
            left = self._tickets.count_documents(
                {
                    "drawId": ticket.draw_id,
                    "waitlistRank": {"$lt": ticket.waitlist_rank, "$ne": None},
                    "status": {"$ne": str(OfferStatus.WAITLISTED)},
                }
            )
        return ticket.waitlist_rank - int(left)

    def next_waiting(self, draw_id: str, market: str) -> Ticket | None:
        with unavailable():
            doc = self._waitlist.find_one({"drawId": draw_id, "market": market}, sort=[("position", ASCENDING)])
        return None if doc is None else self.ticket(draw_id, doc["ticket"])

    def due_offers(self, now: datetime, limit: int) -> list[Ticket]:
        with unavailable():
            docs = list(
                self._tickets.find({"status": "offered", "offerExpiresAt": {"$lte": iso(now)}})
                .sort([("offerExpiresAt", ASCENDING), ("position", ASCENDING)])
                .limit(limit)
            )
        return [_ticket(d) for d in docs]
