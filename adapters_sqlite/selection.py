"""SqliteSelection: the SelectionStore port on a SqliteStore's file (entry lists, registration counts, timeline).

The entries table carries virtual columns computed from each entry's document (migration 9: ``blocked``,
``has_codes``, ``market``, ``markets``, ``date_confirmed``) and indexes over them, so each view is one
indexed query.
"""

from __future__ import annotations

import json

from adapters_sqlite.database import Database
from entrycore.model import Campaign, Entry
from entrycore.selection import BUCKET_PREFIX, EntryFilter, TimelinePoint, timeline_of_prefixes

_WHERE = {  # SCR-009 (verified also needs the phone confirmed when the campaign has PPC: added below)
    "winners": "blocked = 0 AND has_codes = 1",
    "codeless": "blocked = 0 AND has_codes = 0",
    "blocked": "blocked = 1",
    "verified": "blocked = 0",
}
_BY_CODE_CONFIG = "EXISTS (SELECT 1 FROM json_each(doc, '$.codes') WHERE json_extract(value, '$.codeConfigId') = ?)"
_GROUPS = (
    "SELECT markets, phone_confirmed, count(*) FROM entries INDEXED BY entries_ranked"
    " WHERE campaign_id = ? GROUP BY phone_confirmed, markets"
)
# Grouped by the bucket's prefix of the timefmt.iso text (entrycore.selection.BUCKET_PREFIX).
_CREATED = (
    "SELECT substr(date_created, 1, ?), count(*) FROM entries INDEXED BY entries_lists WHERE campaign_id = ? GROUP BY 1"
)
_CONFIRMED = (
    "SELECT substr(date_confirmed, 1, ?), count(*) FROM entries INDEXED BY entries_confirmed_at"
    " WHERE campaign_id = ? AND phone_confirmed = 1 AND date_confirmed IS NOT NULL GROUP BY 1"
)


class SqliteSelection:
    """SelectionStore on ``database`` (a SqliteStore's ``database``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def entry_page(self, campaign: Campaign, chosen: EntryFilter, limit: int, offset: int) -> tuple[list[Entry], int]:
        parts, params = ["campaign_id = ?", _WHERE[chosen.filter_type]], [campaign.id]
        if chosen.filter_type == "verified" and campaign.needs_phone_confirmation:
            parts.append("phone_confirmed = 1")
        if chosen.market is not None:
            parts.append("market = ?")
            params.append(chosen.market)
        if chosen.code_config_id is not None:
            parts.append(_BY_CODE_CONFIG)
            params.append(chosen.code_config_id)
        where = " AND ".join(parts)
        with self._db.reading() as conn:
            total = conn.execute(f"SELECT count(*) FROM entries INDEXED BY entries_lists WHERE {where}", params)  # noqa: S608
            count = int(total.fetchone()[0])
            rows = conn.execute(
                f"SELECT doc FROM entries INDEXED BY entries_lists WHERE {where}"  # noqa: S608 - fixed parts
                " ORDER BY date_created, user_id LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [Entry.from_document(json.loads(doc)) for (doc,) in rows], count

    def registration_groups(self, campaign_id: str) -> list[tuple[list[str], bool, int]]:
        with self._db.reading() as conn:
            rows = conn.execute(_GROUPS, (campaign_id,)).fetchall()
        return [(json.loads(markets) if markets else [], bool(confirmed), count) for markets, confirmed, count in rows]

    def timeline(self, campaign_id: str, bucket: str) -> list[TimelinePoint]:
        width = BUCKET_PREFIX[bucket]
        with self._db.reading() as conn:
            created = conn.execute(_CREATED, (width, campaign_id)).fetchall()
            confirmed = conn.execute(_CONFIRMED, (width, campaign_id)).fetchall()
        return timeline_of_prefixes(created, confirmed)
