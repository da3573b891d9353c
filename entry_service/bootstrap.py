"""Wiring: Settings → adapters → use cases. The only module that knows every adapter."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from adapters_http.server.auth import TokenVerifier
from entry_service.background import ThreadHeartbeats, ThreadRunner
from entry_service.settings import ConfigError, MongoUri, Settings, SqliteFile, ensure_private_dir
from entrycore.ports import (
    AuditTrail,
    BeaconSource,
    CampaignSource,
    DatastoreRefused,
    EventSink,
    FanscoreSource,
    Outbox,
    ReceiptSender,
    RetryQueue,
    Stores,
    UserSource,
)
from entrycore.system import NoAccounts, RandomIds, SystemClock
from entrycore.usecases.batch import Replication
from entrycore.usecases.draws import Draws
from entrycore.usecases.enrichment import AccountFanscore, Enrichment
from entrycore.usecases.invites import Invites
from entrycore.usecases.overview import Overview
from entrycore.usecases.phones import PhoneConfirmations
from entrycore.usecases.privacy import Privacy
from entrycore.usecases.refresh import ScoreRefresher
from entrycore.usecases.registrations import Registrations
from entrycore.usecases.relay import Relay
from entrycore.usecases.scoring import Scoring
from entrycore.usecases.selection import Selection
from entrycore.usecases.transfers import Transfers

if TYPE_CHECKING:
    from adapters_http.clients import Breaker

RUNNER = ThreadRunner()  # one per process (its pool is made on first use, after any fork)
HEARTBEATS = ThreadHeartbeats()  # a thread per long admin operation (a transfer renewing its lock)


@attrs.frozen
class Services:
    """Everything the driving adapters (HTTP, CLI, other services through ``open_services``) need, wired from one
    Settings value: the use cases, the token verifier, the datastore's ``stores`` and its health checks. The HTTP
    app is typed against ``adapters_http.server.AppServices``, the part of it that the routes use."""

    settings: Settings
    campaigns: CampaignSource
    registrations: Registrations
    phones: PhoneConfirmations
    invites: Invites
    scoring: Scoring
    selection: Selection
    audit: AuditTrail
    privacy: Privacy
    transfers: Transfers
    replication: Replication
    relay: Relay
    refresher: ScoreRefresher
    overview: Overview
    draws: Draws
    verifier: TokenVerifier
    clock: SystemClock
    stores: Stores
    closers: tuple[Callable[[], None], ...] = ()

    @property
    def outbox(self) -> Outbox:
        return self.stores.outbox

    def ping(self) -> None:
        """Returns when the datastore answers; raises DependencyUnavailable otherwise."""
        self.stores.ping()

    def write_failure(self) -> str | None:
        """Why the datastore cannot take writes now while it still reads (a full or read-only disk, SPEC OPS-007),
        or None (also where the store cannot tell: MongoDB's own health is ``ping``'s)."""
        return self.stores.write_failure()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for close in self.closers:
            close()


def build_store(settings: Settings) -> Stores:
    """The stores of ``ENTRY_STORE``'s datastore, not yet prepared (``prepare_store``)."""
    match settings.store:
        case SqliteFile(path=path):
            from adapters_sqlite import open_sqlite  # noqa: PLC0415 - only the configured adapter is imported

            ensure_private_dir(path.parent)
            return open_sqlite(path)
        case MongoUri(uri=uri):
            from adapters_mongo import open_mongo  # noqa: PLC0415

            try:
                return open_mongo(uri)
            except ValueError as exc:
                raise ConfigError(f"ENTRY_STORE: {exc}") from None


def prepare_store(stores: Stores) -> None:
    """Makes a store enforce what it promises before anything uses it (``Stores.prepare``): MongoDB's layout and
    unique indexes (ENT-001, PHN-003) are ensured at every start, cheaply when they exist; a SQLite file is opened,
    which migrates it (OPS-006). A datastore this release must not use as it is (a conflicting existing index, a
    file or layout of a newer release) stops the process (ConfigError); an unreachable store raises
    DependencyUnavailable."""
    try:
        stores.prepare()
    except DatastoreRefused as exc:
        raise ConfigError(f"ENTRY_STORE: {exc}") from None


def breaker(settings: Settings, name: str) -> Breaker:
    """The circuit breaker of the HTTP dependency ``name`` (ENTRY_BREAKER_FAILURES, ENTRY_BREAKER_COOLDOWN)."""
    from adapters_http.clients import Breaker  # noqa: PLC0415 - only HTTP dependencies have one

    return Breaker(name, failures=settings.breaker_failures, cool_down=settings.breaker_cool_down)


