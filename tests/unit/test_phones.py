"""Phones: uniqueness of confirmed phones at registration, confirmation cleared by a phone change, Mexican
folding, and properties of normalisation (SPEC PHN-004/005/006, ENT-006)."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from entrycore.errors import PhoneAlreadyConfirmed
from entrycore.phones import InvalidPhone, fold_mexican, normalize_phone
from tests.unit.conftest import World, fields_with

E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# PHN-004 -----------------------------------------------------------------------------------------


def test_PHN_004_registering_a_phone_another_fan_confirmed_is_refused(world: World) -> None:
    world.register("u2", fields_with(phone="+1 212 555 0123"))
    world.confirm_in_store("u2")
    before = world.snapshot()

    with pytest.raises(PhoneAlreadyConfirmed) as raised:
        world.register("u1", fields_with(phone="(212) 555-0123"))  # same number, another spelling

    assert raised.value.code == "PHONE_ALREADY_CONFIRMED"
    assert world.snapshot() == before


def test_PHN_004_folded_mexican_spellings_are_one_phone(world: World) -> None:
    world.register("u2", fields_with(phone="+52 55 1234 5678"))
    world.confirm_in_store("u2")

    with pytest.raises(PhoneAlreadyConfirmed):
        world.register("u1", fields_with(phone="+52 1 55 1234 5678"))


def test_PHN_004_an_unconfirmed_phone_may_be_shared(world: World) -> None:
    world.register("u2")
    entry, is_new = world.register("u1")
    assert is_new
    assert entry.phone == world.stored("u2").phone


def test_PHN_004_a_phone_confirmed_in_another_campaign_is_free(world: World) -> None:
    world.add_campaign(id="c2")
    world.register("u2", campaign_id="c2")
    world.confirm_in_store("u2", "c2")

    entry, _ = world.register("u1")

    assert entry.phone == "+12125550123"


def test_PHN_004_changing_to_a_phone_another_fan_confirmed_is_refused(world: World) -> None:
    world.register("u2", fields_with(phone="2125550199"))
    world.confirm_in_store("u2")
    world.register("u1")
    before = world.snapshot()

    with pytest.raises(PhoneAlreadyConfirmed):
        world.register("u1", {"phone": "212-555-0199"})

    assert world.snapshot() == before


def test_PHN_004_an_update_keeping_its_unconfirmed_phone_is_not_refused(world: World) -> None:
    world.register("u1")
    world.register("u2")
    world.confirm_in_store("u2")  # u2 confirmed the number u1 also registered

    entry, _ = world.register("u1", {"zip": "10001"})
    assert entry.phone == "+12125550123"
    assert not entry.phone_confirmed

    entry, _ = world.register("u1", {"phone": "(212) 555-0123"})  # the same number re-typed is not a change
    assert not entry.phone_confirmed


def test_PHN_004_the_fans_own_confirmed_phone_is_no_obstacle(world: World) -> None:
    world.register("u1")
    world.confirm_in_store("u1")

    entry, _ = world.register("u1", {"phone": "+1 (212) 555-0123", "zip": "10001"})

    assert entry.phone_confirmed


# PHN-005 -----------------------------------------------------------------------------------------


def test_PHN_005_changing_the_phone_clears_the_confirmation(world: World) -> None:
    world.register("u1")
    world.confirm_in_store("u1")
    assert world.stored().phone_confirmed

    entry, _ = world.register("u1", {"phone": "2125550199"})

    assert entry.phone == "+12125550199"
    assert (entry.phone_confirmed, entry.date_phone_confirmed) == (False, None)
    stored = world.stored()
    assert (stored.phone_confirmed, stored.date_phone_confirmed) == (False, None)


def test_PHN_005_an_update_that_keeps_the_phone_keeps_the_confirmation(world: World) -> None:
    world.register("u1")
    world.confirm_in_store("u1")
    confirmed_at = world.stored().date_phone_confirmed
    world.clock.advance(minutes=3)

    entry, _ = world.register("u1", {"first_name": "Bea", "phone": "212 555 0123"})

    assert entry.phone_confirmed
    assert entry.date_phone_confirmed == confirmed_at


def test_PHN_005_removing_an_optional_phone_clears_the_confirmation(world: World) -> None:
    world.add_campaign(
        id="t",
        preferences=[{"id": "email", "type": "email"}, {"id": "phone", "type": "phone", "is_optional": True}],
    )
    world.register("u1", {"email": "a@example.com", "phone": "2125550123"}, campaign_id="t")
    world.confirm_in_store("u1", "t")

    entry, _ = world.register("u1", {"phone": None}, campaign_id="t")

    assert entry.phone is None
    assert not entry.phone_confirmed


def test_PHN_005_switching_mexican_spellings_is_not_a_change(world: World) -> None:
    world.register("u1", fields_with(phone="+52 55 1234 5678"))
    world.confirm_in_store("u1")

    entry, _ = world.register("u1", {"phone": "+52 1 55 1234 5678"})

    assert entry.phone_confirmed


# PHN-006 -----------------------------------------------------------------------------------------

MEXICAN_SPELLINGS = [
    "+5215512345678",
    "+525512345678",
    "+52 1 55 1234 5678",
    "+52 1 5512345678",
    "+52 155 1234 5678",
    "+521 55 1234 5678",
    "+52-1-55-1234-5678",
    "+521-55-1234-5678",
    "+52.1.55.1234.5678",
    "+52 (1) 55 1234-5678",
    "+52 1 (55) 1234.5678",
    "+52/1/55/1234/5678",
    "+ 52 1 55 1234 5678",
    "  +52 1 55 1234 5678  ",
    "+52\t1\t55 1234 5678",
    "+52\u00a01\u00a055\u00a01234\u00a05678",  # no-break spaces
    "+52\u20131\u201355\u20131234\u20135678",  # en dashes
    "+52\u20111\u201155\u20111234\u20115678",  # non-breaking hyphens
    "+52 [1] 55 1234 5678",
    "+52\u30001\u300055\u30001234\u30005678",  # ideographic spaces
]


@pytest.mark.parametrize("spelling", MEXICAN_SPELLINGS)
@pytest.mark.parametrize("region", ["US", "MX", "GB"])
def test_PHN_006_mexican_spellings_fold_to_one_phone(spelling: str, region: str) -> None:
    assert normalize_phone(spelling, region) == "+525512345678"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("+5215512345678", "+525512345678"),
        ("+52 1 55 1234 5678", "+525512345678"),
        ("+52-1-(222)-123-4567", "+522221234567"),
        ("+525512345678", "+525512345678"),  # already folded: unchanged
        ("+52155123456789", "+52155123456789"),  # 11 digits after +521: not the mobile prefix form
        ("+521551234567", "+521551234567"),  # 9 digits after +521
        ("5215512345678", "5215512345678"),  # no +
        ("+15215512345", "+15215512345"),
    ],
)
def test_PHN_006_fold_mexican_rewrites_only_plus_521_and_ten_digits(text: str, folded: str) -> None:
    assert fold_mexican(text) == folded


@pytest.mark.parametrize("spelling", ["+52 1 222 123 4567", "+52 222 123 4567", "+52-1-222-123-4567"])
def test_PHN_006_other_mexican_area_codes_fold_too(spelling: str) -> None:
    assert normalize_phone(spelling) == "+522221234567"


def test_PHN_006_folded_form_is_what_the_entry_stores(world: World) -> None:
    entry, _ = world.register("u1", fields_with(phone="+52 1 55 1234 5678"))
    assert entry.phone == entry.fields["phone"] == "+525512345678"
    assert world.entries.docs[("c1", "u1")]["phone"] == "+525512345678"


# ENT-006 / PHN-006: properties of normalisation ---------------------------------------------------

REGIONS = ["US", "CA", "GB", "DE", "FR", "MX", "IT", "BR", "JP", "IN", "AU", "ES", "NL", "SE", "AR", "ZA"]
SEPARATORS = [" ", "-", ".", "(", ")", "/", "  ", " - ", "\u00a0", "\u2013"]


EXAMPLES: list[tuple[str, phonenumbers.PhoneNumber]] = [
    (region, number)
    for region in REGIONS
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
    if (number := phonenumbers.example_number_for_type(region, kind)) is not None
]
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
]


@st.composite
def spelled_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A real example number written in some format with random separators inserted, and a region to read
    it in (its own region when written nationally)."""
    home, number = draw(st.sampled_from(EXAMPLES))
    number_format = draw(st.sampled_from(FORMATS))
    written = phonenumbers.format_number(number, number_format)
    region = home if number_format == phonenumbers.PhoneNumberFormat.NATIONAL else draw(st.sampled_from(REGIONS))
    chars: list[str] = []
    for i, char in enumerate(written):
        chars.append(char)
        if i < len(written) - 1 and char != "+" and draw(st.integers(0, 4)) == 0:
            chars.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(chars), region


