"""The benchmark's baseline: a bare Flask ``GET /hello`` on exactly ``entry-service serve``'s gunicorn setup.

``adapters_cli.serve.serve()`` builds its gunicorn option dict (bind, workers, threads, worker class,
keepalive, backlog, timeouts, logging) and runs ``GunicornServer(options)``. Here ``GunicornServer`` is
replaced, in this process only, by a subclass whose ``load()`` returns the bare app; then that same
``serve()`` is called. So the options cannot drift from the service's. The options gunicorn actually
got are written as JSON to ``--options-out`` (when given) for the benchmark's report.

    python benchmarks/bare_app.py --port 8081 --workers 2 [--threads 1] [--options-out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from flask import Flask, jsonify

import adapters_cli.serve as serve_module


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> Any:
        return jsonify({"hello": "world", "status": "ok"})

    return app


def run(port: int, workers: int, threads: int, options_out: Path | None) -> None:
    class BareServer(serve_module.GunicornServer):
        def __init__(self, options: dict[str, Any]) -> None:
            if options_out is not None:
                options_out.write_text(json.dumps(options, default=str))
            super().__init__(options)

        def load(self) -> Any:
            return create_app()

    serve_module.GunicornServer = BareServer  # type: ignore[misc]  # serve() looks it up when called
    serve_module.serve("127.0.0.1", port, workers, threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--options-out", type=Path)
    args = parser.parse_args()
    run(args.port, args.workers, args.threads, args.options_out)


if __name__ == "__main__":
    main()
