"""The benchmark's baseline: a bare Flask ``GET /hello`` on exactly ``entry-service serve``'s server setup.

With ``--floor-db FILE`` it also serves the *floor* of a durable registration on this stack (target (d) of
``http_entries.py --floor``): ``POST /{campaignId}/entries`` checks the bearer token with PyJWT (HS256,
``ENTRY_AUTH_SECRET``, ``exp`` required), parses the body, validates phone (phonenumbers) and email
(email-validator) and writes the entry's row and an outbox row in one durable SQLite transaction (WAL,
``synchronous=FULL``), as SPEC §10 defines the floor, answering
201 with the row. Nothing else of a registration: no rules, events, relay, referral code or view.
It tells how much of the bare route any durable registration can reach on this machine and setup.

``adapters_cli.serve.serve()`` is called with this module's ``create_rsgi`` as granian's target instead of the
service's: the same granian options, the same RSGI bridge and threads, so the setup cannot drift from the
service's. The options granian got are written as JSON to ``--options-out`` (when given) for the report.
``--server gunicorn-sync`` serves the same app on gunicorn with sync workers instead, for the record (the
setup ``serve`` had before granian).

    python benchmarks/bare_app.py --port 8081 --workers 2 [--threads 8] [--server granian|gunicorn-sync]
        [--options-out FILE] [--floor-db FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import email_validator
import jwt
import phonenumbers
from flask import Flask, Response, jsonify, request

import adapters_cli.serve as serve_module
from adapters_http.server.rsgi import ADMIN_THREADS, RsgiBridge

TARGET = "bare_app:create_rsgi"


def create_app(floor_db: Path | None = None) -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> Any:
        return jsonify({"hello": "world", "status": "ok"})

    if floor_db is not None:
        add_floor(app, floor_db, os.environ["ENTRY_AUTH_SECRET"])
    return app


def add_floor(app: Flask, db: Path, secret: str) -> None:
    """The cheapest durable registration with the service's own libraries (see the module's docstring)."""
    local = threading.local()

    def connection() -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(db, isolation_level=None, timeout=10)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")  # durable: the commit fsyncs the WAL
            conn.execute(
                "CREATE TABLE IF NOT EXISTS entries (campaign_id, user_id, doc, PRIMARY KEY (campaign_id, user_id))"
            )
            conn.execute("CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, campaign_id, user_id, doc)")
            local.conn = conn
        return conn

    @app.post("/<campaignId>/entries")
    def floor(campaignId: str) -> Any:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
        fields = json.loads(request.get_data())["fields"]
        if "phone" in fields:
            number = phonenumbers.parse(fields["phone"], "US")
            if not phonenumbers.is_valid_number(number):
                return jsonify({"code": "INVALID_FIELD"}), 400
            fields["phone"] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if "email" in fields:
            email_validator.validate_email(fields["email"], check_deliverability=False)
        doc = json.dumps({"campaignId": campaignId, "userId": claims["sub"], "fields": fields})
        conn = connection()
        conn.execute("BEGIN IMMEDIATE")  # SPEC §10's floor: the entry and an outbox row in one transaction
        try:
            conn.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", (campaignId, claims["sub"], doc))
            row = (campaignId, claims["sub"], doc)
            conn.execute("INSERT INTO outbox (campaign_id, user_id, doc) VALUES (?, ?, ?)", row)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return Response(doc, status=201, mimetype="application/json")


def create_rsgi(threads: int = 8, *, body_timeout: float = 30.0, admin_threads: int = ADMIN_THREADS) -> RsgiBridge:
    """The bare app as ``entry-service serve`` serves its own: granian's RSGI, read whole, with serve's options."""
    floor = os.environ.get("BENCH_FLOOR_DB")
    app = create_app(Path(floor) if floor else None)
    return RsgiBridge(app, threads, body_timeout=body_timeout, admin_threads=admin_threads)


def run(
    port: int, workers: int, threads: int, server: str, options_out: Path | None, floor_db: Path | None = None
) -> None:
    if floor_db is not None:
        os.environ["BENCH_FLOOR_DB"] = str(floor_db)
    if server == "granian":  # exactly the service's serve(), with this app as its target
        options = serve_module.ServeOptions(port=port, workers=workers, threads=threads)
        if options_out is not None:
            used = serve_module.granian_options(options, TARGET)
            options_out.write_text(json.dumps({**used, "threads": threads}, default=str))
        serve_module.serve(options, target=TARGET)
        return
    run_gunicorn_sync(port, workers, options_out, floor_db)


def run_gunicorn_sync(port: int, workers: int, options_out: Path | None, floor_db: Path | None) -> None:
    """For the record: the setup ``serve`` had before granian (gunicorn, sync workers)."""
    from gunicorn.app.base import BaseApplication  # noqa: PLC0415 - the benchmark's extra

    options = {
        "bind": f"127.0.0.1:{port}",
        "workers": workers,
        "worker_class": "sync",
        "control_socket_disable": True,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "keepalive": 5,
        "backlog": 2048,
    }
    if options_out is not None:
        options_out.write_text(json.dumps(options))

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(floor_db)

    Gunicorn().run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=["granian", "gunicorn-sync"], default="granian")
    parser.add_argument("--options-out", type=Path)
    parser.add_argument("--floor-db", type=Path, help="also serve the durable-registration floor on this SQLite file")
    args = parser.parse_args()
    run(args.port, args.workers, args.threads, args.server, args.options_out, args.floor_db)


if __name__ == "__main__":
    main()
