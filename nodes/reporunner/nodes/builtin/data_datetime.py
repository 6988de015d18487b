"""``data.datetime``: current time, parse, format, add/subtract durations, convert time zones."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import DottedPath, copy_item, fail, set_path
from reporunner.nodes.builtin._dates import (
    DateError,
    Duration,
    add_duration,
    parse_duration,
    read_datetime,
    unit_duration,
    write_datetime,
    zone,
)

__all__ = ["DateTime", "DateTimeParams"]

TYPE = "data.datetime"

Operation = Literal["now", "parse", "format", "add", "subtract", "convert_timezone"]
Unit = Literal["seconds", "minutes", "hours", "days", "weeks", "months", "years"]


class DateTimeParams(BaseModel):
    """Params of ``data.datetime``."""

    model_config = ConfigDict(extra="forbid")

    operation: Operation = Field(
        description="'now': the current time; 'parse': read 'value' and write it as ISO 8601 "
        "(or 'output_format'); 'format': write 'value' with 'output_format'; 'add'/'subtract': "
        "shift 'value' by 'duration' or 'amount'+'unit'; 'convert_timezone': express 'value' "
        "in 'timezone'."
    )
    value: StrictStr | StrictInt | StrictFloat | None = Field(
        default=None,
        description="The date to work on (all operations but 'now'): ISO 8601 text such as "
        "'2024-05-01T09:30:00Z' or '2024-05-01', epoch seconds as a number, or text matching "
        "'input_format'. Usually an expression like '{{ item.created_at }}'.",
    )
    input_format: str = Field(
        default="iso",
        description="How to read 'value': 'iso' (ISO 8601), 'epoch' (seconds), 'epoch_ms' "
        "(milliseconds) or a strftime pattern such as '%d/%m/%Y %H:%M'.",
    )
    input_timezone: str = Field(
        default="UTC",
        description="IANA zone assumed for values without an offset, e.g. 'Europe/Paris'.",
    )
    timezone: str | None = Field(
        default=None,
        description="IANA zone the result is expressed in (required for 'convert_timezone'; "
        "'now' defaults to UTC). When omitted, results keep the value's own offset.",
    )
    duration: str | None = Field(
        default=None,
        description="ISO 8601 duration for 'add'/'subtract', e.g. 'P1D', 'PT2H30M', 'P1Y2M'. "
        "Days, weeks, months and years follow the local calendar (same local time across a "
        "daylight-saving change; Jan 31 + 1 month = Feb 28/29); hours, minutes and seconds are "
        "exact elapsed time.",
    )
    amount: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Alternative to 'duration': how many 'unit' to add or subtract.",
    )
    unit: Unit = Field(default="days", description="Unit of 'amount'.")
    output_format: str = Field(
        default="iso",
        description="How to write the result: 'iso' (ISO 8601 with offset), 'date' "
        "(YYYY-MM-DD), 'epoch' (seconds, a number), 'epoch_ms' (milliseconds, a number) or a "
        "strftime pattern such as '%A %d %B %Y'. Required (not 'iso') for 'format'.",
    )
    output_field: DottedPath = Field(
        default="datetime",
        description="Dotted path of the field the result is written to; the item's other fields "
        "are kept.",
    )

    @model_validator(mode="after")
    def _check_operation(self) -> DateTimeParams:
        if self.operation != "now" and self.value is None:
            raise ValueError(f"operation '{self.operation}' needs a 'value' to work on")
        if self.operation in ("add", "subtract") and (self.duration is None) == (
            self.amount is None
        ):
            raise ValueError(
                f"operation '{self.operation}' needs exactly one of 'duration' (e.g. 'P1D') or "
                "'amount' with 'unit'"
            )
        if self.operation == "convert_timezone" and self.timezone is None:
            raise ValueError("operation 'convert_timezone' needs the target 'timezone'")
        if self.operation == "format" and self.output_format == "iso":
            raise ValueError(
                "operation 'format' needs an 'output_format' such as '%Y-%m-%d %H:%M' or 'date'"
            )
        return self


def compute(params: DateTimeParams) -> str | int | float:
    """The result of the operation, written with ``output_format``.

    Raises:
        DateError: a value, zone, format or duration is unusable.
    """
    if params.operation == "now":
        moment = datetime.now(zone(params.timezone or "UTC"))
    else:
        moment = read_datetime(params.value, params.input_format, zone(params.input_timezone))
        if params.operation in ("add", "subtract"):
            moment = add_duration(moment, _duration(params))
        if params.timezone is not None:
            moment = moment.astimezone(zone(params.timezone))
    return write_datetime(moment, params.output_format)


def _duration(params: DateTimeParams) -> Duration:
    if params.duration is not None:
        duration = parse_duration(params.duration)
    else:
        duration = unit_duration(params.amount or 0.0, params.unit)
    return duration.scaled(-1 if params.operation == "subtract" else 1)


class DateTime(Node[DateTimeParams]):
    """Date and time operations on a value of each item."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Date & Time"
    description = (
        "Computes one date/time per input item and writes it to 'output_field' (other fields "
        "kept): the current time ('now'), a parsed or reformatted 'value' ('parse', 'format'), "
        "'value' plus or minus a duration ('add', 'subtract'; ISO 8601 like 'PT2H' or amount + "
        "unit), or 'value' in another IANA time zone ('convert_timezone'). Reads ISO 8601, epoch "
        "or strftime patterns; writes ISO 8601 with offset by default, or 'date', 'epoch', "
        "'epoch_ms' or a strftime pattern. Values without an offset are taken in "
        "'input_timezone' (UTC by default)."
    )
    Params = DateTimeParams
    mode = "each"
    example: ClassVar[dict[str, Any]] = {
        "operation": "add",
        "value": "{{ item.created_at }}",
        "duration": "P1DT2H",
        "timezone": "Europe/Berlin",
        "output_field": "follow_up_at",
    }

    async def run(self, ctx: NodeContext, params: DateTimeParams, inputs: NodeInputs) -> NodeOutput:
        """Write the computed date into (a copy of) each item."""
        try:
            result = compute(params)
        except DateError as err:
            raise fail(TYPE, f"{params.operation}: {err}") from err
        out: list[Item] = []
        for item in inputs.get("main") or [{}]:
            copied = copy_item(item)
            try:
                set_path(copied, params.output_field, result)
            except ValueError as err:
                raise fail(TYPE, f"output_field '{params.output_field}': {err}") from err
            out.append(copied)
        return NodeOutput.main(out)
