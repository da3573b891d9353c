"""MKT-003 as MongoDB pipeline updates: one ``update_many`` moves every entry (or scoring record) of a campaign
that ranks the source market, each document rewritten atomically by the server with, for an entry, its
``entry.transferred`` event appended to its outbox (adapters_mongo/outbox.py). The expressions translate
``entrycore.markets.transfer`` and ``entrycore.events.event_body``; the contract suite compares the results with
them on generated preference lists.

Written for what both MongoDB and mongomock evaluate: no ``$unset`` stage (``$project`` drops the working
fields), no ``$indexOfArray``/``$range`` (ranks come from a literal list of the four ranks), and no expression
inside an array literal (a one-element ``$map`` makes such an array)."""

from __future__ import annotations

from typing import Any

from entrycore.eligibility import MAX_RANKS
from entrycore.events import TRANSFERRED
from entrycore.markets import MarketTransfer
from entrycore.outbox import EVENT
from entrycore.timefmt import iso

Expr = Any
_MOVED = "$_moved"


def _lit(value: Any) -> Expr:
    return {"$literal": value}


def _one(expression: Expr) -> Expr:
    """``[expression]``."""
    return {"$map": {"input": _lit([0]), "as": "one", "in": expression}}


def moved_markets(markets: str, source: str, target: str) -> Expr:
    """``entrycore.markets.transfer`` of the list at field path ``markets`` (which ranks ``source``)."""
    s, t = _lit(source), _lit(target)
    return {
        "$cond": [
            {"$eq": [{"$arrayElemAt": [markets, 0]}, s]},
            # primary = source: the target becomes primary, and leaves the optionals
            {
                "$concatArrays": [
                    _one(t),
                    {"$filter": {"input": {"$slice": [markets, 1, MAX_RANKS]}, "as": "m", "cond": {"$ne": ["$$m", t]}}},
                ]
            },
            {
                "$cond": [
                    {"$in": [t, markets]},
                    # an optional = source and the target ranked already: the source leaves
                    {"$filter": {"input": markets, "as": "m", "cond": {"$ne": ["$$m", s]}}},
                    # an optional = source: the target takes its rank
                    {"$map": {"input": markets, "as": "m", "in": {"$cond": [{"$eq": ["$$m", s]}, t, "$$m"]}}},
                ]
            },
        ]
    }


def scoring_pipeline(move: MarketTransfer) -> list[Expr]:
    """The update of a scoring record (filter: it ranks the source)."""
    moved = moved_markets("$markets", move.source, move.target)
    # rev: the record's revision, which MongoScoringStore's read-modify-writes check (a missing one counts as 0)
    return [{"$set": {"markets": moved, "rev": {"$add": [{"$ifNull": ["$rev", 0]}, 1]}}}]


def entry_pipeline(move: MarketTransfer) -> list[Expr]:
    """The update of an entry (filter: it ranks the source and is live): markets, the market fields it has,
    ``dateUpdated``, version, and its ``entry.transferred`` event behind its pending messages."""
    at = iso(move.at) or ""
    moved: dict[str, Expr] = {
        "markets": _MOVED,
        "dateUpdated": _lit(at),
        "version": {"$add": ["$version", 1]},
    }
    if move.primary_field is not None or move.extra_field is not None:
        # the market fields as the fan route writes them: the primary, and the optional ones only when there are
        named = [f for f in (move.primary_field, move.extra_field) if f is not None]
        others = {"$and": [{"$ne": ["$$f.k", _lit(name)]} for name in named]}
        kept = {"$filter": {"input": {"$objectToArray": "$fields"}, "as": "f", "cond": others}}
        parts: list[Expr] = [kept]
        if move.primary_field is not None:
            parts.append(_one({"k": _lit(move.primary_field), "v": {"$arrayElemAt": [_MOVED, 0]}}))
        if move.extra_field is not None:
            optional = _one({"k": _lit(move.extra_field), "v": {"$slice": [_MOVED, 1, MAX_RANKS]}})
            parts.append({"$cond": [{"$gt": [{"$size": _MOVED}, 1]}, optional, []]})
        moved["fields"] = {"$arrayToObject": {"$concatArrays": parts}}
    event_id = {"$concat": [_lit(move.event_id("")), {"$toString": "$_id"}]}
    # entrycore.outbox.partition_key: campaignId:phone, campaignId:userId without a phone
    key = {
        "$concat": [
            "$campaignId",
            ":",
            {"$cond": [{"$eq": [{"$ifNull": ["$phone", ""]}, ""]}, "$userId", "$phone"]},
        ]
    }
    ranks = {
        "$filter": {"input": _lit(list(range(MAX_RANKS))), "as": "r", "cond": {"$lt": ["$$r", {"$size": "$markets"}]}}
    }
    body = {
        "eventId": event_id,
        "type": _lit(TRANSFERRED),
        "occurredAt": _lit(at),
        "partitionKey": key,
        "campaign": {"id": _lit(move.campaign_id), "name": _lit(move.campaign_name)},
        "entry": {
            "campaignId": "$campaignId",
            "userId": "$userId",
            "fields": "$fields",
            "markets": {
                "$map": {
                    "input": ranks,
                    "as": "r",
                    "in": {"marketId": {"$arrayElemAt": ["$markets", "$$r"]}, "rank": "$$r"},
                }
            },
            "phoneConfirmed": "$phoneConfirmed",
            "locale": "$locale",
            "dateCreated": "$dateCreated",
            "dateUpdated": _lit(at),
        },
        "fraud": {"$ifNull": ["$fraud", None]},
    }
    message = {  # adapters_mongo.outbox._new of the OutboxMessage
        "id": event_id,
        "kind": _lit(EVENT),
        "campaignId": "$campaignId",
        "userId": "$userId",
        "partitionKey": key,
        "body": body,
        "createdAt": _lit(at),
        "attempts": _lit(0),
    }
    queued = {
        "outbox": {"$concatArrays": [{"$ifNull": ["$outbox", []]}, _one("$_event")]},
        "outboxSince": {"$min": [{"$ifNull": ["$outboxSince", None]}, {"$concat": [_lit(at + " "), "$_event.id"]}]},
        "outboxReadyAt": _lit(""),
        "outboxRev": {"$add": [{"$ifNull": ["$outboxRev", 0]}, 1]},
    }
    return [
        {"$set": {"_moved": moved_markets("$markets", move.source, move.target)}},
        {"$set": moved},
        {"$set": {"_event": message}},
        {"$set": queued},
        {"$project": {"_moved": 0, "_event": 0}},
    ]
