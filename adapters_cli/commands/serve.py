"""``entry-service serve``: its options (each also read from an environment variable) and the checks before granian
starts; how granian runs is ``adapters_cli.serve``'s."""

from __future__ import annotations

import logging

import click

from adapters_cli.context import _settings
from adapters_http.metrics import use_multiprocess
from entry_service.bootstrap import build

log = logging.getLogger("entry_service.cli")


@click.command()
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
    # granian is imported only by the command that serves: the other commands start without it
    from adapters_cli.serve import PortUnavailable, ServeOptions, check_port  # noqa: PLC0415
    from adapters_cli.serve import serve as run  # noqa: PLC0415

    try:
        check_port(host, port)
        # the whole configuration checked, and the secrets and the store created, before any worker starts
        settings = _settings()
        build(settings).close()
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
        run(options)
    except PortUnavailable as exc:  # in use, or taken between the check and the start
        raise click.ClickException(str(exc)) from None
