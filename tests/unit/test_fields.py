"""Preference fields: the types table, emptiness, missing fields, update merge, mass assignment, email and
phone (SPEC ENT-004/005/006)."""

from __future__ import annotations

from typing import Any

import pytest

from entrycore.emails import InvalidEmail, normalize_email
from entrycore.errors import InvalidField, InvalidMarket, MissingFields
from entrycore.fields import is_empty
from tests.unit.conftest import World, fields_with

CHECKLIST = {"type": "checklist", "additional": {"items": [{"id": "rock"}, {"id": "pop"}, {"id": "jazz"}]}}


def register_one(world: World, pref: dict[str, Any], value: Any, region: str = "US") -> Any:
    """Registers a fan in a campaign whose only preference is ``pref`` (id ``f``, optional); returns what was
    stored for it (None when nothing was)."""
    world.add_campaign(id="t", region=region, preferences=[{"id": "f", "is_optional": True, **pref}])
    entry, _ = world.register("u1", {"f": value}, campaign_id="t")
    assert world.stored("u1", "t") == entry
    return entry.fields.get("f")


# ENT-004: the types table ------------------------------------------------------------------------

ACCEPTED: list[tuple[dict[str, Any], Any, Any]] = [
    # email: valid syntax after trimming → trimmed, lower-case
    ({"type": "email"}, " Ana@Example.COM ", "ana@example.com"),
    ({"type": "email"}, "first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
    ({"type": "email"}, "  fan@example.com ", "fan@example.com"),
    # phone: E.164, national formats read in the campaign's region
    ({"type": "phone"}, "(212) 555-0123", "+12125550123"),
    ({"type": "phone"}, "212.555.0123", "+12125550123"),
    ({"type": "phone"}, "+1 212 555 0123", "+12125550123"),
    ({"type": "phone"}, " +44 20 7946 0958 ", "+442079460958"),
    # name: non-empty after trim, ≤ 100 chars → trimmed
    ({"type": "name"}, " Ana ", "Ana"),
    ({"type": "name"}, "a" * 100, "a" * 100),
    ({"type": "name"}, "  " + "b" * 100 + "  ", "b" * 100),
    # zip: non-empty after trim, ≤ 20 chars → trimmed
    ({"type": "zip"}, " 10001 ", "10001"),
    ({"type": "zip"}, "z" * 20, "z" * 20),
    # ticket_count: integer within min..max, default 1..8
    ({"type": "ticket_count"}, 1, 1),
    ({"type": "ticket_count"}, 8, 8),
    ({"type": "ticket_count", "additional": {"min": 2, "max": 4}}, 2, 2),
    ({"type": "ticket_count", "additional": {"min": 2, "max": 4}}, 4, 4),
    # boolean_select / opt_in: true/false, "true"/"false", 1/0 → bool
    *[
        ({"type": kind}, given, want)
        for kind in ("boolean_select", "opt_in")
        for given, want in [
            (True, True),
            (False, False),
            ("true", True),
            ("false", False),
            (1, True),
            (0, False),
        ]
    ],
    # freeform_text: length within minLength..maxLength, default 0..1000 → string as given
    ({"type": "freeform_text"}, "x", "x"),
    ({"type": "freeform_text"}, "x" * 1000, "x" * 1000),
    ({"type": "freeform_text", "additional": {"minLength": 2, "maxLength": 10}}, "ab", "ab"),
    ({"type": "freeform_text", "additional": {"minLength": 2, "maxLength": 10}}, "y" * 10, "y" * 10),
    # checklist: item ids of additional.items; blanks dropped
    (CHECKLIST, ["rock"], ["rock"]),
    (CHECKLIST, ["pop", "rock"], ["pop", "rock"]),
    (CHECKLIST, ["rock", "", "  ", None, "jazz"], ["rock", "jazz"]),
]


@pytest.mark.parametrize(("pref", "value", "stored"), ACCEPTED)
def test_ENT_004_field_type_accepts(world: World, pref: dict[str, Any], value: Any, stored: Any) -> None:
    result = register_one(world, pref, value)
    assert result == stored
    assert type(result) is type(stored)


@pytest.mark.parametrize(
    ("region", "value", "stored"),
    [
        ("US", "2125550123", "+12125550123"),
        ("MX", "55 1234 5678", "+525512345678"),
        ("GB", "020 7946 0958", "+442079460958"),
        ("gb", "020 7946 0958", "+442079460958"),
    ],
)
def test_ENT_004_phone_national_formats_are_read_in_the_campaign_region(
    world: World, region: str, value: str, stored: str
) -> None:
    assert register_one(world, {"type": "phone"}, value, region=region) == stored


def test_ENT_004_campaign_region_defaults_to_us(world: World) -> None:
    world.add_campaign(id="t", region=None, preferences=[{"id": "f", "type": "phone"}])
    assert world.campaigns.campaigns["t"].region == "US"
    entry, _ = world.register("u1", {"f": "212 555 0123"}, campaign_id="t")
    assert entry.phone == "+12125550123"


REJECTED: list[tuple[dict[str, Any], Any]] = [
    ({"type": "email"}, "not-an-email"),
    ({"type": "email"}, "ana@example"),
    ({"type": "email"}, "a@@example.com"),
    ({"type": "email"}, "a b@example.com"),
    ({"type": "email"}, "Ana <ana@example.com>"),
    ({"type": "email"}, 5),
    ({"type": "email"}, ["ana@example.com"]),
    ({"type": "phone"}, "123"),
    ({"type": "phone"}, "555-0123"),
    ({"type": "phone"}, "+1 212 555 012"),
    ({"type": "phone"}, "+1 000 000 0000"),
    ({"type": "phone"}, "call me"),
    ({"type": "phone"}, "+1 212 555 0123" + "0" * 40),
    ({"type": "phone"}, 2125550123),
    ({"type": "name"}, "a" * 101),
    ({"type": "name"}, 5),
    ({"type": "name"}, ["Ana"]),
    ({"type": "zip"}, "z" * 21),
    ({"type": "zip"}, 10001),
    ({"type": "ticket_count"}, 0),
    ({"type": "ticket_count"}, 9),
    ({"type": "ticket_count"}, -1),
    ({"type": "ticket_count"}, 2.0),
    ({"type": "ticket_count"}, "2"),
    ({"type": "ticket_count"}, True),
    ({"type": "ticket_count", "additional": {"min": 2, "max": 4}}, 1),
    ({"type": "ticket_count", "additional": {"min": 2, "max": 4}}, 5),
    *[
        ({"type": kind}, bad)
        for kind in ("boolean_select", "opt_in")
        for bad in ["yes", "no", 2, -1, 0.5, {"value": True}, ["true"]]
    ],
    ({"type": "freeform_text"}, "x" * 1001),
    ({"type": "freeform_text"}, 5),
    ({"type": "freeform_text"}, ["text"]),
    ({"type": "freeform_text", "additional": {"minLength": 2, "maxLength": 10}}, "a"),
    ({"type": "freeform_text", "additional": {"minLength": 2, "maxLength": 10}}, "y" * 11),
    (CHECKLIST, ["metal"]),
    (CHECKLIST, ["rock", "metal"]),
    (CHECKLIST, "rock"),
    (CHECKLIST, [5]),
    (CHECKLIST, {"rock": True}),
    ({"type": "checklist"}, ["rock"]),  # no items configured: nothing can be chosen
]


@pytest.mark.parametrize(("pref", "value"), REJECTED)
def test_ENT_004_field_type_rejects(world: World, pref: dict[str, Any], value: Any) -> None:
    with pytest.raises(InvalidField) as raised:
        register_one(world, pref, value)
    assert raised.value.code == "ENTRY_INVALID_FIELD"
    assert raised.value.payload == {"field": "f"}
    assert world.entries.docs == {}


# ENT-004: empty values and missing fields ---------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n", []])
def test_ENT_004_null_blank_and_empty_list_are_empty(value: Any) -> None:
    assert is_empty(value)


@pytest.mark.parametrize("value", [False, 0, "0", "x", ["a"], 0.0])
def test_ENT_004_false_and_zero_are_values(value: Any) -> None:
    assert not is_empty(value)


@pytest.mark.parametrize("value", [None, "", "   ", []])
@pytest.mark.parametrize("field", ["email", "phone", "first_name", "market"])
def test_ENT_004_empty_required_field_is_missing(world: World, field: str, value: Any) -> None:
    with pytest.raises(MissingFields) as raised:
        world.register("u1", fields_with(**{field: value}))
    assert raised.value.code == "ENTRY_MISSING_FIELDS"
    assert raised.value.payload == {"fields": [field]}
    assert world.entries.docs == {}


def test_ENT_004_empty_list_for_a_required_list_field_is_missing(world: World) -> None:
    world.add_campaign(id="t", preferences=[{"id": "genres", **CHECKLIST}])
    with pytest.raises(MissingFields) as raised:
        world.register("u1", {"genres": []}, campaign_id="t")
    assert raised.value.payload == {"fields": ["genres"]}


@pytest.mark.parametrize(
    ("pref", "value", "stored"),
    [
        ({"type": "opt_in"}, False, False),
        ({"type": "boolean_select"}, 0, False),
        ({"type": "boolean_select"}, "false", False),
        ({"type": "ticket_count", "additional": {"min": 0, "max": 4}}, 0, 0),
    ],
)
def test_ENT_004_false_and_zero_satisfy_a_required_field(
    world: World, pref: dict[str, Any], value: Any, stored: Any
) -> None:
    world.add_campaign(id="t", preferences=[{"id": "f", **pref}])
    entry, _ = world.register("u1", {"f": value}, campaign_id="t")
    assert entry.fields == {"f": stored}


def test_ENT_004_all_missing_required_fields_are_named_at_once(world: World) -> None:
    with pytest.raises(MissingFields) as raised:
        world.register("u1", {})
    assert raised.value.payload == {"fields": ["email", "phone", "first_name", "market"]}
    for field in ("email", "phone", "first_name", "market"):
        assert field in raised.value.message


def test_ENT_004_missing_fields_named_all_at_once_among_present_ones(world: World) -> None:
    with pytest.raises(MissingFields) as raised:
        world.register("u1", {"phone": "2125550123", "first_name": " ", "zip": "10001"})
    assert raised.value.payload == {"fields": ["email", "first_name", "market"]}


def test_ENT_004_optional_fields_may_be_absent_or_empty(world: World) -> None:
    entry, _ = world.register(
        "u1", fields_with(last_name=None, zip="  ", optional_markets=[], genres=[], why="", tickets=None)
    )
    assert set(entry.fields) == {"email", "phone", "first_name", "market"}
    assert entry.markets == ("nyc",)


def test_ENT_004_stored_values_are_the_normalised_ones(world: World) -> None:
    entry, _ = world.register("u1", fields_with(tickets=2, allow_marketing="true", vip=0, genres=["pop", ""]))
    assert entry.fields == {
        "email": "ana@example.com",
        "phone": "+12125550123",
        "first_name": "Ana",
        "market": "nyc",
        "optional_markets": ["bos", "phl"],
        "tickets": 2,
        "allow_marketing": True,
        "vip": False,
        "genres": ["pop"],
    }


def test_ENT_004_check_order_is_names_then_missing_then_values(world: World) -> None:
    with pytest.raises(InvalidField) as names_first:
        world.register("u1", {"score": 1, "email": "bad"})
    assert names_first.value.payload == {"field": "score"}

    with pytest.raises(MissingFields):
        world.register("u1", {"email": "bad", "market": "nowhere"})


# ENT-004: update merge ---------------------------------------------------------------------------


def test_ENT_004_update_omitted_fields_keep_their_stored_value(world: World) -> None:
    created, _ = world.register("u1", fields_with(last_name="Lee", tickets=3))

    updated, _ = world.register("u1", {"zip": " 10001 "})

    assert updated.fields == {**created.fields, "zip": "10001"}
    assert updated.markets == created.markets
    assert (updated.email, updated.phone, updated.last_name) == (created.email, created.phone, "Lee")


def test_ENT_004_update_with_no_fields_keeps_everything(world: World) -> None:
    created, _ = world.register("u1")
    updated, _ = world.register("u1", {})
    assert updated.fields == created.fields


def test_ENT_004_update_null_removes_an_optional_field(world: World) -> None:
    world.register("u1", fields_with(last_name="Lee", tickets=3, optional_markets=["bos"]))

    updated, _ = world.register("u1", {"last_name": None, "tickets": None, "optional_markets": None})

    assert not {"last_name", "tickets", "optional_markets"} & set(updated.fields)
    assert updated.last_name is None
    assert updated.markets == ("nyc",)
    assert world.stored() == updated


def test_ENT_004_update_null_on_a_required_field_is_missing(world: World) -> None:
    world.register("u1")
    before = world.snapshot()

    with pytest.raises(MissingFields) as raised:
        world.register("u1", {"email": None, "first_name": "", "zip": "10001"})

    assert raised.value.payload == {"fields": ["email", "first_name"]}
    assert world.snapshot() == before


def test_ENT_004_update_validates_the_merged_entry_as_a_whole(world: World) -> None:
    world.register("u1")  # market nyc, optionals bos, phl
    before = world.snapshot()

    with pytest.raises(InvalidMarket):
        world.register("u1", {"market": "bos"})  # bos is already an optional market
    assert world.snapshot() == before

    updated, _ = world.register("u1", {"market": "chi"})
    assert updated.markets == ("chi", "bos", "phl")


def test_ENT_004_update_values_are_validated(world: World) -> None:
    world.register("u1")
    before = world.snapshot()

    with pytest.raises(InvalidField) as raised:
        world.register("u1", {"tickets": 99})

    assert raised.value.payload == {"field": "tickets"}
    assert world.snapshot() == before


# ENT-005: mass assignment ------------------------------------------------------------------------

SERVER_OWNED = [
    "phoneConfirmed",
    "score",
    "codes",
    "review",
    "date",
    "dateCreated",
    "code",
    "link",
    "referrer",
    "userId",
    "campaignId",
    "markets",
    "attributes",
    "fraud",
    "fanscore",
    "origin",
    "verdict",
    "Email",
]


@pytest.mark.parametrize("key", SERVER_OWNED)
def test_ENT_005_unknown_field_on_create_is_invalid_and_nothing_is_stored(world: World, key: str) -> None:
    with pytest.raises(InvalidField) as raised:
        world.register("u1", fields_with(**{key: True}))
    assert raised.value.code == "ENTRY_INVALID_FIELD"
    assert raised.value.payload == {"field": key}
    assert key in raised.value.message
    assert world.entries.docs == {}


@pytest.mark.parametrize("key", SERVER_OWNED)
def test_ENT_005_unknown_field_on_update_is_invalid_and_nothing_changes(world: World, key: str) -> None:
    world.register("u1")
    before = world.snapshot()

    with pytest.raises(InvalidField) as raised:
        world.register("u1", {"zip": "10001", key: None})

    assert raised.value.payload == {"field": key}
    assert world.snapshot() == before


def test_ENT_005_server_owned_data_cannot_be_set_even_with_an_empty_value(world: World) -> None:
    with pytest.raises(InvalidField):
        world.register("u1", fields_with(phoneConfirmed=False))
    assert world.entries.docs == {}


# ENT-006: email and phone ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("  Ana@Example.com ", "ana@example.com"),
        ("fan@example.com", "fan@example.com"),
        ("FAN@EXAMPLE.ORG", "fan@example.org"),
        ("fan@mail.example.net", "fan@mail.example.net"),
        ("fan@no-such-domain-4f2a9c.com", "fan@no-such-domain-4f2a9c.com"),  # syntax only: no DNS lookup
    ],
)
def test_ENT_006_email_trimmed_syntax_checked_and_lower_cased(given: str, stored: str) -> None:
    assert normalize_email(given) == stored