def check_normalised(text: str, region: str) -> str | None:
    """The properties every accepted input must have; None when the input is rejected as InvalidPhone."""
    try:
        once = normalize_phone(text, region)
    except InvalidPhone:
        return None
    assert E164.match(once), (text, once)
    assert phonenumbers.is_valid_number(phonenumbers.parse(once, None)), (text, once)
    assert normalize_phone(once, region) == once, (text, once)
    for other in ("US", "MX", "GB"):
        assert normalize_phone(once, other) == once  # E.164 reads the same in any region
    return once


@settings(max_examples=200, deadline=None)
@given(spelled_numbers())
def test_PHN_006_property_real_numbers_with_punctuation_normalise_to_their_e164(
    case: tuple[str, str],
) -> None:
    text, region = case
    digits_only = re.sub(r"\D", "", text)
    result = check_normalised(text, region)
    assert result is not None, text
    assert result.lstrip("+").endswith(digits_only[-6:])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=45),
        st.text(alphabet="+0123456789 -().", max_size=24),
        st.from_regex(r"\A\+?52 ?1?[ -]?\d{2,3}[ -]?\d{3,4}[ -]?\d{4}\Z"),
    ),
    st.sampled_from(REGIONS),
)
@example("+5215512345678", "US")
@example("+52 1 55 1234 5678", "MX")
@example("1 55 1234 5678", "MX")
@example("+1 212 555 0123 ext. 7", "US")
@example("1-800-FLOWERS", "US")
@example("20100000000000", "DE")  # phonenumbers calls this valid, but it is 16 digits: longer than E.164 allows
def test_PHN_006_property_any_text_is_rejected_or_normalised_idempotently(text: str, region: str) -> None:
    check_normalised(text, region)


@pytest.mark.parametrize("text", ["", "   ", "phone", "+", "+1", "12", "+1 212 555 0123 4567 8901 2345 6789 0123 4567"])
def test_ENT_006_non_numbers_are_rejected(text: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(text)


@pytest.mark.parametrize(("text", "region"), [("20100000000000", "DE"), ("+49 201 0000 0000 000", "US")])
def test_ENT_006_numbers_longer_than_e164_are_rejected(text: str, region: str) -> None:
    number = phonenumbers.parse(text, region)
    assert phonenumbers.is_valid_number(number)  # phonenumbers alone would take it
    with pytest.raises(InvalidPhone):
        normalize_phone(text, region)


@pytest.mark.parametrize("value", [None, 2125550123, ["+12125550123"], {"number": "+12125550123"}])
def test_ENT_006_non_text_phones_are_rejected(value: object) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(value)  # type: ignore[arg-type]