def build_campaigns(settings: Settings) -> CampaignSource:
    if settings.campaigns.startswith("file:"):
        from adapters_files.sources import FileCampaignSource  # noqa: PLC0415

        path = Path(settings.campaigns[len("file:") :])
        try:
            return FileCampaignSource(path, default_region=settings.default_region)
        except ValueError as exc:
            raise ConfigError(f"ENTRY_CAMPAIGNS: {exc}{_unreadable(path, 'ENTRY_CAMPAIGNS', 'campaigns')}") from None
    from adapters_http.clients import HttpxCampaignSource  # noqa: PLC0415
    from adapters_http.clients import campaigns as client  # noqa: PLC0415

    try:
        return HttpxCampaignSource(
            settings.campaigns,
            timeout=settings.http_timeout,
            default_region=settings.default_region,
            breaker=breaker(settings, client.SERVICE),
        )
    except ValueError as exc:
        raise ConfigError(f"ENTRY_CAMPAIGNS: {exc}") from None


def _unreadable(path: Path, variable: str, example: str) -> str:
    """For a source file that cannot be read (often: a command run from another folder than the README's), where
    it was looked for and the README's export line; nothing for a file that reads but is wrong."""
    if os.access(path, os.R_OK):
        return ""
    where = f" in {Path.cwd()}" if not path.is_absolute() else ""
    return (
        f" — looked for{where}; set {variable} to the {example} file, e.g. from the repository's root "
        f"(README): export {variable}=file:examples/{example}.json"
    )


def build_users(settings: Settings) -> UserSource:
    if settings.users == "none":
        return NoAccounts()
    if settings.users.startswith("file:"):
        from adapters_files.sources import FileUserSource  # noqa: PLC0415

        path = Path(settings.users[len("file:") :])
        try:
            return FileUserSource(path)
        except ValueError as exc:
            raise ConfigError(f"ENTRY_USERS: {exc}{_unreadable(path, 'ENTRY_USERS', 'users')}") from None
    from adapters_http.clients import HttpxUserSource  # noqa: PLC0415
    from adapters_http.clients import users as user_client  # noqa: PLC0415

    try:
        return HttpxUserSource(
            settings.users, timeout=settings.http_timeout, breaker=breaker(settings, user_client.SERVICE)
        )
    except ValueError as exc:
        raise ConfigError(f"ENTRY_USERS: {exc}") from None


def build_event_sink(settings: Settings) -> EventSink:
    if settings.events.startswith("file:"):
        from adapters_files.sinks import FileEventSink  # noqa: PLC0415

        return FileEventSink(Path(settings.events[len("file:") :]))
    return build_event_sink_kinesis(settings, settings.events[len("kinesis:") :])


def build_receipts(settings: Settings) -> ReceiptSender:
    if settings.receipts.startswith("file:"):
        from adapters_files.sinks import FileReceiptSender  # noqa: PLC0415

        return FileReceiptSender(Path(settings.receipts[len("file:") :]))
    from adapters_http.clients import HttpxReceiptSender  # noqa: PLC0415

    try:
        return HttpxReceiptSender(settings.receipts, timeout=settings.http_timeout)
    except ValueError as exc:
        raise ConfigError(f"ENTRY_RECEIPTS: {exc}") from None


def build_event_sink_kinesis(settings: Settings, stream: str) -> EventSink:
    from adapters_aws import KinesisEventSink  # noqa: PLC0415

    try:
        return KinesisEventSink(stream, region=settings.aws_region)
    except ValueError as exc:
        raise ConfigError(f"ENTRY_EVENTS: {exc}") from None


def build_retry_queue(settings: Settings, stores: Stores) -> RetryQueue:
    if settings.retry_queue == "store":
        return stores.retries
    from adapters_aws import SqsRetryQueue  # noqa: PLC0415

    try:
        return SqsRetryQueue(settings.retry_queue[len("sqs:") :], region=settings.aws_region)
    except ValueError as exc:
        raise ConfigError(f"ENTRY_RETRY_QUEUE: {exc}") from None


def build_enrichment(settings: Settings, users: UserSource) -> Enrichment:
    """``ENTRY_FRAUD`` and ``ENTRY_FANSCORE``: off, the account's fanscore, or HTTP services."""
    timeout = settings.enrichment_timeout
    fraud = None
    if settings.fraud != "off":
        from adapters_http.clients import HttpxFraudCheck, nudetect  # noqa: PLC0415

        try:
            fraud = HttpxFraudCheck(settings.fraud, timeout=timeout, breaker=breaker(settings, nudetect.SERVICE))
        except ValueError as exc:
            raise ConfigError(f"ENTRY_FRAUD: {exc}") from None
    fanscore: FanscoreSource | None = None
    if settings.fanscore == "account":
        fanscore = AccountFanscore(users)
    elif settings.fanscore != "off":
        from adapters_http.clients import HttpxFanscoreSource  # noqa: PLC0415
        from adapters_http.clients import fanscore as source  # noqa: PLC0415

        try:
            fanscore = HttpxFanscoreSource(
                settings.fanscore, timeout=timeout, breaker=breaker(settings, source.SERVICE)
            )
        except ValueError as exc:
            raise ConfigError(f"ENTRY_FANSCORE: {exc}") from None
    # The fraud check runs on the process's thread pool beside the fanscore; queueing there is bounded too.
    return Enrichment(fraud=fraud, fanscore=fanscore, wait=timeout + 0.5, runner=RUNNER)


