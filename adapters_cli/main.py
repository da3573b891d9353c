"""``entry-service``: serve the API, mint tokens, set up the datastore, import invites."""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import jwt

from adapters_cli import selection, users
from adapters_cli.context import _services, _settings
from adapters_cli.files import Columns, FileRefused, Layout, TextFile, file_format
from adapters_cli.progress import Progress
from adapters_http.metrics import use_multiprocess
from entry_service.bootstrap import build, build_store, prepare_store
from entry_service.logs import configure_logging
from entry_service.settings import ConfigError
from entrycore.caller import Caller
from entrycore.errors import DeliveryFailed, EntryError
from entrycore.ports import Outbox

log = logging.getLogger("entry_service.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="entry-service")
def cli() -> None:
    """entry-service: fan registrations for high-demand ticket campaigns."""
    configure_logging()  # every command's log lines (relay, worker, serve's own) are JSON on stderr (OPS-001)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="ENTRY_HOST")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), envvar="ENTRY_PORT")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), envvar="ENTRY_WORKERS")
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    envvar="ENTRY_THREADS",
    help="Threads per worker running requests (each request is read whole before one runs it).",
)
@click.option(
    "--admin-threads",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    envvar="ENTRY_ADMIN_THREADS",
    help="Threads per worker running admin requests (supreme tokens): admin work never takes the fans' threads.",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.5, 60),
    envvar="ENTRY_HEADER_TIMEOUT",
    help="Seconds a client has to send its headers; idle connections are closed after it.",
)
@click.option(
    "--body-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.5, 600),
    envvar="ENTRY_BODY_TIMEOUT",
    help="Seconds a client has to send its body (408 after).",
)
@click.option(
    "--max-connections",
    default=1024,
    show_default=True,
    type=click.IntRange(16, 65536),
    envvar="ENTRY_MAX_CONNECTIONS",
    help="Connections each worker reads or answers at once; more wait in the listen backlog.",
)
def serve(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    admin_threads: int,
    header_timeout: float,
    body_timeout: float,
    max_connections: int,
) -> None:
    """Run the HTTP service on granian, with the outbox relay in every worker."""
    from adapters_cli.serve import PortUnavailable, ServeOptions, check_port  # noqa: PLC0415
    from adapters_cli.serve import serve as run  # noqa: PLC0415

    try:
        check_port(host, port)
    except PortUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    try:  # check the whole configuration, and create secrets and the store, before any worker starts
        settings = _settings()
        services = build(settings)
        services.close()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    use_multiprocess(settings.data_dir / "metrics")  # GET /metrics sums every worker's
    log.info(
        "entry-service listening on http://%s:%s (%s workers x %s threads, %s admin threads)",
        host,
        port,
        workers,
        threads,
        admin_threads,
    )
    options = ServeOptions(
        host, port, workers, threads, header_timeout, body_timeout, max_connections, admin_threads=admin_threads
    )
    try:
        run(options)
    except PortUnavailable as exc:  # taken between the check and the start
        raise click.ClickException(str(exc)) from None


def _sign(claims: dict[str, Any], key: str) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


@cli.command()
@click.option("--user", "user_id", required=True, help="The token's subject (user id).")
@click.option("--supreme", is_flag=True, help="Grant administrator rights (isSupreme).")
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(1, 31 * 86400), help="Seconds valid.")
def token(user_id: str, supreme: bool, ttl: int) -> None:
    """Print a bearer token signed with the configured secret (local use and demos)."""
    settings = _settings().with_secrets()
    if not settings.auth_secret or settings.auth_public_key:
        raise click.ClickException("ENTRY_AUTH_PUBLIC_KEY is set: tokens come from your identity provider")
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + ttl, "isSupreme": supreme}
    if settings.auth_audience:
        claims["aud"] = settings.auth_audience
    if settings.auth_issuer:
        claims["iss"] = settings.auth_issuer
    click.echo(_sign(claims, settings.auth_secret))


