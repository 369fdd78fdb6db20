"""XLSX workbooks that are byte-identical for identical content, streamed, and never past Excel's row limit.

openpyxl stamps the save time into docProps/core.xml and the zip entries; an export of an
unchanged period must give the same bytes, so the saved package is rewritten with a fixed
timestamp. Amounts go into numeric cells holding the decimal's exact text, with a number format
showing the currency's decimals, so accountants can sum them.
Workbooks are write-only (rows stream to disk; a big period's drill-down has millions of rows),
and a sheet that would pass Excel's 1,048,576 rows continues in "<title> (2)", "<title> (3)"...
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from exporters.journal import atomic_write_bytes

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOCUMENT_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_CORE_TIME = "2000-01-01T00:00:00Z"
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def amount_format(decimals: int) -> str:
    return "0" if decimals == 0 else "0." + "0" * decimals


def grouped_amount_format(decimals: int) -> str:
    """`#,##0.00` for two decimals, `#,##0` for none, `#,##0.000` for three: thousands grouped for reading."""
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


_BOLD = Font(bold=True)
_RIGHT = Alignment(horizontal="right")
_MAX_WIDTH = 60


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


def _cell(sheet, value: object, grouped: bool = False) -> object:
    if not isinstance(value, Decimal):
        return value
    # openpyxl writes numbers with "%.16g", which turns Decimal("66896.76") into 66896.75999999999;
    # a numeric cell holding the decimal's own text is written exactly as given.
    cell = WriteOnlyCell(sheet, value=str(value))
    cell.data_type = "n"
    decimals = max(0, -int(value.as_tuple().exponent))
    if grouped:
        cell.number_format = grouped_amount_format(decimals)
        cell.alignment = _RIGHT
    else:
        cell.number_format = amount_format(decimals)
    return cell


def add_table(workbook: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
    """A sheet for reading as well as computing: bold header frozen above the rows, a filter on every
    column, widths fitted to the content, amounts (`Decimal`) grouped by thousands with their own
    decimals and right-aligned. For sections of a report, whose rows fit in memory (and in one sheet)."""
    sheet = workbook.create_sheet(title)
    # A write-only sheet writes its view and columns before the first row: set them first.
    sheet.freeze_panes = "A2"
    for index, width in enumerate(_column_widths(header, rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    header_cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = _BOLD
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_cell(sheet, value, grouped=True) for value in row])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    return len(rows)


def _column_widths(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[float]:
    widths = [len(str(name)) for name in header]
    for row in rows:
        for index, value in enumerate(row[:len(widths)]):
            text = f"{value:,}" if isinstance(value, Decimal) else "" if value is None else str(value)
            widths[index] = max(widths[index], len(text))
    # Room for the filter button beside the header, and a cap so a long reason wraps the view, not the sheet.
    return [min(width + 3, _MAX_WIDTH) for width in widths]


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def save(workbook: Workbook, path: Path, timestamp: datetime | None = None) -> None:
    """Save atomically with fixed timestamps: `timestamp` (UTC) when given, else a constant, so that the
    same content gives the same bytes."""
    core_time = (timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") if timestamp else FIXED_CORE_TIME).encode()
    zip_time = timestamp.timetuple()[:6] if timestamp else FIXED_ZIP_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>" + core_time + rb"\g<2>", data)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=zip_time), data, compress_type=zipfile.ZIP_DEFLATED)
    atomic_write_bytes(path, output.getvalue())


def read_rows(path: Path, title: str) -> list[tuple]:
    """Every row of a sheet and its continuation sheets, the header once, read from the package's XML.

    Numbers come back as `Decimal` from the cell's own text, so the proof compares the exact
    digits written, not a float; strings as `str`, missing cells as None. lxml's streaming parser
    reads a million-row sheet several times faster than openpyxl's reader.
    """
    with zipfile.ZipFile(path) as package:
        sheets = _sheet_paths(package)
        shared = _shared_strings(package)
        rows: list[tuple] = []
        number = 1
        while _sheet_title(title, number) in sheets:
            with package.open(sheets[_sheet_title(title, number)]) as stream:
                sheet_rows = list(_sheet_rows(stream, shared))
            rows += sheet_rows if number == 1 else sheet_rows[1:]
            number += 1
        return rows


def _sheet_paths(package: zipfile.ZipFile) -> dict[str, str]:
    relationships = {
        item.get("Id"): item.get("Target").lstrip("/")
        for item in etree.fromstring(package.read("xl/_rels/workbook.xml.rels")).iter(f"{{{_RELATIONSHIPS}}}Relationship")
    }
    return {
        sheet.get("name"): (target if target.startswith("xl/") else f"xl/{target}")
        for sheet in etree.fromstring(package.read("xl/workbook.xml")).iter(f"{{{_MAIN}}}sheet")
        for target in [relationships[sheet.get(f"{{{_DOCUMENT_RELATIONSHIPS}}}id")]]
    }


def _shared_strings(package: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in package.namelist():
        return []
    return ["".join(item.itertext()) for item in etree.fromstring(package.read("xl/sharedStrings.xml")).iter(f"{{{_MAIN}}}si")]


def _column(reference: str) -> int:
    index = 0
    for character in reference:
        if not character.isalpha():
            break
        index = index * 26 + ord(character.upper()) - 64
    return index - 1


def _sheet_rows(stream, shared: list[str]) -> Iterator[tuple]:
    for _, row in etree.iterparse(stream, tag=f"{{{_MAIN}}}row"):
        values: list[object] = []
        for cell in row.iterfind(f"{{{_MAIN}}}c"):
            position = _column(cell.get("r", ""))
            values += [None] * (position - len(values))
            kind = cell.get("t", "n")
            if kind == "inlineStr":
                values.append("".join(cell.itertext()))
            elif kind == "s":
                values.append(shared[int(cell.findtext(f"{{{_MAIN}}}v"))])
            elif kind == "n":
                text = cell.findtext(f"{{{_MAIN}}}v")
                values.append(None if text is None else Decimal(text))
            else:
                values.append(cell.findtext(f"{{{_MAIN}}}v"))
        row.clear()
        yield tuple(values)


def cell_decimal(value: object) -> Decimal | None:
    """A numeric cell (or its text) as an exact Decimal, or None when empty."""
    if value is None or value == "":
        return None
    return Decimal(str(value))
