"""SqliteAuditTrail: the AuditTrail port on the SQLite file of a SqliteEntryStore (table ``audit``, SPEC OPS-002)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from adapters_sqlite.database import Database
from entrycore.audit import AuditRecord
from entrycore.timefmt import iso
from entrywire.documents import documents

_INSERT = "INSERT INTO audit (at, campaign_id, doc) VALUES (?, ?, ?)"
_SELECT = {
    (False, False): "SELECT doc FROM audit ORDER BY at DESC, id DESC LIMIT ?",
    (True, False): "SELECT doc FROM audit WHERE campaign_id = ? ORDER BY at DESC, id DESC LIMIT ?",
    (False, True): "SELECT doc FROM audit WHERE at >= ? ORDER BY at DESC, id DESC LIMIT ?",
    (True, True): "SELECT doc FROM audit WHERE campaign_id = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?",
}


class SqliteAuditTrail:
    """AuditTrail on ``database`` (a SqliteEntryStore's ``database``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(self, record: AuditRecord) -> None:
        doc = documents.unstructure(record)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(_INSERT, (doc["at"], record.campaign_id, json.dumps(doc, separators=(",", ":"))))

        self._db.write(insert)

    def records(self, campaign_id: str | None, since: datetime | None, limit: int) -> list[AuditRecord]:
        params: list[object] = []
        if campaign_id is not None:
            params.append(campaign_id)
        if since is not None:
            params.append(iso(since))
        with self._db.reading() as conn:
            rows = conn.execute(_SELECT[(campaign_id is not None, since is not None)], (*params, limit)).fetchall()
        return [documents.structure(json.loads(doc), AuditRecord) for (doc,) in rows]
