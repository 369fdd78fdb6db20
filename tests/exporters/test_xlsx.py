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
    assert cell.number_format == "0.000"
