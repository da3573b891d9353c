"""The locale recorded on an entry (SPEC ENT-007)."""

from __future__ import annotations

from entrycore.model import Campaign


def _key(locale_id: str) -> str:
    return locale_id.replace("_", "-").casefold()


def pick_locale(campaign: Campaign, requested: str | None) -> str | None:
    """The campaign locale matching ``requested`` (case-insensitive, ``_`` = ``-``), else the default,
    else the first, else None."""
    if not campaign.locales:
        return None
    if requested:
        wanted = _key(requested)
        match = next((loc.id for loc in campaign.locales if _key(loc.id) == wanted), None)
        if match:
            return match
    default = next((loc.id for loc in campaign.locales if loc.is_default), None)
    return default or campaign.locales[0].id
