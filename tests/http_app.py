"""A real wired app (SQLite, file sources) on a temporary folder, driven through Flask's test client."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import attrs
import jwt
from flask.testing import FlaskClient

from entry_service.bootstrap import Services, build
from entry_service.settings import Settings
from entry_service.wsgi import app_for
from tests.builders import campaign_doc

SECRET = "test-bearer-secret-" + "0123456789abcdef" * 4
PHONE_SECRET = "test-phone-secret-" + "0123456789abcdef" * 4

TEST_CAMPAIGNS: list[dict[str, Any]] = [
    campaign_doc(),
    campaign_doc(id="ppc", needsPhoneConfirmation=True),
    campaign_doc(id="closed", status="CLOSED"),
    campaign_doc(id="invite", gate={"inviteOnly": "code"}),
    campaign_doc(id="invite-email", gate={"inviteOnly": "email"}),
    campaign_doc(id="linked", gate={"linkedAccount": "spotify"}),
    campaign_doc(id="card", gate={"card": "VISA"}),
    campaign_doc(id="all-gates", gate={"inviteOnly": "code", "linkedAccount": "SPOTIFY", "card": "AMEX"}),
    campaign_doc(id="referral", requireReferral=True),
]

TEST_USERS: list[dict[str, Any]] = [
    {
        "id": "u1",
        "email": "ana@example.com",
        "linkedAccounts": ["SPOTIFY"],
        "cards": [{"brand": "VISA", "issuer": "CHASE", "verified": True, "active": True}],
        "phone": {"number": "+12125550123", "verified": True},
        "fanscore": 0.5,
    },
    {"id": "u2", "email": "BO@example.com", "cards": [{"brand": "VISA", "verified": False, "active": True}]},
]


def make_token(
    user: str = "u1", supreme: bool = False, key: str = SECRET, algorithm: str = "HS256", ttl: int = 600, **claims: Any
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": user, "iat": now, "exp": now + ttl, "isSupreme": supreme}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm)


def write_sources(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaigns.json").write_text(json.dumps({"campaigns": TEST_CAMPAIGNS}))
    (folder / "users.json").write_text(json.dumps({"users": TEST_USERS}))
    return {
        "ENTRY_DATA_DIR": str(folder / "data"),
        "ENTRY_CAMPAIGNS": f"file:{folder / 'campaigns.json'}",
        "ENTRY_USERS": f"file:{folder / 'users.json'}",
        "ENTRY_AUTH_SECRET": SECRET,
        "ENTRY_PHONE_TOKEN_SECRET": PHONE_SECRET,
    }


@attrs.define
class Api:
    client: FlaskClient
    services: Services

    def call(
        self,
        method: str,
        path: str,
        user: str | None = "u1",
        supreme: bool = False,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if user is not None:
            sent.setdefault("Authorization", f"Bearer {make_token(user, supreme)}")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        return self.client.open(path, method=method, data=data, headers=sent)

    def register(
        self,
        fields: dict[str, Any],
        campaign: str = "c1",
        user: str = "u1",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Any:
        return self.call("POST", f"/{campaign}/entries", user=user, body={"fields": fields, **extra}, headers=headers)


def make_api(folder: Path, **env: str) -> Api:
    settings = Settings.from_env({**write_sources(folder), **env})
    services = build(settings)
    return Api(client=app_for(services).test_client(), services=services)
