"""The RetryQueue port on MongoDB (SPEC PUB-005, ``ENTRY_RETRY_QUEUE=store``).

One document per entry in ``retry_queue``: ``{_id: {campaignId, userId}, visibleAt, receiveCount, handle?}``.
The key is the ``_id`` (the request's document ``{campaignId, userId}``, always in that field order, which MongoDB
compares), so a request is merged with the one already queued or received for its entry, as FakeRetryQueue does. Each
received request is one ``find_one_and_update`` guarded by ``visibleAt <= now``, atomic on the server: no two
consumers get the same request while it is hidden. It pushes ``visibleAt`` one visibility timeout ahead and
sets a fresh random ``handle``; acknowledging deletes the documents still holding the handle, so a handle
gone stale (received again after the timeout) deletes nothing. Time is the wall clock
(``datetime.now(UTC)``): the stores have no Clock port. Indexes: indexes.RETRY_INDEXES.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import BulkWriteError

from adapters_mongo.errors import inserted_despite_duplicates, unavailable
from entrycore.outbox import RetryRequest
from entrycore.retry_queues import DEFAULT_VISIBILITY, queue_down, visibility_timeout, wait_for
from entrycore.timefmt import utc_ms
from entrywire.documents import documents


class MongoRetryQueue:
    """RetryQueue on the ``retry_queue`` collection of ``database``; a received request stays hidden for
    ``retry_visibility`` seconds (ValueError unless positive). An erased entry's request goes with it
    (MongoEntryStore.delete)."""

    def __init__(self, database: Any, *, retry_visibility: float = DEFAULT_VISIBILITY) -> None:
        self._retry_visibility: timedelta = visibility_timeout(retry_visibility)
        self._retries: Any = database["retry_queue"]

    def enqueue(self, requests: Sequence[RetryRequest]) -> dict[RetryRequest, str]:
        if not requests:
            return {}
        at = utc_ms(datetime.now(UTC))
        docs = [{"_id": documents.unstructure(r), "visibleAt": at, "receiveCount": 0} for r in dict.fromkeys(requests)]
        with queue_down(), unavailable():
            # First flag the requests a worker holds (it may have read older data: its acknowledge queues them
            # again), then insert the others. In this order an acknowledge falling between the two steps loses
            # nothing: before the flag it deletes the held request and the insert queues it anew; after it, it
            # requeues. (Insert first, flag second lost it: the insert found the held one, the acknowledge deleted
            # it unflagged, the flag found nothing.)
            self._retries.update_many(
                {"_id": {"$in": [doc["_id"] for doc in docs]}, "handle": {"$ne": None}}, {"$set": {"requeue": True}}
            )
            try:
                self._retries.insert_many(docs, ordered=False)
            except BulkWriteError as err:
                inserted_despite_duplicates(err)  # those entries have a request queued or received: merged
        return {}  # a request is two ids: nothing in it a datastore could refuse

    def receive(self, max_count: int, wait_seconds: float) -> list[tuple[str, RetryRequest]]:
        if max_count <= 0:
            return []
        with queue_down(), unavailable():
            return wait_for(
                lambda: self._receive_visible(max_count), wait_seconds, monotonic=time.monotonic, sleep=time.sleep
            )

    def acknowledge(self, handles: Sequence[str]) -> None:
        if not handles:
            return
        held = {"$in": list(dict.fromkeys(handles))}
        with queue_down(), unavailable():
            self._retries.delete_many({"handle": held, "requeue": {"$ne": True}})
            self._retries.update_many(
                {"handle": held, "requeue": True},
                {"$set": {"requeue": False, "visibleAt": utc_ms(datetime.now(UTC))}, "$unset": {"handle": ""}},
            )

    def _receive_visible(self, max_count: int) -> list[tuple[str, RetryRequest]]:
        now = utc_ms(datetime.now(UTC))
        until = utc_ms(now + self._retry_visibility)
        received: list[tuple[str, RetryRequest]] = []
        while len(received) < max_count:
            handle = uuid.uuid4().hex
            doc = self._retries.find_one_and_update(
                {"visibleAt": {"$lte": now}},
                {"$set": {"visibleAt": until, "handle": handle}, "$inc": {"receiveCount": 1}},
                projection={"_id": True},
                sort=[("visibleAt", ASCENDING)],
            )
            if doc is None:
                break
            received.append((handle, documents.structure(doc["_id"], RetryRequest)))
        return received
