"""The Flask HTTP service: app factory, auth, error envelope, fan/admin/ops blueprints."""

from adapters_http.server.app import create_app
from adapters_http.server.context import AppServices, HttpConfig

__all__ = ["AppServices", "HttpConfig", "create_app"]
