"""Whether the columns of a delivered parquet file can land in the raw tables: each part's stored
types judged against the landed schema (`warehouse.landed_columns`), and the values that need a
cast tried one by one, before anything of the delivery moves.

A delivered column lands as it is when it is stored as the landed type's kind: integers for an
integer column, timestamps, dates or epoch seconds for a timestamp, text for text. Text holding
numbers, times or booleans lands through a cast, so every value is tried and the failures counted.
The casts are stricter than DuckDB's own, which turns '331.20' into 331 and reads
'10:00+02:00' as 10:00 UTC: text for an integer must be digits, text for a timestamp UTC. A
float, or a decimal with a fraction, never lands in an integer column, even when every value is
whole: amounts are integer minor units, and a float amount is major units (331.2 for 33120) or a
rounding waiting to happen. A null in a column the landed table declares not null fails like a
bad cast. Any other kind is refused by its type.

Only the rows that land are tried (for `transfers`, the payouts); counting a column's nulls is
answered from the parquet footer's statistics, so a well-typed part costs no extra read.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ledger.warehouse import LandedColumn

INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64}
# Text that DuckDB would cast to an integer by rounding or by reading '1_000' as 1000 is refused.
INTEGER_TEXT = r"\s*[+-]?[0-9]+\s*"
# A time of day followed by an offset: DuckDB's cast to TIMESTAMP drops the offset.
OFFSET_TEXT = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*[+-][0-9]{2}(:?[0-9]{2})?$"
UTC_OFFSET_TEXT = r"[+-]00(:?00)?$"


class Landing(enum.Enum):
    AS_IS = enum.auto()
    CHECKED_CAST = enum.auto()  # every value tried before the view casts it


def _kind(stored: pa.DataType) -> pa.DataType:
    return stored.value_type if pa.types.is_dictionary(stored) else stored


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def landing(stored: pa.DataType, column: LandedColumn) -> Landing | str:
    """How a parquet column stored as `stored` lands in `column`, or, when it cannot, what `column` takes."""
    kind = _kind(stored)
    target = column.sql_type
    if pa.types.is_null(kind):
        return Landing.AS_IS
    if target in INTEGER_BITS:
        bits = INTEGER_BITS[target]
        if pa.types.is_integer(kind):
            fits = kind.bit_width < bits or (kind.bit_width == bits and pa.types.is_signed_integer(kind))
            return Landing.AS_IS if fits else Landing.CHECKED_CAST
        if _is_text(kind) or (pa.types.is_decimal(kind) and kind.scale == 0):
            return Landing.CHECKED_CAST
        return "an integer type, never a float even when whole" + (" (amounts are integer minor units: 33120 for 331.20)" if target == "BIGINT" else "")
    if target == "TIMESTAMP":
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_integer(kind):
            return Landing.AS_IS
        return Landing.CHECKED_CAST if _is_text(kind) else "a timestamp, a date, integer epoch seconds or text holding UTC timestamps"
    if target == "VARCHAR":
        return Landing.AS_IS if _is_text(kind) else "text"
    if target == "BOOLEAN":
        if pa.types.is_boolean(kind):
            return Landing.AS_IS
        return Landing.CHECKED_CAST if _is_text(kind) else "a boolean or text holding true and false"
    if target.startswith("DECIMAL"):
        if pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_integer(kind):
            return Landing.AS_IS
        return Landing.CHECKED_CAST if _is_text(kind) else "a number"
    return Landing.CHECKED_CAST


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fails(name: str, stored: pa.DataType, column: LandedColumn, how: Landing) -> str:
    """SQL true for a value of `name` that cannot land in `column`."""
    value = _quoted(name)
    missing = f"{value} is null" if not column.nullable else "false"
    if how is Landing.AS_IS:
        return missing
    refused = f"try_cast({value} as {column.sql_type}) is null"
    if column.sql_type in INTEGER_BITS and _is_text(_kind(stored)):
        refused = f"not regexp_full_match({value}, '{INTEGER_TEXT}') or {refused}"
    elif column.sql_type == "TIMESTAMP":
        refused = f"{refused} or (regexp_matches({value}, '{OFFSET_TEXT}') and not regexp_matches({value}, '{UTC_OFFSET_TEXT}'))"
    return f"{missing} or ({value} is not null and ({refused}))"


@dataclass(frozen=True)
class ColumnProblem:
    """A delivered column of one part that cannot land: its type (`takes`: what the landed column
    takes) or some of its values (`failed` of the part's landing rows, the first shown in `first`)."""

    table: str
    column: str
    uri: str
    landed_as: str
    stored: str = ""
    takes: str = ""
    failed: int = 0
    first: str = ""


@dataclass(frozen=True)
class PartTypes:
    """A part's landing rows (the rows values are tried in) and what of its columns cannot land."""

    rows: int
    problems: tuple[ColumnProblem, ...] = ()


def check_part(cursor: duckdb.DuckDBPyConnection, table: str, uri: str, path: Path, stored: dict[str, pa.DataType],
               targets: dict[str, LandedColumn], record_key: str, landing_rows: str = "true") -> PartTypes:
    """The delivered columns of one part (`stored`: their types in the file at `path`, fetched from
    `uri`) against the landed columns they fill (`targets`, by delivered name), over the rows
    `landing_rows` selects."""
    problems: list[ColumnProblem] = []
    tried: dict[str, str] = {}
    cast: set[str] = set()
    for name, kind in stored.items():
        column = targets.get(name)
        if column is None:
            continue
        how = landing(kind, column)
        if isinstance(how, str):
            problems.append(ColumnProblem(table, name, uri, column.sql_type, stored=str(kind), takes=how))
            continue
        if how is Landing.CHECKED_CAST:
            cast.add(name)
        if how is Landing.CHECKED_CAST or not column.nullable:
            tried[name] = _fails(name, kind, column, how)
    source = f"read_parquet('{str(path).replace(chr(39), chr(39) * 2)}', file_row_number = true)"
    # Counts of values answer from the footer's statistics: only a part with nulls where none may be, or
    # with values to cast, is read for the failures.
    not_null = [name for name in tried if not targets[name].nullable]
    counted = cursor.execute(
        f"select count(*), {', '.join(f'count({_quoted(name)})' for name in not_null) or '0'} from {source} where {landing_rows}"
    ).fetchone()
    rows = counted[0]
    with_nulls = {name for name, count in zip(not_null, counted[1:]) if count < rows}
    suspects = [name for name in tried if name in with_nulls or name in cast]
    if suspects:
        problems.extend(_failed_values(cursor, table, uri, source, landing_rows, {name: tried[name] for name in suspects}, targets, record_key))
    return PartTypes(rows, tuple(problems))


def _failed_values(cursor: duckdb.DuckDBPyConnection, table: str, uri: str, source: str, landing_rows: str, fails: dict[str, str],
                   targets: dict[str, LandedColumn], record_key: str) -> list[ColumnProblem]:
    """Per column, how many values fail and the first of them, with its row (from 1) and its record's key."""
    figures = ", ".join(
        f"count(*) filter (where {fail}), min(file_row_number) filter (where {fail})" for fail in fails.values()
    )
    counts = cursor.execute(f"select {figures} from {source} where {landing_rows}").fetchone()
    problems = []
    for position, name in enumerate(fails):
        failed, row = counts[2 * position], counts[2 * position + 1]
        if not failed:
            continue
        value, key = cursor.execute(
            f"select cast({_quoted(name)} as varchar), cast({_quoted(record_key)} as varchar) from {source} where file_row_number = ?", [row]
        ).fetchone()
        shown = "null" if value is None else repr(value)
        record = f" ({record_key} {key})" if key is not None and name != record_key else ""
        problems.append(ColumnProblem(table, name, uri, targets[name].sql_type + ("" if targets[name].nullable else " (not null)"),
                                      failed=failed, first=f"{shown} in row {row + 1}{record}"))
    return problems


def unlike_parts(table: str, parts: Sequence[tuple[str, dict[str, pa.DataType]]]) -> list[str]:
    """Columns that two parts of `table` store differently (DuckDB reads the parts as one table, in
    the first part's types, and a part it cannot convert fails every later read). A column of nulls
    only is like any other, and a dictionary-encoded column like its values."""
    first: dict[str, tuple[str, pa.DataType]] = {}
    found: dict[str, str] = {}
    for uri, stored in parts:
        for name, kind in stored.items():
            if pa.types.is_null(kind):
                continue
            seen_in, seen = first.setdefault(name, (uri, kind))
            if _kind(seen) != _kind(kind) and name not in found:
                found[name] = (f"table {table}, column {name}: {seen_in} stores {seen} and {uri} stores {kind}; "
                               "every part of a table must store a column alike")
    return list(found.values())


def refusals(problems: Iterable[ColumnProblem], rows: dict[str, int]) -> list[str]:
    """One sentence per table and column, failures summed over its parts (`rows`: landing rows per table)."""
    by_column: dict[tuple[str, str, str], list[ColumnProblem]] = {}
    for problem in problems:
        by_column.setdefault((problem.table, problem.column, problem.stored), []).append(problem)
    sentences = []
    for (table, column, _), found in by_column.items():
        first = found[0]
        if first.takes:
            sentences.append(f"table {table}, column {column}: {first.uri} stores {first.stored}, but it lands as {first.landed_as}, "
                             f"which takes {first.takes}")
        else:
            sentences.append(f"table {table}, column {column}: {sum(p.failed for p in found)} of {rows[table]} values cannot be read as "
                             f"{first.landed_as}, the first {first.first} of {first.uri}")
    return sentences
