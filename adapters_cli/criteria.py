"""The eligibility criteria as command options (SCR-003, SCR-005): one option per criterion entrycore declares, the
query parameters of API.md §4 as flags, read back into an ``EligibilityCriteria``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from entrycore.eligibility import Criterion, EligibilityCriteria, criteria, market_ids_of
from entrycore.scoring import tag_name_problem


def _tag_name(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A ``--tag``/``--exclude-tag`` name bounded as the HTTP criteria bound it (signals allowed, SIG-001)."""
    if value is None:
        return None
    problem = tag_name_problem(value, signals=True)
    if problem is not None:
        raise click.BadParameter(problem)
    return value.strip()


def _markets(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    return market_ids_of(value)


def _option(criterion: Criterion) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    flag, name, summary = f"--{criterion.flag}", criterion.field, criterion.summary
    if criterion.kind == "flag":
        return click.option(flag, name, is_flag=True, help=summary)
    if criterion.kind == "number":
        return click.option(flag, name, type=float, default=None, help=summary)
    if criterion.kind == "tag":
        return click.option(flag, name, default=None, callback=_tag_name, help=summary)
    return click.option(flag, name, default="", callback=_markets, help=summary)


def criteria_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """SCR-003's criteria and SCR-005's orders as options, one per criterion entrycore declares (the query
    parameters of API.md §4, as flags)."""
    for criterion in reversed(criteria()):
        command = _option(criterion)(command)
    return command


def criteria_of(options: dict[str, Any]) -> EligibilityCriteria:
    """The criteria among a command's options (which it pops)."""
    return EligibilityCriteria(**{c.field: options.pop(c.field) for c in criteria()})