@cli.command("phone-token")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--phone", required=True, help="The phone number the SMS step verified.")
@click.option("--user", "user_id", default=None, help="Bind the token to this fan (sub).")
@click.option("--ttl", default=600, show_default=True, type=click.IntRange(1, 86400))
def phone_token(campaign_id: str, phone: str, user_id: str | None, ttl: int) -> None:
    """Print a phone token signed with the phone-token secret (local use and demos)."""
    settings = _settings().with_secrets()
    now = int(time.time())
    claims: dict[str, Any] = {"phone": phone, "campaignId": campaign_id, "iat": now, "exp": now + ttl}
    if user_id:
        claims["sub"] = user_id
    click.echo(_sign(claims, settings.phone_token_secret or ""))


@cli.group()
def config() -> None:
    """The service's configuration (API.md §6)."""


@config.command("show")
def config_show() -> None:
    """Print every configuration variable with its effective value (defaults included), secrets never shown;
    a bad value is one line naming the variable and a non-zero exit, as at every start."""
    for name, value in _settings().shown():
        click.echo(f"{name}={value}")


@cli.command()
@click.option("--once", is_flag=True, help="Deliver everything that is due, then exit.")
@click.option("--interval", default=0.2, show_default=True, type=click.FloatRange(0.01, 60), help="Idle poll (s).")
@click.pass_context
def relay(ctx: click.Context, once: bool, interval: float) -> None:
    """Deliver pending outbox messages (events, receipts) — also runs inside every `serve` worker."""
    services = _services(ctx)
    try:
        if once:
            delivered = services.relay.drain()
            status = services.outbox.outbox_status()
            dead = status.dead_letters
            click.echo(f"{delivered} delivered, {status.backlog} still pending, {dead} dead letter(s)")
            return
        click.echo("relaying outbox messages (Ctrl-C to stop)", err=True)
        total = 0
        while True:
            report = services.relay.run_once()
            total += report.delivered
            if report.delivered:
                click.echo(f"\r{total} delivered", nl=False, err=True)
            if not services.relay.keep_going(report):
                time.sleep(interval)
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    except KeyboardInterrupt:
        click.echo("", err=True)


@cli.command()
@click.option("--once", is_flag=True, help="Handle everything queued now, then exit.")
@click.option("--batch", default=10, show_default=True, type=click.IntRange(1, 10))
@click.option("--wait", default=5.0, show_default=True, type=click.FloatRange(0, 20), help="Long-poll seconds.")
@click.pass_context
def worker(ctx: click.Context, once: bool, batch: int, wait: float) -> None:
    """Re-run enrichment (fraud check, fanscore) for entries on the retry queue."""
    services = _services(ctx)
    refreshed = failed = 0
    bar = Progress("working")  # progress on stderr (a terminal, ENTRY_PROGRESS=1); the summary once, on stdout
    try:
        while True:
            report = services.refresher.work_once(batch, 0.0 if once else wait)
            refreshed += report.refreshed
            failed += report.failed
            if report.received:
                bar.report(f"{refreshed:,} refreshed, {failed:,} still failing")
            if once and (report.received == 0 or report.refreshed == 0):
                break
    except DeliveryFailed as exc:
        raise click.ClickException(f"DEPENDENCY_UNAVAILABLE: the retry queue is unavailable: {exc}") from None
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
    click.echo(f"{refreshed} refreshed, {failed} still failing (they stay queued)")


@cli.group()
def db() -> None:
    """Datastore administration."""


