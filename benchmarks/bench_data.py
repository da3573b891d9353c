"""Test data for ``http_entries.py``: the campaign, valid fans, the SQLite preload, tokens, request files.

Every preloaded entry is built the way ``Registrations._create`` builds one: the submitted fields go
through the real field rules (``entrycore.fields``: names, missing, email/phone/name/market rules), the
entry gets a random referral code (unique in the campaign), its share link, the campaign's locale and
the fan's own email/phone/name (ENT-011). The field rules cost ~0.4 ms per fan (email-validator and
phonenumbers), so they run in a process pool over every core; the rows are then written in a few big
transactions through the store's bulk loader (``insert_many``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from adapters_sqlite import SqliteEntryStore
from adapters_sqlite import store as sqlite_store_module
from entrycore import fields as field_rules
from entrycore.locales import pick_locale
from entrycore.model import Entry, Origin
from entrycore.phones import normalize_phone
from entrycore.referrals import new_code, share_link
from entrycore.timefmt import utc_ms
from entrywire.services import read_campaign

CAMPAIGN_ID = "bench-tour"
MARKETS = ("nyc", "bos", "phl", "chi", "lax")
AREA_CODES = (212, 646, 718, 917)  # New York; exchanges 200-999 of each give 8 million numbers
PATH = f"/{CAMPAIGN_ID}/entries"
BATCH = 10_000  # rows per preload transaction

# Same shape as tests/builders.py BASE_CAMPAIGN (API.md §7): open, no gates, no phone confirmation.
CAMPAIGN_DOC: dict[str, Any] = {
    "id": CAMPAIGN_ID,
    "name": "Benchmark Tour",
    "status": "OPEN",
    "needsPhoneConfirmation": False,
    "domain": {"share": "share.example"},
    "region": "US",
    "locales": [{"id": "en-US", "is_default": True}, {"id": "es_MX"}],
    "markets": [{"id": m, "name": m.upper()} for m in MARKETS],
    "preferences": [
        {"id": "email", "type": "email"},
        {"id": "phone", "type": "phone"},
        {"id": "first_name", "type": "name"},
        {"id": "last_name", "type": "name", "is_optional": True},
        {"id": "market", "type": "market_select"},
        {"id": "optional_markets", "type": "additional_markets_select", "is_optional": True, "additional": {"max": 3}},
        {"id": "allow_marketing", "type": "opt_in", "is_optional": True},
    ],
}
CAMPAIGN = read_campaign(CAMPAIGN_DOC)


def write_campaigns(path: Path) -> None:
    path.write_text(json.dumps({"campaigns": [CAMPAIGN_DOC]}))


def phone_text(k: int) -> str:
    """The k-th fan's phone as a fan would type it: ``(212) 200-0000``, ``(212) 200-0001``, …"""
    area, rest = divmod(k, 800 * 10_000)
    exchange, line = divmod(rest, 10_000)
    return f"({AREA_CODES[area]}) {200 + exchange:03d}-{line:04d}"


def fan_fields(k: int, user_id: str) -> dict[str, Any]:
    """A complete, valid create submission for fan number ``k`` (distinct email and phone per k)."""
    primary = k % len(MARKETS)
    optional = [MARKETS[(primary + j) % len(MARKETS)] for j in range(1, 1 + k % 3)]
    return {
        "email": f"{user_id}@Example.com",
        "phone": phone_text(k),
        "first_name": f"Fan {k}",
        "market": MARKETS[primary],
        "optional_markets": optional,
        "allow_marketing": k % 2 == 0,
    }


def _validate(submitted: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """What ``Registrations._validated`` does on a create: names → missing → values and markets."""
    field_rules.check_names(CAMPAIGN, submitted)
    merged = field_rules.merge({}, submitted)
    field_rules.check_missing(CAMPAIGN, merged)
    return field_rules.normalize(CAMPAIGN, merged)


def _validate_range(bounds: tuple[int, int]) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    return [_validate(fan_fields(k, f"bench-{k}")) for k in range(*bounds)]


def _check_phones(bounds: tuple[int, int]) -> int:
    for k in range(*bounds):
        normalize_phone(phone_text(k), CAMPAIGN.region)  # raises InvalidPhone
    return bounds[1] - bounds[0]


def _chunks(start: int, stop: int, size: int = 2_000) -> list[tuple[int, int]]:
    return [(lo, min(lo + size, stop)) for lo in range(start, stop, size)]


def _pool() -> ProcessPoolExecutor:
    context = multiprocessing.get_context("fork")  # workers inherit the imported modules, nothing to pickle
    return ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=context)


def check_phones(start: int, stop: int) -> None:
    """Every phone of fans ``start..stop-1`` passes ``entrycore.phones.normalize_phone`` (in a pool)."""
    with _pool() as pool:
        sum(pool.map(_check_phones, _chunks(start, stop)))


def _entry(k: int, values: dict[str, Any], markets: tuple[str, ...], code: str, now: datetime) -> Entry:
    """Fan ``bench-{k}``'s entry, as ``Registrations._create`` + ``_own_data`` would store it."""
    created = utc_ms(now + timedelta(milliseconds=k))
    return Entry(
        campaign_id=CAMPAIGN.id,
        user_id=f"bench-{k}",
        fields=values,
        markets=markets,
        locale=pick_locale(CAMPAIGN, "en-US"),
        code=code,
        link=share_link(CAMPAIGN, code),
        date_created=created,
        date_updated=created,
        email=values["email"],
        phone=values["phone"],
        first_name=values["first_name"],
        last_name=values.get("last_name"),
        referrer=None,
        attributes={},
        origin=Origin(ip="127.0.0.1", user_agent="benchmarks/http_entries.py preload"),
    )


