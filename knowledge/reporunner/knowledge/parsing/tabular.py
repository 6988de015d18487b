"""CSV and JSON: one section (hence one chunk) per row or record, fields kept as metadata.

Metadata values are JSON scalars (numbers parsed from CSV cells) so that search filters can
compare them: ``{"price": {"lt": 10}}`` works on a CSV column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from reporunner.knowledge.errors import DocumentCorrupt, DocumentEmpty, DocumentTooLarge
from reporunner.knowledge.parsing._types import ParsedDocument, ParseLimits, SectionBuilder
from reporunner.knowledge.parsing.text import decode_text

__all__ = ["parse_csv", "parse_json", "sniff_csv"]

_INT = re.compile(r"^-?\d{1,18}$")
_FLOAT = re.compile(r"^-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$")
_MAX_META_VALUE = 1000


def _scalar(value: str) -> Any:
    value = value.strip()
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        return float(value)
    return value


def sniff_csv(text: str) -> type[csv.Dialect] | None:
    """The CSV dialect of ``text`` when it looks like a table (a header and 2+ rows with the
    same column count; two lines of prose with a comma each are not a table)."""
    sample = "\n".join(line for line in text.splitlines()[:20] if line.strip())
    if len(sample.splitlines()) < 3:
        return None
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return None
    rows = [r for r in csv.reader(io.StringIO(sample), dialect) if r]
    widths = {len(r) for r in rows[:-1] or rows}  # the last sampled line may be cut short
    if len(rows) < 2 or len(widths) != 1 or widths.pop() < 2:
        return None
    return dialect


def _too_many(limits: ParseLimits) -> DocumentTooLarge:
    return DocumentTooLarge(
        f"the file has more than {limits.max_records} records; split it into smaller files",
        limit=limits.max_records,
    )


def _add_record(builder: SectionBuilder, record: Mapping[str, Any], index: int) -> None:
    lines = []
    metadata: dict[str, Any] = {"row": index}
    for key, value in record.items():
        if value is None or value == "":
            continue
        if isinstance(value, dict | list):
            rendered = json.dumps(value, ensure_ascii=False)
        else:
            rendered = str(value)
            if not isinstance(value, str) or len(value) <= _MAX_META_VALUE:
                metadata[str(key)] = value
        lines.append(f"{key}: {rendered}")
    builder.add("\n".join(lines), metadata=metadata)


def parse_csv(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Each row becomes ``column: value`` lines; the header names the metadata keys.

    Raises:
        DocumentCorrupt: the text is not a consistent table.
        DocumentTooLarge: more rows than ``limits.max_records``.
        DocumentEmpty: a header without rows.
    """
    limits = limits or ParseLimits()
    text = decode_text(data)
    dialect = sniff_csv(text)
    if dialect is None:
        raise DocumentCorrupt("the CSV has no consistent columns; check its delimiter and quoting")
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    builder = SectionBuilder()
    try:
        for index, row in enumerate(reader, start=1):
            if index > limits.max_records:
                raise _too_many(limits)
            cells = {k: _scalar(v) for k, v in row.items() if k is not None and v is not None}
            _add_record(builder, cells, index)
    except csv.Error as err:
        raise DocumentCorrupt(f"the CSV is malformed at line {reader.line_num}: {err}") from err
    if not builder.sections:
        raise DocumentEmpty("the CSV has a header but no rows")
    columns = list(reader.fieldnames or [])
    return builder.build("csv", "text/csv", metadata={"columns": columns})


def _records(value: Any) -> Iterable[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]  # {"items": [{...}, ...]} envelopes
        return [value]
    return [{"value": value}]


def parse_json(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """An array (or an object wrapping one array of objects) gives one section per record.

    Raises:
        DocumentCorrupt: invalid JSON.
        DocumentTooLarge: more records than ``limits.max_records``.
        DocumentEmpty: no records.
    """
    limits = limits or ParseLimits()
    try:
        value = json.loads(decode_text(data))
    except json.JSONDecodeError as err:
        raise DocumentCorrupt(f"invalid JSON at line {err.lineno} column {err.colno}") from err
    builder = SectionBuilder()
    for index, record in enumerate(_records(value), start=1):
        if index > limits.max_records:
            raise _too_many(limits)
        _add_record(builder, record if isinstance(record, dict) else {"value": record}, index)
    if not builder.sections:
        raise DocumentEmpty("the JSON holds no records")
    return builder.build("json", "application/json")
