"""Operator configuration (API.md §6): environment variables → one frozen Settings value."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import attrs
import phonenumbers

from entrycore.draws.beacon import QUICKNET, Chain

log = logging.getLogger("entry_service.settings")


class ConfigError(ValueError):
    """A configuration variable has a bad value; the message names it in one line."""


def _scheme(name: str, value: str, allowed: tuple[str, ...], words: tuple[str, ...] = ()) -> str:
    """``value`` when it is one of ``words`` or starts with one of the ``allowed`` schemes; else ConfigError."""
    if value in words or value.startswith(allowed):
        return value
    expected = [*words, *(a + "…" for a in allowed)]
    raise ConfigError(f"{name}={value!r}: expected one of {', '.join(expected)}")


@attrs.frozen
class SqliteFile:
    """``ENTRY_STORE=sqlite:///<path>``: the embedded store, in the SQLite file at ``path``."""

    path: Path

    def __str__(self) -> str:
        return f"sqlite:///{self.path}"


@attrs.frozen
class MongoUri:
    """``ENTRY_STORE=mongodb://…`` or ``mongodb+srv://…``: a MongoDB deployment, the database the URI names (its
    password, if any, is never in the repr)."""

    uri: str = attrs.field(repr=lambda uri: _masked(uri))  # noqa: PLW0108 - _masked is defined below

    def __str__(self) -> str:
        return self.uri


StoreLocation = SqliteFile | MongoUri  # ENTRY_STORE, parsed once