@pytest.mark.parametrize("given", ["", "   ", "ana", "ana@", "@example.com", "ana@example", "a@@b.co", 5, None])
def test_ENT_006_email_with_bad_syntax_is_rejected(given: Any) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(given)


def test_ENT_006_entry_stores_lower_cased_email_and_e164_phone(world: World) -> None:
    entry, _ = world.register("u1", fields_with(email=" Fan@Example.COM ", phone="212-555-0123"))
    assert (entry.email, entry.fields["email"]) == ("fan@example.com", "fan@example.com")
    assert (entry.phone, entry.fields["phone"]) == ("+12125550123", "+12125550123")


def test_ENT_006_entry_phone_is_stored_after_mexican_folding(world: World) -> None:
    entry, _ = world.register("u1", fields_with(phone="+52 1 55 1234 5678"))
    assert (entry.phone, entry.fields["phone"]) == ("+525512345678", "+525512345678")


@pytest.mark.parametrize("value", [[""], ["  ", None], [None]])
def test_ENT_004_required_checklist_of_blanks_only_is_missing(world: World, value: list[Any]) -> None:
    """Blanks are dropped (field table), so a list of nothing but blanks leaves the required field empty."""
    world.add_campaign(id="t", preferences=[{"id": "genres", **CHECKLIST}, {"id": "email", "type": "email"}])
    with pytest.raises(MissingFields) as raised:
        world.register("u1", {"genres": value}, campaign_id="t")
    assert raised.value.payload == {"fields": ["genres", "email"]}
    assert world.entries.docs == {}


