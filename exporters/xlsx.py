"""XLSX workbooks that are byte-identical for identical content, streamed, and never past Excel's row limit.

openpyxl stamps the save time into docProps/core.xml and the zip entries; an export of an
unchanged period must give the same bytes, so the saved package is rewritten with a fixed
timestamp. Amounts go into numeric cells from `Decimal` (openpyxl writes the decimal text as
is) with a number format showing the currency's decimals, so accountants can sum them.
Workbooks are write-only (rows stream to disk; a big period's drill-down has millions of rows),
and a sheet that would pass Excel's 1,048,576 rows continues in "<title> (2)", "<title> (3)"...
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

from exporters.journal import atomic_write_bytes

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_CORE_TIME = "2000-01-01T00:00:00Z"
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def amount_format(decimals: int) -> str:
    return "0" if decimals == 0 else "0." + "0" * decimals


MAX_SHEET_ROWS = 1_048_576


def _sheet_title(title: str, number: int) -> str:
    return title if number == 1 else f"{title} ({number})"


def add_sheet(workbook: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[object]], max_rows: int = MAX_SHEET_ROWS) -> int:
    """Append rows under `header`; a `Decimal` cell shows exactly its own decimals. Returns the data row count."""
    count, number, sheet, used = 0, 0, None, max_rows
    for row in rows:
        if used == max_rows:
            number += 1
            sheet = workbook.create_sheet(_sheet_title(title, number))
            sheet.append(list(header))
            used = 1
        sheet.append([_cell(sheet, value) for value in row])
        used += 1
        count += 1
    if sheet is None:
        workbook.create_sheet(title).append(list(header))
    return count


def _cell(sheet, value: object) -> object:
    if not isinstance(value, Decimal):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = amount_format(max(0, -int(value.as_tuple().exponent)))
    return cell


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def save(workbook: Workbook, path: Path) -> None:
    """Save with fixed timestamps, atomically."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>" + FIXED_CORE_TIME.encode() + rb"\g<2>", data)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
    atomic_write_bytes(path, output.getvalue())


def read_rows(path: Path, title: str) -> list[tuple]:
    """Every row of a sheet and its continuation sheets, as values: the header once, then the data."""
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        rows: list[tuple] = []
        number = 1
        while _sheet_title(title, number) in workbook.sheetnames:
            sheet_rows = [tuple(row) for row in workbook[_sheet_title(title, number)].iter_rows(values_only=True)]
            rows += sheet_rows if number == 1 else sheet_rows[1:]
            number += 1
        return rows
    finally:
        workbook.close()


def cell_decimal(value: object) -> Decimal | None:
    """A numeric cell back as an exact Decimal (the shortest repr of the stored double), or None."""
    if value is None or value == "":
        return None
    return Decimal(str(value))