@attrs.frozen
class Settings:
    store: StoreLocation
    campaigns: str
    users: str
    default_region: str
    data_dir: Path
    auth_secret: str | None = attrs.field(repr=False)
    auth_public_key: str | None = attrs.field(repr=False)
    auth_audience: str | None
    auth_issuer: str | None
    phone_token_secret: str | None = attrs.field(repr=False)
    events: str
    retry_queue: str
    fraud: str
    fanscore: str
    receipts: str
    http_timeout: float
    enrichment_timeout: float
    cors_origins: tuple[str, ...]
    aws_region: str | None = None  # AWS_REGION (boto3 itself reads only AWS_DEFAULT_REGION and its files)
    breaker_failures: int = 5  # ENTRY_BREAKER_FAILURES: consecutive failures that open a dependency's circuit
    breaker_cool_down: float = 10.0  # ENTRY_BREAKER_COOLDOWN: seconds it stays open before a probe
    drand_chain: Chain = QUICKNET  # ENTRY_DRAND_CHAIN: the beacon of the draws (SPEC §12)
    drand_url: str | None = None  # ENTRY_DRAND_URL: a drand HTTP relay; None: the admin gives the signature
    draws_interval: float = 15.0  # ENTRY_DRAWS_INTERVAL: seconds between a serve worker's rounds of draw work

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Reads and checks every variable; raises ConfigError naming the first bad one."""

        def get(name: str, default: str) -> str:
            return environ.get(name, "").strip() or default

        data_dir = Path(get("ENTRY_DATA_DIR", ".entry-service"))
        store = _store(get("ENTRY_STORE", f"sqlite:///{data_dir / 'entries.db'}"))
        region = get("ENTRY_DEFAULT_REGION", "US").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"ENTRY_DEFAULT_REGION={region!r}: not a phone region (e.g. US, GB, MX)")
        timeout = _number(
            "ENTRY_HTTP_TIMEOUT", get("ENTRY_HTTP_TIMEOUT", "3"), float, low=0.001, high=60, unit="seconds"
        )
        enrichment_timeout = _number(
            "ENTRY_ENRICHMENT_TIMEOUT",
            get("ENTRY_ENRICHMENT_TIMEOUT", str(min(1.0, timeout))),
            float,
            low=0.001,
            high=timeout,
            unit="seconds (at most ENTRY_HTTP_TIMEOUT)",
        )
        breaker_failures = _number("ENTRY_BREAKER_FAILURES", get("ENTRY_BREAKER_FAILURES", "5"), int, low=1, high=1000)
        breaker_cool_down = _number(
            "ENTRY_BREAKER_COOLDOWN", get("ENTRY_BREAKER_COOLDOWN", "10"), float, low=0.1, high=3600, unit="seconds"
        )
        cors = get("ENTRY_CORS_ORIGINS", "none")
        origins = () if cors == "none" else tuple(o.strip() for o in cors.split(",") if o.strip())
        for origin in origins:
            _scheme("ENTRY_CORS_ORIGINS", origin, ("http://", "https://"))
        public_key = environ.get("ENTRY_AUTH_PUBLIC_KEY", "").strip() or None
        if public_key and not public_key.startswith("-----BEGIN"):
            key_path = Path(public_key)
            if not key_path.is_file():
                raise ConfigError("ENTRY_AUTH_PUBLIC_KEY: neither a PEM key nor a readable PEM file")
            public_key = key_path.read_text()
        return cls(
            store=store,
            campaigns=_scheme(
                "ENTRY_CAMPAIGNS", get("ENTRY_CAMPAIGNS", "file:campaigns.json"), ("file:", "http://", "https://")
            ),
            users=_scheme("ENTRY_USERS", get("ENTRY_USERS", "none"), ("file:", "http://", "https://"), ("none",)),
            default_region=region,
            data_dir=data_dir,
            auth_secret=environ.get("ENTRY_AUTH_SECRET") or None,
            auth_public_key=public_key,
            auth_audience=environ.get("ENTRY_AUTH_AUDIENCE") or None,
            auth_issuer=environ.get("ENTRY_AUTH_ISSUER") or None,
            phone_token_secret=environ.get("ENTRY_PHONE_TOKEN_SECRET") or None,
            events=_scheme(
                "ENTRY_EVENTS", get("ENTRY_EVENTS", f"file:{data_dir / 'events.jsonl'}"), ("file:", "kinesis:")
            ),
            retry_queue=_scheme("ENTRY_RETRY_QUEUE", get("ENTRY_RETRY_QUEUE", "store"), ("sqs:",), ("store",)),
            fraud=_scheme("ENTRY_FRAUD", get("ENTRY_FRAUD", "off"), ("http://", "https://"), ("off",)),
            fanscore=_scheme(
                "ENTRY_FANSCORE", get("ENTRY_FANSCORE", "account"), ("http://", "https://"), ("off", "account")
            ),
            receipts=_scheme(
                "ENTRY_RECEIPTS",
                get("ENTRY_RECEIPTS", f"file:{data_dir / 'receipts.jsonl'}"),
                ("file:", "http://", "https://"),
            ),
            http_timeout=timeout,
            enrichment_timeout=enrichment_timeout,
            cors_origins=origins,
            aws_region=environ.get("AWS_REGION") or None,
            breaker_failures=breaker_failures,
            breaker_cool_down=breaker_cool_down,
            drand_chain=_chain(get("ENTRY_DRAND_CHAIN", "quicknet")),
            drand_url=_drand_url(get("ENTRY_DRAND_URL", "none")),
            draws_interval=_number(
                "ENTRY_DRAWS_INTERVAL", get("ENTRY_DRAWS_INTERVAL", "15"), float, low=0.05, high=60, unit="seconds"
            ),
        )

    def shown(self) -> list[tuple[str, str]]:
        """Every variable of API.md §6 with its effective value, secrets never shown (``entry-service config
        show``): a secret is said to be set or generated, a URL's password and query values are masked."""
        generated = f"(generated once, kept in {self.data_dir / 'secrets.json'})"
        auth = "(unused: ENTRY_AUTH_PUBLIC_KEY is set)" if self.auth_public_key else generated
        return [
            ("ENTRY_STORE", _masked(str(self.store))),
            ("ENTRY_CAMPAIGNS", _masked(self.campaigns)),
            ("ENTRY_USERS", _masked(self.users)),
            ("ENTRY_DEFAULT_REGION", self.default_region),
            ("ENTRY_DATA_DIR", str(self.data_dir)),
            ("ENTRY_AUTH_SECRET", "(set, hidden)" if self.auth_secret else auth),
            ("ENTRY_AUTH_PUBLIC_KEY", "(a PEM key)" if self.auth_public_key else "unset"),
            ("ENTRY_AUTH_AUDIENCE", self.auth_audience or "unset"),
            ("ENTRY_AUTH_ISSUER", self.auth_issuer or "unset"),
            ("ENTRY_PHONE_TOKEN_SECRET", "(set, hidden)" if self.phone_token_secret else generated),
            ("ENTRY_EVENTS", _masked(self.events)),
            ("ENTRY_RETRY_QUEUE", _masked(self.retry_queue)),
            ("ENTRY_FRAUD", _masked(self.fraud)),
            ("ENTRY_FANSCORE", _masked(self.fanscore)),
            ("ENTRY_RECEIPTS", _masked(self.receipts)),
            ("ENTRY_HTTP_TIMEOUT", f"{self.http_timeout:g}"),
            ("ENTRY_ENRICHMENT_TIMEOUT", f"{self.enrichment_timeout:g}"),
            ("ENTRY_CORS_ORIGINS", ",".join(self.cors_origins) or "none"),
            ("ENTRY_BREAKER_FAILURES", str(self.breaker_failures)),
            ("ENTRY_BREAKER_COOLDOWN", f"{self.breaker_cool_down:g}"),
            ("ENTRY_DRAND_CHAIN", "quicknet" if self.drand_chain.is_quicknet else _chain_text(self.drand_chain)),
            ("ENTRY_DRAND_URL", _masked(self.drand_url) if self.drand_url else "none"),
            ("ENTRY_DRAWS_INTERVAL", f"{self.draws_interval:g}"),
            ("AWS_REGION", self.aws_region or "unset (boto3's own configuration)"),
        ]

    def with_secrets(self) -> Settings:
        """Fills unset secrets from the data folder, generating them once (file readable by owner only)."""
        if (self.auth_secret or self.auth_public_key) and self.phone_token_secret:
            return self
        stored = load_or_create_secrets(self.data_dir)
        return attrs.evolve(
            self,
            auth_secret=self.auth_secret or stored["authSecret"],
            phone_token_secret=self.phone_token_secret or stored["phoneTokenSecret"],
        )


