"""The production store: entries and invite lists in MongoDB (pymongo; mongomock stands in for tests)."""

from adapters_mongo.audit import MongoAuditTrail
from adapters_mongo.client import connect
from adapters_mongo.scoring import MongoScoringStore
from adapters_mongo.selection import MongoSelectionStore
from adapters_mongo.store import MongoEntryStore
from adapters_mongo.stores import open_mongo

__all__ = ["MongoAuditTrail", "MongoEntryStore", "MongoScoringStore", "MongoSelectionStore", "connect", "open_mongo"]