def test_ENT_004_optional_checklist_of_blanks_only_stores_nothing(world: World) -> None:
    entry, _ = world.register("u1", fields_with(genres=["", "  "]))
    assert "genres" not in entry.fields


# The string rule under the field-type table: controls, bidirectional overrides, invisible names ---------

TEXT_REFUSED: list[tuple[dict[str, Any], Any]] = [
    ({"type": "name"}, "a\u0000b"),  # NUL
    ({"type": "zip"}, "100\u000001"),
    ({"type": "name"}, "Ana\nLee"),  # LF and CR: a name is one line
    ({"type": "name"}, "Ana\rLee"),
    ({"type": "name"}, "Ana\r\nLee"),
    ({"type": "name"}, "Ana\tLee"),
    ({"type": "name"}, "Ana\u007f"),  # DEL
    ({"type": "name"}, "Ana\u0085"),  # C1 (NEL)
    ({"type": "name"}, "Ana\u009b31m"),  # C1 (CSI): a terminal escape
    ({"type": "name"}, "\u202eanA"),  # RIGHT-TO-LEFT OVERRIDE
    ({"type": "name"}, "Ana\u202a"),  # the override/embedding range's first
    ({"type": "name"}, "\u2066Ana\u2069"),  # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
    ({"type": "zip"}, "\u2068" + "10001"),  # FIRST STRONG ISOLATE
    ({"type": "name"}, "\u200b\u200b"),  # zero-width spaces only
    ({"type": "name"}, "\u200b \u200c\u200d\u2060\ufeff"),  # every zero-width character, and a space
    ({"type": "name"}, "\u0301\u0308"),  # combining marks only (Mn)
    ({"type": "name"}, " \u20dd "),  # an enclosing mark (Me) between spaces
    ({"type": "name"}, "\u0903"),  # a spacing combining mark (Mc) alone
    ({"type": "zip"}, "\u200b"),
    ({"type": "zip"}, "\u0301"),
    ({"type": "email"}, "ana\u0000@example.com"),
    ({"type": "email"}, "\u202eana@example.com"),
    ({"type": "phone"}, "212 555 0123\u0000"),
    ({"type": "phone"}, "\u202e2125550123"),
    ({"type": "freeform_text"}, "a\u0000b"),  # freeform text may hold LF, CR and TAB: no other control
    ({"type": "freeform_text"}, "a\u000bb"),  # VT
    ({"type": "freeform_text"}, "a\u000cb"),  # FF
    ({"type": "freeform_text"}, "a\u001b[31mb"),  # ESC
    ({"type": "freeform_text"}, "a\u007fb"),  # DEL
    ({"type": "freeform_text"}, "a\u0085b"),  # C1 NEL is no line feed here
    ({"type": "freeform_text"}, "a\u009fb"),  # the last C1
    ({"type": "freeform_text"}, "abc\u202e"),
    ({"type": "freeform_text"}, "abc\u2067"),
    (CHECKLIST, ["rock\u0000"]),
    (CHECKLIST, ["rock", "\u202epop"]),
    ({"type": "boolean_select"}, "true\u0000"),
]