N = TypeVar("N", int, float)


def _chain(text: str) -> Chain:
    """``ENTRY_DRAND_CHAIN``: ``quicknet``, or ``PUBLIC_KEY_HEX:GENESIS_UNIX:PERIOD_S`` of another chain."""
    if text.strip().lower() == "quicknet":
        return QUICKNET
    parts = text.strip().split(":")
    try:
        if len(parts) != 3:
            raise ValueError("three parts")
        return Chain.named(parts[0], int(parts[1]), int(parts[2]))
    except ValueError:
        raise ConfigError(
            "ENTRY_DRAND_CHAIN: quicknet, or PUBLIC_KEY_HEX:GENESIS_UNIX:PERIOD_S (a 96-byte G2 key in hex)"
        ) from None


def _drand_url(text: str) -> str | None:
    """``ENTRY_DRAND_URL``: ``none``, or a drand HTTP relay's base URL."""
    value = _scheme("ENTRY_DRAND_URL", text, ("http://", "https://"), ("none",))
    return None if value == "none" else value.rstrip("/")


def _chain_text(chain: Chain) -> str:
    return f"{chain.public_key.hex()}:{chain.genesis}:{chain.period}"


def _store(text: str) -> StoreLocation:
    """``ENTRY_STORE``'s value as the datastore it names; ConfigError for anything else."""
    _scheme("ENTRY_STORE", text, ("sqlite:///", "mongodb://", "mongodb+srv://"))
    if not text.startswith("sqlite:///"):
        return MongoUri(text)
    if not text[len("sqlite:///") :]:
        raise ConfigError("ENTRY_STORE: sqlite:/// needs a file path")
    return SqliteFile(Path(text[len("sqlite:///") :]))


def _masked(value: str) -> str:
    """``value`` with a URL's password and its query values replaced by ``****`` (other text as is)."""
    parts = urlsplit(value)
    if not parts.netloc and not parts.query:
        return value
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:****@{host}"
    query = "&".join(f"{key}=****" for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _number(name: str, text: str, kind: type[N], *, low: float, high: float, unit: str = "") -> N:
    """``text`` as a ``kind`` within ``low..high``; ConfigError naming the variable and what is allowed."""
    what = "a whole number" if kind is int else "a number"
    allowed = f"{name}: must be {what}{' of ' + unit if unit else ''} from {low:g} to {high:g}"
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(allowed) from None
    if not low <= value <= high:  # NaN compares false: refused too
        raise ConfigError(allowed)
    return value


def ensure_private_dir(path: Path) -> None:
    """Creates the data folder readable by its owner only (SPEC OPS-003); ConfigError when it cannot be."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"ENTRY_DATA_DIR={str(path)!r}: cannot create the data folder ({err.strerror})") from None


def load_or_create_secrets(data_dir: Path) -> dict[str, str]:
    """``{data_dir}/secrets.json``: created atomically by the first process that needs it."""
    ensure_private_dir(data_dir)
    path = data_dir / "secrets.json"
    if not path.exists():
        fresh = {"authSecret": secrets.token_urlsafe(48), "phoneTokenSecret": secrets.token_urlsafe(48)}
        tmp = data_dir / f".secrets.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                with os.fdopen(fd, "w") as handle:
                    json.dump(fresh, handle)
                os.link(tmp, path)  # fails if another process won the race: theirs is kept
                _created(path)
            except FileExistsError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        except OSError as err:  # a full or read-only data folder (SPEC OPS-007): one line, no half-written file
            raise ConfigError(f"{path}: cannot create the secrets file ({err.strerror or err})") from None
    loaded = json.loads(path.read_text())
    if not isinstance(loaded, dict) or not all(
        isinstance(loaded.get(k), str) for k in ("authSecret", "phoneTokenSecret")
    ):
        raise ConfigError(f"{path}: not a secrets file of entry-service")
    return loaded


def _created(path: Path) -> None:
    """Says that new secrets were made (API.md §6 lets any command make them): a token minted with secrets of
    another folder than the running service's is refused with a bare 401, so the command says where it looked."""
    folder = path.parent.resolve()
    log.warning(
        "created new secrets in %s: tokens signed with them are accepted only by a service whose data folder is %s; "
        "to sign for a service running elsewhere, point the command at its data folder "
        "(export ENTRY_DATA_DIR=/folder/serve/runs/in/.entry-service) or set ENTRY_AUTH_SECRET and "
        "ENTRY_PHONE_TOKEN_SECRET",
        path.resolve(),
        folder,
    )
