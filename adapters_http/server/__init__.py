"""The Flask HTTP service: app factory, auth, error envelope, fan/admin/ops blueprints."""

from adapters_http.server.app import AppServices, HttpConfig, create_app

__all__ = ["AppServices", "HttpConfig", "create_app"]