@pytest.mark.parametrize(("pref", "value"), TEXT_REFUSED)
def test_ENT_004_text_with_controls_overrides_or_nothing_visible_is_refused(
    world: World, pref: dict[str, Any], value: Any
) -> None:
    with pytest.raises(InvalidField) as raised:
        register_one(world, pref, value)
    assert raised.value.code == "ENTRY_INVALID_FIELD"
    assert raised.value.payload == {"field": "f"}
    assert world.entries.docs == {}


TEXT_ACCEPTED: list[tuple[dict[str, Any], Any, Any]] = [
    ({"type": "freeform_text"}, "line one\nline two", "line one\nline two"),
    ({"type": "freeform_text"}, "windows\r\nline\rmac", "windows\r\nline\rmac"),
    ({"type": "freeform_text"}, "col\tcol", "col\tcol"),
    ({"type": "freeform_text"}, "مرحبا", "مرحبا"),  # right-to-left text needs no override
    ({"type": "name"}, "Zoe\u0308", "Zoe\u0308"),  # a combining mark after a letter
    ({"type": "name"}, "\u0301e", "\u0301e"),  # a mark before a letter: the letter is visible
    ({"type": "name"}, "Ana 🎸", "Ana 🎸"),  # emoji
    ({"type": "name"}, "👍", "👍"),
    ({"type": "name"}, "👩\u200d🎤", "👩\u200d🎤"),  # a zero-width joiner inside an emoji sequence
    ({"type": "name"}, "Ana\u200bLee", "Ana\u200bLee"),  # zero-width characters beside visible ones
    ({"type": "name"}, "李", "李"),
    ({"type": "name"}, "עדי", "עדי"),
    ({"type": "zip"}, " 10001\u200b", "10001\u200b"),
    (CHECKLIST, ["rock"], ["rock"]),
]


