"""Tests of ``data.datetime``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_datetime import DateTime
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node


async def _result(params: dict[str, Any], item: dict[str, Any] | None = None) -> Any:
    out = await run_node(DateTime, params, {"main": [item or {}]})
    [result] = out.ports["main"]
    return result[params.get("output_field", "datetime")]


async def test_example_validates_and_runs() -> None:
    params = dict(DateTime.example)
    params["value"] = "2024-03-30T10:00:00+00:00"  # what '{{ item.created_at }}' renders to
    out = await run_node(DateTime, params, {"main": [{"id": 1}]})
    # +1 day +2 h on the value's UTC clock is 12:00 UTC; Berlin is on summer time (+02:00).
    assert out.ports["main"] == [{"id": 1, "follow_up_at": "2024-03-31T14:00:00+02:00"}]


async def test_now_in_a_zone() -> None:
    before = datetime.now(UTC)
    text = await _result({"operation": "now", "timezone": "Asia/Tokyo"})
    after = datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    offset = moment.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 9 * 3600
    assert before <= moment <= after


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"value": "2024-05-01T09:30:00Z"}, "2024-05-01T09:30:00+00:00"),
        ({"value": "2024-05-01"}, "2024-05-01T00:00:00+00:00"),
        (
            {"value": "2024-05-01 09:30", "input_timezone": "America/New_York"},
            "2024-05-01T09:30:00-04:00",
        ),
        ({"value": 1714555800}, "2024-05-01T09:30:00+00:00"),
        ({"value": "1714555800000", "input_format": "epoch_ms"}, "2024-05-01T09:30:00+00:00"),
        (
            {"value": "01/05/2024 09:30", "input_format": "%d/%m/%Y %H:%M"},
            "2024-05-01T09:30:00+00:00",
        ),
        ({"value": "2024-05-01T09:30:00Z", "output_format": "epoch"}, 1714555800),
        ({"value": "2024-05-01T09:30:00.5Z", "output_format": "epoch_ms"}, 1714555800500),
        ({"value": "2024-05-01T23:30:00-02:00", "output_format": "date"}, "2024-05-01"),
        ({"value": "2024-05-01T23:30:00-02:00", "timezone": "UTC"}, "2024-05-02T01:30:00+00:00"),
    ],
)
async def test_parse(params: dict[str, Any], expected: Any) -> None:
    assert await _result({"operation": "parse", **params}) == expected


async def test_format_with_pattern() -> None:
    params = {"operation": "format", "value": "2024-05-01T09:30:00Z", "output_format": "%A %d %B"}
    assert await _result(params) == "Wednesday 01 May"


@pytest.mark.parametrize(
    ("value", "change", "expected"),
    [
        ("2024-01-31T12:00:00Z", {"duration": "P1M"}, "2024-02-29T12:00:00+00:00"),
        ("2023-01-31T12:00:00Z", {"amount": 1, "unit": "months"}, "2023-02-28T12:00:00+00:00"),
        ("2024-02-29T00:00:00Z", {"duration": "P1Y"}, "2025-02-28T00:00:00+00:00"),
        ("2024-01-01T00:00:00Z", {"duration": "P2W"}, "2024-01-15T00:00:00+00:00"),
        ("2024-01-01T00:00:00Z", {"duration": "PT1H30M15.5S"}, "2024-01-01T01:30:15.500000+00:00"),
        ("2024-01-01T00:00:00Z", {"amount": 90, "unit": "minutes"}, "2024-01-01T01:30:00+00:00"),
        ("2024-01-01T00:00:00Z", {"amount": 1.5, "unit": "hours"}, "2024-01-01T01:30:00+00:00"),
    ],
)
async def test_add(value: str, change: dict[str, Any], expected: str) -> None:
    assert await _result({"operation": "add", "value": value, **change}) == expected


async def test_subtract_and_daylight_saving() -> None:
    base = {"value": "2024-03-31T12:00:00", "input_timezone": "Europe/Berlin"}
    # a calendar day keeps the local time across the change; 24 hours do not
    day = await _result({"operation": "subtract", "duration": "P1D", **base})
    hours = await _result({"operation": "subtract", "amount": 24, "unit": "hours", **base})
    assert day == "2024-03-30T12:00:00+01:00"
    assert hours == "2024-03-30T11:00:00+01:00"


async def test_convert_timezone() -> None:
    params = {
        "operation": "convert_timezone",
        "value": "2024-07-01T12:00:00Z",
        "timezone": "America/Los_Angeles",
    }
    assert await _result(params) == "2024-07-01T05:00:00-07:00"


async def test_keeps_other_fields_and_writes_nested() -> None:
    params = {"operation": "parse", "value": "2024-05-01", "output_field": "meta.when"}
    out = await run_node(DateTime, params, {"main": [{"id": 3, "meta": {"a": 1}}]})
    assert out.ports["main"] == [{"id": 3, "meta": {"a": 1, "when": "2024-05-01T00:00:00+00:00"}}]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"operation": "parse", "value": "next tuesday"},
            "data.datetime: parse: 'next tuesday' does not match the input format ISO 8601",
        ),
        (
            {"operation": "parse", "value": "2024-05-01", "input_format": "%d.%m.%Y"},
            "'2024-05-01' does not match the input format '%d.%m.%Y'",
        ),
        (
            {"operation": "convert_timezone", "value": "2024-05-01", "timezone": "Europe/Berln"},
            "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'",
        ),
        (
            {"operation": "add", "value": "2024-05-01", "duration": "1 day"},
            "'1 day' is not an ISO 8601 duration",
        ),
        (
            {"operation": "add", "value": "2024-05-01", "amount": 1.5, "unit": "days"},
            "days must be a whole number, got 1.5",
        ),
        (
            {"operation": "add", "value": "9999-12-01", "duration": "P1M"},
            "the result year 10000 is out of range",
        ),
        (
            {"operation": "parse", "value": "abc", "input_format": "epoch"},
            "'abc' is not an epoch timestamp",
        ),
    ],
)
async def test_bad_values_raise_node_errors(params: dict[str, Any], message: str) -> None:
    with pytest.raises(NodeError) as info:
        await _result(params)
    assert message in info.value.detail


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"operation": "parse"}, "needs a 'value'"),
        ({"operation": "add", "value": "2024-05-01"}, "needs exactly one of 'duration'"),
        ({"operation": "add", "value": "x", "duration": "P1D", "amount": 1}, "exactly one"),
        ({"operation": "convert_timezone", "value": "x"}, "needs the target 'timezone'"),
        ({"operation": "format", "value": "x"}, "needs an 'output_format'"),
        ({"operation": "now", "zone": "UTC"}, "Extra inputs are not permitted"),
        ({"operation": "add", "value": "x", "amount": float("nan")}, "finite number"),
        ({"operation": "parse", "value": True}, "value"),
    ],
)
def test_bad_params_are_refused(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DateTime.Params.model_validate(params)
