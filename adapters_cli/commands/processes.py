"""``entry-service relay`` and ``worker``: the processes that run beside ``serve`` — one delivers the outbox, the
other re-runs the enrichment the retry queue holds."""

from __future__ import annotations

import time

import click

from adapters_cli.context import _services
from adapters_cli.progress import Progress
from entrycore.errors import DeliveryFailed


@click.command()
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
    except KeyboardInterrupt:  # Ctrl-C is how it stops: end the count's line
        click.echo("", err=True)


@click.command()
@click.option("--once", is_flag=True, help="Handle everything queued now, then exit.")
@click.option("--batch", default=10, show_default=True, type=click.IntRange(1, 10))
@click.option("--wait", default=5.0, show_default=True, type=click.FloatRange(0, 20), help="Long-poll seconds.")
@click.pass_context
def worker(ctx: click.Context, once: bool, batch: int, wait: float) -> None:
    """Re-run enrichment (fraud check, fanscore) for entries on the retry queue."""
    services = _services(ctx)
    refreshed = failed = 0
    # progress on stderr (a terminal, ENTRY_PROGRESS=1); the summary once, on stdout
    with Progress("working") as bar:
        try:
            while True:
                report = services.refresher.work_once(batch, 0.0 if once else wait)
                refreshed += report.refreshed
                failed += report.failed
                if report.received:
                    bar.report(f"{refreshed:,} refreshed, {failed:,} still failing")
                if once and (report.received == 0 or report.refreshed == 0):
                    break
        except DeliveryFailed as exc:  # not an EntryError: the queue's own outage, named as such
            raise click.ClickException(f"DEPENDENCY_UNAVAILABLE: the retry queue is unavailable: {exc}") from None
        except KeyboardInterrupt:  # Ctrl-C stops it: the summary still follows
            pass
    click.echo(f"{refreshed} refreshed, {failed} still failing (they stay queued)")
