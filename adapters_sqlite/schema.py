"""The SQLite schema, as numbered migrations applied once each (tracked by ``PRAGMA user_version``)."""

from __future__ import annotations

# MIGRATIONS[n] takes a database from user_version n to n + 1. Append, never edit: a file at version n
# has already run the first n. Every statement is idempotent anyway, so a half-applied file (impossible:
# each migration runs in one transaction) or a hand-made table would not break a later start.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # One row per entry (SPEC ENT-001). Indexed columns are copies of fields of ``doc`` (the JSON of
        # Entry.to_document()), kept for the queries and the constraints the store must enforce itself.
        """
        CREATE TABLE IF NOT EXISTS entries (
            campaign_id     TEXT    NOT NULL,
            user_id         TEXT    NOT NULL,
            code            TEXT    NOT NULL,
            phone           TEXT,
            phone_confirmed INTEGER NOT NULL,
            date_created    TEXT    NOT NULL,
            version         INTEGER NOT NULL,
            doc             TEXT    NOT NULL,
            PRIMARY KEY (campaign_id, user_id),
            UNIQUE (campaign_id, code)
        )
        """,
        # PHN-003: one confirmed phone per campaign, enforced by the database, not by a read-then-write.
        """
        CREATE UNIQUE INDEX IF NOT EXISTS entries_confirmed_phone
            ON entries (campaign_id, phone) WHERE phone_confirmed = 1
        """,
        "CREATE INDEX IF NOT EXISTS entries_user_created ON entries (user_id, date_created)",
        # Small rows always read by their whole key: WITHOUT ROWID stores them in the key's own b-tree.
        """
        CREATE TABLE IF NOT EXISTS invites (
            campaign_id TEXT NOT NULL,
            value       TEXT NOT NULL,
            PRIMARY KEY (campaign_id, value)
        ) WITHOUT ROWID
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
