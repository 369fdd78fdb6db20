from decimal import Decimal

from openpyxl import load_workbook

from exporters import xlsx


def test_a_sheet_past_the_row_limit_continues_on_numbered_sheets_and_reads_back_whole(tmp_path):
    workbook = xlsx.new_workbook()
    rows = [(f"txn_{index}", Decimal(index).scaleb(-3)) for index in range(7)]
    assert xlsx.add_sheet(workbook, "Drill-down", ("id", "amount"), rows, max_rows=3) == 7
    xlsx.save(workbook, tmp_path / "book.xlsx")
    assert load_workbook(tmp_path / "book.xlsx", read_only=True).sheetnames == ["Drill-down", "Drill-down (2)", "Drill-down (3)", "Drill-down (4)"]
    back = xlsx.read_rows(tmp_path / "book.xlsx", "Drill-down")
    assert back[0] == ("id", "amount")
    assert [(name, xlsx.cell_decimal(value)) for name, value in back[1:]] == [(name, value) for name, value in rows]
    cell = load_workbook(tmp_path / "book.xlsx")["Drill-down"]["B3"]
    assert (cell.number_format, cell.data_type) == ("0.000", "n")


def test_amounts_are_written_with_their_exact_decimal_text(tmp_path):
    workbook = xlsx.new_workbook()
    amounts = [Decimal("66896.76"), Decimal("1234567890123.45"), Decimal("-0.001"), Decimal("98765")]
    xlsx.add_sheet(workbook, "Journal", ("amount",), [(amount,) for amount in amounts])
    xlsx.save(workbook, tmp_path / "book.xlsx")
    assert [value for (value,) in xlsx.read_rows(tmp_path / "book.xlsx", "Journal")[1:]] == amounts
    assert [cell.value for (cell,) in load_workbook(tmp_path / "book.xlsx")["Journal"].iter_rows(min_row=2)] == [66896.76, 1234567890123.45, -0.001, 98765]