def build_entries(count: int) -> Iterator[Entry]:
    """Entries of fans ``bench-0 … bench-{count-1}``, validated in a process pool, unique codes."""
    codes: set[str] = set()
    start = datetime.now(UTC) - timedelta(days=1)
    with _pool() as pool:
        chunks = _chunks(0, count)
        for (lo, _), validated in zip(chunks, pool.map(_validate_range, chunks), strict=True):
            for k, (values, markets) in enumerate(validated, start=lo):
                code = new_code()
                while code in codes:
                    code = new_code()
                codes.add(code)
                yield _entry(k, values, markets, code, start)


def _batches(items: Iterable[Entry], size: int) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_many(store: SqliteEntryStore, entries: Sequence[Entry]) -> None:
    """Writes new ``entries`` in bulk: exactly the rows ``SqliteEntryStore.create`` writes, without an fsync each.

    The one place the benchmarks load entries (every preload calls it), so only this function follows the
    store's bulk path: the public ``adapters_sqlite.store.load_entries`` when the store has it (given the
    store's ``Database``, or the store itself); else the store's own INSERT statement and row encoder
    (``_INSERT``, ``_columns``) through its own write path (``_db.write``, the one ``create`` uses;
    ``_db.writing()`` on older stores), so the schema and the document format cannot drift from the store's;
    else one ``create`` per entry (slow, but still right).
    """
    load = getattr(sqlite_store_module, "load_entries", None)
    if load is not None:
        database = getattr(store, "database", None)
        load(store if database is None else database, entries)
        return
    insert = getattr(sqlite_store_module, "_INSERT", None)
    encode = getattr(sqlite_store_module, "_columns", None)
    database = getattr(store, "_db", None)
    if insert is None or encode is None or database is None:  # the store changed: slow, but still right
        for entry in entries:
            store.create(entry)
        return
    rows = [(*encode(e), e.campaign_id, e.user_id) for e in entries]
    if hasattr(database, "write"):
        database.write(lambda conn: conn.executemany(insert, rows))
    else:
        with database.writing() as conn:
            conn.executemany(insert, rows)


def preload(db_path: Path, count: int) -> float:
    """Creates the store at ``db_path`` with ``count`` entries; returns the seconds it took."""
    started = time.perf_counter()
    store = SqliteEntryStore(db_path)
    store.ping()  # creates the file (0600) and the schema, as the server would
    first: Entry | None = None
    for batch in _batches(build_entries(count), BATCH):
        insert_many(store, batch)
        first = first or batch[0]
    if first is not None and store.get(CAMPAIGN.id, first.user_id) != first:
        raise SystemExit("preload: the store does not read back the entry it was given")
    store.close()  # last connection: checkpoints the WAL before the server opens the file
    return time.perf_counter() - started


def token(secret: str, user_id: str, ttl: int) -> str:
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + ttl}, secret, algorithm="HS256")


def write_requests(path: Path, rows: Iterable[tuple[str, ...]]) -> int:
    """A request file for ``rotate.lua``: ``METHOD \\t PATH \\t TOKEN \\t BODY`` per line."""
    lines = ["\t".join(row) for row in rows]
    if any(line.count("\t") != 3 or "\n" in line for line in lines):
        raise ValueError("a request line contains a tab or a newline")
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def get_requests(secret: str, entries: int, tokens: int, ttl: int, seed: int = 1) -> Iterator[tuple[str, ...]]:
    """``GET /{campaign}/entries`` of ``tokens`` distinct preloaded fans, in random order."""
    for k in random.Random(seed).sample(range(entries), min(tokens, entries)):
        yield ("GET", PATH, token(secret, f"bench-{k}", ttl), "")


def is_update(slot: int, update_every: int, threads: int) -> bool:
    """Whether line ``slot`` of a POST file is an update. wrk thread t of T sends lines t, t+T, t+2T, … so
    counting in rounds of T lines gives every thread the same mix (every ``update_every``-th of its lines)."""
    return bool(update_every) and (slot // threads) % update_every == update_every - 1


def post_requests(
    secret: str, prefix: str, first_k: int, count: int, entries: int, mix: tuple[int, int], ttl: int
) -> Iterator[tuple[str, ...]]:
    """``count`` POSTs; with ``mix = (update_every, wrk threads)``, every ``update_every``-th line of each
    thread updates a random preloaded fan, the others create new fans ``{prefix}-{k}`` (phone and email of
    fan number ``k``, from ``first_k`` on)."""
    rng = random.Random(first_k)
    k = first_k
    for slot in range(count):
        if is_update(slot, *mix):
            j = rng.randrange(entries)
            fields = {"first_name": f"Fan {j} updated {slot}", "optional_markets": [MARKETS[(j + 2) % 5]]}
            user = f"bench-{j}"
        else:
            user = f"{prefix}-{k}"
            fields = fan_fields(k, user)
            k += 1
        body = json.dumps({"fields": fields, "locale": "en-US"}, separators=(",", ":"))
        yield ("POST", PATH, token(secret, user, ttl), body)
