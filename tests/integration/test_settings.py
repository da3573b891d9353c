"""Configuration (API.md §6): the circuit-breaker thresholds are read and checked like every variable."""

from __future__ import annotations

import pytest

from entry_service.settings import ConfigError, Settings


def test_breaker_thresholds_default_and_are_read() -> None:
    assert (Settings.from_env({}).breaker_failures, Settings.from_env({}).breaker_cool_down) == (5, 10.0)
    read = Settings.from_env({"ENTRY_BREAKER_FAILURES": "3", "ENTRY_BREAKER_COOLDOWN": "2.5"})
    assert (read.breaker_failures, read.breaker_cool_down) == (3, 2.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENTRY_BREAKER_FAILURES", "0"),
        ("ENTRY_BREAKER_FAILURES", "2.5"),
        ("ENTRY_BREAKER_FAILURES", "many"),
        ("ENTRY_BREAKER_COOLDOWN", "0"),
        ("ENTRY_BREAKER_COOLDOWN", "nan"),
        ("ENTRY_BREAKER_COOLDOWN", "4000"),
    ],
)
def test_a_bad_breaker_threshold_is_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: must be") as failed:
        Settings.from_env({name: value})
    assert "\n" not in str(failed.value)
