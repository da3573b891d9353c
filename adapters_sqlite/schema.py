"""The SQLite schema, as numbered migrations applied once each (tracked by ``PRAGMA user_version``)."""

from __future__ import annotations

# MIGRATIONS[n] takes a database from user_version n to n + 1. Append, never edit: a file at version n
# has already run the first n. Every statement is idempotent anyway, so a half-applied file (impossible:
# each migration runs in one transaction) or a hand-made table would not break a later start.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # One row per entry (SPEC ENT-001). Indexed columns are copies of fields of ``doc`` (the JSON of the
        # entry's document, entrywire.documents), kept for the queries and the constraints the store must enforce.
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
    (
        # Transactional outbox (SPEC PUB-002, PUB-006): messages are inserted in the same transaction as
        # their entry. ``seq`` is the commit order, the order the relay claims in. Every timestamp is
        # written by entrycore.timefmt.iso (fixed width, UTC, ``Z``), so text comparison is time order.
        """
        CREATE TABLE IF NOT EXISTS outbox (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            id            TEXT    NOT NULL UNIQUE,
            kind          TEXT    NOT NULL,
            campaign_id   TEXT    NOT NULL,
            user_id       TEXT    NOT NULL,
            partition_key TEXT    NOT NULL,
            body          TEXT    NOT NULL,
            created_at    TEXT    NOT NULL,
            attempts      INTEGER NOT NULL DEFAULT 0,
            due_at        TEXT,
            lease_owner   TEXT,
            lease_until   TEXT,
            delivered_at  TEXT
        )
        """,
        # The claim walks pending messages in seq order reading only this index (delivered rows leave
        # it); the per-entry index answers "is an older message of this entry not claimable?".
        """
        CREATE INDEX IF NOT EXISTS outbox_pending
            ON outbox (seq, lease_until, due_at, created_at) WHERE delivered_at IS NULL
        """,
        """
        CREATE INDEX IF NOT EXISTS outbox_pending_entry
            ON outbox (campaign_id, user_id, seq, lease_until, due_at) WHERE delivered_at IS NULL
        """,
        # Delivered rows are kept a while (for inspection), then purged oldest first by ``delivered``.
        """
        CREATE INDEX IF NOT EXISTS outbox_delivered
            ON outbox (delivered_at) WHERE delivered_at IS NOT NULL
        """,
        # One row: when the relay last delivered, which must outlive the purge of the delivered rows.
        """
        CREATE TABLE IF NOT EXISTS outbox_meta (
            id                INTEGER PRIMARY KEY CHECK (id = 1),
            last_delivered_at TEXT
        )
        """,
        "INSERT OR IGNORE INTO outbox_meta (id) VALUES (1)",
        # Failed phone confirmations per entry (SPEC PHN-010), counted over a sliding window.
        """
        CREATE TABLE IF NOT EXISTS attempts (
            campaign_id TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            at          TEXT NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS attempts_entry ON attempts (campaign_id, user_id, at)",
    ),
    (
        # The retry queue kept in the datastore (SPEC PUB-005, ENTRY_RETRY_QUEUE=store): one row per entry
        # (requests merge while queued or received). ``visible_at`` (timefmt.iso text) is when the row may be
        # received (again); a receive pushes it one visibility timeout ahead and sets a fresh ``handle``,
        # which acknowledges (deletes) it. ``receive_count`` counts receives, for inspection.
        """
        CREATE TABLE IF NOT EXISTS retry_queue (
            campaign_id   TEXT    NOT NULL,
            user_id       TEXT    NOT NULL,
            visible_at    TEXT    NOT NULL,
            receive_count INTEGER NOT NULL DEFAULT 0,
            handle        TEXT,
            requeue       INTEGER NOT NULL DEFAULT 0,  -- a request merged in while it was received
            PRIMARY KEY (campaign_id, user_id)
        )
        """,
        "CREATE INDEX IF NOT EXISTS retry_queue_visible ON retry_queue (visible_at)",
        "CREATE INDEX IF NOT EXISTS retry_queue_handle ON retry_queue (handle) WHERE handle IS NOT NULL",
    ),
    (
        # A delivered message is deleted at once (no longer marked and purged an hour later): the table
        # holds pending messages only, in ``seq`` (rowid) order, which is the claim's walk. Leases and
        # retries change no indexed column, so they rewrite the row alone; per message, the writer now
        # touches 3 b-trees at insert and 3 at delivery, where it touched 13 across insert, lease, mark
        # and purge (measured: this was most of the write cost of an outbox message).
        "DROP INDEX IF EXISTS outbox_pending",
        "DROP INDEX IF EXISTS outbox_pending_entry",
        "DROP INDEX IF EXISTS outbox_delivered",  # before the delete, which would otherwise maintain them
        "DELETE FROM outbox WHERE delivered_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS outbox_entry ON outbox (campaign_id, user_id, seq)",
    ),
    (
        # The claim's walk and the backlog status read this small index, not the rows and their bodies:
        # during a sink outage most pending rows wait for a retry (due_at ahead), and the relays poll.
        # No lease column in it: a lease rewrites the row alone. Partial on delivered_at IS NULL, the
        # condition every outbox query keeps (an older version may still mark rows instead of deleting).
        """
        CREATE INDEX IF NOT EXISTS outbox_due
            ON outbox (seq, due_at, created_at) WHERE delivered_at IS NULL
        """,
    ),
    (
        # Dead letters (SPEC PUB-002): a message refused too often is parked, never dropped. It stays a pending
        # row with due_at = entrycore.outbox.NEVER, so the claim's rules hold back the later messages of its
        # entry unchanged; ``parked_at`` says when, ``last_error`` the sink's last reason (also kept while a
        # message is retried). Database skips an ADD COLUMN whose column exists, so these stay idempotent too.
        "ALTER TABLE outbox ADD COLUMN parked_at TEXT",
        "ALTER TABLE outbox ADD COLUMN last_error TEXT",
        """
        CREATE INDEX IF NOT EXISTS outbox_parked
            ON outbox (parked_at, seq) WHERE parked_at IS NOT NULL AND delivered_at IS NULL
        """,
    ),
    (
        # Attempts counted outage retries before; from here they count a message's own refusals only.
        "UPDATE outbox SET attempts = 0 WHERE delivered_at IS NULL",
        # A message released because its sink failed as a whole waits for that sink (``waiting`` = 1): when
        # the relay's probe finds the sink back, all of them become due at once (release_waiting).
        "ALTER TABLE outbox ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0",
        """
        CREATE INDEX IF NOT EXISTS outbox_waiting
            ON outbox (kind, seq) WHERE waiting = 1 AND delivered_at IS NULL
        """,
    ),
    (
        # Scoring records (SPEC §7), shaped for the selection queries at a million records (adapters_sqlite/
        # scoring.py and docs/decisions.md explain the columns). ``id`` is declared so that it never changes:
        # scoring_tags refers to it.
        """
        CREATE TABLE IF NOT EXISTS scoring (
            id           INTEGER PRIMARY KEY,
            campaign_id  TEXT    NOT NULL,
            user_id      TEXT    NOT NULL,
            phone        TEXT    NOT NULL,
            score        REAL    NOT NULL,
            random_score REAL    NOT NULL,
            state        INTEGER NOT NULL,
            blocked      INTEGER NOT NULL,
            intl         INTEGER NOT NULL,
            combo        INTEGER NOT NULL,
            mask         INTEGER NOT NULL,
            doc          TEXT    NOT NULL,
            UNIQUE (campaign_id, user_id)
        )
        """,
        "CREATE INDEX IF NOT EXISTS scoring_phone ON scoring (campaign_id, phone)",
        # Counts: one pass grouped by (state, combo), the other filters read from the index itself.
        """
        CREATE INDEX IF NOT EXISTS scoring_counts
            ON scoring (campaign_id, blocked, state, combo, score, intl, mask)
        """,
        # Lists: walked in their order, filtered in the index, stopped at the page.
        """
        CREATE INDEX IF NOT EXISTS scoring_by_score
            ON scoring (campaign_id, blocked, score DESC, user_id, state, intl, mask, combo)
        """,
        """
        CREATE INDEX IF NOT EXISTS scoring_by_random
            ON scoring (campaign_id, blocked, random_score, user_id, state, intl, mask, combo)
        """,
        """
        CREATE TABLE IF NOT EXISTS scoring_markets (
            campaign_id TEXT    NOT NULL,
            market_id   TEXT    NOT NULL,
            slot        INTEGER NOT NULL,
            PRIMARY KEY (campaign_id, market_id),
            UNIQUE (campaign_id, slot)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE IF NOT EXISTS scoring_tags (
            campaign_id TEXT    NOT NULL,
            tag         TEXT    NOT NULL,
            record      INTEGER NOT NULL,
            PRIMARY KEY (campaign_id, tag, record)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS scoring_tags_record ON scoring_tags (record)",
        # The audit trail of admin writes (SPEC OPS-002), read newest first, of one campaign or all.
        """
        CREATE TABLE IF NOT EXISTS audit (
            id          INTEGER PRIMARY KEY,
            at          TEXT NOT NULL,
            campaign_id TEXT,
            doc         TEXT NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS audit_at ON audit (at)",
        "CREATE INDEX IF NOT EXISTS audit_campaign_at ON audit (campaign_id, at)",
    ),
    (
        # What selection's entry lists, registration counts and timeline read (SPEC SCR-008…010), as virtual
        # columns computed from the entry's document: nothing changes in how entries are written, and only the
        # indexes below store them.
        "ALTER TABLE entries ADD COLUMN blocked INTEGER"
        " GENERATED ALWAYS AS (coalesce(json_extract(doc, '$.review.isBlocked'), 0)) VIRTUAL",
        "ALTER TABLE entries ADD COLUMN has_codes INTEGER"
        " GENERATED ALWAYS AS (coalesce(json_array_length(doc, '$.codes'), 0) > 0) VIRTUAL",
        "ALTER TABLE entries ADD COLUMN market TEXT GENERATED ALWAYS AS (json_extract(doc, '$.markets[0]')) VIRTUAL",
        "ALTER TABLE entries ADD COLUMN markets TEXT GENERATED ALWAYS AS (json_extract(doc, '$.markets')) VIRTUAL",
        "ALTER TABLE entries ADD COLUMN date_confirmed TEXT"
        " GENERATED ALWAYS AS (json_extract(doc, '$.datePhoneConfirmed')) VIRTUAL",
        # Entry lists (SCR-009) in creation order, filtered in the index.
        """
        CREATE INDEX IF NOT EXISTS entries_lists
            ON entries (campaign_id, blocked, has_codes, date_created, user_id, market, phone_confirmed)
        """,
        # Registration counts (SCR-010): one pass grouped by the ranked list.
        "CREATE INDEX IF NOT EXISTS entries_ranked ON entries (campaign_id, phone_confirmed, markets)",
        # The timeline's confirmations.
        """
        CREATE INDEX IF NOT EXISTS entries_confirmed_at
            ON entries (campaign_id, date_confirmed) WHERE phone_confirmed = 1
        """,
    ),
    (
        # A fan's scoring records across campaigns, for the erasure of a fan (SPEC USR-003).
        "CREATE INDEX IF NOT EXISTS scoring_user ON scoring (user_id)",
    ),
    (
        # Named leases held across processes (the Locks port, adapters_sqlite/locks.py): one transfer of a
        # campaign at a time (SPEC MKT-003). ``until`` is timefmt.iso text; a row past it is free to take.
        """
        CREATE TABLE IF NOT EXISTS locks (
            name  TEXT NOT NULL PRIMARY KEY,
            owner TEXT NOT NULL,
            until TEXT NOT NULL
        ) WITHOUT ROWID
        """,
        # SCR-001, REQ-006: a scoring record exists only while its entry is phone-confirmed with the phone it was
        # matched by; earlier versions left the record of a fan who changed phone (adapters_sqlite/scoring.py's
        # follow_entry now removes it in the entry's write). Those are removed here, tags first.
        """
        DELETE FROM scoring_tags WHERE record IN (
            SELECT scoring.id FROM scoring LEFT JOIN entries
                ON entries.campaign_id = scoring.campaign_id AND entries.user_id = scoring.user_id
             WHERE entries.user_id IS NULL OR entries.phone_confirmed = 0 OR entries.phone IS NOT scoring.phone
        )
        """,
        """
        DELETE FROM scoring WHERE id IN (
            SELECT scoring.id FROM scoring LEFT JOIN entries
                ON entries.campaign_id = scoring.campaign_id AND entries.user_id = scoring.user_id
             WHERE entries.user_id IS NULL OR entries.phone_confirmed = 0 OR entries.phone IS NOT scoring.phone
        )
        """,
    ),
    (
        # Issue 22: one row per entry that is also its scoring record, with every fact the admin queries ask of it
        # as a real column — the ranked markets (m0…m3, rank 0 first, the one source of truth: the document no
        # longer holds ``markets``), the block, whether it has codes, the confirmation time, and the record's own
        # score, random score and verdict (NULL score: no record). A record cannot disagree with its entry's
        # markets, phone, confirmation, codes or block: they are the entry's own columns (SCR-001, REQ-006). ``id``
        # never changes (entry_tags refers to it); ``doc`` is last, so reading the columns before it never walks
        # the document's overflow pages. docs/decisions.md ("Storage shaped by the questions") has the measurements.
        """
        CREATE TABLE IF NOT EXISTS entries_v12 (
            id              INTEGER PRIMARY KEY,
            campaign_id     TEXT    NOT NULL,
            user_id         TEXT    NOT NULL,
            code            TEXT    NOT NULL,
            phone           TEXT,
            phone_confirmed INTEGER NOT NULL,
            date_created    TEXT    NOT NULL,
            version         INTEGER NOT NULL,
            blocked         INTEGER NOT NULL DEFAULT 0,
            has_codes       INTEGER NOT NULL DEFAULT 0,
            date_confirmed  TEXT,
            m0              TEXT,
            m1              TEXT,
            m2              TEXT,
            m3              TEXT,
            score           REAL,
            random_score    REAL,
            verdict         INTEGER,
            doc             TEXT    NOT NULL,
            state           INTEGER GENERATED ALWAYS AS (2 * verdict + has_codes) VIRTUAL,
            intl            INTEGER GENERATED ALWAYS AS (substr(phone, 1, 2) IS NOT '+1') VIRTUAL,
            UNIQUE (campaign_id, user_id),
            UNIQUE (campaign_id, code)
        )
        """,
        # Every entry, with its scoring record if it still is the record of this entry (same phone, confirmed).
        """
        INSERT INTO entries_v12 (campaign_id, user_id, code, phone, phone_confirmed, date_created, version, blocked,
                                 has_codes, date_confirmed, m0, m1, m2, m3, score, random_score, verdict, doc)
        SELECT e.campaign_id, e.user_id, e.code, e.phone, e.phone_confirmed, e.date_created, e.version,
               coalesce(e.doc ->> '$.review.isBlocked', 0), coalesce(json_array_length(e.doc, '$.codes'), 0) > 0,
               e.doc ->> '$.datePhoneConfirmed', e.doc ->> '$.markets[0]', e.doc ->> '$.markets[1]',
               e.doc ->> '$.markets[2]', e.doc ->> '$.markets[3]', s.score, s.random_score,
               CASE WHEN s.id IS NULL THEN NULL ELSE s.state >= 2 END, json_remove(e.doc, '$.markets')
          FROM entries AS e LEFT JOIN scoring AS s
            ON s.campaign_id = e.campaign_id AND s.user_id = e.user_id AND e.phone_confirmed = 1 AND s.phone = e.phone
         ORDER BY e.rowid
        """,
        # A record's tags (true and false, as uploaded), by the entry's id; the true ones answer tag criteria.
        """
        CREATE TABLE IF NOT EXISTS entry_tags (
            campaign_id TEXT    NOT NULL,
            tag         TEXT    NOT NULL,
            entry       INTEGER NOT NULL,
            value       INTEGER NOT NULL,
            PRIMARY KEY (campaign_id, tag, entry)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS entry_tags_entry ON entry_tags (entry)",
        """
        INSERT OR IGNORE INTO entry_tags (campaign_id, tag, entry, value)
        SELECT n.campaign_id, t.key, n.id, t.value
          FROM scoring AS s JOIN entries_v12 AS n ON n.campaign_id = s.campaign_id AND n.user_id = s.user_id
               CROSS JOIN json_each(s.doc, '$.tags') AS t
         WHERE n.score IS NOT NULL AND t.type IN ('true', 'false')
        """,
        "DROP TABLE IF EXISTS scoring_tags",
        "DROP TABLE IF EXISTS scoring_markets",
        "DROP TABLE IF EXISTS scoring",
        "DROP TABLE IF EXISTS entries",
        "ALTER TABLE entries_v12 RENAME TO entries",
        # PHN-003: one confirmed phone per campaign, enforced by the database.
        """
        CREATE UNIQUE INDEX IF NOT EXISTS entries_confirmed_phone
            ON entries (campaign_id, phone) WHERE phone_confirmed = 1
        """,
        "CREATE INDEX IF NOT EXISTS entries_user_created ON entries (user_id, date_created)",
        # Entry lists (SCR-009) in creation order, filtered in the index.
        """
        CREATE INDEX IF NOT EXISTS entries_lists
            ON entries (campaign_id, blocked, has_codes, date_created, user_id, m0, phone_confirmed)
        """,
        """
        CREATE INDEX IF NOT EXISTS entries_confirmed_at
            ON entries (campaign_id, date_confirmed) WHERE phone_confirmed = 1
        """,
        # Registration counts (SCR-010) and a transfer's candidates (MKT-003): one index per rank, so a count by
        # (market, rank) is four streaming passes whatever the spread of the ranked lists.
        *(
            f"CREATE INDEX IF NOT EXISTS entries_rank{rank} ON entries (campaign_id, m{rank}, phone_confirmed)"
            f" WHERE m{rank} IS NOT NULL"
            for rank in range(4)
        ),
        # Eligibility (SCR-003…005) over the scored, unblocked entries: per rank, the counts by (state, market)
        # with the score and phone criteria read from the index; the totals; the lists in score and random order.
        # Narrow on purpose: an index holding every rank's market is rewritten whenever a transfer moves any rank of
        # the entry (measured at 1M: 130-190 µs per moved entry with m0…m3 in these seven, 36 µs without);
        # market criteria start instead from the per-rank indexes above (adapters_sqlite/scoring.py).
        *(
            f"CREATE INDEX IF NOT EXISTS scored_rank{rank} ON entries (campaign_id, state, m{rank}, score, intl)"
            f" WHERE score IS NOT NULL AND blocked = 0 AND m{rank} IS NOT NULL"
            for rank in range(4)
        ),
        """
        CREATE INDEX IF NOT EXISTS scored
            ON entries (campaign_id, state, score, intl) WHERE score IS NOT NULL AND blocked = 0
        """,
        """
        CREATE INDEX IF NOT EXISTS scored_by_score
            ON entries (campaign_id, score DESC, user_id, state, intl) WHERE score IS NOT NULL AND blocked = 0
        """,
        """
        CREATE INDEX IF NOT EXISTS scored_by_random
            ON entries (campaign_id, random_score, user_id, state, intl) WHERE score IS NOT NULL AND blocked = 0
        """,
    ),
    (
        # Market criteria and preference order (adapters_sqlite/scoring.py _subset) read this one covering index of
        # every rank's market instead of a table row each: measured at 1M with the biggest two markets chosen (half
        # the fans), 3.5 s of row look-ups. One index holding m0…m3, so a transfer rewrites it and the rank's own.
        """
        CREATE INDEX IF NOT EXISTS scored_markets
            ON entries (campaign_id, state, score, intl, m0, m1, m2, m3, random_score, user_id)
            WHERE score IS NOT NULL AND blocked = 0
        """,
    ),
    (
        # Issue 22, third part: counts under any criteria, and lists in preference order or under a market criterion,
        # are answered from a columnar copy of the entries' admin facts (adapters_sqlite/columns.py) that each process
        # brings up to date from this log of changed entries inside the read transaction of the question — so it
        # always shows one committed state of the file (no count sees a record that disagrees with its entry).
        # AUTOINCREMENT: a sequence number is never reused, even once the log is pruned empty.
        "CREATE TABLE IF NOT EXISTS entry_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry INTEGER NOT NULL)",
        "CREATE TRIGGER IF NOT EXISTS entries_logged_insert AFTER INSERT ON entries"
        " BEGIN INSERT INTO entry_changes (entry) VALUES (NEW.id); END",
        "CREATE TRIGGER IF NOT EXISTS entries_logged_delete AFTER DELETE ON entries"
        " BEGIN INSERT INTO entry_changes (entry) VALUES (OLD.id); END",
        # Only a change of what the copy holds is logged: a fan renaming themselves, or a re-upload of an equal score,
        # adds nothing.
        """
        CREATE TRIGGER IF NOT EXISTS entries_logged_update
            AFTER UPDATE OF campaign_id, phone, phone_confirmed, blocked, has_codes, m0,
                            m1, m2, m3, score, random_score, verdict ON entries
            WHEN OLD.campaign_id IS NOT NEW.campaign_id OR OLD.phone IS NOT NEW.phone
                OR OLD.phone_confirmed IS NOT NEW.phone_confirmed OR OLD.blocked IS NOT NEW.blocked
                OR OLD.has_codes IS NOT NEW.has_codes OR OLD.m0 IS NOT NEW.m0 OR OLD.m1 IS NOT NEW.m1
                OR OLD.m2 IS NOT NEW.m2 OR OLD.m3 IS NOT NEW.m3 OR OLD.score IS NOT NEW.score
                OR OLD.random_score IS NOT NEW.random_score OR OLD.verdict IS NOT NEW.verdict
        BEGIN INSERT INTO entry_changes (entry) VALUES (NEW.id); END
        """,
        # The log keeps the last 1,000,000 changes, pruned every 4,096 (a copy further behind is read afresh).
        """
        CREATE TRIGGER IF NOT EXISTS entry_changes_pruned AFTER INSERT ON entry_changes WHEN NEW.seq % 4096 = 0
        BEGIN DELETE FROM entry_changes WHERE seq <= NEW.seq - 1000000; END
        """,
        # What these indexes answered, the copy answers (measured: docs/decisions.md, "Counts from a columnar copy");
        # without them a scored row dirties 8 fewer index pages, a moved entry 5 fewer.
        *(f"DROP INDEX IF EXISTS scored_rank{rank}" for rank in range(4)),
        "DROP INDEX IF EXISTS scored",
        "DROP INDEX IF EXISTS scored_markets",
    ),
    (
        # Allocation draws (SPEC §12, adapters_sqlite/draws.py). ``doc`` is the draw's stored document
        # (entrywire.documents); its columns are copies for the queries. A draw is visible once its row exists:
        # its tickets and files are written before it, in short transactions, so fans' writes go between them.
        """
        CREATE TABLE IF NOT EXISTS draws (
            draw_id      TEXT    PRIMARY KEY,
            campaign_id  TEXT    NOT NULL,
            status       TEXT    NOT NULL,
            committed_at TEXT    NOT NULL,
            beacon_round INTEGER,
            version      INTEGER NOT NULL,
            doc          TEXT    NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS draws_campaign ON draws (campaign_id, committed_at)",
        # One row per entrant: the ticket's link to its fan (private) and its standing in the draw.
        """
        CREATE TABLE IF NOT EXISTS draw_tickets (
            draw_id          TEXT    NOT NULL,
            ticket           TEXT    NOT NULL,
            campaign_id      TEXT    NOT NULL,
            user_id          TEXT,
            markets          TEXT    NOT NULL,
            status           TEXT    NOT NULL,
            position         INTEGER,
            lottery          TEXT,
            market           TEXT,
            rank             INTEGER,
            offer_expires_at TEXT,
            waitlist_rank    INTEGER,
            voided           INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (draw_id, ticket)
        ) WITHOUT ROWID
        """,
        # A fan's tickets (the fan view, their answer to an offer): few per fan, so one index serves both.
        "CREATE INDEX IF NOT EXISTS draw_tickets_fan ON draw_tickets (user_id, campaign_id) WHERE user_id IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS draw_tickets_due ON draw_tickets (offer_expires_at, position)"
        " WHERE status = 'offered'",
        # Those who left the waitlist, by their rank on it at the reveal: a fan's waitlist position is their rank
        # minus how many before them left (an index of the few who left, not a count of everyone waiting).
        """
        CREATE INDEX IF NOT EXISTS draw_tickets_left ON draw_tickets (draw_id, waitlist_rank)
            WHERE waitlist_rank IS NOT NULL AND status != 'waitlisted'
        """,
        # Per market, the waitlisted entrants that rank it, in draw order: a released unit's taker is the first row.
        """
        CREATE TABLE IF NOT EXISTS draw_waitlist (
            draw_id  TEXT    NOT NULL,
            market   TEXT    NOT NULL,
            position INTEGER NOT NULL,
            ticket   TEXT    NOT NULL,
            PRIMARY KEY (draw_id, market, position)
        ) WITHOUT ROWID
        """,
        # The public files written once (entrants, results), in parts, as they are and gzip-compressed.
        """
        CREATE TABLE IF NOT EXISTS draw_files (
            draw_id TEXT    NOT NULL,
            name    TEXT    NOT NULL,
            gzip    INTEGER NOT NULL,
            part    INTEGER NOT NULL,
            data    BLOB    NOT NULL,
            UNIQUE (draw_id, name, gzip, part)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS draw_file_sizes (
            draw_id   TEXT    NOT NULL,
            name      TEXT    NOT NULL,
            size      INTEGER NOT NULL,
            gzip_size INTEGER NOT NULL,
            etag      TEXT    NOT NULL,
            PRIMARY KEY (draw_id, name)
        ) WITHOUT ROWID
        """,
        # The rolls log, a line per roll in the order they happened (``seq`` from 1).
        """
        CREATE TABLE IF NOT EXISTS draw_rolls (
            draw_id TEXT    NOT NULL,
            seq     INTEGER NOT NULL,
            line    BLOB    NOT NULL,
            PRIMARY KEY (draw_id, seq)
        ) WITHOUT ROWID
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
