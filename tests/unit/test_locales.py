"""The locale recorded on an entry (SPEC ENT-007)."""

from __future__ import annotations

from typing import Any

import pytest

from entrycore.locales import pick_locale
from tests.builders import campaign
from tests.unit.conftest import World

LOCALES = [{"id": "en-US"}, {"id": "es_MX", "is_default": True}, {"id": "fr-CA"}]


@pytest.mark.parametrize(
    ("requested", "picked"),
    [
        ("en-US", "en-US"),
        ("en_us", "en-US"),
        ("EN_US", "en-US"),
        ("es-mx", "es_MX"),
        ("ES-MX", "es_MX"),
        ("es_MX", "es_MX"),
        ("Fr_cA", "fr-CA"),
    ],
)
def test_ENT_007_locale_matched_case_insensitively_with_underscore_and_dash_equal(requested: str, picked: str) -> None:
    assert pick_locale(campaign(locales=LOCALES), requested) == picked


@pytest.mark.parametrize("requested", [None, "", "de-DE", "en", "en-GB", "es"])
def test_ENT_007_unmatched_locale_falls_back_to_the_default(requested: str | None) -> None:
    assert pick_locale(campaign(locales=LOCALES), requested) == "es_MX"


@pytest.mark.parametrize("requested", [None, "de-DE"])
def test_ENT_007_without_a_default_the_first_locale(requested: str | None) -> None:
    assert pick_locale(campaign(locales=[{"id": "fr-CA"}, {"id": "en-US"}]), requested) == "fr-CA"


@pytest.mark.parametrize("locales", [[], None])
@pytest.mark.parametrize("requested", [None, "en-US"])
def test_ENT_007_campaign_without_locales_gives_null(locales: Any, requested: str | None) -> None:
    assert pick_locale(campaign(locales=locales), requested) is None


def test_ENT_007_locales_may_be_plain_strings() -> None:
    assert pick_locale(campaign(locales=["en-US", "es-MX"]), "es_mx") == "es-MX"


def test_ENT_007_entry_records_the_matched_campaign_locale(world: World) -> None:
    entry, _ = world.register("u1", locale="ES-mx")
    assert entry.locale == "es_MX"
    assert world.stored().locale == "es_MX"


def test_ENT_007_entry_without_locale_gets_the_default(world: World) -> None:
    entry, _ = world.register("u1")
    assert entry.locale == "en-US"


def test_ENT_007_entry_in_campaign_without_locales_has_null_locale(world: World) -> None:
    world.add_campaign(locales=[])
    entry, _ = world.register("u1", locale="en-US")
    assert entry.locale is None


def test_ENT_007_update_changes_the_locale_only_when_one_is_given(world: World) -> None:
    world.register("u1", locale="es-MX")

    kept, _ = world.register("u1", {"zip": "10001"})
    assert kept.locale == "es_MX"

    changed, _ = world.register("u1", locale="en_us")
    assert changed.locale == "en-US"
