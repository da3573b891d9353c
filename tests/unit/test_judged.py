"""entrycore.judged: a remembered answer is the rule's own. The email and phone rules remember a normal form as
its own answer (so an update judging the stored form again is answered from memory): that holds only if the normal
form *is* a fixed point of the rule, which these tests check on every region phonenumbers knows."""

from __future__ import annotations

import phonenumbers
import pytest

from entrycore import emails, phones
from entrycore.emails import InvalidEmail, normalize_email
from entrycore.judged import Judged
from entrycore.phones import InvalidPhone, normalize_phone


def test_an_answer_is_remembered_and_a_refusal_is_not() -> None:
    calls: list[str] = []

    def rule(text: str) -> str:
        calls.append(text)
        if text == "bad":
            raise ValueError(text)
        return text.upper()

    judged = Judged[str](rule, fixed_point=lambda _: False, key_of=lambda answer, _: answer, size=2)
    assert judged("a") == judged("a") == "A"
    assert calls == ["a"]
    for _ in range(2):
        with pytest.raises(ValueError):
            judged("bad")
    assert calls == ["a", "bad", "bad"]
    judged("b")
    judged("c")  # full: emptied, then remembered
    judged("a")
    assert calls[-3:] == ["b", "c", "a"]


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_PHN_006_a_normalised_number_is_its_own_normal_form_in_every_region(region: str) -> None:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        pytest.skip(f"phonenumbers has no mobile example for {region}")
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    try:
        e164 = phones._judge((national, region))
    except InvalidPhone:
        pytest.skip(f"{region}'s example is not valid as written nationally")
    for asked in ("US", region, "MX", "GB"):
        assert phones._judge((e164, asked)) == e164


def test_PHN_006_remembered_answers_are_the_rules_own() -> None:
    first = normalize_phone("+52 1 55 1234 5678", "US")
    assert first == "+525512345678"
    assert normalize_phone(first, "US") == first == phones._judge((first, "US"))
    with pytest.raises(InvalidPhone):
        normalize_phone("+1 212 555", "US")


@pytest.mark.parametrize("address", ["  Fan.One+x@Example.COM ", "ÄLICE@exämple.de", "İstanbul@example.com"])
def test_ENT_006_remembered_addresses_are_the_rules_own(address: str) -> None:
    normal = normalize_email(address)
    assert normal == emails._judge(address)
    assert normalize_email(normal) == emails._judge(normal)
    with pytest.raises(InvalidEmail):
        normalize_email("not an address")
