"""SPEC OPS-001 end to end: every line the real ``entry-service serve`` writes — its workers, its HTTP server, its
relay — is JSON, request lines carry their correlation id, and none holds a phone, an email or a token the run
used in clear."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest

from tests.builders import VALID_FIELDS
from tests.e2e.serve import ServeProcess, run_cli
from tests.http_app import PHONE_SECRET, make_token
from tests.loopback import Answer, LoopbackServer

pytestmark = pytest.mark.e2e


def test_every_log_line_is_json_and_holds_no_personal_data(tmp_path: pytest.TempPathFactory) -> None:
    used: list[str] = []
    with LoopbackServer() as nudetect:
        nudetect.answer("/score", Answer(status=500, body=b"down"), method="POST")  # logged, per request
        server = ServeProcess(tmp_path, workers=2, ENTRY_FRAUD=f"{nudetect.url}/score").start()  # type: ignore[arg-type]
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for k in range(4):
                    token = make_token(f"log-{k}")
                    email, phone = f"secret.fan{k}@example.org", f"+1212555{7000 + k}"
                    used += [token, email, phone, email.split("@", maxsplit=1)[0]]
                    fields = {**VALID_FIELDS, "email": email, "phone": phone}
                    headers = {"Authorization": f"Bearer {token}", "X-Correlation-Id": f"corr-{k}-0123456789"}
                    assert client.post("/ppc/entries", json={"fields": fields}, headers=headers).status_code == 201
                    phone_jwt = jwt.encode(
                        {"phone": phone, "campaignId": "ppc", "exp": int(time.time()) + 600}, PHONE_SECRET
                    )
                    used.append(phone_jwt)
                    confirm = client.post("/ppc/entries/confirm", json={"phoneJwt": phone_jwt}, headers=headers)
                    assert confirm.status_code == 200
                bad = client.get("/ppc/entries", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30.forged"})
                assert bad.status_code == 401
                admin = {"Authorization": f"Bearer {make_token('admin-1', supreme=True)}"}
                records = [{"phone": phone, "score": 50} for phone in used if phone.startswith("+1212")]
                assert client.post("/ppc/entries/scoring", json={"records": records}, headers=admin).status_code == 200
            relayed = run_cli("relay", "--once", folder=server.folder, env=server.env)
            assert relayed.returncode == 0, relayed.stderr
        finally:
            server.stop()
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    lines += [line for line in relayed.stderr.splitlines() if line.strip()]
    assert lines, "the run logged nothing"
    parsed = [json.loads(line) for line in lines]  # every line is JSON (a non-JSON line fails here)
    assert all({"time", "level", "logger", "message", "correlationId"} <= set(p) for p in parsed)
    assert any(str(p["correlationId"]).startswith("corr-") for p in parsed), "no request-scoped line"
    text = "\n".join(lines)
    for secret in used:
        assert secret not in text