@pytest.mark.parametrize(("pref", "value", "stored"), TEXT_ACCEPTED)
def test_ENT_004_text_without_controls_or_overrides_is_accepted(
    world: World, pref: dict[str, Any], value: Any, stored: Any
) -> None:
    assert register_one(world, pref, value) == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("market", "nyc\u0000"),
        ("market", "\u202enyc"),
        ("optional_markets", ["bos", "phl\u0000"]),
        ("optional_markets", ["\u2066bos"]),
    ],
)
def test_ENT_004_market_ids_with_controls_or_overrides_are_invalid_fields(world: World, field: str, value: Any) -> None:
    """Every string of the field table (market ids too) falls under the string rule: ENTRY_INVALID_FIELD, not
    ENTRY_INVALID_MARKET — the value is refused for what it holds, before it is looked for among the markets."""
    with pytest.raises(InvalidField) as raised:
        world.register("u1", fields_with(**{field: value}))
    assert raised.value.payload == {"field": field}
    assert world.entries.docs == {}


def test_ENT_004_stored_text_is_not_judged_again_unless_resubmitted(world: World) -> None:
    """Values stored before the string rule keep their place: an update omitting them succeeds and keeps them;
    resubmitting one judges it."""
    world.register("u1", fields_with(last_name="Lee", zip="10001"))
    doc = world.entries.docs[("c1", "u1")]
    doc["fields"].update(last_name="Le\u0000e", zip="\u200b")  # written before the rule existed
    doc["lastName"] = "Le\u0000e"

    updated, is_new = world.register("u1", {"tickets": 2})

    assert not is_new
    assert (updated.fields["last_name"], updated.fields["zip"], updated.fields["tickets"]) == ("Le\u0000e", "\u200b", 2)
    assert world.stored() == updated
    before = world.snapshot()
    for field, value in (("last_name", "Le\u0000e"), ("zip", "\u200b")):
        with pytest.raises(InvalidField) as raised:
            world.register("u1", {field: value})
        assert raised.value.payload == {"field": field}
    assert world.snapshot() == before
    fixed, _ = world.register("u1", {"last_name": "Lee", "zip": None})
    assert (fixed.last_name, "zip" in fixed.fields) == ("Lee", False)