@db.command("init")
def db_init() -> None:
    """Create the datastore's tables or collections and indexes (idempotent; every start does it too)."""
    settings = _settings()
    try:
        stores = build_store(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        prepare_store(stores)
        stores.ping()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    finally:
        stores.close()
    click.echo(f"datastore ready: {str(settings.store).split('@')[-1]}")


@cli.group()
def outbox() -> None:
    """The outbox of pending events, receipts and retry requests."""


def _outbox(ctx: click.Context) -> Outbox:
    """The outbox of the wired services (tests), else of the configured store alone: the outbox commands
    need neither the campaign nor the user source."""
    if ctx.obj is not None:
        return ctx.obj.relay.outbox  # type: ignore[no-any-return]
    try:
        stores = build_store(_settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.call_on_close(stores.close)
    try:
        prepare_store(stores)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    return stores.outbox


MAX_LISTED = 100_000


@outbox.command("dead-letters")
@click.option("--retry", is_flag=True, help="Put the dead letters back in the queue (all, or those of --id).")
@click.option("--id", "ids", multiple=True, help="Only this message (repeatable).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, MAX_LISTED), help="How many to list.")
@click.pass_context
def dead_letters(ctx: click.Context, retry: bool, ids: tuple[str, ...], limit: int) -> None:
    """List the messages parked after their attempts ran out, or put them back in the queue with --retry.

    A dead letter holds back the later messages of its own entry (HELD column) until it is delivered."""
    outbox = _outbox(ctx)
    try:
        if retry:
            count = outbox.requeue_dead_letters(list(ids) if ids else None, datetime.now(UTC))
            click.echo(f"{count} dead letter(s) put back in the queue; the relay delivers them at once")
            return
        dead = [d for d in outbox.dead_letters(MAX_LISTED if ids else limit) if not ids or d.message.id in ids]
        status = outbox.outbox_status()
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    if dead:
        click.echo("ID\tKIND\tCAMPAIGN\tUSER\tATTEMPTS\tPARKED\tHELD\tERROR")
    for letter in dead:
        row = letter.to_document()
        columns = ("id", "kind", "campaignId", "userId", "attempts", "parkedAt", "heldBack", "error")
        click.echo("\t".join(" ".join(str(row[k]).split()) for k in columns))  # no tab or newline inside a cell
    click.echo(f"{status.dead_letters} dead letter(s) in all, {status.backlog} message(s) pending", err=True)


@cli.group()
def invites() -> None:
    """Invite lists of invite-only campaigns."""


INVITES = Layout("an invite list", Columns((), others=True))  # one value a line, or the first column of a CSV
INVITE_HEADERS = {"code", "email", "value", "invite", "globaluserid", "memberid"}


def _invite_values(text: TextFile) -> Iterator[str]:
    """One invite per line; in CSV, the first column (a header row named code/email/value is skipped)."""
    file_format(text.name, INVITES)  # a text or CSV file: anything else is refused before a line is read
    try:
        for index, row in enumerate(csv.reader(text.lines())):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if index == 0 and row[0].strip().lower() in INVITE_HEADERS:
                continue
            yield row[0]
    except csv.Error as exc:
        raise text.refuse(f"not CSV ({exc})") from None


@invites.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--campaign", "campaign_id", required=True)
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(1, 100_000))
@click.pass_context
def invites_import(ctx: click.Context, file: Path, campaign_id: str, batch: int) -> None:
    """Add every invite of FILE (one per line, or CSV first column; '-' for stdin) to an invite-only campaign."""
    services = _services(ctx)
    caller = Caller(user_id="cli", is_supreme=True)
    added = read = 0
    chunk: list[str] = []
    bar = Progress("importing invites")
    try:
        services.invites.accepting(caller, campaign_id)  # the campaign first: its invites must be read (SCR-002)
        with TextFile.opened(file) as text:
            values = _invite_values(text)
            for value in values:
                chunk.append(value)
                if len(chunk) >= batch:
                    added += services.invites.add(caller, campaign_id, chunk)
                    read += len(chunk)
                    chunk = []
                    bar.report(f"{read:,} read, {added:,} added")
            if chunk:
                added += services.invites.add(caller, campaign_id, chunk)
                read += len(chunk)
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    except FileRefused as exc:  # past the first batch only from a pipe: a regular file is checked whole first
        raise FileRefused(
            f"{exc.message}; the {read:,} invites before it were added" if read else exc.message
        ) from None
    finally:
        bar.close()
    click.echo(f"{read} invites read, {added} added to {campaign_id}")


for command in (
    selection.scoring,
    selection.eligibility,
    selection.selection,
    selection.codes,
    selection.verdicts,
    selection.audit,
    selection.transfer,
    users.users,
):
    cli.add_command(command)
