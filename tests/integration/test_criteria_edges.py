"""Each selection criterion (SCR-003, SCR-005) is declared once, in entrycore.eligibility; the HTTP query string,
the OpenAPI document and the CLI's options are all read from that declaration and mean the same thing."""

from __future__ import annotations

from typing import Any

import attrs
import click
from click.testing import CliRunner

from adapters_cli.criteria import criteria_of, criteria_options
from adapters_http.server.criteria import criteria_from
from adapters_http.server.openapi import CRITERIA
from entrycore.eligibility import EligibilityCriteria, criteria

# a value of each kind, as the query string and the command line write it, and as the criteria hold it
_SAMPLES: dict[str, tuple[str | None, Any]] = {
    "markets": ("m1,m2, m1", ("m1", "m2")),
    "number": ("42.5", 42.5),
    "flag": (None, True),  # a flag: ``=true`` in the query, the bare flag on the command line
    "tag": ("vip", "vip"),
}


@click.command()
@criteria_options
def _echo(**options: Any) -> None:
    click.echo(repr(criteria_of(options)))


def _from_cli(args: list[str]) -> str:
    result = CliRunner().invoke(_echo, args)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_every_field_of_the_criteria_is_a_declared_criterion() -> None:
    assert [c.field for c in criteria()] == [f.name for f in attrs.fields(EligibilityCriteria)]
    assert len({c.query for c in criteria()}) == len({c.flag for c in criteria()}) == len(criteria()) == 12


def test_the_openapi_document_lists_each_criterion_with_its_summary() -> None:
    assert [(p["name"], p["description"]) for p in CRITERIA] == [(c.query, c.summary) for c in criteria()]


def test_each_criterion_reads_the_same_from_the_query_string_and_the_command_line() -> None:
    for criterion in criteria():
        text, value = _SAMPLES[criterion.kind]
        expected = EligibilityCriteria(**{criterion.field: value})
        assert criteria_from({criterion.query: "true" if text is None else text}) == expected, criterion
        args = [f"--{criterion.flag}"] + ([] if text is None else [text])
        assert _from_cli(args) == repr(expected), criterion


def test_all_criteria_at_once_agree_between_the_edges() -> None:
    query, args, values = {}, [], {}
    for criterion in criteria():
        text, value = _SAMPLES[criterion.kind]
        query[criterion.query] = "true" if text is None else text
        args += [f"--{criterion.flag}"] + ([] if text is None else [text])
        values[criterion.field] = value
    assert criteria_from(query) == EligibilityCriteria(**values)
    assert _from_cli(args) == repr(EligibilityCriteria(**values))


def test_the_command_line_refuses_a_bad_tag_as_the_query_string_does() -> None:
    result = CliRunner().invoke(_echo, ["--tag", "x" * 300])
    assert result.exit_code == 2 and "--tag" in result.output
