"""``entry-service``: the root command group, assembled from one module per command group (``adapters_cli.commands``);
the errors every command may raise become its one line in ``EntryGroup``."""

from __future__ import annotations

import click

from adapters_cli.commands import (
    audit,
    codes,
    config,
    draws,
    invites,
    processes,
    scoring,
    selection,
    serve,
    store,
    transfer,
    users,
)
from adapters_cli.context import EntryGroup
from entry_service.logs import configure_logging


@click.group(cls=EntryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="entry-service")
def cli() -> None:
    """entry-service: fan registrations for high-demand ticket campaigns."""
    configure_logging()  # every command's log lines (relay, worker, serve's own) are JSON on stderr (OPS-001)


# Click lists the commands of --help sorted by name, whatever the order here.
for command in (
    serve.serve,
    config.token,
    config.phone_token,
    config.config,
    processes.relay,
    processes.worker,
    store.db,
    store.outbox,
    invites.invites,
    scoring.scoring,
    selection.eligibility,
    selection.selection,
    codes.codes,
    codes.verdicts,
    draws.draws,
    audit.audit,
    transfer.transfer,
    users.users,
):
    cli.add_command(command)