def build_beacon(settings: Settings) -> BeaconSource | None:
    """``ENTRY_DRAND_URL``: a drand HTTP relay the draws' reveals fetch signatures from, or none (SPEC DRW-002)."""
    if settings.drand_url is None:
        return None
    from adapters_http.clients import drand  # noqa: PLC0415

    try:
        return drand.HttpxDrandRelay(
            settings.drand_url, timeout=settings.http_timeout, breaker=breaker(settings, drand.SERVICE)
        )
    except ValueError as exc:
        raise ConfigError(f"ENTRY_DRAND_URL: {exc}") from None


def build_verifier(settings: Settings) -> TokenVerifier:
    if settings.auth_public_key:
        try:
            return TokenVerifier.for_public_key(settings.auth_public_key, settings.auth_audience, settings.auth_issuer)
        except ValueError as exc:
            raise ConfigError(f"ENTRY_AUTH_PUBLIC_KEY: {exc}") from None
    if not settings.auth_secret:
        raise ConfigError("ENTRY_AUTH_SECRET: no secret (call Settings.with_secrets first)")
    try:
        return TokenVerifier.for_secret(settings.auth_secret, settings.auth_audience, settings.auth_issuer)
    except ValueError as exc:
        raise ConfigError(f"ENTRY_AUTH_SECRET: {exc}") from None


def build(settings: Settings, *, stores: Stores | None = None) -> Services:
    """Wires every service from ``settings`` (secrets filled from the data folder when unset), on ``stores`` when
    given (stores the caller opened, e.g. ``adapters_mongo.open_mongo`` on its own MongoDB database, as
    ``open_services(config, stores=…)`` passes them, docs/library.md) instead of ``ENTRY_STORE``'s."""
    settings = settings.with_secrets()
    if stores is None:
        stores = build_store(settings)
    prepare_store(stores)
    campaigns = build_campaigns(settings)
    users = build_users(settings)
    clock = SystemClock()
    ids = RandomIds()
    enrichment = build_enrichment(settings, users)
    beacon = build_beacon(settings)
    draws = Draws(
        campaigns=campaigns,
        scoring=stores.scoring,
        draws=stores.draws,
        entries=stores.entries,
        locks=stores.locks,
        audit=stores.audit,
        clock=clock,
        ids=ids,
        beacon=beacon,
        chain=settings.drand_chain,
    )
    registrations = Registrations(
        campaigns=campaigns,
        users=users,
        entries=stores.entries,
        invites=stores.invites,
        clock=clock,
        ids=ids,
        enrichment=enrichment,
        draws=draws,
    )
    phones = PhoneConfirmations(
        campaigns=campaigns,
        entries=stores.entries,
        attempts=stores.attempts,
        clock=clock,
        ids=ids,
        token_secret=settings.phone_token_secret or "",
        draws=draws,
    )
    audit = stores.audit
    events, receipts = build_event_sink(settings), build_receipts(settings)
    retries = build_retry_queue(settings, stores)
    relay = Relay(
        outbox=stores.outbox,
        events=events,
        receipts=receipts,
        retries=retries,
        clock=clock,
        owner=f"{socket.gethostname()}:{os.getpid()}",
    )
    refresher = ScoreRefresher(
        campaigns=campaigns, entries=stores.entries, queue=retries, enrichment=enrichment, clock=clock, ids=ids
    )
    privacy = Privacy(
        campaigns=campaigns,
        entries=stores.entries,
        audit=audit,
        clock=clock,
        ids=ids,
        scoring=stores.scoring,
        draws=draws,
    )
    own_retries = None if retries is stores.retries else retries  # the datastore's own queue closes with it
    parts = (campaigns, users, events, receipts, own_retries, enrichment.fraud, enrichment.fanscore, beacon)
    closers = (stores.close, *(part.close for part in parts if part is not None and hasattr(part, "close")))
    return Services(
        settings=settings,
        campaigns=campaigns,
        registrations=registrations,
        phones=phones,
        relay=relay,
        refresher=refresher,
        invites=Invites(campaigns=campaigns, invites=stores.invites, audit=audit, clock=clock),
        scoring=Scoring(campaigns=campaigns, store=stores.scoring, audit=audit, clock=clock, runner=RUNNER),
        selection=Selection(
            campaigns=campaigns,
            entries=stores.entries,
            scoring=stores.scoring,
            selection=stores.selection,
            audit=audit,
            clock=clock,
            ids=ids,
            draws=draws,
        ),
        privacy=privacy,
        draws=draws,
        transfers=Transfers(
            campaigns=campaigns,
            selection=stores.selection,
            audit=audit,
            clock=clock,
            ids=ids,
            locks=stores.locks,
            heartbeats=HEARTBEATS,
        ),
        replication=Replication(
            registrations=registrations,
            privacy=privacy,
            entries=stores.entries,
            scoring=stores.scoring,
            audit=audit,
            clock=clock,
        ),
        audit=audit,
        overview=Overview(campaigns=campaigns, outbox=stores.outbox),
        verifier=build_verifier(settings),
        clock=clock,
        stores=stores,
        closers=closers,
    )
