"""MongoLocks: the Locks port on the ``locks`` collection of a MongoDB database: one document per held
name (``_id`` = the name, unique by itself), taken or renewed by one conditional upsert — when the condition
(lapsed, or already the owner's) matches no document, the upsert's insert of an ``_id`` that exists is refused
as a duplicate key: held by another."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from adapters_mongo.errors import unavailable
from entrycore.timefmt import iso


class MongoLocks:
    """Locks on the ``locks`` collection of ``database``."""

    def __init__(self, database: Any) -> None:
        self._locks: Any = database["locks"]

    def take_lock(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        taken = {"$or": [{"owner": owner}, {"until": {"$lte": iso(now)}}]}  # iso text: text order is time order
        with unavailable():
            try:
                self._locks.update_one(
                    {"_id": name, **taken}, {"$set": {"owner": owner, "until": iso(until)}}, upsert=True
                )
            except DuplicateKeyError:
                return False
        return True

    def lock_holder(self, name: str, now: datetime) -> str | None:
        with unavailable():
            doc = self._locks.find_one({"_id": name, "until": {"$gt": iso(now)}})
        return None if doc is None else str(doc["owner"])

    def release_lock(self, name: str, owner: str) -> None:
        with unavailable():
            self._locks.delete_one({"_id": name, "owner": owner})
