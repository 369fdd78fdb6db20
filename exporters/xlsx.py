"""XLSX workbooks that are byte-identical for identical content.

openpyxl stamps the save time into docProps/core.xml and the zip entries; an export of an
unchanged period must give the same bytes, so the saved package is rewritten with a fixed
timestamp. Amounts go into numeric cells from `Decimal` (openpyxl writes the decimal text as
is) with a number format showing the currency's decimals, so accountants can sum them.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook

from exporters.journal import atomic_write_bytes

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_CORE_TIME = "2000-01-01T00:00:00Z"
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def amount_format(decimals: int) -> str:
    return "0" if decimals == 0 else "0." + "0" * decimals


def add_sheet(workbook: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Append a sheet of rows; a `Decimal` cell is shown with exactly its own decimals. Returns the row count."""
    sheet = workbook.create_sheet(title)
    sheet.append(list(header))
    count = 0
    for row in rows:
        sheet.append(list(row))
        count += 1
        for cell, value in zip(sheet[sheet.max_row], row):
            if isinstance(value, Decimal):
                cell.number_format = amount_format(max(0, -int(value.as_tuple().exponent)))
    return count


def new_workbook() -> Workbook:
    """A workbook without openpyxl's default empty sheet."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    return workbook


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


def read_rows(path: Path, sheet: str) -> list[tuple]:
    """Every row of a sheet, header included, as values."""
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        return [tuple(row) for row in workbook[sheet].iter_rows(values_only=True)]
    finally:
        workbook.close()


def cell_decimal(value: object) -> Decimal | None:
    """A numeric cell back as an exact Decimal (the shortest repr of the stored double), or None."""
    if value is None or value == "":
        return None
    return Decimal(str(value))
