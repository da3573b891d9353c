"""The production store: entries and invite lists in MongoDB (pymongo; mongomock stands in for tests)."""

from adapters_mongo.audit import MongoAudit
from adapters_mongo.client import connect
from adapters_mongo.scoring import MongoScoring
from adapters_mongo.selection import MongoSelection
from adapters_mongo.store import MongoStore
from adapters_mongo.stores import open_mongo

__all__ = ["MongoAudit", "MongoScoring", "MongoSelection", "MongoStore", "connect", "open_mongo"]
